#pragma once
// Renders the Prometheus text exposition (format 0.0.4) from every worker's shard plus the
// providers' shared health.
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "observe/metrics.hpp"
#include "proxy/provider_health.hpp"

namespace llmproxy::observe {

struct WebhookStats {
    bool enabled = false;
    std::uint64_t success = 0, failure = 0, spooled = 0, dropped = 0, depth = 0;
};

struct ScrapeInput {
    std::vector<const MetricsShard*> shards;
    const core::Config* config = nullptr;
    const std::vector<std::shared_ptr<proxy::ProviderHealth>>* health = nullptr;
    std::string_view version;
    WebhookStats webhook;
    const std::vector<std::size_t>* slots = nullptr;  // per provider: its slot in the shards (null: its index)
};

std::string RenderPrometheus(const ScrapeInput& in);

/// Escapes a label value (backslash, double quote, newline).
std::string EscapeLabel(std::string_view v);

}  // namespace llmproxy::observe
