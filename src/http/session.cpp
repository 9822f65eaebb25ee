#include "http/session.hpp"

#include <spdlog/spdlog.h>

#include "core/openai_error.hpp"
#include "core/request_id.hpp"
#include "http/worker.hpp"
#include "proxy/request_handler.hpp"

namespace llmproxy {
namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// After an error that leaves unread request bytes (413, malformed input), close gracefully:
// send FIN, then read and discard for a moment so the client sees our answer rather than a
// reset caused by unread data in our receive buffer.
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

// Maps a failure to read the request to the answer the client gets (nullopt: just close).
std::optional<core::LocalReply> ReadErrorReply(const error_code& ec, const core::ServerConfig& server) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted) {
        return std::nullopt;
    }
    if (ec == http::error::body_limit) {
        return core::LocalReply{413, "invalid_request_error", "request_too_large",
                                "Request body is larger than the limit of " + std::to_string(server.max_body_bytes) +
                                    " bytes",
                                {}, {}};
    }
    if (ec == http::error::header_limit) {
        return core::LocalReply{431, "invalid_request_error", "headers_too_large",
                                "Request headers are larger than the limit of " +
                                    std::to_string(server.max_header_bytes) + " bytes",
                                {}, {}};
    }
    if (ec == beast::error::timeout) {
        return core::LocalReply{408, "invalid_request_error", "request_timeout",
                                "The request was not received in time", {}, {}};
    }
    return core::BadRequest("Malformed HTTP request: " + ec.message(), "bad_request");
}

}  // namespace

Task<void> RunSession(Socket socket, Worker& worker) {
    const auto& server = worker.snapshot().config->server;
    TcpStream stream(std::move(socket));
    error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);
    beast::flat_buffer buffer;
    const std::string client_ip = stream.socket().remote_endpoint(ignored).address().to_string();
    SessionHandle handle{&stream, false};
    worker.sessions().insert(&handle);
    worker.shared().open_sessions.fetch_add(1, std::memory_order_relaxed);
    struct Unregister {
        Worker& w;
        SessionHandle* h;
        ~Unregister() {
            w.sessions().erase(h);
            w.shared().open_sessions.fetch_sub(1, std::memory_order_relaxed);
        }
    } unregister{worker, &handle};

    for (;;) {
        handle.busy = false;
        if (worker.shared().draining.load(std::memory_order_relaxed)) break;
        if (buffer.size() == 0) {
            // Keep-alive wait: the idle timeout applies until the first byte of a request.
            stream.expires_after(server.idle_timeout);
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(8192), kNoThrow);
            if (ec) break;
            buffer.commit(n);
        }
        handle.busy = true;
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(server.max_header_bytes));
        parser.body_limit(server.max_body_bytes);
        // Slowloris: the whole header must arrive within header_timeout of its first byte.
        stream.expires_after(server.header_timeout);
        auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
        error_code ec = hec;
        if (!ec) {
            auto expect = parser.get()[http::field::expect];
            if (beast::iequals(expect, "100-continue") && !parser.is_done()) {
                stream.expires_after(server.body_timeout);
                auto [wec, wn] = co_await asio::async_write(stream, asio::buffer(kContinue), kNoThrow);
                ec = wec;
            }
        }
        if (!ec && !parser.is_done()) {
            // Room for the JSON scanner's padding now, so the body is never copied to add it.
            if (auto length = parser.content_length(); length && *length <= server.max_body_bytes) {
                parser.get().body().reserve(static_cast<std::size_t>(*length) + 64);
            }
            stream.expires_after(server.body_timeout);
            auto [bec, bn] = co_await http::async_read(stream, buffer, parser, kNoThrow);
            ec = bec;
        }
        stream.expires_never();
        if (ec) {
            if (auto reply = ReadErrorReply(ec, server)) {
                const std::string id = core::MakeRequestId({});
                const std::string body = core::ErrorBody(*reply, id);
                co_await proxy::WriteLocal(stream, reply->status, body, id, false);
                co_await LingeringClose(stream);
            }
            co_return;
        }
        auto request = parser.release();
        bool keep_alive = false;
        try {
            keep_alive = co_await proxy::HandleRequest(stream, buffer, request, worker, client_ip);
        } catch (const std::exception& e) {
            // Last-resort guard: a bug in one request must not take the process down.
            spdlog::error("unhandled exception while serving a request: {}", e.what());
        }
        if (!keep_alive) break;
    }
    stream.socket().shutdown(Socket::shutdown_send, ignored);
    stream.close();
}

}  // namespace llmproxy
