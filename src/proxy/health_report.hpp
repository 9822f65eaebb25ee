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

std::string DetailedHealthJson(const core::Config& config, const std::vector<std::unique_ptr<ProviderHealth>>& health,
                               std::int64_t now_ms);

}  // namespace llmproxy::proxy
