#include "observe/metrics.hpp"

#include <algorithm>

#include "http/pool_gauges.hpp"

namespace llmproxy::observe {

void Histogram::Observe(double seconds) {
    auto it = std::lower_bound(kLatencyBuckets.begin(), kLatencyBuckets.end(), seconds);
    if (it != kLatencyBuckets.end()) buckets[it - kLatencyBuckets.begin()].Add();
    count.Add();
    sum.store(sum.load(std::memory_order_relaxed) + seconds, std::memory_order_relaxed);
}

MetricsShard::MetricsShard(std::size_t providers)
    : provider_latency_(new Histogram[providers]),
      retries_(new Counter[providers]),
      pool_gauges_(new upstream::PoolGauges[providers]) {}

namespace {

// Label values come from clients: a method is any token, a model any string (wildcard routes
// forward every name). Only the usual methods and model names that look like model names get a
// series of their own; the rest share "other", so junk cannot grow a scrape.
std::string_view BoundMethod(std::string_view method) {
    static constexpr std::string_view kKnown[] = {"GET", "POST", "HEAD", "DELETE", "PUT", "PATCH", "OPTIONS"};
    for (auto m : kKnown) {
        if (method == m) return m;
    }
    return "other";
}

bool LooksLikeModelName(std::string_view model) {
    if (model.size() > MetricsShard::kMaxModelLabelBytes) return false;
    for (unsigned char c : model) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '_' || c == '.' || c == ':' || c == '/' || c == '@' || c == '+';
        if (!ok) return false;
    }
    return true;
}

}  // namespace

std::string_view MetricsShard::BoundModel(std::string_view model) {
    if (model.empty()) return "none";
    if (!LooksLikeModelName(model)) return "other";
    // Owner-only state, so no lock. The config's own names always get a label; of the others
    // (served through a glob), the first kMaxModels do.
    const std::string name(model);
    if (configured_models_.count(name)) return model;
    auto it = models_seen_.find(name);
    if (it != models_seen_.end()) return model;
    if (models_seen_.size() >= kMaxModels) return "other";
    models_seen_.emplace(name, true);
    return model;
}

void MetricsShard::RecordRequest(const RequestLabels& labels, double duration_s, double ttft_s) {
    const std::string_view model = BoundModel(labels.model);
    const std::string_view method = BoundMethod(labels.method);
    key_.clear();
    key_.append(method).push_back('\x1f');
    key_.append(labels.endpoint).push_back('\x1f');
    key_.append(model).push_back('\x1f');
    key_.append(labels.provider).push_back('\x1f');
    key_.append(std::to_string(labels.status)).push_back(labels.stream ? 's' : '-');
    auto it = series_.find(key_);
    Series* s;
    if (it == series_.end()) {
        auto fresh = std::make_unique<Series>();
        fresh->method = method;
        fresh->endpoint = labels.endpoint;
        fresh->model = model;
        fresh->provider = labels.provider;
        fresh->status = labels.status;
        fresh->stream = labels.stream;
        s = fresh.get();
        std::lock_guard lock(mu_);
        series_.emplace(key_, std::move(fresh));
    } else {
        s = it->second.get();
    }
    s->count.Add();
    s->duration.Observe(duration_s);
    if (ttft_s >= 0) s->ttft.Observe(ttft_s);
}

void MetricsShard::CountTokens(std::string_view model_in, std::string_view provider, const TokenCounts& counts) {
    const std::string_view model = BoundModel(model_in);
    key_.clear();
    key_.append(model).push_back('\x1f');
    key_.append(provider);
    auto it = tokens_.find(key_);
    Tokens* t;
    if (it == tokens_.end()) {
        auto fresh = std::make_unique<Tokens>();
        fresh->model = model;
        fresh->provider = provider;
        t = fresh.get();
        std::lock_guard lock(mu_);
        tokens_.emplace(key_, std::move(fresh));
    } else {
        t = it->second.get();
    }
    auto add = [](Counter& c, std::int64_t n) {
        if (n > 0) c.Add(static_cast<std::uint64_t>(n));
    };
    add(t->prompt, counts.prompt);
    add(t->completion, counts.completion);
    add(t->cached, counts.cached);
    add(t->cache_creation, counts.cache_creation);
    add(t->reasoning, counts.reasoning);
}

void MetricsShard::CollectTokens(std::vector<TokenView>& out) const {
    std::lock_guard lock(mu_);
    for (const auto& [key, t] : tokens_) {
        out.push_back({t->model, t->provider, t->prompt.Get(), t->completion.Get(), t->cached.Get(),
                       t->cache_creation.Get(), t->reasoning.Get()});
    }
}

void MetricsShard::Collect(std::vector<SeriesView>& out) const {
    std::lock_guard lock(mu_);
    for (const auto& [key, s] : series_) {
        out.push_back({s->method, s->endpoint, s->model, s->provider, s->status, s->stream, s->count.Get(),
                       &s->duration, &s->ttft});
    }
}

}  // namespace llmproxy::observe
