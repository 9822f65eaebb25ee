#pragma once
// Chooses the provider for the next attempt of a request: provider-level fallbacks first (after
// a failure), then the route's strategy over healthy, untried targets, and — when none is
// healthy — over untried targets regardless of health ("panic" mode: never turn the last
// targets of a model into "no target" without trying them).
#include <cstddef>
#include <algorithm>
#include <optional>
#include <vector>

#include "proxy/balancer.hpp"
#include "proxy/route_table.hpp"
#include "proxy/tried_providers.hpp"

namespace llmproxy::proxy {

struct Selection {
    std::size_t provider = 0;
    bool panic = false;     // chosen although not healthy
    bool fallback = false;  // from the failed provider's fallback list
};

class TargetSelector {
public:
    TargetSelector(const RouteTable& routes, HealthTable health) : routes_(routes), health_(health) {}

    /// `tried[p]` marks providers already attempted for this request; `last_failed` is the
    /// provider whose failure led here (SIZE_MAX on the first attempt). `preferred` (a routing
    /// script's choice) is taken first while untried and healthy; fallbacks and the strategy follow.
    std::optional<Selection> Select(const Route& route, Balancer& balancer, const TriedProviders& tried,
                                    std::size_t last_failed, std::int64_t now_ms,
                                    std::size_t preferred = SIZE_MAX) const;

private:
    bool Healthy(std::size_t provider, std::int64_t now_ms) const {
        return health_.empty() || health_[provider]->Available(now_ms);
    }
    bool Enter(std::size_t provider, std::int64_t now_ms) const {
        return health_.empty() || health_[provider]->TryEnter(now_ms);
    }

    const RouteTable& routes_;
    HealthTable health_;
};

}  // namespace llmproxy::proxy
