#pragma once
// Prometheus metrics. Each worker owns a MetricsShard and is its only writer (relaxed atomic
// stores, no shared cache lines, no lock on the hot path); a scrape reads every shard and merges
// them. The series map of a shard grows only when a new label combination first appears, under
// the shard's mutex, which the scrape also takes.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "http/pool_gauges.hpp"

namespace llmproxy::observe {

/// Upper bounds (seconds) shared by every latency histogram.
/// 0.2 and 2 are there for the Go LLMProxy's llmproxy_latency_ms buckets (metrics.compat).
inline constexpr std::array<double, 17> kLatencyBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1,
                                                        2,     2.5,  5,     10,   30,  60,  120,  300};

/// The `point` label of llm_proxy_script_errors_total, in script::Point order.
inline constexpr std::array<std::string_view, 15> kScriptPointNames{
    "routing",  "auth",          "request_transform", "response_transform", "rate_limit",
    "usage",    "error_handler", "on_chunk",          "on_request",         "on_auth",
    "on_route", "on_response",   "on_error",          "on_complete",        "auth_pipeline"};
inline constexpr std::array<std::string_view, 3> kScriptReasonNames{"error", "timeout", "memory"};

/// Single-writer counter readable from other threads.
struct Counter {
    std::atomic<std::uint64_t> value{0};
    void Add(std::uint64_t n = 1) { value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
    std::uint64_t Get() const { return value.load(std::memory_order_relaxed); }
};

/// Configuration reloads of the process (llm_proxy_config_reloads_total{result}), written by
/// the control thread only.
struct ReloadStats {
    Counter succeeded;  // result="success"
    Counter refused;    // result="invalid": the new config did not validate; the old one serves
    Counter failed;     // result="error": the file or the store could not be read
};

struct Histogram {
    std::array<Counter, kLatencyBuckets.size()> buckets;  // non-cumulative; the +Inf bucket is `count`
    Counter count;
    std::atomic<double> sum{0};
    void Observe(double seconds);
};

/// Labels of one request series. Values are bounded: endpoints and statuses by the gateway,
/// providers by the config; methods outside the usual few, model names past the first
/// kMaxModels per shard and names that do not look like model names collapse to "other".
struct RequestLabels {
    std::string_view method;
    std::string_view endpoint;
    std::string_view model;
    std::string_view provider;
    unsigned status = 0;
    bool stream = false;  // only in the Go LLMProxy's names (metrics.compat: llmproxy)
};

class MetricsShard {
public:
    explicit MetricsShard(std::size_t providers);

    void RecordRequest(const RequestLabels& labels, double duration_s, double ttft_s /* <0: none */);
    /// The model names the config names (exactly, not by glob): always a label of their own,
    /// whatever other names came first (they take the kMaxModels slots). Owner thread only.
    void SetConfiguredModels(std::unordered_set<std::string> names) { configured_models_ = std::move(names); }
    void ObserveProviderLatency(std::size_t provider, double seconds) { provider_latency_[provider].Observe(seconds); }
    void CountRetry(std::size_t provider) { retries_[provider].Add(); }
    /// Tokens of one request by type; cached, cache_creation (of prompt) and reasoning (of
    /// completion) are counted apart as well.
    struct TokenCounts {
        std::int64_t prompt = 0, completion = 0, cached = 0, cache_creation = 0, reasoning = 0;
    };
    void CountTokens(std::string_view model, std::string_view provider, const TokenCounts& counts);
    void RequestStarted() { active_.Add(1); }
    static constexpr std::size_t kLimitReasons = 9;  // proxy::LimitReason values (checked in prometheus_text.cpp)
    void CountRateLimited(std::size_t reason) { rate_limited_[reason].Add(); }
    std::uint64_t rate_limited(std::size_t reason) const { return rate_limited_[reason].Get(); }
    /// A shared (Redis) limit check failed; the request was admitted (fail_open) or refused.
    // Scripts that failed, by point (script::Point order, names in kScriptPointNames) and reason.
    static constexpr std::size_t kScriptPoints = 16, kScriptReasons = 3;
    void CountScriptError(std::size_t point, std::size_t reason) {
        script_errors_[point * kScriptReasons + reason].Add();
    }
    std::uint64_t script_errors(std::size_t point, std::size_t reason) const {
        return script_errors_[point * kScriptReasons + reason].Get();
    }
    void CountLimitStoreError(bool admitted) { limit_store_errors_[admitted ? 1 : 0].Add(); }
    std::uint64_t limit_store_errors(bool admitted) const { return limit_store_errors_[admitted ? 1 : 0].Get(); }
    void RequestFinished() { finished_.Add(1); }
    void SetClientConnections(std::size_t open) { client_connections_.value.store(open, std::memory_order_relaxed); }
    std::uint64_t client_connections() const { return client_connections_.Get(); }
    /// At the connection cap: an idle connection closed for a new one, or a new one refused.
    void CountConnectionShed(bool refused) { connections_shed_[refused ? 1 : 0].Add(); }
    std::uint64_t connections_shed(bool refused) const { return connections_shed_[refused ? 1 : 0].Get(); }

    // Scrape side (any thread).
    struct SeriesView {
        std::string method, endpoint, model, provider;
        unsigned status;
        bool stream;
        std::uint64_t count;
        const Histogram* duration;
        const Histogram* ttft;
    };
    void Collect(std::vector<SeriesView>& out) const;
    struct TokenView {
        std::string model, provider;
        std::uint64_t prompt, completion, cached, cache_creation, reasoning;
    };
    void CollectTokens(std::vector<TokenView>& out) const;
    std::int64_t active() const { return static_cast<std::int64_t>(active_.Get() - finished_.Get()); }
    const Histogram& provider_latency(std::size_t p) const { return provider_latency_[p]; }
    /// Kept up to date by the worker's upstream pool for provider p.
    upstream::PoolGauges& pool_gauges(std::size_t p) { return pool_gauges_[p]; }
    const upstream::PoolGauges& pool_gauges(std::size_t p) const { return pool_gauges_[p]; }
    std::uint64_t retries(std::size_t p) const { return retries_[p].Get(); }

    static constexpr std::size_t kMaxModels = 256;
    static constexpr std::size_t kMaxModelLabelBytes = 128;

private:
    struct Series {
        std::string method, endpoint, model, provider;
        unsigned status;
        bool stream;
        Counter count;
        Histogram duration;
        Histogram ttft;
    };
    std::string_view BoundModel(std::string_view model);

    mutable std::mutex mu_;  // guards inserts into series_ (owner) against Collect (scraper)
    std::unordered_map<std::string, std::unique_ptr<Series>> series_;
    struct Tokens {
        std::string model, provider;
        Counter prompt, completion, cached, cache_creation, reasoning;
    };
    std::unordered_map<std::string, std::unique_ptr<Tokens>> tokens_;
    std::unordered_map<std::string, bool> models_seen_;  // owner thread only
    std::unordered_set<std::string> configured_models_;  // owner thread only; outside the cap
    std::string key_;                                    // owner thread scratch: no allocation per lookup
    Counter active_, finished_;
    Counter client_connections_;
    std::array<Counter, 2> connections_shed_;
    std::array<Counter, kLimitReasons> rate_limited_;
    std::array<Counter, 2> limit_store_errors_;
    std::array<Counter, kScriptPoints * kScriptReasons> script_errors_;
    std::unique_ptr<Histogram[]> provider_latency_;
    std::unique_ptr<Counter[]> retries_;
    std::unique_ptr<upstream::PoolGauges[]> pool_gauges_;
};

}  // namespace llmproxy::observe
