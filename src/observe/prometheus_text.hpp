#pragma once
// Renders the Prometheus text exposition (format 0.0.4) from every worker's shard plus what
// the caller read of the providers' shared health.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "observe/metrics.hpp"

namespace llmproxy::observe {

struct WebhookStats {
    bool enabled = false;
    std::uint64_t success = 0, failure = 0, spooled = 0, dropped = 0, depth = 0;
    bool spool_failing = false;
    std::uint64_t dead_letter = 0;  // events refused by the receiver, or unparsable, kept aside
};

/// One configured provider as the scrape shows it.
struct ProviderScrape {
    std::string_view name;
    bool available = true;  // takes traffic (healthy, not ejected, not cooling down)
    int in_flight = 0;
    std::size_t slot = 0;  // its slot in the shards' per-provider metrics
};

struct ScrapeInput {
    std::vector<const MetricsShard*> shards;
    std::vector<ProviderScrape> providers;
    std::string_view version;
    WebhookStats webhook;
    std::vector<std::string_view> limit_reasons;  // label per reason index (MetricsShard::kLimitReasons)
    std::uint64_t config_version = 0;             // the snapshot serving the scrape
    const ReloadStats* reloads = nullptr;         // null: not counted (unit tests)
    bool llmproxy_compat = false;                 // metrics.compat: llmproxy
};

std::string RenderPrometheus(const ScrapeInput& in);

/// The Go LLMProxy's metrics, from the same shards (llmproxy_metrics.cpp).
void AppendLlmProxyMetrics(std::string& out, const ScrapeInput& in);

/// A latency histogram summed over the shards' series.
struct HistogramSum {
    std::array<std::uint64_t, kLatencyBuckets.size()> buckets{};
    std::uint64_t count = 0;
    double sum = 0;  // seconds
    void Add(const Histogram& h) {
        for (std::size_t i = 0; i < buckets.size(); ++i) buckets[i] += h.buckets[i].Get();
        count += h.count.Get();
        sum += h.sum.load(std::memory_order_relaxed);
    }
};

/// A sample value as Prometheus text (shortest exact form).
std::string PrometheusNumber(double v);

/// Escapes a label value (backslash, double quote, newline).
std::string EscapeLabel(std::string_view v);

}  // namespace llmproxy::observe
