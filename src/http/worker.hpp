#pragma once
// A worker thread: its own io_context, listening socket (SO_REUSEPORT), upstream pools and
// balancer state. Workers share only the immutable Snapshot and a few atomics.
#include <atomic>
#include <memory>
#include <thread>
#include <unordered_set>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "http/asio_types.hpp"
#include "http/request_body.hpp"
#include "http/upstream_pool.hpp"
#include "pipeline/runtime.hpp"
#include "pipeline/snapshot.hpp"
#include <random>

#include "observe/access_log.hpp"
#include "usage/tokenizers.hpp"
#include "usage/webhook_sink.hpp"
#include "observe/metrics.hpp"
#include "proxy/auth.hpp"
#include "proxy/key_set.hpp"
#include "proxy/balancer.hpp"
#include "proxy/rate_limiter.hpp"
#include "proxy/provider_health.hpp"
#include "proxy/retry_policy.hpp"
#include "proxy/route_table.hpp"
#include "store/redis_client.hpp"
#include "store/usage_ledger.hpp"
#include "observe/request_log.hpp"

namespace llmproxy {

/// Process-wide state shared by workers (atomics only).
struct SharedState {
    std::atomic<bool> draining{false};
    std::atomic<int> open_sessions{0};
    // Every worker's metrics shard; filled before any worker starts, read-only afterwards.
    std::vector<const observe::MetricsShard*> metric_shards;
    observe::AccessLog* access_log = nullptr;  // null when logging.access_log is off
    usage::WebhookSink* webhook = nullptr;     // null when usage_hook is off
    proxy::KeyDirectory* keys = nullptr;       // the current API keys (swapped by the sync thread)
    usage::Tokenizers* tokenizers = nullptr;   // null-safe: ForModel() is null until loaded
    store::UsageLedger* ledger = nullptr;       // null without database.url (or usage_ledger: false)
    observe::RequestLog* request_log = nullptr;  // null unless logging.request_log is enabled
};

/// Registered by each live client session so that a drain can close idle keep-alive ones.
struct SessionHandle {
    TcpStream* stream = nullptr;
    bool busy = false;
};

class Worker {
public:
    Worker(int index, int worker_count, std::shared_ptr<const Snapshot> snapshot, SharedState& shared);
    ~Worker();

    /// Binds (SO_REUSEPORT) and starts accepting on its own thread.
    void Start(const tcp::endpoint& endpoint);
    /// Stop accepting; close idle keep-alive sessions; busy ones close after their response.
    void BeginDrain();
    void Stop();
    void Join();
    uint16_t bound_port() const { return bound_port_; }

    // Used by sessions/handlers on this worker's thread only.
    const Snapshot& snapshot() const { return *snapshot_; }
    const std::shared_ptr<const Snapshot>& snapshot_ptr() const { return snapshot_; }
    observe::MetricsShard& metrics() { return metrics_; }
    /// What the pipeline's stages may use of this worker.
    pipeline::Runtime& runtime() { return runtime_; }
    /// The current key set; picks up a newly published one with one atomic load per call.
    const std::shared_ptr<const proxy::KeySet>& keys() {
        const auto version = shared_.keys->version();
        if (version != keys_version_) {
            keys_ = shared_.keys->Load();
            keys_version_ = version;
        }
        return keys_;
    }
    SharedState& shared() { return shared_; }
    std::unordered_set<SessionHandle*>& sessions() { return sessions_; }
    asio::io_context& io() { return ioc_; }
    int index() const { return index_; }

private:
    Task<void> AcceptLoop();

    int index_;
    std::shared_ptr<const Snapshot> snapshot_;
    SharedState& shared_;
    // One thread runs this context. UNSAFE_IO drops the reactor's per-socket locks (only this
    // thread touches the sockets); the scheduler keeps its lock for posts from other threads
    // (resolver, drain, stop).
    asio::io_context ioc_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    Acceptor acceptor_;
    uint16_t bound_port_ = 0;
    std::vector<std::unique_ptr<upstream::UpstreamPool>> pools_;
    std::vector<std::unique_ptr<proxy::Balancer>> balancers_;
    proxy::RetryBudget retry_budget_;
    observe::MetricsShard metrics_;
    std::mt19937_64 rng_;
    std::unordered_set<SessionHandle*> sessions_;
    std::shared_ptr<const proxy::KeySet> keys_;
    std::unique_ptr<store::RedisClient> redis_;  // after ioc_: destroyed before it
    BodyBudget body_budget_;
    pipeline::Runtime runtime_;
    std::uint64_t keys_version_ = ~std::uint64_t{0};
    std::thread thread_;
};

}  // namespace llmproxy
