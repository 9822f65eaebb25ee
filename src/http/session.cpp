#include "http/session.hpp"

#include <tuple>

#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "core/error_reply.hpp"
#include "core/request_id.hpp"
#include "core/string_pool.hpp"
#include "http/request_body.hpp"
#include "http/request_head.hpp"
#include "http/wire.hpp"

namespace llmproxy {
namespace {

// A request that could not even be read: one JSON error, then the connection closes.
Task<void> WriteErrorAndClose(TcpStream& stream, unsigned status, std::string_view body, std::string_view id,
                              std::string_view retry_after = {}) {
    std::string head;
    wire::AppendStatusLine(head, status);
    wire::AppendHeader(head, "Content-Type", "application/json");
    wire::AppendHeader(head, "Content-Length", std::to_string(body.size()));
    wire::AppendHeader(head, "x-request-id", id);
    if (!retry_after.empty()) wire::AppendHeader(head, "Retry-After", retry_after);
    head.append("Connection: close\r\n\r\n");
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
    stream.expires_after(std::chrono::seconds(5));
    co_await asio::async_write(stream, bufs, kNoThrow);
    stream.expires_never();
}

// The head when the buffer holds all of it (the keep-alive read usually brought it), parsed
// without a read operation and its trip through the event loop. False: it must be read.
bool ParseBufferedHead(beast::flat_buffer& buffer, RequestParser& parser, error_code& ec) {
    wire::PutBuffered(parser, buffer, ec);
    return ec || parser.is_header_done();  // what is wrong with it, or the head
}

// A request refused on its head: the error, then a lingering close; counted and logged by the
// host like any answer.
Task<void> RefuseHead(TcpStream& stream, SessionHost& host, const core::LocalReply& reply, const RequestParser& parser,
                      std::string_view client_ip, std::chrono::steady_clock::time_point started) {
    const core::RequestId id = core::MakeRequestId({});
    const auto& head = parser.get();
    // Before the endpoint table: Anthropic clients are known by their path or version header.
    const bool anthropic = head.target().starts_with("/v1/messages") || head.find("anthropic-version") != head.end();
    const std::string body =
        core::ErrorBody(reply, id, anthropic ? core::Dialect::kAnthropic : core::Dialect::kOpenAIChat);
    co_await WriteErrorAndClose(stream, static_cast<unsigned>(reply.status), body, id);
    const auto method = head.method_string();
    const auto target = head.target();
    SessionHost::RefusedHead refused;
    refused.request_id = id;
    refused.method = std::string_view(method.data(), method.size());
    refused.target = std::string_view(target.data(), target.size());
    refused.client_ip = client_ip;
    refused.status = static_cast<unsigned>(reply.status);
    refused.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    host.RecordRefusedHead(refused);
    co_await LingeringClose(stream);
}

}  // namespace

Task<void> RefuseSession(Socket socket) {
    TcpStream stream(std::move(socket));
    const core::LocalReply reply{
        503, "server_error", "server_busy", "The gateway is at its connection limit; retry shortly", {}, {}};
    const core::RequestId id = core::MakeRequestId({});
    const std::string body = core::ErrorBody(reply, id);
    co_await WriteErrorAndClose(stream, static_cast<unsigned>(reply.status), body, id, "1");
    co_await LingeringClose(stream);
}

Task<void> RunSession(Socket socket, SessionHost& host, std::string client_ip) {
    TcpStream stream(std::move(socket));
    error_code ignored;
    stream.socket().set_option(tcp::no_delay(true), ignored);
    beast::flat_buffer buffer;
    if (client_ip.empty()) client_ip = stream.socket().remote_endpoint(ignored).address().to_string();
    SessionHandle handle;
    handle.stream = &stream;
    host.AddSession(handle);
    struct Unregister {
        SessionHost& host;
        SessionHandle& h;
        ~Unregister() { host.RemoveSession(h); }
    } unregister{host, handle};

    for (;;) {
        if (host.draining()) break;
        const std::shared_ptr<const core::Config> config = host.CurrentConfig();
        const core::ServerConfig& server = config->server;
        BoundReadBuffer(buffer, server);
        if (buffer.size() == 0) {
            // Keep-alive wait: the idle timeout applies until the first byte of a request.
            stream.expires_after(server.idle_timeout);
            host.SessionIdle(handle);
            auto [ec, n] = co_await stream.async_read_some(buffer.prepare(8192), kNoThrow);
            SessionHost::SessionBusy(handle);
            if (ec) break;
            buffer.commit(n);
        }
        // Declared before the parser: the arena must outlive the head allocated from it.
        RequestArena arena(host.ArenaBlocks());
        RequestParser parser = MakeRequestParser(arena);
        parser.header_limit(static_cast<std::uint32_t>(server.max_header_bytes));
        parser.body_limit(server.max_body_bytes);
        // Slowloris: the whole header must arrive within header_timeout of its first byte.
        // The body is read later, by the request handler, once the head has passed auth.
        stream.expires_after(server.header_timeout);
        const auto started = std::chrono::steady_clock::now();
        error_code ec;
        if (!ParseBufferedHead(buffer, parser, ec))
            std::tie(ec, std::ignore) = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
        stream.expires_never();
        if (ec) {
            if (auto reply = ReadErrorReply(ec, server)) {
                co_await RefuseHead(stream, host, *reply, parser, client_ip, started);
            }
            co_return;
        }
        if (auto refusal = CheckRequestHead(parser.get())) {
            co_await RefuseHead(stream, host, *refusal, parser, client_ip, started);
            co_return;
        }
        // HTTP/1.0 has no chunked framing: a Transfer-Encoding on it ends the connection.
        const bool close_after = parser.get().version() < 11 && parser.get().count(http::field::transfer_encoding) > 0;
        bool keep_alive = false;
        try {
            keep_alive = co_await host.Serve(stream, buffer, parser, client_ip);
            if (close_after) keep_alive = false;
        } catch (const std::exception& e) {
            // Last-resort guard: a bug in one request must not take the process down.
            spdlog::error("unhandled exception while serving a request: {}", e.what());
        }
        core::GiveBack(std::move(parser.get().body()));  // for this worker's next request
        if (!keep_alive && !parser.is_done()) {
            // Answered without reading the body (refused on its head): the client may still be
            // sending it.
            co_await LingeringClose(stream);
            co_return;
        }
        if (!keep_alive) break;
    }
    stream.socket().shutdown(Socket::shutdown_send, ignored);
    stream.close();
}

}  // namespace llmproxy
