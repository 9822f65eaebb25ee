#include "http/request_body.hpp"

#include <boost/asio/write.hpp>

namespace llmproxy {
namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr std::size_t kScannerPadding = 64;  // simdjson reads past the end: reserved up front

class BodyErrorCategory : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "llm-proxy.body"; }
    std::string message(int) const override { return "request bodies in flight exceed this worker's budget"; }
};

}  // namespace

error_code BodyBudgetExhausted() {
    static const BodyErrorCategory category;
    return error_code(1, category);
}

Task<error_code> ReadRequestBody(TcpStream& stream, beast::flat_buffer& buffer, RequestParser& parser,
                                 const core::ServerConfig& server, BodyBudget& budget, BodyHold& hold) {
    if (parser.is_done()) co_return error_code{};
    const auto length = parser.content_length();
    bool budget_bound = false;
    if (length) {
        // Announced: charge it before a byte is read (beyond max_body_bytes the head read
        // already failed with body_limit).
        const std::size_t need = static_cast<std::size_t>(*length) + kScannerPadding;
        if (!budget.TryTake(need)) co_return BodyBudgetExhausted();
        hold.Set(budget, need);
        parser.get().body().reserve(need);
    } else if (budget.available() < server.max_body_bytes) {
        // Chunked: its size is known only at the end; it may not grow past what is left.
        parser.body_limit(budget.available());
        budget_bound = true;
    }
    auto expect = parser.get()[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
        stream.expires_after(server.body_timeout);
        auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(kContinue), kNoThrow);
        if (wec) co_return wec;
    }
    stream.expires_after(server.body_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
    stream.expires_never();
    if (ec == http::error::body_limit && budget_bound) co_return BodyBudgetExhausted();
    if (!ec && !length) {
        const std::size_t got = parser.get().body().capacity();
        budget.TryTake(got);  // may overshoot by one body: it is already read
        hold.Set(budget, got);
    }
    co_return ec;
}

std::optional<core::LocalReply> ReadErrorReply(const error_code& ec, const core::ServerConfig& server) {
    // The client went away (before or in the middle of its request): nobody to answer.
    if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
        return std::nullopt;
    }
    if (ec == BodyBudgetExhausted()) {
        return core::LocalReply{503,
                                "server_error",
                                "server_busy",
                                "The gateway is holding too many request bodies right now; retry shortly",
                                {},
                                {}};
    }
    if (ec == http::error::body_limit) {
        return core::LocalReply{
            413,
            "invalid_request_error",
            "request_too_large",
            "Request body is larger than the limit of " + std::to_string(server.max_body_bytes) + " bytes",
            {},
            {}};
    }
    if (ec == http::error::header_limit) {
        return core::LocalReply{
            431,
            "invalid_request_error",
            "headers_too_large",
            "Request headers are larger than the limit of " + std::to_string(server.max_header_bytes) + " bytes",
            {},
            {}};
    }
    if (ec == beast::error::timeout) {
        return core::LocalReply{
            408, "invalid_request_error", "request_timeout", "The request was not received in time", {}, {}};
    }
    return core::BadRequest("Malformed HTTP request: " + ec.message(), "bad_request");
}

Task<void> LingeringClose(TcpStream& stream) {
    error_code ignored;
    stream.socket().shutdown(Socket::shutdown_send, ignored);
    static thread_local char sink[16384];
    stream.expires_after(std::chrono::seconds(1));
    for (std::size_t total = 0; total < (64u << 20);) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), kNoThrow);
        if (ec) break;
        total += n;
    }
    stream.close();
}

}  // namespace llmproxy
