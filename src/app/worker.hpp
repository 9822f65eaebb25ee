#pragma once
// A worker thread: its own io_context, listening socket (SO_REUSEPORT), upstream pools and
// balancers, metrics shard, Redis connection. Workers share only immutable snapshots (from the
// publisher, picked up between requests) and a few atomics. This is the composition root of
// the data plane: the one place that knows the session, the pipeline and every sink.
#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "control/snapshot_publisher.hpp"
#include "http/asio_types.hpp"
#include "http/request_body.hpp"
#include "http/session.hpp"
#include "stages/forward/client_watch.hpp"
#include "http/upstream_pool.hpp"
#include "observe/access_log.hpp"
#include "observe/metrics.hpp"
#include "observe/request_log.hpp"
#include "pipeline/runtime.hpp"
#include "pipeline/upstreams.hpp"
#include "proxy/key_set.hpp"
#include "proxy/retry_policy.hpp"
#include "store/redis_client.hpp"
#include "store/usage_ledger.hpp"
#include "usage/tokenizers.hpp"
#include "usage/webhook_sink.hpp"

namespace llmproxy {

/// Process-wide state shared by workers (atomics only).
struct SharedState {
    std::atomic<bool> draining{false};
    std::atomic<int> open_sessions{0};
    // Every worker's metrics shard; filled before any worker starts, read-only afterwards.
    std::vector<const observe::MetricsShard*> metric_shards;
    observe::AccessLog* access_log = nullptr;            // null when logging.access_log is off
    usage::WebhookSink* webhook = nullptr;               // null when usage_hook is off
    proxy::KeyDirectory* keys = nullptr;                 // the current API keys (swapped by the sync thread)
    control::SnapshotPublisher* snapshots = nullptr;     // the current configuration snapshot
    usage::Tokenizers* tokenizers = nullptr;             // null-safe: ForModel() is null until loaded
    store::UsageLedger* ledger = nullptr;                // null without database.url (or usage_ledger: false)
    observe::RequestLog* request_log = nullptr;          // null unless logging.request_log is enabled
    const pipeline::EndpointTable* endpoints = nullptr;  // built-in rows + the admin API's
    pipeline::ControlChannel* control = nullptr;         // admin calls to the control thread
    const observe::ReloadStats* reload_stats = nullptr;
    const std::string* openapi = nullptr;                     // generated from `endpoints` at start
    proxy::StoredKeyCounters* stored_key_counters = nullptr;  // limits of keys read from Redis
};

class Worker final : public SessionHost {
public:
    Worker(int index, int worker_count, SharedState& shared);
    ~Worker() override;

    /// Binds (SO_REUSEPORT) and starts accepting on its own thread.
    void Start(const tcp::endpoint& endpoint);
    /// Stop accepting; close idle keep-alive sessions; busy ones close after their response.
    void BeginDrain();
    void Stop();
    void Join();
    uint16_t bound_port() const { return bound_port_; }
    observe::MetricsShard& metrics() { return metrics_; }

    // SessionHost (this worker's thread only).
    std::pmr::memory_resource& ArenaBlocks() override { return arena_blocks_; }
    std::shared_ptr<const core::Config> CurrentConfig() override { return Current()->snapshot->config; }
    bool draining() const override { return shared_.draining.load(std::memory_order_relaxed); }
    void AddSession(SessionHandle& handle) override;
    void RemoveSession(SessionHandle& handle) override;
    void SessionIdle(SessionHandle& handle) override { idle_.push_back(handle); }
    Task<bool> Serve(TcpStream& client, beast::flat_buffer& buffer, RequestParser& parser,
                     std::string_view client_ip) override;
    void RecordRefusedHead(const RefusedHead& refused) override;

private:
    Task<void> AcceptLoop();
    /// server.max_connections, for the whole process (0 there: what the fd limit leaves room for).
    std::size_t ConnectionCap();
    /// Makes room for a new connection at the cap: closes this worker's longest-idle session.
    /// False when every session of this worker is busy.
    bool CloseOldestIdle();
    /// The current snapshot's pools and balancers; rebuilt (carrying over by name) when the
    /// publisher has a newer snapshot: one atomic load per call otherwise.
    const std::shared_ptr<const pipeline::Upstreams>& Current();
    void ApplyWorkerSettings(const core::Config& next, const core::Config* previous);
    const std::shared_ptr<const proxy::KeySet>& Keys();

    int index_;
    int worker_count_;
    SharedState& shared_;
    // Recycled blocks of the sessions' request arenas. Before ioc_: the requests it destroys
    // give their blocks back here.
    std::pmr::unsynchronized_pool_resource arena_blocks_ = MakeArenaBlockPool();
    // One thread runs this context. UNSAFE_IO drops the reactor's per-socket locks (only this
    // thread touches the sockets); the scheduler keeps its lock for posts from other threads
    // (resolver, drain, stop).
    // An io_context whose pending work (suspended request coroutines) can be destroyed first
    // at exit, while everything those requests hold on to (metrics, budgets, Redis) still lives.
    struct Context : asio::io_context {
        using asio::io_context::io_context;
        void DestroyPendingWork() { shutdown(); }
    };
    Context ioc_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    Acceptor acceptor_;
    // Client watches of exchanges that last (after ioc_: it needs its executor).
    DelayedStarts delayed_starts_{ioc_.get_executor(), stages::ClientWatchSlot::kDelay};
    uint16_t bound_port_ = 0;
    observe::MetricsShard metrics_;
    std::mt19937_64 rng_;
    std::shared_ptr<const pipeline::Upstreams> upstreams_;  // after metrics_: its pools update gauges there
    std::uint64_t snapshot_version_ = 0;
    proxy::RetryBudget retry_budget_;
    std::size_t sessions_ = 0;
    IdleSessions idle_;         // sessions waiting for a request, longest-waiting first
    std::size_t refusing_ = 0;  // connections being answered 503 at the cap
    // server.max_connections: 0 means this; the fd limit is fixed once workers run (no
    // getrlimit per accept).
    const std::size_t auto_connection_cap_ = static_cast<std::size_t>(upstream::DefaultMaxConnections());
    std::shared_ptr<const proxy::KeySet> keys_;
    std::uint64_t keys_version_ = ~std::uint64_t{0};
    std::unique_ptr<store::RedisClient> redis_;  // after ioc_: destroyed before it
    proxy::StoredKeyCache stored_keys_;
    BodyBudget body_budget_;
    pipeline::Runtime runtime_;
    std::thread thread_;
};

}  // namespace llmproxy
