#include "stages/forward/relay.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

#include <spdlog/spdlog.h>

#include "core/string_pool.hpp"
#include "http/sse_framer.hpp"
#include "http/wire.hpp"
#include "http/write_all.hpp"
#include "stages/forward/client_head.hpp"
#include "stages/forward/client_watch.hpp"
#include "stages/forward/encoded_meter.hpp"
#include "stages/forward/upstream_errors.hpp"
#include "stages/forward/upstream_head.hpp"

namespace llmproxy::stages {
namespace {

using Clock = std::chrono::steady_clock;
using upstream::UpstreamConnection;

// One gather write: [head] [chunk size line, data, CRLF] [last chunk]. Not movable: the
// buffers point into it.
struct ClientWrite {
    ClientWrite(std::string_view head, std::string_view data, bool chunked, bool last) {
        bufs[0] = asio::buffer(head);
        if (!data.empty()) {
            if (chunked) bufs[1] = asio::buffer(wire::ChunkSizeLine(data.size(), size_line));
            bufs[2] = asio::buffer(data);
            if (chunked) bufs[3] = asio::buffer(wire::kCrlf);
        }
        if (last && chunked) bufs[4] = asio::buffer(wire::kLastChunk);
    }
    ClientWrite(const ClientWrite&) = delete;
    ClientWrite& operator=(const ClientWrite&) = delete;

    char size_line[24];
    std::array<asio::const_buffer, 5> bufs{};
};

// What the socket did not take at once, under the client's write timeout.
Task<error_code> FinishWrite(TcpStream& client, const ClientWrite& write, std::size_t done, core::Millis timeout) {
    client.expires_after(timeout);
    const error_code ec = co_await WriteRest(client, write.bufs, done);
    client.expires_never();
    co_return ec;
}

// The whole write: straight to the socket, awaited only for what it could not take.
Task<error_code> WriteToClient(TcpStream& client, std::string_view head, std::string_view data, bool chunked, bool last,
                               core::Millis timeout) {
    const ClientWrite write(head, data, chunked, last);
    error_code ec;
    const std::size_t now = client.write_some_now(write.bufs, ec);
    if (!ec && now < asio::buffer_size(write.bufs)) ec = co_await FinishWrite(client, write, now, timeout);
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

// Interim answers (100 Continue, 102, 103 Early Hints) are dropped: the final answer follows
// on the same connection, and leaving it unread would hand it to the next request that reuses
// the connection. A 101 we never asked for ends the exchange (kUnexpectedUpgrade). True for an
// interim head to skip; else `ec` says whether the head is the final one.
bool SkipInterimHead(unsigned status, int interim, error_code& ec) {
    constexpr int kMaxInterim = 16;
    switch (KindOfHead(status)) {
        case HeadKind::kFinal:
            return false;
        case HeadKind::kUpgrade:
            ec = kUnexpectedUpgrade;
            return false;
        case HeadKind::kInvalid:
            ec = kInvalidStatus;
            return false;
        case HeadKind::kInterim:
            break;
    }
    if (interim < kMaxInterim) return true;
    ec = kTooManyInterim;
    return false;
}

// One exchange with one upstream, as Envoy's UpstreamRequest is one attempt of its router:
// connect and send (once more on a keep-alive connection the upstream had closed), read the
// final head, hold it back if another attempt will follow, then relay the answer (event by
// event, piece by piece, or whole when an observer rewrites it) and end it.
class Exchange {
public:
    Exchange(TcpStream& client, beast::flat_buffer& client_buffer, const ForwardInput& in, upstream::UpstreamPool& pool,
             ClientWatchSlot& watch)
        : client_(client),
          client_buffer_(client_buffer),
          in_(in),
          pool_(pool),
          watch_(watch),
          deadline_(std::min(Clock::now() + in.provider.timeouts.total, in.deadline)) {}
    Exchange(const Exchange&) = delete;
    Exchange& operator=(const Exchange&) = delete;
    ~Exchange() {
        core::GiveBack(std::move(last_));
        core::GiveBack(std::move(joined_));
    }

    // The steps of an exchange, in order (Forward runs them).
    Task<bool> Connect();
    bool HeldBack();
    bool ShowHead();
    bool RelaysWhole() const { return head_.whole_body && !head_.sse && !NoBody(); }
    Task<error_code> RelayPieces();
    Task<error_code> RelayWhole();
    std::string_view End(const error_code& ec);
    ForwardOutcome& outcome() { return out_; }

private:
    // What an operation may take: its own limit, within what is left of the request's.
    core::Millis OpTimeout(core::Millis limit) const {
        auto left = std::chrono::duration_cast<core::Millis>(deadline_ - Clock::now());
        return std::max(core::Millis(1), std::min(limit, left));
    }
    bool IsHeadRequest() const { return in_.request.method() == http::verb::head; }
    bool NoBody() const {
        const unsigned s = parser_->get().result_int();
        return s == 204 || s == 304 || IsHeadRequest();
    }
    UpstreamResponse& Response() { return parser_->get(); }

    enum class Sent { kAnswered, kFailed, kAgain };
    Sent AfterSend(const error_code& ec, int attempt, std::string& head);
    void NewResponseParser();
    void BuildHead(boost::optional<std::uint64_t> length, bool rewritable);
    Task<error_code> ReadSome();
    error_code AfterRead(error_code ec) const;
    std::string_view TakePieces();
    std::string_view Observe(std::string_view piece, bool done);
    Task<error_code> Send(std::string_view data, bool last);
    std::string_view HeadToSend() const;
    void Wrote(const error_code& ec);

    TcpStream& client_;
    beast::flat_buffer& client_buffer_;
    const ForwardInput& in_;
    upstream::UpstreamPool& pool_;
    ClientWatchSlot& watch_;
    const Clock::time_point deadline_;
    Clock::time_point sent_at_;
    ForwardOutcome out_;
    std::shared_ptr<UpstreamConnection> conn_;
    std::optional<upstream::ResponseParser> parser_;
    ResponseHead head_;
    bool encoded_ = false;
    bool framed_ = false;  // an event stream the observers see (and may rewrite) event by event
    // On the heap, and only then: its 16 KiB window in a coroutine frame would cost every
    // exchange a larger frame (measured: +16k instructions a request, mostly its zeroing).
    std::unique_ptr<EncodedBodyMeter> meter_;
    sse::SseFramer framer_;
    ClientFraming framing_;
    std::string client_head_;
    bool head_sent_ = false;
    std::string joined_;     // the pieces of one read, when a chunked upstream sent several chunks
    std::string last_;       // a stream's last events and what the observers add to close it
    std::string cut_event_;  // the in-band error event of a stream cut after it started
};

// Sends the request and reads the final head. False: out_ says why not (nothing was relayed).
Task<bool> Exchange::Connect() {
    const auto& t = in_.provider.timeouts;
    std::string head = BuildUpstreamHead(in_);
    for (int attempt = 0;; ++attempt) {
        // A pooled connection is taken without a coroutine; Acquire waits, connects, or retries.
        upstream::UpstreamPool::Lease lease;
        if (attempt == 0) lease.conn = pool_.TakeIdle();
        if (!lease.conn) lease = co_await pool_.Acquire(attempt > 0);
        if (watch_.client_gone()) {
            if (lease.conn) pool_.Release(lease.conn, false);
            out_.client_aborted = true;
            co_return false;
        }
        if (lease.ec) {
            LeaseFailed(lease.ec, in_, pool_, out_);
            co_return false;
        }
        conn_ = std::move(lease.conn);
        watch_.SetConnection(conn_);
        const std::array<asio::const_buffer, 2> request_bytes{asio::buffer(head), asio::buffer(in_.body)};
        sent_at_ = Clock::now();
        // Straight to the socket (a request head and body usually fit its buffer); awaited
        // only for what it could not take.
        error_code ec;
        const std::size_t now = conn_->WriteNow(request_bytes, ec);
        if (!ec && now < asio::buffer_size(request_bytes))
            ec = co_await conn_->Write(request_bytes, OpTimeout(t.first_byte), now);
        for (int interim = 0; !ec; ++interim) {  // heads up to the final one
            NewResponseParser();
            auto [rec, n] = co_await conn_->ReadHeaderOp(*parser_, OpTimeout(t.first_byte), in_.max_response_head);
            ec = rec;
            if (ec || !SkipInterimHead(Response().result_int(), interim, ec)) break;
        }
        switch (AfterSend(ec, attempt, head)) {
            case Sent::kAnswered:
                co_return true;
            case Sent::kFailed:
                co_return false;
            case Sent::kAgain:
                break;
        }
    }
}

void Exchange::NewResponseParser() {
    // The head's fields come from the client request's arena (see RequestArena).
    parser_.emplace(std::piecewise_construct, std::make_tuple(), std::make_tuple(in_.request.get_allocator()));
    parser_->body_limit(boost::none);  // responses are relayed, not held
    if (IsHeadRequest()) parser_->skip(true);
}

// What the request's sending and its final head tell: answered, failed (out_ says why), or to
// be sent again on a new connection.
Exchange::Sent Exchange::AfterSend(const error_code& ec, int attempt, std::string& head) {
    if (IsProtocolError(ec)) {
        // The upstream speaks something else on this connection: never pool it, never retry.
        pool_.Release(std::move(conn_), false);
        out_.error = UpstreamError(ec, in_.provider, false);
        return Sent::kFailed;
    }
    if (!ec) {
        out_.ttfb_ms = std::chrono::duration<double, std::milli>(Clock::now() - sent_at_).count();
        // An answer came: the request is never sent again, so what it took goes back now
        // rather than when a long stream ends.
        core::GiveBack(std::move(head));
        if (in_.sent_body_storage) core::GiveBack(std::move(*in_.sent_body_storage));
        return Sent::kAnswered;
    }
    // Once more only when a reused keep-alive connection turned out to be closed by the
    // upstream before it answered (the classic keep-alive race); anything else is reported.
    const bool retry = attempt == 0 && conn_->reused && IsStaleKeepAliveError(ec) && !watch_.client_gone();
    pool_.Release(std::move(conn_), false);
    if (watch_.client_gone()) {
        out_.client_aborted = true;
        return Sent::kFailed;
    }
    if (retry) return Sent::kAgain;
    out_.error = UpstreamError(ec, in_.provider, false);
    out_.timed_out = IsTimeout(ec);
    return Sent::kFailed;
}

// An answer another attempt will replace: the client never sees it. Closing the connection is
// cheaper than reading a body nobody wants.
bool Exchange::HeldBack() {
    const unsigned status = Response().result_int();
    out_.status = status;
    if (status == 429) out_.retry_after_ms = RetryAfterMs(Response());
    const auto& hold = in_.hold_statuses;
    if (std::find(hold.begin(), hold.end(), static_cast<int>(status)) == hold.end()) return false;
    out_.held_status = status;
    out_.status = 0;
    pool_.Release(std::move(conn_), false);
    return true;
}

// Shows the head to the observers. False when the answer cannot be relayed as they need it.
bool Exchange::ShowHead() {
    auto& res = Response();
    const std::string_view ctype = wire::FindField(res, http::field::content_type);
    const bool sse = beast::iequals(ctype.substr(0, 17), "text/event-stream");
    head_ = ResponseHead{};
    head_.status = res.result_int();
    head_.sse = sse;
    head_.json = ctype.find("json") != std::string_view::npos;
    in_.chain.OnHead(head_);
    // Compressed although we asked for identity: relayed as it comes, metered decompressed;
    // never translated (the client would get the upstream's dialect).
    const std::string_view encoding = wire::FindField(res, http::field::content_encoding);
    encoded_ = !encoding.empty() && !beast::iequals(encoding, "identity");
    if (encoded_ && head_.translated) {
        pool_.Release(std::move(conn_), false);
        out_.error = core::LocalReply{
            502,
            "upstream_error",
            "upstream_protocol_error",
            "upstream provider '" + in_.provider.name + "' compressed an answer the gateway must translate",
            {},
            {}};
        return false;
    }
    if (encoded_ && wire::InflaterReads(std::string_view(encoding.data(), encoding.size())) && !in_.chain.empty())
        meter_ = std::make_unique<EncodedBodyMeter>(sse, in_.chain);
    framed_ = sse && !encoded_;
    // A stream may run for minutes: give back the session's read buffer (8 KiB) meanwhile (the
    // next request's read takes a new one). Short answers keep it, saving the allocation.
    if (sse && client_buffer_.size() == 0) client_buffer_.shrink_to_fit();
    return true;
}

// The client's head. An event stream the observers may rewrite has the relay's length, never
// the upstream's (the injected usage chunk is dropped, dialects are translated).
void Exchange::BuildHead(boost::optional<std::uint64_t> length, bool rewritable) {
    framing_ = FrameForClient(head_.status, IsHeadRequest(), rewritable, length, in_.request.keep_alive(),
                              in_.request.version());
    client_head_ = BuildClientHead(Response(), in_.request_id, in_.extra_response_headers, framing_,
                                   in_.request.version() < 11, HeadRewrite{head_.status, head_.content_type});
}

Task<error_code> Exchange::ReadSome() {
    Response().body().clear();
    error_code ec;
    if (!conn_->ParseBuffered(*parser_, ec)) {
        auto [read_ec, n] = co_await conn_->ReadSomeOp(*parser_, OpTimeout(in_.provider.timeouts.idle));
        ec = read_ec;
    }
    co_return AfterRead(ec);
}

error_code Exchange::AfterRead(error_code ec) const {
    if (ec == http::error::need_buffer) ec = {};
    // An upstream that keeps sending never hits the idle timeout: the request's own limit
    // (timeouts.total, x-llm-proxy-timeout) is checked on every read. A read cut short by the
    // deadline (not by idleness) says so too.
    if (((!ec && !parser_->is_done()) || IsTimeout(ec)) && Clock::now() + core::Millis(2) >= deadline_)
        ec = kDeadlinePassed;
    return ec;
}

// The bytes of the last read: views into the connection's read buffer, relayed before the
// next read reuses it.
std::string_view Exchange::TakePieces() {
    const auto& pieces = Response().body().pieces;
    if (pieces.size() == 1) return pieces.front();
    if (pieces.empty()) return {};
    std::size_t total = 0;
    for (auto p : pieces) total += p.size();
    joined_.clear();
    core::Reserve(joined_, total);
    for (auto p : pieces) joined_.append(p);
    return joined_;
}

// What of the bytes just read goes to the client, after the observers saw them.
std::string_view Exchange::Observe(std::string_view piece, bool done) {
    if (encoded_) {
        if (meter_) meter_->Feed(piece);
        if (done && meter_) meter_->End();
        return piece;
    }
    if (!framed_) {
        if (!piece.empty()) in_.chain.OnBody(piece);
        return piece;
    }
    std::string_view events = in_.chain.OnEvents(framer_.Feed(piece));
    if (!done) return events;
    // The end: a last event without its blank line, and what the observers add to close the
    // stream in their dialect. Copied first: the view may be an observer's buffer.
    core::Reserve(last_, events.size() + 256);  // given back when the exchange ends
    last_.assign(events);
    last_.append(in_.chain.OnLastEvents(framer_.TakeRemainder()));
    return last_;
}

// Writes to the client, the head first.
Task<error_code> Exchange::Send(std::string_view data, bool last) {
    const error_code ec =
        co_await WriteToClient(client_, HeadToSend(), data, framing_.chunked, last, in_.client_write_timeout);
    Wrote(ec);
    co_return ec;
}

std::string_view Exchange::HeadToSend() const {
    return head_sent_ ? std::string_view() : std::string_view(client_head_);
}

void Exchange::Wrote(const error_code& ec) {
    if (!head_sent_) core::GiveBack(std::move(client_head_));
    head_sent_ = true;
    if (ec) watch_.SetClientGone();
}

// Relays the body as it arrives: whole events for a stream, pieces for anything else.
Task<error_code> Exchange::RelayPieces() {
    BuildHead(parser_->content_length(), framed_ && !in_.chain.empty());
    error_code ec;
    while (!parser_->is_done()) {
        // ReadSome's work inline: one coroutine less per event; none at all for bytes already
        // read (a body that came with its head).
        Response().body().clear();
        error_code rec;
        if (!conn_->ParseBuffered(*parser_, rec)) {
            auto [read_ec, rn] = co_await conn_->ReadSomeOp(*parser_, OpTimeout(in_.provider.timeouts.idle));
            rec = read_ec;
        }
        ec = AfterRead(rec);
        const bool done = !ec && parser_->is_done();
        const std::string_view piece = Observe(TakePieces(), done);
        if (piece.empty() && !done && (head_sent_ || ec)) {
            if (ec) break;
            continue;  // an incomplete event: wait for its end
        }
        // Send's work inline: a write the socket takes at once (nearly every event) costs no
        // coroutine and no trip through the event loop.
        const ClientWrite write(HeadToSend(), piece, framing_.chunked, done);
        error_code wec;
        const std::size_t now = client_.write_some_now(write.bufs, wec);
        if (!wec && now < asio::buffer_size(write.bufs))
            wec = co_await FinishWrite(client_, write, now, in_.client_write_timeout);
        Wrote(wec);
        if (head_.sse && !piece.empty() && !out_.first_event_at) out_.first_event_at = Clock::now();
        if (wec) co_return wec;
        if (ec) break;
    }
    if (!ec && !head_sent_) ec = co_await Send({}, true);  // no body at all (204, HEAD, empty body)
    co_return ec;
}

// Reads the body whole (up to its cap) for an observer that rewrites it, then sends the result
// with its own length. Nothing reaches the client before the upstream's body is complete.
Task<error_code> Exchange::RelayWhole() {
    std::string whole;
    if (auto length = parser_->content_length(); length && *length <= in_.max_whole_body) whole.reserve(*length);
    while (!parser_->is_done()) {
        const error_code ec = co_await ReadSome();
        if (ec) co_return ec;
        const std::string_view piece = TakePieces();
        if (whole.size() + piece.size() > in_.max_whole_body) co_return kBodyTooLarge;
        whole.append(piece);
    }
    const std::string_view body = in_.chain.OnWholeBody(whole);
    BuildHead(body.size(), false);
    co_return co_await Send(body, true);
}

// Ends the exchange: the connection back to the pool (or closed), the outcome filled in. A
// stream cut after it started returns the error event to send the client (else empty).
std::string_view Exchange::End(const error_code& ec) {
    out_.response_started = head_sent_;
    in_.chain.OnEnd(!ec);
    if (!ec) {
        pool_.Release(std::move(conn_), parser_->keep_alive());
        out_.keep_client = framing_.keep_client;
        return {};
    }
    pool_.Release(std::move(conn_), false);
    if (watch_.client_gone()) {
        out_.client_aborted = true;
        return {};
    }
    if (!head_sent_) {
        out_.error = UpstreamError(ec, in_.provider, false);
        return {};
    }
    out_.cut = CutReason(ec);
    // The request's own time limit is not the provider's failure (a long answer, a client's
    // short x-llm-proxy-timeout); a break or a stall is.
    out_.upstream_failed = ec != kDeadlinePassed;
    spdlog::warn("request {}: response from '{}' cut after it started ({}): {}", in_.request_id, in_.provider.name,
                 out_.cut, ec.message());
    if (!framed_ || !framing_.chunked) return {};  // (never inside a compressed stream)
    // Never invent the stream's end: say what happened in-band, in the client's dialect, then
    // end the response. keep_client stays false: a truncated non-SSE body ends with the close.
    const core::LocalReply error = StreamCutError(ec);
    cut_event_ = core::StreamErrorEvent(error, in_.request_id, in_.client_dialect);
    return in_.chain.OnCut(error, cut_event_);
}

}  // namespace

Task<ForwardOutcome> Forward(TcpStream& client, beast::flat_buffer& client_buffer, const ForwardInput& in,
                             upstream::UpstreamPool& pool) {
    ClientWatchSlot watch(client.socket());
    // A pipelined request already buffered: no watch needed (nor possible: the bytes would
    // be read out of order).
    if (client_buffer.size() == 0) watch.Arm(in.delayed_starts);
    // The exchange's steps run here, in this one coroutine.
    Exchange exchange(client, client_buffer, in, pool, watch);
    if (co_await exchange.Connect() && !exchange.HeldBack() && exchange.ShowHead()) {
        const error_code ec = exchange.RelaysWhole() ? co_await exchange.RelayWhole() : co_await exchange.RelayPieces();
        const std::string_view cut_event = exchange.End(ec);
        if (!cut_event.empty()) co_await WriteToClient(client, {}, cut_event, true, true, in.client_write_timeout);
    }
    ForwardOutcome out = std::move(exchange.outcome());
    if (watch.Disarm()) co_await watch.Finish(client_buffer);
    if (watch.client_gone()) out.client_aborted = true;
    co_return out;
}

}  // namespace llmproxy::stages
