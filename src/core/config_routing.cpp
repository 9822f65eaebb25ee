// Parsing of the resilience parts of the config: routing (strategy, retry, fallbacks, per-model
// overrides), provider health checks and circuit breakers.
#include <algorithm>

#include "core/config_reader.hpp"

namespace llmproxy::core::detail {
namespace {

const std::set<std::string> kStrategies{"round_robin", "weighted_round_robin", "weighted_random", "least_connections",
                                        "latency_based"};

void CheckStrategy(Reader& r, const YAML::Node& node, const std::string& path, const std::string& value) {
    if (kStrategies.count(value)) return;
    r.Error(node, path,
            "must be one of round_robin, weighted_round_robin, weighted_random, least_connections, latency_based "
            "(got \"" +
                value + "\")");
}

bool HasProvider(const Config& c, const std::string& name) {
    return std::any_of(c.providers.begin(), c.providers.end(), [&](const auto& p) { return p.name == name; });
}

void ParseRetry(Reader& r, const YAML::Node& node, RetryConfig& retry) {
    const std::string p = "routing.retry";
    if (!r.Keys(node, p, {"max_retries", "initial_wait", "max_wait", "multiplier", "jitter", "retry_on", "budget"})) {
        return;
    }
    r.IntField(node, p, "max_retries", retry.max_retries, 0, 10);
    r.DurationField(node, p, "initial_wait", retry.initial_wait);
    r.DurationField(node, p, "max_wait", retry.max_wait);
    r.DoubleField(node, p, "multiplier", retry.multiplier, 1.0, 10.0);
    r.DoubleField(node, p, "jitter", retry.jitter, 0.0, 1.0);
    if (node["retry_on"]) {
        std::vector<std::string> on;
        r.StrList(node, p, "retry_on", on);
        retry.on_connect_error = retry.on_timeout = false;
        retry.on_status.clear();
        for (const auto& what : on) {
            if (what == "connect_error")
                retry.on_connect_error = true;
            else if (what == "timeout")
                retry.on_timeout = true;
            else if (what == "429" || what == "500" || what == "502" || what == "503" || what == "504")
                retry.on_status.push_back(std::stoi(what));
            else
                r.Error(node["retry_on"], p + ".retry_on",
                        "unknown condition \"" + what + "\" (connect_error, timeout, 429, 500, 502, 503, 504)");
        }
    }
    if (auto b = node["budget"]) {
        if (r.Keys(b, p + ".budget", {"ratio", "min_per_second"})) {
            r.DoubleField(b, p + ".budget", "ratio", retry.budget_ratio, 0.0, 10.0);
            r.IntField(b, p + ".budget", "min_per_second", retry.budget_min_per_second, 0, 1'000'000);
        }
    }
    if (retry.max_wait < retry.initial_wait) r.Error(node["max_wait"], p + ".max_wait", "must be >= initial_wait");
}

void ParseFallbacks(Reader& r, const YAML::Node& node, Config& c) {
    if (!node.IsSequence()) {
        r.Error(node, "routing.fallback", "must be a list of {primary, fallback}");
        return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
        const std::string path = "routing.fallback[" + std::to_string(i) + "]";
        if (!r.Keys(node[i], path, {"primary", "fallback"})) continue;
        ProviderFallback f;
        r.StrField(node[i], path, "primary", f.primary);
        r.StrList(node[i], path, "fallback", f.fallback);
        if (!HasProvider(c, f.primary))
            r.Error(node[i]["primary"], path + ".primary", "no provider named \"" + f.primary + "\"");
        for (const auto& name : f.fallback) {
            if (!HasProvider(c, name))
                r.Error(node[i]["fallback"], path + ".fallback", "no provider named \"" + name + "\"");
        }
        c.routing.fallback.push_back(std::move(f));
    }
}

void ParseTargets(Reader& r, const YAML::Node& node, const std::string& path, const Config& c, ModelRouting& m) {
    if (!node.IsSequence() || node.size() == 0) {
        r.Error(node, path, "must be a non-empty list of {provider, model, weight}");
        return;
    }
    std::set<std::string> seen;
    for (std::size_t i = 0; i < node.size(); ++i) {
        const std::string at = path + "[" + std::to_string(i) + "]";
        if (!r.Keys(node[i], at, {"provider", "model", "weight"})) continue;
        RouteTarget t;
        r.StrField(node[i], at, "provider", t.provider);
        r.StrField(node[i], at, "model", t.model);
        r.IntField(node[i], at, "weight", t.weight, 0, 1'000'000);
        if (t.provider.empty()) {
            r.Error(node[i], at + ".provider", "is required");
        } else if (!HasProvider(c, t.provider)) {
            r.Error(node[i]["provider"], at + ".provider", "no provider named \"" + t.provider + "\"");
        } else if (!seen.insert(t.provider).second) {
            // One upstream name per provider and model: the relay maps by provider.
            r.Error(node[i]["provider"], at + ".provider", "provider \"" + t.provider + "\" is listed twice");
        }
        m.targets.push_back(std::move(t));
    }
}

void ParseModels(Reader& r, const YAML::Node& node, Config& c) {
    if (!node.IsMap()) {
        r.Error(node, "routing.models", "must map model names to {strategy, fallback_models}");
        return;
    }
    for (const auto& kv : node) {
        const auto name = kv.first.as<std::string>();
        const std::string path = "routing.models." + name;
        if (!r.Keys(kv.second, path, {"strategy", "fallback_models", "targets"})) continue;
        ModelRouting m;
        r.StrField(kv.second, path, "strategy", m.strategy);
        if (!m.strategy.empty()) CheckStrategy(r, kv.second["strategy"], path + ".strategy", m.strategy);
        r.StrList(kv.second, path, "fallback_models", m.fallback_models);
        if (auto targets = kv.second["targets"]) ParseTargets(r, targets, path + ".targets", c, m);
        c.routing.models[name] = std::move(m);
    }
    // After every model is read: a fallback may name a model routed further down.
    for (const auto& kv : node) {
        const auto name = kv.first.as<std::string>();
        for (const auto& fb : c.routing.models[name].fallback_models) {
            if (!Served(c, fb))
                r.Error(kv.second["fallback_models"], "routing.models." + name + ".fallback_models",
                        "model \"" + fb + "\" is served by no provider");
        }
    }
}

}  // namespace

void ParseRouting(Reader& r, const YAML::Node& routing, Config& c) {
    if (!r.Keys(routing, "routing",
                {"strategy", "strip_prefix", "default_model", "retry", "fallback", "models", "max_request_timeout"})) {
        return;
    }
    r.StrField(routing, "routing", "strategy", c.routing.strategy);
    CheckStrategy(r, routing["strategy"], "routing.strategy", c.routing.strategy);
    r.StrField(routing, "routing", "strip_prefix", c.routing.strip_prefix);
    r.StrField(routing, "routing", "default_model", c.routing.default_model);
    r.DurationField(routing, "routing", "max_request_timeout", c.routing.max_request_timeout);
    if (auto retry = routing["retry"]) ParseRetry(r, retry, c.routing.retry);
    if (auto fb = routing["fallback"]) ParseFallbacks(r, fb, c);
    if (auto models = routing["models"]) ParseModels(r, models, c);
    if (!c.routing.default_model.empty() && !c.providers.empty() && !Served(c, c.routing.default_model)) {
        r.Error(routing["default_model"], "routing.default_model",
                "model \"" + c.routing.default_model + "\" is served by no provider");
    }
}

void ParseHealthCheck(Reader& r, const YAML::Node& node, const std::string& path, HealthCheckConfig& out) {
    if (!r.Keys(node, path, {"enabled", "path", "interval", "timeout", "healthy_threshold", "unhealthy_threshold"})) {
        return;
    }
    r.BoolField(node, path, "enabled", out.enabled);
    r.StrField(node, path, "path", out.path);
    if (out.path.empty() || out.path.front() != '/') r.Error(node["path"], path + ".path", "must start with /");
    r.DurationField(node, path, "interval", out.interval);
    r.DurationField(node, path, "timeout", out.timeout);
    r.IntField(node, path, "healthy_threshold", out.healthy_threshold, 1, 100);
    r.IntField(node, path, "unhealthy_threshold", out.unhealthy_threshold, 1, 100);
}

void ParseCircuitBreaker(Reader& r, const YAML::Node& node, const std::string& path, CircuitBreakerConfig& out) {
    if (!r.Keys(node, path, {"failure_threshold", "base_ejection", "max_ejection"})) return;
    r.IntField(node, path, "failure_threshold", out.failure_threshold, 1, 1000);
    r.DurationField(node, path, "base_ejection", out.base_ejection);
    r.DurationField(node, path, "max_ejection", out.max_ejection);
}

}  // namespace llmproxy::core::detail
