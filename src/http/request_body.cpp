#include "http/request_body.hpp"

#include <tuple>

#include <boost/asio/write.hpp>

#include "core/string_pool.hpp"

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

std::optional<error_code> StartRequestBody(beast::flat_buffer& buffer, RequestParser& parser, BodyBudget& budget,
                                           BodyHold& hold) {
    if (parser.is_done()) return error_code{};
    auto& body = parser.get().body();
    if (const auto length = parser.content_length()) {
        // Address space only: the pages become memory as the bytes arrive, and are charged
        // then (below). One allocation (none for a small body: an earlier request's buffer is
        // reused), and room for the scanner's padding, so the body is never copied while it grows.
        body = core::TakeString(static_cast<std::size_t>(*length) + kScannerPadding);
    }
    if (!hold.Take(budget, kScannerPadding)) return BodyBudgetExhausted();
    // A client that waits for 100 Continue has sent nothing yet: ContinueRequestBody invites it.
    if (beast::iequals(parser.get()[http::field::expect], "100-continue")) return std::nullopt;
    // What came with the head (most bodies do), parsed here: no read operation, no trip
    // through the event loop.
    while (buffer.size() > 0 && !parser.is_done()) {
        const std::size_t before = body.size();
        error_code ec;
        const std::size_t used = wire::PutBuffered(parser, buffer, ec);
        if (body.size() > before && !hold.Take(budget, body.size() - before)) return BodyBudgetExhausted();
        if (ec) return ec;
        if (used == 0) break;  // the rest of a chunk line or of the body is still to come
    }
    if (parser.is_done()) return error_code{};
    return std::nullopt;
}

Task<error_code> ContinueRequestBody(TcpStream& stream, beast::flat_buffer& buffer, RequestParser& parser,
                                     const core::ServerConfig& server, BodyBudget& budget, BodyHold& hold) {
    auto& body = parser.get().body();
    if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
        stream.expires_after(server.body_timeout);
        auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(kContinue), kNoThrow);
        if (wec) co_return wec;
    }
    stream.expires_after(server.body_timeout);  // for the whole body, not per read
    error_code ec;
    while (!ec && !parser.is_done()) {
        const std::size_t before = body.size();
        std::tie(ec, std::ignore) = co_await http::async_read_some(stream, buffer, parser, kNoThrow);
        if (body.size() > before && !hold.Take(budget, body.size() - before)) ec = BodyBudgetExhausted();
    }
    stream.expires_never();
    co_return ec;
}

Task<error_code> ReadRequestBody(TcpStream& stream, beast::flat_buffer& buffer, RequestParser& parser,
                                 const core::ServerConfig& server, BodyBudget& budget, BodyHold& hold) {
    if (auto settled = StartRequestBody(buffer, parser, budget, hold)) co_return *settled;
    co_return co_await ContinueRequestBody(stream, buffer, parser, server, budget, hold);
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
    if (ec == http::error::buffer_overflow) {
        return core::BadRequest("A chunk size line, its extensions or the trailer is longer than the limit of " +
                                    std::to_string(server.max_header_bytes + wire::kReadSlack) + " bytes",
                                "bad_request");
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
