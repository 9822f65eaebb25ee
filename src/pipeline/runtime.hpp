#pragma once
// What the stages use of the worker they run on, and nothing else: its metrics shard, body
// budget, retry budget, Redis client and sinks. The worker fills
// one per thread; unit tests fill one with fakes (a stage never sees the Worker class).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "http/asio_types.hpp"
#include "http/delayed_starts.hpp"
#include "http/request_body.hpp"
#include "observe/access_log.hpp"
#include "observe/metrics.hpp"
#include "observe/request_log.hpp"
#include "pipeline/control_channel.hpp"
#include "pipeline/endpoints.hpp"
#include "proxy/balancer.hpp"
#include "proxy/health_report.hpp"
#include "proxy/stored_keys.hpp"
#include "proxy/retry_policy.hpp"
#include "store/redis_client.hpp"
#include "store/usage_ledger.hpp"
#include "usage/tokenizers.hpp"
#include "usage/webhook_sink.hpp"

namespace llmproxy::pipeline {

/// Where completed requests go. Null members are sinks that are turned off.
struct Sinks {
    observe::AccessLog* access_log = nullptr;
    usage::WebhookSink* webhook = nullptr;
    store::UsageLedger* ledger = nullptr;
    observe::RequestLog* request_log = nullptr;
};

/// One worker's last on-demand probe round (/health/detailed?probe=true): concurrent callers
/// share one round, and its result serves for kProbeCacheMs.
struct ProbeCache {
    static constexpr std::int64_t kProbeCacheMs = 1000;
    std::int64_t at_ms = -1;  // when `results` were taken (steady ms)
    std::uint64_t snapshot_version = 0;
    std::vector<proxy::ProbeResult> results;
    bool running = false;
    std::vector<Timer*> waiters;  // callers waiting for the running round (cancelled when it ends)
};

struct Runtime {
    std::size_t worker_index = 0;
    observe::MetricsShard* metrics = nullptr;
    BodyBudget* body_budget = nullptr;
    const std::atomic<bool>* draining = nullptr;
    const usage::Tokenizers* tokenizers = nullptr;  // null-safe: ForModel() is null until loaded
    const std::vector<const observe::MetricsShard*>* metric_shards = nullptr;  // every worker's, for /metrics
    Sinks sinks;
    ProbeCache probes;
    const EndpointTable* endpoints = nullptr;            // null: the built-in rows only
    ControlChannel* control = nullptr;                   // null: no admin API (unit tests)
    const observe::ReloadStats* reload_stats = nullptr;  // for /metrics
    const std::string* openapi = nullptr;                // the OpenAPI document (null: built-in rows')
    // Serves HTTP on one end of an in-process socket pair as a session of this worker, with the
    // given client address (the Responses WebSocket bridge). Null: no such sessions (unit tests).
    std::function<void(Socket, std::string client_ip)> serve_internal;

    // Upstream side (pools and balancers are the request's: RequestContext::upstreams).
    proxy::RetryBudget* retry_budget = nullptr;
    DelayedStarts* delayed_starts = nullptr;  // client watches of exchanges that last (null: at once)
    std::mt19937_64* rng = nullptr;

    // Shared limits (rate_limit.storage: redis); redis is null with memory storage.
    store::RedisClient* redis = nullptr;
    std::string admit_sha;
    std::string slot_prefix;
    std::uint64_t slot_seq = 0;
    std::chrono::steady_clock::time_point last_redis_warning{};

    // Keys kept in Redis (an auth.pipeline redis step): the connection (the same one as `redis`
    // when both are on), this worker's cache of records and the process's counters for them.
    store::RedisClient* key_store = nullptr;
    proxy::StoredKeyCache* stored_keys = nullptr;
    proxy::StoredKeyCounters* stored_key_counters = nullptr;
    std::chrono::steady_clock::time_point last_key_store_warning{};

    /// A name for one request's concurrency slot in Redis, unique across instances.
    std::string NextSlotName() { return slot_prefix + std::to_string(++slot_seq); }
    /// Rate-limits a repeated warning (e.g. Redis down) to one line per interval per worker.
    bool ShouldLog(std::chrono::steady_clock::time_point& last, std::chrono::seconds every) {
        const auto now = std::chrono::steady_clock::now();
        if (now - last < every) return false;
        last = now;
        return true;
    }
};

}  // namespace llmproxy::pipeline
