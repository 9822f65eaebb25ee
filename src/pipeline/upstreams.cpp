#include "pipeline/upstreams.hpp"

#include <spdlog/spdlog.h>

#include <unordered_map>

namespace llmproxy::pipeline {
namespace {

// A route's identity for carrying its balancer over: strategy and weighted targets by name.
std::string RouteSignature(const Snapshot& snap, const proxy::Route& route) {
    std::string sig = route.strategy;
    for (const auto& c : route.candidates) {
        sig += '|';
        sig += snap.config->providers[c.provider].name;
        sig += ':';
        sig += std::to_string(c.weight);
    }
    return sig;
}

}  // namespace

// Scripts were compiled when the config was validated; a failure here (memory) leaves the
// worker without them, loudly.
std::shared_ptr<script::ScriptSet> BuildScripts(const core::Config& config, const Upstreams* previous,
                                                observe::MetricsShard& metrics) {
    if (!script::AnyScript(config)) return nullptr;
    if (previous && previous->scripts) {
        const core::Config& before = *previous->snapshot->config;
        if (before.scripts == config.scripts && before.hooks == config.hooks &&
            before.auth.pipeline == config.auth.pipeline) {
            return previous->scripts;
        }
    }
    try {
        auto scripts = script::MakeScriptSet(config);
        scripts->SetMetrics(&metrics);
        return scripts;
    } catch (const std::exception& e) {
        spdlog::error("scripts: {}; this worker runs without them", e.what());
        return nullptr;
    }
}

std::shared_ptr<const Upstreams> BuildUpstreams(std::shared_ptr<const Snapshot> snapshot, const Upstreams* previous,
                                                Executor ex, int workers, observe::MetricsShard& metrics,
                                                std::mt19937_64& rng) {
    auto out = std::make_shared<Upstreams>();
    const auto& providers = snapshot->config->providers;
    workers = std::max(1, workers);
    for (std::size_t i = 0; i < providers.size(); ++i) {
        const auto& p = providers[i];
        if (previous) {
            const Snapshot& before = *previous->snapshot;
            const std::size_t j = before.ProviderIndex(p.name);
            if (j != SIZE_MAX && SameConnectionSettings(before.config->providers[j], p) &&
                before.metric_slot[j] == snapshot->metric_slot[i]) {
                out->pools.push_back(previous->pools[j]);
                continue;
            }
        }
        // max_connections is per instance: each worker gets its share (at least one).
        const int cap = p.max_connections > 0 ? p.max_connections : upstream::DefaultMaxConnections();
        const int share = std::max(1, (cap + workers - 1) / workers);
        out->pools.push_back(std::make_shared<upstream::UpstreamPool>(ex, snapshot->config, p, snapshot->tls[i], share,
                                                                      &metrics.pool_gauges(snapshot->metric_slot[i])));
    }
    std::unordered_map<std::string, std::shared_ptr<proxy::Balancer>> old_balancers;
    if (previous) {
        const Snapshot& before = *previous->snapshot;
        for (std::size_t r = 0; r < before.routes.route_count(); ++r) {
            old_balancers.emplace(RouteSignature(before, before.routes.route(r)), previous->balancers[r]);
        }
    }
    for (std::size_t r = 0; r < snapshot->routes.route_count(); ++r) {
        const auto& route = snapshot->routes.route(r);
        auto it = old_balancers.find(RouteSignature(*snapshot, route));
        if (it != old_balancers.end())
            out->balancers.push_back(it->second);
        else
            out->balancers.push_back(proxy::MakeBalancer(route.strategy, rng()));
    }
    out->scripts = BuildScripts(*snapshot->config, previous, metrics);
    out->snapshot = std::move(snapshot);
    return out;
}

}  // namespace llmproxy::pipeline
