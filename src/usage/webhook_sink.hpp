#pragma once
// Delivers usage events to the usage_hook URL, off the request path and without losing any:
// workers hand events over through per-worker lock-free queues; this sink's own thread posts
// them (batched, HMAC-signed, retried) and, while the receiver is down or slow, appends them to
// an on-disk spool that is replayed first when it comes back — and after a restart.
// At-least-once: receivers de-duplicate by event_id (the gateway's; request_id may be the
// client's). An event the receiver refuses for what it is (400, 413, 415, 422), or a spool line
// that does not parse, goes to a dead-letter file beside the spool, so one bad event never
// holds up the others.
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <boost/lockfree/spsc_queue.hpp>

#include "core/config.hpp"
#include "http/asio_types.hpp"
#include "http/upstream_pool.hpp"

namespace llmproxy::usage {

class Spool;

class WebhookSink {
public:
    WebhookSink(const core::UsageHookConfig& config, std::size_t workers);
    ~WebhookSink();

    void Start();
    /// Stops after moving whatever is still in memory to the spool.
    void Stop();
    /// From worker `worker` only: a buffer for its next event, one of its earlier events' given
    /// back by this sink (emptied, its capacity kept), else a new one. So an event costs the
    /// worker no allocation once its buffers have grown.
    std::unique_ptr<std::string> EventBuffer(std::size_t worker);
    /// From worker `worker` only (single producer per queue). False when its queue is full (the
    /// event is dropped and counted).
    bool Enqueue(std::size_t worker, std::unique_ptr<std::string> event_json);

    // Metrics (any thread).
    std::uint64_t delivered() const { return delivered_.load(); }
    std::uint64_t failed() const { return failed_.load(); }
    std::uint64_t spooled() const { return spooled_.load(); }
    std::uint64_t dropped() const { return dropped_.load(); }
    std::uint64_t dead_lettered() const { return dead_lettered_.load(); }
    std::uint64_t depth() const { return depth_.load(); }
    /// The spool could not be written on the last try (events wait in memory, bounded).
    bool spool_failing() const { return spool_failing_.load(); }

private:
    Task<void> Run();
    Task<void> Collect();
    void SpillToSpool(std::deque<std::string>& from);
    /// True when the batch is done with: delivered, or (its refused events) dead-lettered.
    Task<bool> Deliver(const std::vector<std::string>& batch);
    /// Appends events to the dead-letter file (why: the receiver's answer, or "unparsable").
    void DeadLetter(const std::vector<std::string>& events, std::string_view why);
    /// Moves the lines of `batch` that are not JSON objects to the dead-letter file.
    void QuarantineUnparsable(std::vector<std::string>& batch);
    /// Delivers the batches at once (concurrently); whether each was delivered.
    Task<std::vector<char>> DeliverAll(const std::vector<std::vector<std::string>>& batches);
    /// One round from the spool: up to `concurrency` batches; the delivered prefix is advanced.
    Task<bool> DeliverFromSpool();
    /// One round from memory: up to `concurrency` batches; the failed ones go back in front.
    Task<bool> DeliverFromMemory();
    void ReceiverDown(std::string_view why);
    struct Posted {
        enum Outcome { kDelivered, kRefused, kFailed } outcome = kFailed;
        std::string why;  // for the log: "answered 503", "unreachable: Connection refused"
    };
    Task<Posted> PostOnce(const std::string& body, std::string_view idempotency_key);
    struct Answer {
        bool answered = false;  // a response head came (else: delivery failed, or a stale connection)
        unsigned status = 0;
        bool reusable = false;  // read to its end, and both sides keep the connection
        error_code ec;          // why no answer came
    };
    Task<Answer> Exchange(upstream::UpstreamConnection& conn, const std::string& head, const std::string& body);
    void Drain(std::vector<std::string>& into);

    const core::UsageHookConfig config_;
    // The receiver, as an upstream (host, port, TLS, timeouts), in a config of its own that its
    // keep-alive pool refers to (at most `concurrency` connections).
    std::shared_ptr<core::Config> target_config_;
    std::shared_ptr<asio::ssl::context> tls_;
    // Per worker: its events, and the emptied buffers going back to it (both single producer,
    // single consumer). The sink copies an event out and returns its buffer: the copy is made
    // on this sink's thread, off the request path.
    struct WorkerQueues {
        explicit WorkerQueues(std::size_t events_size) : events(events_size), spare(kSpareBuffers) {}
        ~WorkerQueues();
        boost::lockfree::spsc_queue<std::string*> events;
        boost::lockfree::spsc_queue<std::string*> spare;
    };
    static constexpr std::size_t kSpareBuffers = 256;
    static constexpr std::size_t kMaxSpareCapacity = 4096;  // larger (an event with its request body) is freed
    std::vector<std::unique_ptr<WorkerQueues>> queues_;
    std::unique_ptr<Spool> spool_;
    asio::io_context ioc_;
    std::unique_ptr<upstream::UpstreamPool> pool_;  // after ioc_: its connections close first
    std::thread thread_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> delivered_{0}, failed_{0}, spooled_{0}, dropped_{0}, depth_{0}, dead_lettered_{0};
    std::string last_failure_;  // why the last POST failed (this sink's thread only)
    std::atomic<bool> spool_failing_{false};
    // Shared by the collector and the deliverer (both on this sink's thread).
    std::deque<std::string> pending_;
    std::chrono::steady_clock::time_point oldest_pending_{}, down_until_{};
    bool collector_done_ = false;
};

}  // namespace llmproxy::usage
