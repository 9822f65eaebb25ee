// The Go LLMProxy's metric names (metrics.compat: llmproxy), from the same per-worker shards as
// llm-proxy's own, so that its users' dashboards and alerts keep working:
//   llmproxy_requests_total{path,stream,backend,status}    counter
//   llmproxy_latency_ms{path,stream,backend}                histogram, milliseconds, its buckets
//   llmproxy_webhook_success_total, llmproxy_webhook_failure_total
//   llmproxy_usage_tokens_total{type="prompt"|"completion"}
// `path` is the endpoint, `backend` the provider (its URL, for a Go LLMProxy config).
#include <algorithm>
#include <array>
#include <map>

#include "observe/prometheus_text.hpp"

namespace llmproxy::observe {
namespace {

// Its buckets (ms); each is one of kLatencyBuckets (seconds), so the counts are exact.
constexpr std::array<double, 9> kGoBucketsMs{10, 50, 100, 200, 500, 1000, 2000, 5000, 10000};

struct GoSeries {
    std::map<unsigned, std::uint64_t> by_status;
    HistogramSum latency;
};

void AppendLatency(std::string& out, const std::string& labels, const HistogramSum& l) {
    std::uint64_t cumulative = 0;
    std::size_t next = 0;
    for (const double bound_ms : kGoBucketsMs) {
        for (; next < kLatencyBuckets.size() && kLatencyBuckets[next] * 1000 <= bound_ms + 1e-9; ++next)
            cumulative += l.buckets[next];
        out += "llmproxy_latency_ms_bucket{" + labels + ",le=\"" + PrometheusNumber(bound_ms) + "\"} " +
               std::to_string(cumulative) + "\n";
    }
    const std::uint64_t count = std::max(cumulative, l.count);
    out += "llmproxy_latency_ms_bucket{" + labels + ",le=\"+Inf\"} " + std::to_string(count) + "\n";
    out += "llmproxy_latency_ms_sum{" + labels + "} " + PrometheusNumber(l.sum * 1000) + "\n";
    out += "llmproxy_latency_ms_count{" + labels + "} " + std::to_string(count) + "\n";
}

}  // namespace

void AppendLlmProxyMetrics(std::string& out, const ScrapeInput& in) {
    std::map<std::string, GoSeries> series;  // by path, stream, backend
    std::uint64_t prompt = 0, completion = 0;
    std::vector<MetricsShard::SeriesView> views;
    std::vector<MetricsShard::TokenView> tokens;
    for (const auto* shard : in.shards) {
        views.clear();
        shard->Collect(views);
        for (const auto& v : views) {
            auto& s = series["path=\"" + EscapeLabel(v.endpoint) + "\",stream=\"" + (v.stream ? "true" : "false") +
                             "\",backend=\"" + EscapeLabel(v.provider) + "\""];
            s.by_status[v.status] += v.count;
            s.latency.Add(*v.duration);
        }
        tokens.clear();
        shard->CollectTokens(tokens);
        for (const auto& t : tokens) {
            prompt += t.prompt;
            completion += t.completion;
        }
    }
    out += "# HELP llmproxy_requests_total Total number of requests\n# TYPE llmproxy_requests_total counter\n";
    for (const auto& [labels, s] : series) {
        for (const auto& [status, n] : s.by_status)
            out += "llmproxy_requests_total{" + labels + ",status=\"" + std::to_string(status) + "\"} " +
                   std::to_string(n) + "\n";
    }
    out += "# HELP llmproxy_latency_ms Request latency in milliseconds\n# TYPE llmproxy_latency_ms histogram\n";
    for (const auto& [labels, s] : series) AppendLatency(out, labels, s.latency);
    out +=
        "# HELP llmproxy_webhook_success_total Total number of successful webhook calls\n"
        "# TYPE llmproxy_webhook_success_total counter\n"
        "llmproxy_webhook_success_total " +
        std::to_string(in.webhook.success) +
        "\n# HELP llmproxy_webhook_failure_total Total number of failed webhook calls\n"
        "# TYPE llmproxy_webhook_failure_total counter\n"
        "llmproxy_webhook_failure_total " +
        std::to_string(in.webhook.failure) + "\n";
    out +=
        "# HELP llmproxy_usage_tokens_total Total number of tokens used\n# TYPE llmproxy_usage_tokens_total counter\n";
    out += "llmproxy_usage_tokens_total{type=\"prompt\"} " + std::to_string(prompt) + "\n";
    out += "llmproxy_usage_tokens_total{type=\"completion\"} " + std::to_string(completion) + "\n";
}

}  // namespace llmproxy::observe
