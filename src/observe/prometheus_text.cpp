#include "observe/prometheus_text.hpp"

#include <array>
#include <cstdio>
#include <map>

namespace llmproxy::observe {
namespace {

struct RequestSeries {
    std::string labels;  // rendered label set without braces
    std::uint64_t count = 0;
    HistogramSum duration, ttft;
};

void Header(std::string& out, const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

// One series per provider: `value` renders the sample of each.
template <class Value>
void PerProvider(std::string& out, const std::vector<ProviderScrape>& providers, const char* name, const char* type,
                 const char* help, Value value) {
    Header(out, name, type, help);
    for (const auto& p : providers) {
        out += name;
        out += "{provider=\"" + EscapeLabel(p.name) + "\"} " + value(p) + "\n";
    }
}

void RenderHistogram(std::string& out, const char* name, const std::string& labels, const HistogramSum& h) {
    std::uint64_t cumulative = 0;
    const std::string sep = labels.empty() ? "" : ",";
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
        cumulative += h.buckets[i];
        out += name;
        out += "_bucket{" + labels + sep + "le=\"" + PrometheusNumber(kLatencyBuckets[i]) + "\"} " +
               std::to_string(cumulative) + "\n";
    }
    // Shards are read while workers write: keep +Inf >= every finite bucket.
    const std::uint64_t count = std::max(cumulative, h.count);
    out += name;
    out += "_bucket{" + labels + sep + "le=\"+Inf\"} " + std::to_string(count) + "\n";
    out += name;
    out += "_sum" + (labels.empty() ? std::string() : "{" + labels + "}") + " " + PrometheusNumber(h.sum) + "\n";
    out += name;
    out += "_count" + (labels.empty() ? std::string() : "{" + labels + "}") + " " + std::to_string(count) + "\n";
}

}  // namespace

std::string PrometheusNumber(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

std::string EscapeLabel(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string RenderPrometheus(const ScrapeInput& in) {
    std::map<std::string, RequestSeries> series;  // sorted: stable output
    std::vector<MetricsShard::SeriesView> views;
    std::int64_t active = 0;
    for (const auto* shard : in.shards) {
        views.clear();
        shard->Collect(views);
        active += shard->active();
        for (const auto& v : views) {
            std::string labels = "method=\"" + EscapeLabel(v.method) + "\",endpoint=\"" + EscapeLabel(v.endpoint) +
                                 "\",model=\"" + EscapeLabel(v.model) + "\",provider=\"" + EscapeLabel(v.provider) +
                                 "\",status_code=\"" + std::to_string(v.status) + "\"";
            auto& s = series[labels];
            s.labels = labels;
            s.count += v.count;
            s.duration.Add(*v.duration);
            s.ttft.Add(*v.ttft);
        }
    }
    std::string out;
    out.reserve(4096 + series.size() * 2048);
    Header(out, "llm_proxy_build_info", "gauge", "Build information.");
    out += "llm_proxy_build_info{version=\"" + EscapeLabel(in.version) + "\"} 1\n";
    Header(out, "llm_proxy_config_version", "gauge",
           "Version of the configuration snapshot serving (1 at start, +1 per published reload).");
    out += "llm_proxy_config_version " + std::to_string(in.config_version) + "\n";
    if (in.reloads) {
        Header(out, "llm_proxy_config_reloads_total", "counter",
               "Configuration reloads (SIGHUP, file change, admin API, store change): published, refused as invalid, "
               "or failed to read.");
        out +=
            "llm_proxy_config_reloads_total{result=\"success\"} " + std::to_string(in.reloads->succeeded.Get()) + "\n";
        out += "llm_proxy_config_reloads_total{result=\"invalid\"} " + std::to_string(in.reloads->refused.Get()) + "\n";
        out += "llm_proxy_config_reloads_total{result=\"error\"} " + std::to_string(in.reloads->failed.Get()) + "\n";
    }

    Header(out, "llm_proxy_requests_total", "counter", "Requests answered, by endpoint, model, provider and status.");
    for (const auto& [k, s] : series)
        out += "llm_proxy_requests_total{" + s.labels + "} " + std::to_string(s.count) + "\n";

    Header(out, "llm_proxy_request_duration_seconds", "histogram", "Time from request to the end of the response.");
    for (const auto& [k, s] : series) RenderHistogram(out, "llm_proxy_request_duration_seconds", s.labels, s.duration);

    Header(out, "llm_proxy_time_to_first_token_seconds", "histogram",
           "Streams: time from request to the first event relayed to the client.");
    for (const auto& [k, s] : series) {
        if (s.ttft.count) RenderHistogram(out, "llm_proxy_time_to_first_token_seconds", s.labels, s.ttft);
    }

    std::map<std::string, std::array<std::uint64_t, 5>> tokens;
    std::vector<MetricsShard::TokenView> token_views;
    for (const auto* shard : in.shards) {
        token_views.clear();
        shard->CollectTokens(token_views);
        for (const auto& t : token_views) {
            auto& sum = tokens["model=\"" + EscapeLabel(t.model) + "\",provider=\"" + EscapeLabel(t.provider) + "\""];
            sum[0] += t.prompt;
            sum[1] += t.completion;
            sum[2] += t.cached;
            sum[3] += t.cache_creation;
            sum[4] += t.reasoning;
        }
    }
    Header(out, "llm_proxy_tokens_total", "counter",
           "Tokens metered from upstream usage, by model, provider and type.");
    for (const auto& [labels, sum] : tokens) {
        // cached and cache_creation are part of prompt, reasoning part of completion.
        static constexpr const char* kTypes[] = {"prompt", "completion", "cached", "cache_creation", "reasoning"};
        for (std::size_t i = 0; i < sum.size(); ++i) {
            if (i >= 2 && sum[i] == 0) continue;  // only providers that report them
            out += "llm_proxy_tokens_total{" + labels + ",token_type=\"" + kTypes[i] + "\"} " + std::to_string(sum[i]) +
                   "\n";
        }
    }

    Header(out, "llm_proxy_rate_limited_total", "counter", "Requests refused by a rate or concurrency limit.");
    for (std::size_t r = 0; r < MetricsShard::kLimitReasons && r < in.limit_reasons.size(); ++r) {
        std::uint64_t n = 0;
        for (const auto* shard : in.shards) n += shard->rate_limited(r);
        out += "llm_proxy_rate_limited_total{reason=\"";
        out += in.limit_reasons[r];
        out += "\"} " + std::to_string(n) + "\n";
    }

    Header(out, "llm_proxy_rate_limit_store_errors_total", "counter",
           "Shared (Redis) limit checks that failed, by what the gateway did: admitted (fail_open) or refused.");
    for (bool admitted : {true, false}) {
        std::uint64_t n = 0;
        for (const auto* shard : in.shards) n += shard->limit_store_errors(admitted);
        out += std::string("llm_proxy_rate_limit_store_errors_total{outcome=\"") + (admitted ? "admitted" : "refused") +
               "\"} " + std::to_string(n) + "\n";
    }

    Header(out, "llm_proxy_script_errors_total", "counter",
           "Lua scripts that failed (the request was refused or passed per the point's on_error), by point and "
           "reason: error, timeout, memory.");
    for (std::size_t p = 0; p < kScriptPointNames.size(); ++p) {
        for (std::size_t r = 0; r < kScriptReasonNames.size(); ++r) {
            std::uint64_t n = 0;
            for (const auto* shard : in.shards) n += shard->script_errors(p, r);
            if (n == 0) continue;  // 42 series of zeros would bury the ones that count
            out += "llm_proxy_script_errors_total{point=\"";
            out += kScriptPointNames[p];
            out += "\",reason=\"";
            out += kScriptReasonNames[r];
            out += "\"} " + std::to_string(n) + "\n";
        }
    }

    Header(out, "llm_proxy_webhook_deliveries_total", "counter",
           "Usage webhook outcomes: events delivered, failed attempts, events spooled to disk, events dropped, "
           "events refused by the receiver (or unparsable) and kept in the dead-letter file.");
    out += "llm_proxy_webhook_deliveries_total{result=\"success\"} " + std::to_string(in.webhook.success) + "\n";
    out += "llm_proxy_webhook_deliveries_total{result=\"failure\"} " + std::to_string(in.webhook.failure) + "\n";
    out += "llm_proxy_webhook_deliveries_total{result=\"spooled\"} " + std::to_string(in.webhook.spooled) + "\n";
    out += "llm_proxy_webhook_deliveries_total{result=\"dropped\"} " + std::to_string(in.webhook.dropped) + "\n";
    out +=
        "llm_proxy_webhook_deliveries_total{result=\"dead_letter\"} " + std::to_string(in.webhook.dead_letter) + "\n";
    Header(out, "llm_proxy_webhook_queue_depth", "gauge", "Usage events waiting in memory for the webhook.");
    out += "llm_proxy_webhook_queue_depth " + std::to_string(in.webhook.depth) + "\n";
    Header(out, "llm_proxy_webhook_spool_failing", "gauge",
           "1 while the webhook spool cannot be written (events wait in memory, bounded; past the bound they are "
           "dropped).");
    out += std::string("llm_proxy_webhook_spool_failing ") + (in.webhook.spool_failing ? "1" : "0") + "\n";

    Header(out, "llm_proxy_active_requests", "gauge", "Requests in progress.");
    out += "llm_proxy_active_requests " + std::to_string(std::max<std::int64_t>(0, active)) + "\n";

    std::uint64_t connections = 0, closed_idle = 0, refused = 0;
    for (const auto* shard : in.shards) {
        connections += shard->client_connections();
        closed_idle += shard->connections_shed(false);
        refused += shard->connections_shed(true);
    }
    Header(out, "llm_proxy_client_connections", "gauge", "Open client connections (idle or serving a request).");
    out += "llm_proxy_client_connections " + std::to_string(connections) + "\n";
    Header(out, "llm_proxy_client_connections_shed_total", "counter",
           "At server.max_connections: idle connections closed to admit a new one, new ones refused with 503.");
    out += "llm_proxy_client_connections_shed_total{action=\"closed_idle\"} " + std::to_string(closed_idle) + "\n";
    out += "llm_proxy_client_connections_shed_total{action=\"refused\"} " + std::to_string(refused) + "\n";

    if (!in.providers.empty()) {
        const auto& providers = in.providers;
        PerProvider(out, providers, "llm_proxy_provider_health", "gauge",
                    "1 when the provider takes traffic (healthy, not ejected, not cooling down), else 0.",
                    [](const ProviderScrape& p) { return std::string(p.available ? "1" : "0"); });
        PerProvider(out, providers, "llm_proxy_provider_in_flight", "gauge", "Requests in flight to the provider.",
                    [](const ProviderScrape& p) { return std::to_string(std::max(0, p.in_flight)); });
        Header(out, "llm_proxy_provider_latency_seconds", "histogram",
               "Upstream time to first byte (request sent to response head), per attempt.");
        for (std::size_t i = 0; i < providers.size(); ++i) {
            HistogramSum h;
            for (const auto* shard : in.shards) h.Add(shard->provider_latency(providers[i].slot));
            RenderHistogram(out, "llm_proxy_provider_latency_seconds",
                            "provider=\"" + EscapeLabel(providers[i].name) + "\"", h);
        }
        // Summed over every worker's shard, in the provider's slot.
        auto sum = [&in](auto read) {
            return [&in, read](const ProviderScrape& p) {
                std::int64_t n = 0;
                for (const auto* shard : in.shards) n += read(*shard, p.slot);
                return std::to_string(n);
            };
        };
        PerProvider(out, providers, "llm_proxy_upstream_connections", "gauge",
                    "Open connections to the provider (idle or in use).",
                    sum([](const MetricsShard& s, std::size_t slot) {
                        return s.pool_gauges(slot).open.load(std::memory_order_relaxed);
                    }));
        PerProvider(out, providers, "llm_proxy_upstream_pool_waiting", "gauge",
                    "Requests waiting for a connection to the provider (its max_connections reached).",
                    sum([](const MetricsShard& s, std::size_t slot) {
                        return s.pool_gauges(slot).waiting.load(std::memory_order_relaxed);
                    }));
        PerProvider(out, providers, "llm_proxy_upstream_retries_total", "counter",
                    "Retries after a failed attempt at the provider.", sum([](const MetricsShard& s, std::size_t slot) {
                        return static_cast<std::int64_t>(s.retries(slot));
                    }));
    }
    if (in.llmproxy_compat) AppendLlmProxyMetrics(out, in);
    return out;
}

}  // namespace llmproxy::observe
