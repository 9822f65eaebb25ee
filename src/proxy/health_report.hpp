#pragma once
// GET /health/detailed: every provider with its health, breaker state, in-flight count, latency
// EWMA and last error, as JSON.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "proxy/provider_health.hpp"

namespace llmproxy::proxy {

struct ProbeResult {
    bool done = false;
    bool ok = false;
    double latency_ms = 0;
    std::string error;
};

/// `probes` (optional, one per provider) adds the result of an on-demand check to each entry.
std::string DetailedHealthJson(const core::Config& config, const std::vector<std::shared_ptr<ProviderHealth>>& health,
                               std::int64_t now_ms, const std::vector<ProbeResult>* probes = nullptr);

}  // namespace llmproxy::proxy
