#include "http/session.hpp"

#include <spdlog/spdlog.h>

#include "core/openai_error.hpp"
#include "core/request_id.hpp"
#include "http/request_body.hpp"
#include "http/worker.hpp"
#include "pipeline/local_reply.hpp"
#include "pipeline/pipeline.hpp"

namespace llmproxy {

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
        RequestParser parser;
        parser.header_limit(static_cast<std::uint32_t>(server.max_header_bytes));
        parser.body_limit(server.max_body_bytes);
        // Slowloris: the whole header must arrive within header_timeout of its first byte.
        // The body is read later, by the request handler, once the head has passed auth.
        stream.expires_after(server.header_timeout);
        auto [ec, hn] = co_await http::async_read_header(stream, buffer, parser, kNoThrow);
        stream.expires_never();
        if (ec) {
            if (auto reply = ReadErrorReply(ec, server)) {
                const std::string id = core::MakeRequestId({});
                const std::string body = core::ErrorBody(*reply, id);
                co_await pipeline::WriteLocal(stream, reply->status, body, id, false);
                co_await LingeringClose(stream);
            }
            co_return;
        }
        bool keep_alive = false;
        try {
            std::shared_ptr<const Snapshot> snapshot = worker.snapshot_ptr();
            std::shared_ptr<const proxy::KeySet> keys = worker.keys();
            keep_alive = co_await pipeline::HandleRequest(stream, buffer, parser, snapshot, keys, worker.runtime(),
                                                          client_ip);
        } catch (const std::exception& e) {
            // Last-resort guard: a bug in one request must not take the process down.
            spdlog::error("unhandled exception while serving a request: {}", e.what());
        }
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
