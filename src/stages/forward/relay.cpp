#include "stages/forward/relay.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "http/sse_framer.hpp"
#include "http/wire.hpp"
#include "stages/forward/client_head.hpp"
#include "stages/forward/encoded_meter.hpp"

using llmproxy::sse::SseFramer;

namespace llmproxy::stages {
namespace {

using Clock = std::chrono::steady_clock;
using upstream::UpstreamConnection;

// Watches the client connection while the upstream works: a client that hangs up cancels the
// upstream request at once, so the model server frees the slot. It is a read kept pending on
// the client socket (not async_wait, which costs an epoll_ctl per request): EOF means the
// client left; bytes are the next pipelined request and are kept for the session. The read's
// handler owns only this shared state, and Forward waits for it before returning, so it never
// touches the session's buffer after Forward is done.
constexpr std::size_t kWatchBytes = 256;

struct ClientWatch {
    explicit ClientWatch(Executor ex) : done(std::move(ex)) { done.expires_at(Timer::time_point::max()); }
    std::weak_ptr<UpstreamConnection> conn;
    bool completed = false;
    bool client_gone = false;
    std::size_t pipelined = 0;  // bytes of a pipelined request read into `bytes`
    Timer done;                 // an event: cancelled when the read completes
    char bytes[kWatchBytes];    // its own small buffer: the session's can be given back meanwhile
};

void WatchClient(Socket& socket, const std::shared_ptr<ClientWatch>& watch) {
    // A small read: enough to see EOF or the start of a pipelined request (the rest waits in
    // the socket for the session).
    socket.async_read_some(asio::buffer(watch->bytes), [watch](const error_code& ec, std::size_t n) {
        watch->completed = true;
        watch->done.cancel();
        if (ec == asio::error::operation_aborted) return;  // we stopped watching
        if (!ec && n > 0) {
            watch->pipelined = n;
            return;
        }
        watch->client_gone = true;
        if (auto conn = watch->conn.lock()) conn->Close();
    });
}

bool IsSkippedRequestHeader(std::string_view name, std::string_view connection, const core::ProviderConfig& p) {
    using beast::iequals;
    // The client's credentials are for the gateway, never for the upstream.
    static constexpr std::string_view kDrop[] = {"host",       "content-length", "expect",          "authorization",
                                                 "x-api-key",  "api-key",        "accept-encoding", "x-request-id",
                                                 "traceparent"};
    for (auto h : kDrop) {
        if (iequals(name, h)) return true;
    }
    for (const auto& [h, v] : p.headers) {
        if (iequals(name, h)) return true;  // provider-configured headers win
    }
    // They would choose another organization or project of the provider's account.
    if (!p.forward_account_headers && (iequals(name, "openai-organization") || iequals(name, "openai-project"))) {
        return true;
    }
    return wire::IsHopByHop(name, connection);
}

std::string BuildUpstreamHead(const ForwardInput& in) {
    const auto& req = in.request;
    const auto& p = in.provider;
    std::string head;
    head.reserve(512);
    auto method = req.method_string();
    head.append(method.data(), method.size());
    head.push_back(' ');
    head.append(in.upstream_target);
    head.append(" HTTP/1.1\r\n");
    wire::AppendHeader(head, "Host", p.host_header);
    auto connection = req[http::field::connection];
    std::string_view conn_sv(connection.data(), connection.size());
    for (const auto& f : req) {
        auto name = f.name_string();
        std::string_view n(name.data(), name.size());
        if (IsSkippedRequestHeader(n, conn_sv, p)) continue;
        auto v = f.value();
        wire::AppendHeader(head, n, std::string_view(v.data(), v.size()));
    }
    in.adapter.AppendAuthHeaders(p, head);
    bool encoding_set = false;
    for (const auto& [h, v] : p.headers) {
        wire::AppendHeader(head, h, v);
        encoding_set = encoding_set || beast::iequals(h, "accept-encoding");
    }
    // Plain text back: the relay reads events and usage from it (a compressed stream could
    // only be passed through whole). The client's own Accept-Encoding is not forwarded.
    if (!encoding_set) wire::AppendHeader(head, "Accept-Encoding", "identity");
    wire::AppendHeader(head, "X-Request-ID", in.request_id);
    if (!in.traceparent.empty()) wire::AppendHeader(head, "traceparent", in.traceparent);
    if (!in.body.empty() || req.method() == http::verb::post || req.method() == http::verb::put ||
        req.method() == http::verb::patch) {
        wire::AppendHeader(head, "Content-Length", std::to_string(in.body.size()));
    }
    head.append(wire::kCrlf);
    return head;
}

// One gather write: [head] [chunk size line, data, CRLF] [last chunk].
Task<error_code> WriteToClient(TcpStream& client, std::string_view head, std::string_view data, bool chunked, bool last,
                               core::Millis timeout) {
    char size_line[24];
    std::array<asio::const_buffer, 5> bufs{};
    bufs[0] = asio::buffer(head);
    if (!data.empty()) {
        if (chunked) bufs[1] = asio::buffer(wire::ChunkSizeLine(data.size(), size_line));
        bufs[2] = asio::buffer(data);
        if (chunked) bufs[3] = asio::buffer(wire::kCrlf);
    }
    if (last && chunked) bufs[4] = asio::buffer(wire::kLastChunk);
    if (asio::buffer_size(bufs) == 0) co_return error_code{};
    client.expires_after(timeout);
    auto [ec, n] = co_await asio::async_write(client, bufs, kNoThrow);
    client.expires_never();
    co_return ec;
}

// Retry-After in seconds (the HTTP-date form is rare from model APIs and is ignored).
std::int64_t RetryAfterMs(const UpstreamResponse& res) {
    auto v = res[http::field::retry_after];
    std::int64_t seconds = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
    if (ec != std::errc() || seconds < 0) return -1;
    return seconds * 1000;
}

bool IsTimeout(const error_code& ec) {
    return ec == beast::error::timeout || ec == asio::error::timed_out;
}

// Reasons to give up on an upstream's answer that are not I/O errors.
const error_code kDeadlinePassed = make_error_code(boost::system::errc::timed_out);
const error_code kUnexpectedUpgrade = make_error_code(boost::system::errc::protocol_error);
const error_code kTooManyInterim = make_error_code(boost::system::errc::bad_message);
const error_code kInvalidStatus = make_error_code(boost::system::errc::illegal_byte_sequence);

// Errors of this host, not of the upstream: out of descriptors (process or system), buffer
// space, memory or local ports.
bool IsLocalResourceError(const error_code& ec) {
    namespace errc = boost::system::errc;
    return ec == asio::error::no_descriptors || ec == errc::too_many_files_open_in_system ||
           ec == asio::error::no_buffer_space || ec == asio::error::no_memory || ec == errc::address_not_available;
}

// The upstream's bytes are not HTTP we accept (a parse error, a head over its limit, a chunk
// line or trailer that never ends): its fault, but not a connection failure to retry.
bool IsProtocolError(const error_code& ec) {
    if (ec == kUnexpectedUpgrade || ec == kTooManyInterim || ec == kInvalidStatus) return true;
    if (ec.category() != http::make_error_code(http::error::bad_version).category()) return false;
    return ec != http::error::end_of_stream && ec != http::error::partial_message && ec != http::error::need_more &&
           ec != http::error::need_buffer;
}

std::string ProtocolErrorText(const error_code& ec) {
    if (ec == kUnexpectedUpgrade) return "switched protocols (101) unasked";
    if (ec == kTooManyInterim) return "sent too many interim (1xx) responses";
    if (ec == kInvalidStatus) return "answered with a status outside 100-599";
    if (ec == http::error::header_limit) return "sent response headers over the limit (server.max_header_bytes)";
    if (ec == http::error::buffer_overflow) return "sent a chunk size line or trailer without end";
    return "sent a malformed HTTP response (" + ec.message() + ")";
}

core::LocalReply UpstreamError(const error_code& ec, const core::ProviderConfig& p, bool connecting) {
    core::LocalReply r;
    r.type = "upstream_error";
    if (!connecting && IsProtocolError(ec)) {
        r.status = 502;
        r.code = "upstream_protocol_error";
        r.message = std::string("upstream provider '") + p.name + "' " + ProtocolErrorText(ec);
    } else if (IsTimeout(ec)) {
        r.status = 504;
        r.code = "upstream_timeout";
        r.message = std::string("upstream provider '") + p.name + "' timed out" +
                    (connecting ? " while connecting" : " before responding");
    } else {
        r.status = 502;
        r.code = connecting ? "upstream_unreachable" : "upstream_error";
        r.message = std::string("upstream provider '") + p.name + "' " +
                    (connecting ? "is unreachable: " : "failed: ") + ec.message();
    }
    return r;
}

// Why a response that had started ended early: the code in the stream's error event and in
// the access log.
std::string_view CutReason(const error_code& ec) {
    if (ec == kDeadlinePassed) return "request_timeout";
    if (IsTimeout(ec)) return "upstream_idle_timeout";
    if (IsProtocolError(ec)) return "upstream_protocol_error";
    return "upstream_stream_interrupted";
}

std::string StreamErrorEvent(const error_code& ec, std::string_view request_id) {
    core::LocalReply r;
    r.type = ec == kDeadlinePassed ? "timeout_error" : "upstream_error";
    r.code = CutReason(ec);
    if (ec == kDeadlinePassed) {
        r.message =
            "the request reached its time limit (timeouts.total or x-llm-proxy-timeout); the stream is incomplete";
    } else if (IsTimeout(ec)) {
        r.message = "the upstream stopped sending data (idle timeout); the stream is incomplete";
    } else {
        r.message = "the upstream connection broke mid-stream (" + ec.message() + "); the stream is incomplete";
    }
    return "event: error\ndata: " + core::ErrorBody(r, request_id) + "\n\n";
}

// No connection for this attempt: why, as the outcome says it (whose failure it is decides
// whether the provider's health is marked).
void LeaseFailed(const error_code& ec, const ForwardInput& in, const upstream::UpstreamPool& pool,
                 ForwardOutcome& out) {
    if (ec == upstream::PoolExhausted()) {
        // Our own cap, not the provider's failure: a clear 503, and no mark on its health.
        out.pool_exhausted = true;
        out.error = core::LocalReply{
            503,
            "upstream_error",
            "upstream_pool_exhausted",
            "all " + std::to_string(pool.max_open()) + " connections of this worker to provider '" + in.provider.name +
                "' are in use and none came free within " + std::to_string(in.provider.pool_timeout.count()) +
                " ms (providers[].max_connections, pool_timeout)",
            {},
            {}};
    } else if (IsLocalResourceError(ec)) {
        // Out of descriptors, memory or ports here: the gateway's failure, never the provider's
        // (no mark on its health), and one a client may retry shortly.
        out.pool_exhausted = true;
        out.error = core::LocalReply{503,
                                     "server_error",
                                     "server_busy",
                                     "the gateway is out of local resources (" + ec.message() +
                                         ") for a connection to provider '" + in.provider.name + "'; retry shortly",
                                     {},
                                     {}};
    } else {
        out.error = UpstreamError(ec, in.provider, true);
        out.connect_failed = true;
        out.timed_out = IsTimeout(ec);
    }
}

// Reads response heads until the final one. Interim answers (100 Continue, 102, 103 Early
// Hints) are dropped: the final answer follows on the same connection, and leaving it unread
// would hand it to the next request that reuses the connection. A 101 we never asked for ends
// the exchange (kUnexpectedUpgrade).
Task<error_code> ReadFinalHeader(UpstreamConnection& conn, std::optional<upstream::ResponseParser>& parser,
                                 bool head_request, core::Millis timeout, std::size_t head_limit) {
    constexpr int kMaxInterim = 16;
    for (int interim = 0;; ++interim) {
        parser.emplace();
        parser->body_limit(boost::none);  // responses are relayed, not held
        if (head_request) parser->skip(true);
        error_code ec = co_await conn.ReadHeader(*parser, timeout, head_limit);
        if (ec) co_return ec;
        switch (KindOfHead(parser->get().result_int())) {
            case HeadKind::kFinal:
                co_return error_code{};
            case HeadKind::kUpgrade:
                co_return kUnexpectedUpgrade;
            case HeadKind::kInvalid:
                co_return kInvalidStatus;
            case HeadKind::kInterim:
                break;
        }
        if (interim == kMaxInterim) co_return kTooManyInterim;
    }
}

bool IsStaleKeepAliveError(const error_code& ec) {
    return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == http::error::partial_message;
}

Task<ForwardOutcome> Exchange(TcpStream& client, beast::flat_buffer& client_buffer, const ForwardInput& in,
                              upstream::UpstreamPool& pool, const std::shared_ptr<ClientWatch>& watch) {
    ForwardOutcome out;
    const auto& t = in.provider.timeouts;
    const auto deadline = std::min(Clock::now() + t.total, in.deadline);
    auto op_timeout = [&](core::Millis limit) {
        auto left = std::chrono::duration_cast<core::Millis>(deadline - Clock::now());
        return std::max(core::Millis(1), std::min(limit, left));
    };

    std::string head = BuildUpstreamHead(in);

    std::shared_ptr<UpstreamConnection> conn;
    std::optional<upstream::ResponseParser> parser;
    // A second attempt only when a reused keep-alive connection turned out to be closed by the
    // upstream before it answered (the classic keep-alive race); anything else is reported.
    for (int attempt = 0;; ++attempt) {
        auto lease = co_await pool.Acquire(attempt > 0);
        if (watch->client_gone) {
            if (lease.conn) pool.Release(lease.conn, false);
            out.client_aborted = true;
            co_return out;
        }
        if (lease.ec) {
            LeaseFailed(lease.ec, in, pool, out);
            co_return out;
        }
        conn = std::move(lease.conn);
        watch->conn = conn;
        const std::array<asio::const_buffer, 2> request_bytes{asio::buffer(head), asio::buffer(in.body)};
        const auto sent_at = Clock::now();
        error_code ec = co_await conn->Write(request_bytes, op_timeout(t.first_byte));
        if (!ec)
            ec = co_await ReadFinalHeader(*conn, parser, in.request.method() == http::verb::head,
                                          op_timeout(t.first_byte), in.max_response_head);
        if (IsProtocolError(ec)) {
            // The upstream speaks something else on this connection: never pool it, never retry.
            pool.Release(std::move(conn), false);
            out.error = UpstreamError(ec, in.provider, false);
            co_return out;
        }
        if (!ec) {
            out.ttfb_ms = std::chrono::duration<double, std::milli>(Clock::now() - sent_at).count();
            // An answer came: the request is never sent again, so what it took goes back now
            // rather than when a long stream ends.
            std::string().swap(head);
            if (in.sent_body_storage) std::string().swap(*in.sent_body_storage);
            break;
        }
        bool retry = attempt == 0 && conn->reused && IsStaleKeepAliveError(ec) && !watch->client_gone;
        pool.Release(std::move(conn), false);
        if (watch->client_gone) {
            out.client_aborted = true;
            co_return out;
        }
        if (!retry) {
            out.error = UpstreamError(ec, in.provider, false);
            out.timed_out = IsTimeout(ec);
            co_return out;
        }
    }

    auto& res = parser->get();
    const unsigned status = res.result_int();
    out.status = status;
    if (status == 429) out.retry_after_ms = RetryAfterMs(res);
    if (std::find(in.hold_statuses.begin(), in.hold_statuses.end(), static_cast<int>(status)) !=
        in.hold_statuses.end()) {
        // Another attempt follows: the client never sees this answer. Closing the connection
        // is cheaper than reading a body nobody wants.
        out.held_status = status;
        out.status = 0;
        pool.Release(std::move(conn), false);
        co_return out;
    }
    auto ctype = res[http::field::content_type];
    const bool sse =
        beast::iequals(std::string_view(ctype.data(), std::min<std::size_t>(ctype.size(), 17)), "text/event-stream");
    // Compressed although we asked for identity: relayed as it comes, metered decompressed.
    const auto encoding = res[http::field::content_encoding];
    const bool encoded = !encoding.empty() && !beast::iequals(encoding, "identity");
    // On the heap, and only then: its 16 KiB window in this coroutine's frame would cost every
    // exchange a larger frame (measured: +16k instructions a request, mostly its zeroing).
    std::unique_ptr<EncodedBodyMeter> meter;
    if (encoded && wire::InflaterReads(std::string_view(encoding.data(), encoding.size())) && !in.observers.empty())
        meter = std::make_unique<EncodedBodyMeter>(sse, in.observers);
    const bool framed = sse && !encoded;  // events the observers may rewrite
    // A stream may run for minutes: give back the session's read buffer (8 KiB) meanwhile (the
    // next request's read takes a new one). Short answers keep it, saving the allocation.
    if (sse && client_buffer.size() == 0) client_buffer.shrink_to_fit();
    // An event stream may be rewritten by the observers (the injected usage chunk is dropped,
    // later dialect translation): its length is the relay's, never the upstream's.
    const ClientFraming framing =
        FrameForClient(status, in.request.method() == http::verb::head, framed && !in.observers.empty(),
                       parser->content_length(), in.request.keep_alive(), in.request.version());
    const bool chunked = framing.chunked, keep_client = framing.keep_client;
    std::string client_head =
        BuildClientHead(res, in.request_id, in.extra_response_headers, framing, in.request.version() < 11);

    const ResponseHead seen{status, sse, ctype.find("json") != beast::string_view::npos};
    for (auto* o : in.observers) o->OnHead(seen);
    // Whole events go through the observers in order, each seeing what the previous one relays.
    auto observe_events = [&](std::string_view events) {
        for (auto* o : in.observers) {
            if (events.empty()) break;
            events = o->OnEvents(events);
        }
        return events;
    };

    SseFramer framer;
    bool head_sent = false;
    std::string joined;  // the pieces of one read, when a chunked upstream sent several chunks
    error_code ec;
    while (!parser->is_done()) {
        res.body().clear();
        ec = co_await conn->ReadSome(*parser, op_timeout(t.idle));
        // An upstream that keeps sending never hits the idle timeout: the request's own limit
        // (timeouts.total, x-llm-proxy-timeout) is checked on every read.
        // A read cut short by the deadline (not by idleness) says so too.
        if (((!ec && !parser->is_done()) || IsTimeout(ec)) && Clock::now() + core::Millis(2) >= deadline) {
            ec = kDeadlinePassed;
        }
        // Views into the connection's read buffer: relayed before the next read reuses it.
        const auto& pieces = res.body().pieces;
        std::string_view piece;
        if (pieces.size() == 1) {
            piece = pieces.front();
        } else if (pieces.size() > 1) {
            joined.clear();
            for (auto p : pieces) joined.append(p);
            piece = joined;
        }
        if (encoded) {
            if (meter) meter->Feed(piece);
        } else if (sse) {
            piece = observe_events(framer.Feed(piece));
        } else if (!piece.empty()) {
            for (auto* o : in.observers) o->OnBody(piece);
        }
        const bool done = !ec && parser->is_done();
        std::string tail;
        if (done && framed) tail = framer.TakeRemainder();  // a last event without its blank line
        if (done && meter) meter->End();
        const std::string_view head_now = head_sent ? std::string_view() : std::string_view(client_head);
        if (!tail.empty()) {
            error_code wec = co_await WriteToClient(client, head_now, piece, chunked, false, in.client_write_timeout);
            if (wec) {
                ec = wec;
                watch->client_gone = true;
                break;
            }
            head_sent = true;
            piece = observe_events(tail);
        }
        if (piece.empty() && !done && (head_sent || ec)) {
            if (ec) break;
            continue;  // an incomplete event: wait for its end
        }
        error_code wec = co_await WriteToClient(client, head_sent ? std::string_view() : std::string_view(client_head),
                                                piece, chunked, done, in.client_write_timeout);
        if (!head_sent) std::string().swap(client_head);
        head_sent = true;
        if (sse && !piece.empty() && !out.first_event_at) out.first_event_at = Clock::now();
        if (wec) {
            watch->client_gone = true;
            ec = wec;
            break;
        }
        if (ec) break;
    }
    out.response_started = head_sent;
    if (!ec && !head_sent) {  // no body at all (204, HEAD, empty body)
        const std::string_view head_only = client_head;
        error_code wec = co_await WriteToClient(client, head_only, {}, chunked, true, in.client_write_timeout);
        if (wec) {
            watch->client_gone = true;
            ec = wec;
        }
        out.response_started = true;
    }
    for (auto* o : in.observers) o->OnEnd(!ec);
    if (ec) {
        pool.Release(std::move(conn), false);
        if (watch->client_gone) {
            out.client_aborted = true;
            co_return out;
        }
        if (!head_sent) {
            out.error = UpstreamError(ec, in.provider, false);
            co_return out;
        }
        out.cut = CutReason(ec);
        // The request's own time limit is not the provider's failure (a long answer, a client's
        // short x-llm-proxy-timeout); a break or a stall is.
        out.upstream_failed = ec != kDeadlinePassed;
        spdlog::warn("request {}: response from '{}' cut after it started ({}): {}", in.request_id, in.provider.name,
                     out.cut, ec.message());
        if (framed && chunked) {  // (never inside a compressed stream)
            // Never invent [DONE]: say what happened in-band, then end the response.
            const std::string event = StreamErrorEvent(ec, in.request_id);
            const std::string_view event_view = event;
            co_await WriteToClient(client, {}, event_view, true, true, in.client_write_timeout);
        }
        co_return out;  // keep_client stays false: a truncated non-SSE body ends with the close
    }
    pool.Release(std::move(conn), parser->keep_alive());
    out.keep_client = keep_client;
    co_return out;
}

}  // namespace

Task<ForwardOutcome> Forward(TcpStream& client, beast::flat_buffer& client_buffer, const ForwardInput& in,
                             upstream::UpstreamPool& pool) {
    auto watch = std::make_shared<ClientWatch>(client.get_executor());
    if (client_buffer.size() == 0) {
        WatchClient(client.socket(), watch);
    } else {
        watch->completed = true;  // a pipelined request is already buffered: no watch needed
    }
    ForwardOutcome out = co_await Exchange(client, client_buffer, in, pool, watch);
    if (!watch->completed) {
        error_code ignored;
        client.socket().cancel(ignored);
        co_await watch->done.async_wait(kNoThrow);
    }
    if (watch->pipelined) {
        auto room = client_buffer.prepare(watch->pipelined);
        std::memcpy(room.data(), watch->bytes, watch->pipelined);
        client_buffer.commit(watch->pipelined);
    }
    if (watch->client_gone) out.client_aborted = true;
    co_return out;
}

}  // namespace llmproxy::stages
