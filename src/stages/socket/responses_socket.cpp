// The Responses API over WebSocket (GET /v1/responses with Upgrade: websocket), as recent Codex
// CLIs dial it first. Each `response.create` frame is one POST /v1/responses through the whole
// pipeline (keys, limits, routing, translation, metering, logs), made over an in-process
// socket pair into a session of this same worker that is told the client's address, so a key's
// IP rules and the access log see the real client. Each SSE event of the answer goes back as
// one text frame; an error answer becomes an in-band {"type":"error","status":..,"error":{..}}
// frame (the shape Codex reads). Where WebSocket is off, the answer is 426 at once: Codex falls
// back to HTTP on 426 without the retries a 404 or 405 costs it.
#include "stages/socket/responses_socket.hpp"

#include <sys/socket.h>

#include <boost/asio/write.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "http/sse_framer.hpp"
#include "http/wire.hpp"
#include "stages/socket/responses_history.hpp"

namespace llmproxy::stages {
namespace {

namespace websocket = beast::websocket;
namespace json = boost::json;
using WebSocket = websocket::stream<TcpStream&>;
using pipeline::RequestContext;
using pipeline::Runtime;

constexpr std::size_t kMaxErrorBody = 64u << 10;

// The handshake's own headers and hop-by-hop ones stay behind; the rest (credentials, Codex's
// session headers, tracing) go with every turn.
bool Forwarded(std::string_view name) {
    for (std::string_view skip :
         {"host", "connection", "upgrade", "content-length", "transfer-encoding", "content-type", "content-encoding",
          "keep-alive", "te", "trailer", "expect", "x-request-id", "proxy-authorization"}) {
        if (beast::iequals(name, skip)) return false;
    }
    return !(name.size() >= 14 && beast::iequals(name.substr(0, 14), "sec-websocket-"));
}

std::string ForwardedHeaders(const ClientRequest& upgrade) {
    std::string lines;
    for (const auto& field : upgrade) {
        const auto name = field.name_string();
        if (Forwarded(std::string_view(name.data(), name.size())))
            wire::AppendHeader(lines, std::string_view(name.data(), name.size()),
                               std::string_view(field.value().data(), field.value().size()));
    }
    return lines;
}

// {"type":"error","status":S,"error":{...}} from the gateway's own error body (or any other).
std::string ErrorFrame(unsigned status, std::string_view body, std::string_view retry_after) {
    boost::system::error_code ec;
    json::value parsed = json::parse(body, ec);
    json::value error;
    if (!ec && parsed.is_object() && parsed.get_object().contains("error")) {
        error = parsed.get_object().at("error");
    } else {
        error = json::object{{"type", status >= 500 ? "server_error" : "invalid_request_error"},
                             {"message", "the gateway answered " + std::to_string(status)}};
    }
    json::object frame{{"type", "error"}, {"status", status}, {"error", std::move(error)}};
    if (!retry_after.empty()) frame["headers"] = {{"retry-after", retry_after}};
    return json::serialize(frame);
}

std::string LocalErrorFrame(const core::LocalReply& reply) {
    return ErrorFrame(static_cast<unsigned>(reply.status), core::ErrorBody(reply, {}), {});
}

// One client connection's turns, each over the internal connection into the pipeline.
class Bridge {
public:
    Bridge(WebSocket& ws, TcpStream& gateway, std::string headers, const core::ServerConfig& server)
        : ws_(ws), gateway_(gateway), headers_(std::move(headers)), history_(server.max_body_bytes) {}

    // Returns false when the connection is done (client gone, internal connection broken).
    Task<bool> Serve(std::string_view frame);

private:
    static std::string ModelOf(std::string_view body);

    Task<bool> Send(std::string_view text);

    // The pipeline's answer to one turn: events to frames, or an error frame.
    Task<bool> Relay();

    Task<bool> Events(std::string_view block, bool& terminal);

    WebSocket& ws_;
    TcpStream& gateway_;
    std::string headers_;
    ResponsesHistory history_;
    beast::flat_buffer buffer_;
    std::string joined_;
};

Task<bool> Bridge::Serve(std::string_view frame) {
    ResponsesHistory::Turn turn = history_.Prepare(frame);
    if (turn.ignore) co_return true;
    if (turn.error) co_return co_await Send(LocalErrorFrame(*turn.error));
    if (!turn.generate) {
        auto [created, completed] = history_.Warmup(ModelOf(turn.body));
        co_return co_await Send(created) && co_await Send(completed);
    }
    std::string head = "POST /v1/responses HTTP/1.1\r\nHost: llm-proxy\r\nContent-Type: application/json\r\n";
    wire::AppendHeader(head, "Content-Length", std::to_string(turn.body.size()));
    head += headers_;
    head += "\r\n";
    std::array<asio::const_buffer, 2> request{asio::buffer(head), asio::buffer(turn.body)};
    if (auto [ec, n] = co_await asio::async_write(gateway_, request, kNoThrow); ec) co_return false;
    co_return co_await Relay();
}

std::string Bridge::ModelOf(std::string_view body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    const json::value* m = !ec && v.is_object() ? v.get_object().if_contains("model") : nullptr;
    return m && m->is_string() ? std::string(m->get_string()) : std::string();
}

Task<bool> Bridge::Send(std::string_view text) {
    ws_.text(true);
    auto [ec, n] = co_await ws_.async_write(asio::buffer(text.data(), text.size()), kNoThrow);
    co_return !ec;
}

Task<bool> Bridge::Relay() {
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    if (auto [ec, n] = co_await http::async_read_header(gateway_, buffer_, parser, kNoThrow); ec) {
        co_await Send(LocalErrorFrame({502, "server_error", "internal_error", "the gateway's pipeline broke", {}, {}}));
        co_return false;
    }
    const auto& res = parser.get();
    const unsigned status = res.result_int();
    const bool sse = res[http::field::content_type].starts_with("text/event-stream");
    std::string error_body;
    sse::SseFramer framer;
    bool terminal = false;
    char piece[16384];
    while (!parser.is_done()) {
        parser.get().body().data = piece;
        parser.get().body().size = sizeof piece;
        auto [ec, n] = co_await http::async_read_some(gateway_, buffer_, parser, kNoThrow);
        if (ec && ec != http::error::need_buffer) co_return false;
        const std::string_view got(piece, sizeof piece - parser.get().body().size);
        if (!sse) {
            if (error_body.size() < kMaxErrorBody) error_body.append(got.substr(0, kMaxErrorBody - error_body.size()));
            continue;
        }
        if (!co_await Events(framer.Feed(got), terminal)) co_return false;
    }
    if (!sse || status != 200) {
        const auto retry = res[http::field::retry_after];
        co_return co_await Send(ErrorFrame(status, error_body, std::string_view(retry.data(), retry.size()))) &&
            parser.keep_alive();
    }
    if (!terminal) history_.OnEvent({});  // a stream that never finished: nothing to continue from
    co_return parser.keep_alive();
}

Task<bool> Bridge::Events(std::string_view block, bool& terminal) {
    std::vector<std::string_view> events;
    sse::ForEachEvent(block, [&](std::string_view event) { events.push_back(event); });
    for (std::string_view event : events) {
        const std::string_view data = sse::EventData(event, joined_);
        if (data.empty() || data == "[DONE]") continue;
        terminal = history_.OnEvent(data) || terminal;
        if (!co_await Send(data)) co_return false;
    }
    co_return true;
}

// A connected pair of stream sockets on this worker's executor: one end for the internal
// session, one for the bridge.
bool MakePair(const Executor& executor, Socket& session_end, Socket& bridge_end) {
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return false;
    error_code ec;
    session_end.assign(tcp::v4(), fds[0], ec);
    if (!ec) bridge_end.assign(tcp::v4(), fds[1], ec);
    if (ec) {
        if (!session_end.is_open()) ::close(fds[0]);
        ::close(fds[1]);
        return false;
    }
    return true;
}

void RefuseUpgrade(RequestContext& ctx, std::string message) {
    ctx.Refuse(core::LocalReply{426, "invalid_request_error", "websocket_unavailable", std::move(message), {}, {}},
               "Upgrade: websocket\r\n");
}

}  // namespace

Task<void> ResponsesSocketStage::Run(RequestContext& ctx, TcpStream& client, Runtime& rt) {
    const core::ServerConfig& server = ctx.config().server;
    const auto& upgrade = ctx.request();
    if (!server.responses_websocket || !rt.serve_internal) {
        RefuseUpgrade(ctx, "Responses over WebSocket is off on this gateway (server.responses_websocket); use POST");
        co_return;
    }
    if (!websocket::is_upgrade(upgrade)) {
        RefuseUpgrade(ctx, "GET /v1/responses is the WebSocket endpoint: send Upgrade: websocket, or POST");
        co_return;
    }
    Socket session_end(client.get_executor()), bridge_end(client.get_executor());
    if (!MakePair(client.get_executor(), session_end, bridge_end)) {
        ctx.Refuse(
            core::LocalReply{503, "server_error", "server_busy", "no descriptor for the WebSocket bridge", {}, {}});
        co_return;
    }
    WebSocket ws(client);
    websocket::stream_base::timeout timeouts{std::chrono::seconds(10), server.idle_timeout, true};
    ws.set_option(timeouts);
    ws.set_option(websocket::stream_base::decorator(
        [id = std::string(ctx.request_id.view())](websocket::response_type& res) { res.set("x-request-id", id); }));
    ws.read_message_max(server.max_body_bytes);
    client.expires_never();
    ctx.keep_alive = false;
    if (auto [ec] = co_await ws.async_accept(upgrade, kNoThrow); ec) {
        ctx.client_gone = true;
        co_return;
    }
    ctx.record.status = 101;
    rt.serve_internal(std::move(session_end), std::string(ctx.client_ip));
    TcpStream gateway(std::move(bridge_end));
    Bridge bridge(ws, gateway, ForwardedHeaders(upgrade), server);
    beast::flat_buffer frame;
    for (;;) {
        frame.clear();
        auto [ec, n] = co_await ws.async_read(frame, kNoThrow);
        if (ec) break;  // closed, idle past the timeout, or a frame over max_body_bytes (closed with 1009)
        const auto data = frame.cdata();
        if (!co_await bridge.Serve(std::string_view(static_cast<const char*>(data.data()), data.size()))) break;
    }
    error_code ignored;
    gateway.socket().shutdown(Socket::shutdown_both, ignored);
    gateway.close();
    if (ws.is_open()) co_await ws.async_close(websocket::close_code::normal, kNoThrow);
}

}  // namespace llmproxy::stages
