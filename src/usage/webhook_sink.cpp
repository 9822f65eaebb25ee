#include "usage/webhook_sink.hpp"

#include <openssl/hmac.h>
#include <unistd.h>

#include <deque>

#include <boost/json/parse.hpp>
#include <spdlog/spdlog.h>

#include "http/log_on_exception.hpp"

#include "core/private_file.hpp"
#include "core/secret_hash.hpp"
#include "http/upstream_pool.hpp"
#include "http/wire.hpp"
#include "usage/spool.hpp"

namespace llmproxy::usage {
namespace {

std::string Hmac(const std::string& key, const std::string& body) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
         body.size(), mac, &len);
    core::KeyHash h{};
    std::copy(mac, mac + std::min<unsigned>(len, 32), h.begin());
    return core::HexOf(h);
}

// Events in memory beyond this go to the spool (a slow receiver, not only a dead one).
constexpr std::size_t kSpillThreshold = 1'000;
// While the spool cannot be written: at most this many events wait in memory.
constexpr std::size_t kMaxHeldInMemory = 200'000;
// A receiver's answer body read (and dropped) to keep its connection; past it the connection closes.
constexpr std::size_t kMaxAnswerBytes = 64 * 1024;
// A partial batch waits this long for company before it is sent.
constexpr auto kMaxBatchWait = std::chrono::milliseconds(50);

// A spool line that is not one JSON object (torn by a crash or a full disk mid-append) would
// be refused by every receiver, again and again.
bool IsJsonObject(const std::string& line) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(line, ec);
    return !ec && v.is_object();
}

std::string BatchBody(const std::vector<std::string>& batch, bool single) {
    if (single) return batch.front();
    std::size_t size = batch.size() + 1;
    for (const auto& event : batch) size += event.size();
    std::string body;
    body.reserve(size);  // one buffer for the batch: `body + "]"` copied it whole once more
    body += '[';
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (i) body += ',';
        body += batch[i];
    }
    body += ']';
    return body;
}

// Same events, same key: a receiver can drop a redelivered batch as a whole. The key covers the
// events' ids, not the whole body: hashing every byte of every event cost more CPU than the
// worker spends on the request. A line without an id (spooled by an older version) counts whole.
std::string IdempotencyKey(const std::vector<std::string>& batch) {
    static constexpr std::string_view kId = "\"event_id\":\"";
    std::string ids;
    ids.reserve(batch.size() * 37);
    for (const std::string& event : batch) {
        const std::string_view line(event);
        const auto at = line.substr(0, 256).find(kId);
        const auto end = at == std::string_view::npos ? at : line.find('"', at + kId.size());
        if (end == std::string_view::npos) {
            ids.append(line);
        } else {
            ids.append(line.substr(at + kId.size(), end - at - kId.size()));
        }
        ids.push_back('\n');
    }
    return core::HexOf(core::Sha256(ids));
}

}  // namespace

WebhookSink::WebhookSink(const core::UsageHookConfig& config, std::size_t workers)
    : config_(config), target_config_(std::make_shared<core::Config>()) {
    core::ProviderConfig& target = target_config_->providers.emplace_back();
    target.name = "usage_hook";
    target.host = config.host;
    target.port = config.port;
    target.tls = config.tls;
    target.host_header = config.host_header;
    target.timeouts.connect = config.timeout;
    target.pool_timeout = config.timeout;
    target.keepalive_idle = std::chrono::seconds(30);  // under the usual servers' 60-75 s
    if (config.tls) {
        tls_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
        tls_->set_verify_mode(asio::ssl::verify_peer);
        tls_->set_default_verify_paths();
    }
    pool_ =
        std::make_unique<upstream::UpstreamPool>(ioc_.get_executor(), target_config_, target, tls_, config.concurrency);
    for (std::size_t i = 0; i < workers; ++i) {
        queues_.push_back(std::make_unique<WorkerQueues>(config.queue_size));
    }
    spool_ = std::make_unique<Spool>(config.spool_dir);
}

WebhookSink::~WebhookSink() {
    Stop();
}

void WebhookSink::Start() {
    asio::co_spawn(ioc_.get_executor(), Run(), LogOnException{"usage webhook"});
    thread_ = std::thread([this] { ioc_.run(); });
}

void WebhookSink::Stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    thread_.join();
}

WebhookSink::WorkerQueues::~WorkerQueues() {
    events.consume_all([](std::string* e) { delete e; });
    spare.consume_all([](std::string* e) { delete e; });
}

std::unique_ptr<std::string> WebhookSink::EventBuffer(std::size_t worker) {
    std::string* buffer = nullptr;
    if (!queues_[worker]->spare.pop(buffer)) return std::make_unique<std::string>();
    buffer->clear();
    return std::unique_ptr<std::string>(buffer);
}

bool WebhookSink::Enqueue(std::size_t worker, std::unique_ptr<std::string> event_json) {
    if (queues_[worker]->events.push(event_json.get())) {
        event_json.release();  // the queue owns it now
        depth_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

void WebhookSink::Drain(std::vector<std::string>& into) {
    for (auto& q : queues_) {
        q->events.consume_all([&](std::string* e) {
            into.push_back(*e);  // a copy: the buffer goes back to its worker with its capacity
            if (e->capacity() > kMaxSpareCapacity || !q->spare.push(e)) delete e;
        });
    }
}

Task<WebhookSink::Answer> WebhookSink::Exchange(upstream::UpstreamConnection& conn, const std::string& head,
                                                const std::string& body) {
    Answer answer;
    // usage_hook.timeout bounds the whole exchange, not each read: a receiver that trickles its
    // answer a byte at a time cannot hold a delivery (or the gateway's stop) for longer.
    const auto deadline = std::chrono::steady_clock::now() + config_.timeout;
    auto left = [&] {
        return std::max(core::Millis(1),
                        std::chrono::duration_cast<core::Millis>(deadline - std::chrono::steady_clock::now()));
    };
    const std::array<asio::const_buffer, 2> bytes{asio::buffer(head), asio::buffer(body)};
    error_code ec = co_await conn.Write(bytes, left());
    upstream::ResponseParser parser;
    parser.body_limit(boost::none);  // the body is skipped, not kept (a length over a limit would fail the head)
    if (!ec) ec = co_await conn.ReadHeader(parser, left());
    if (ec) {
        answer.ec = ec;
        co_return answer;
    }
    answer.answered = true;
    answer.status = parser.get().result_int();  // the status decides, whatever follows it
    // Skip the answer's body to keep the connection; one longer than an acknowledgement should
    // be is not worth reading: the connection closes instead.
    std::size_t skipped = 0;
    while (!ec && !parser.is_done() && skipped < kMaxAnswerBytes && std::chrono::steady_clock::now() < deadline) {
        parser.get().body().clear();
        ec = co_await conn.ReadSome(parser, left());
        for (auto piece : parser.get().body().pieces) skipped += piece.size();
    }
    answer.reusable = !ec && parser.is_done() && parser.keep_alive();
    co_return answer;
}

// Refusals of the event itself (its size, its syntax, its content): sending it again cannot
// help. Other 4xx (401, 403, 404: the receiver's configuration; 408, 429: a pause) are the
// receiver's state, and the events wait for it.
bool RefusesTheEvent(unsigned status) {
    return status == 400 || status == 413 || status == 415 || status == 422;
}

Task<WebhookSink::Posted> WebhookSink::PostOnce(const std::string& body, std::string_view idempotency_key) {
    std::string head = "POST " + config_.path + " HTTP/1.1\r\n";
    wire::AppendHeader(head, "Host", target_config_->providers.front().host_header);
    wire::AppendHeader(head, "Content-Type", "application/json");
    wire::AppendHeader(head, "User-Agent", "llm-proxy-usage-hook");
    wire::AppendHeader(head, "Idempotency-Key", idempotency_key);
    if (!config_.secret.empty())
        wire::AppendHeader(head, "X-LLM-Proxy-Signature", "sha256=" + Hmac(config_.secret, body));
    for (const auto& [k, v] : config_.headers) wire::AppendHeader(head, k, v);
    wire::AppendHeader(head, "Content-Length", std::to_string(body.size()));
    head += "\r\n";
    // A kept-alive connection the receiver closed meanwhile fails at once: try once more on a
    // new one before this counts as a failed delivery.
    Posted posted;
    for (bool fresh : {false, true}) {
        auto lease = co_await pool_->Acquire(fresh);
        if (lease.ec) {
            posted.why = "unreachable: " + lease.ec.message();
            co_return posted;
        }
        const bool reused = lease.conn->reused;
        const Answer answer = co_await Exchange(*lease.conn, head, body);
        pool_->Release(std::move(lease.conn), answer.reusable);
        if (!answer.answered && reused) continue;
        if (!answer.answered) {
            posted.why = "no answer: " + answer.ec.message();
        } else if (answer.status / 100 == 2) {
            posted.outcome = Posted::kDelivered;
        } else {
            posted.outcome = RefusesTheEvent(answer.status) ? Posted::kRefused : Posted::kFailed;
            posted.why = "answered " + std::to_string(answer.status) +
                         (answer.status / 100 == 3 ? " (a redirect: not followed; fix usage_hook.url)" : "");
        }
        co_return posted;
    }
    posted.why = "no answer on a new connection";
    co_return posted;
}

void WebhookSink::QuarantineUnparsable(std::vector<std::string>& batch) {
    std::vector<std::string> bad;
    std::erase_if(batch, [&](std::string& line) {
        if (IsJsonObject(line)) return false;
        bad.push_back(std::move(line));
        return true;
    });
    if (!bad.empty()) DeadLetter(bad, "an unparsable spool line");
}

void WebhookSink::DeadLetter(const std::vector<std::string>& events, std::string_view why) {
    const std::string path = config_.spool_dir + "/dead-letter.jsonl";
    dead_lettered_.fetch_add(events.size());
    std::string lines;
    for (const auto& e : events) {
        spdlog::error("usage webhook: an event was refused ({}); kept in {}: {:.200}", why, path, e);
        lines += e;
        lines += '\n';
    }
    const int fd = core::OpenPrivateAppend(path, 0600).fd;  // events carry request bodies
    const bool ok = fd >= 0 && ::write(fd, lines.data(), lines.size()) == static_cast<ssize_t>(lines.size());
    if (fd >= 0) ::close(fd);
    if (!ok) spdlog::error("usage webhook: cannot write {}: {} refused events lost", path, events.size());
}

Task<bool> WebhookSink::Deliver(const std::vector<std::string>& batch) {
    if (batch.empty()) co_return true;  // every line of it was quarantined
    const std::string body = BatchBody(batch, config_.batch_size == 1 && batch.size() == 1);
    const std::string key = IdempotencyKey(batch);
    Timer timer(co_await asio::this_coro::executor);
    for (int attempt = 0; attempt <= config_.retry; ++attempt) {
        const Posted posted = co_await PostOnce(body, key);
        if (posted.outcome == Posted::kDelivered) {
            delivered_.fetch_add(batch.size());
            co_return true;
        }
        if (posted.outcome == Posted::kRefused) {
            if (batch.size() == 1) {
                DeadLetter(batch, posted.why);
                co_return true;
            }
            // Which of them? Each on its own: the accepted ones are delivered, the refused
            // ones dead-lettered.
            bool all_done = true;
            for (const auto& event : batch) {
                const std::vector<std::string> one{event};
                all_done = co_await Deliver(one) && all_done;
            }
            co_return all_done;
        }
        failed_.fetch_add(1, std::memory_order_relaxed);
        last_failure_ = posted.why;
        if (stopping_) break;  // no retries at stop: what is left is spooled
        if (attempt < config_.retry) {
            timer.expires_after(std::chrono::milliseconds(100 << std::min(attempt, 5)));
            co_await timer.async_wait(kNoThrow);
        }
    }
    co_return false;
}

Task<std::vector<char>> WebhookSink::DeliverAll(const std::vector<std::vector<std::string>>& batches) {
    auto ex = co_await asio::this_coro::executor;
    std::vector<char> delivered(batches.size(), 0);
    std::size_t left = batches.size();
    Timer all_done(ex, Timer::time_point::max());
    for (std::size_t i = 0; i < batches.size(); ++i) {
        // The handlers refer to this frame's locals: it waits below until every one has run.
        asio::co_spawn(ex, Deliver(batches[i]), [&, i](std::exception_ptr e, bool ok) {
            delivered[i] = !e && ok;
            if (--left == 0) all_done.cancel();
        });
    }
    while (left > 0) co_await all_done.async_wait(kNoThrow);
    co_return delivered;
}

void WebhookSink::ReceiverDown(std::string_view why) {
    down_until_ = std::chrono::steady_clock::now() + config_.backoff;
    spdlog::warn("usage webhook: delivery failed ({}); spooling to {}", why, config_.spool_dir);
}

Task<bool> WebhookSink::DeliverFromSpool() {
    const auto batch_size = static_cast<std::size_t>(config_.batch_size);
    std::vector<std::vector<std::string>> batches;
    std::vector<std::uint64_t> sizes;
    std::uint64_t skip = 0;
    for (int i = 0; i < config_.concurrency; ++i) {
        std::uint64_t bytes = 0;
        auto batch = spool_->Peek(batch_size, bytes, skip);
        if (bytes == 0) break;
        QuarantineUnparsable(batch);
        skip += bytes;
        sizes.push_back(bytes);
        batches.push_back(std::move(batch));
    }
    if (batches.empty()) {
        // Nothing where events should be: the file was truncated or replaced by hand. Take it as
        // it is now (an endless round of empty POSTs otherwise).
        spdlog::error("usage webhook: the spool file in {} changed under the gateway; {} bytes of events lost",
                      config_.spool_dir, spool_->Resync());
        co_return true;
    }
    const std::vector<char> ok = co_await DeliverAll(batches);
    // The offset moves over the delivered prefix only; batches delivered after a failed one
    // are sent again later (at-least-once, same Idempotency-Key when cut the same way).
    std::uint64_t advance = 0;
    std::size_t i = 0;
    for (; i < batches.size() && ok[i]; ++i) {
        advance += sizes[i];
    }
    if (advance > 0) spool_->Advance(advance);
    co_return i == batches.size();
}

Task<bool> WebhookSink::DeliverFromMemory() {
    const auto batch_size = static_cast<std::size_t>(config_.batch_size);
    std::vector<std::vector<std::string>> batches;
    while (!pending_.empty() && batches.size() < static_cast<std::size_t>(config_.concurrency)) {
        auto& batch = batches.emplace_back();
        while (!pending_.empty() && batch.size() < batch_size) {
            batch.push_back(std::move(pending_.front()));
            pending_.pop_front();
        }
    }
    if (!pending_.empty()) oldest_pending_ = std::chrono::steady_clock::now();
    const std::vector<char> ok = co_await DeliverAll(batches);
    bool all = true;
    // Failed batches go back in front of the newer events, in their order; the collector
    // spools them while the receiver is away.
    for (std::size_t i = batches.size(); i-- > 0;) {
        if (ok[i]) {
            depth_.fetch_sub(batches[i].size());
            continue;
        }
        all = false;
        for (auto it = batches[i].rbegin(); it != batches[i].rend(); ++it) pending_.push_front(std::move(*it));
    }
    co_return all;
}

// Moves everything in `from` to the spool; when the spool cannot be written (disk full,
// read-only), the events stay in memory (bounded: the oldest beyond kMaxHeldInMemory are
// dropped and counted) and the spool is tried again on the next round.
void WebhookSink::SpillToSpool(std::deque<std::string>& from) {
    if (from.empty()) return;
    std::vector<std::string> out(std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
    from.clear();
    if (spool_->Append(out)) {
        spooled_.fetch_add(out.size());
        depth_.fetch_sub(out.size());
        if (spool_failing_.exchange(false))
            spdlog::info("usage webhook: the spool in {} is writable again", config_.spool_dir);
        return;
    }
    if (!spool_failing_.exchange(true)) {
        spdlog::error("usage webhook: cannot write the spool in {}; keeping up to {} events in memory",
                      config_.spool_dir, kMaxHeldInMemory);
    }
    for (auto& e : out) from.push_back(std::move(e));
    while (from.size() > kMaxHeldInMemory) {
        from.pop_front();
        dropped_.fetch_add(1);
        depth_.fetch_sub(1);
    }
}

// The collector: every few milliseconds, events move from the workers' queues into memory, so
// a slow delivery never backs them up into the queues (where a full one drops). Past a backlog
// of kSpillThreshold, or while the receiver is away, they go on to the spool.
Task<void> WebhookSink::Collect() {
    Timer timer(co_await asio::this_coro::executor);
    std::vector<std::string> drained;
    for (;;) {
        drained.clear();
        Drain(drained);
        if (pending_.empty() && !drained.empty()) oldest_pending_ = std::chrono::steady_clock::now();
        for (auto& e : drained) pending_.push_back(std::move(e));
        const bool stopping = stopping_.load();
        const bool down = std::chrono::steady_clock::now() < down_until_;
        if (stopping || down || pending_.size() > kSpillThreshold || spool_failing_.load()) SpillToSpool(pending_);
        if (stopping) {
            if (!pending_.empty()) {
                spdlog::error("usage webhook: {} events lost at exit (the spool cannot be written)", pending_.size());
                dropped_.fetch_add(pending_.size());
                depth_.fetch_sub(pending_.size());
                pending_.clear();
            }
            collector_done_ = true;
            co_return;
        }
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(kNoThrow);
    }
}

// The deliverer: the spool first (oldest first), then what is in memory, in batches.
Task<void> WebhookSink::Run() {
    asio::co_spawn(co_await asio::this_coro::executor, Collect(), LogOnException{"usage webhook collector"});
    Timer timer(co_await asio::this_coro::executor);
    const std::size_t batch_size = static_cast<std::size_t>(config_.batch_size);
    for (;;) {
        if (stopping_.load()) {
            // The collector moves what is left in memory to the spool; wait for it.
            while (!collector_done_) {
                timer.expires_after(std::chrono::milliseconds(5));
                co_await timer.async_wait(kNoThrow);
            }
            SpillToSpool(pending_);  // a batch whose delivery failed while we were stopping
            if (!pending_.empty()) {
                dropped_.fetch_add(pending_.size());
                depth_.fetch_sub(pending_.size());
                pending_.clear();
            }
            pool_.reset();  // its idle connections' watches are the last work keeping run() going
            co_return;
        }
        const auto now = std::chrono::steady_clock::now();
        if (now < down_until_) {
            timer.expires_at(down_until_);
            co_await timer.async_wait(kNoThrow);
            continue;
        }
        // The spool first (oldest events), then memory; each round is up to `concurrency`
        // batches posted at once.
        if (!spool_->empty()) {
            if (!co_await DeliverFromSpool()) ReceiverDown(last_failure_);
            continue;
        }
        if (!pending_.empty() && (pending_.size() >= batch_size || now - oldest_pending_ >= kMaxBatchWait)) {
            if (!co_await DeliverFromMemory()) ReceiverDown(last_failure_);
            continue;
        }
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(kNoThrow);
    }
}

}  // namespace llmproxy::usage
