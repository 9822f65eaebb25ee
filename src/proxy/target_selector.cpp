#include "proxy/target_selector.hpp"

#include <memory>

namespace llmproxy::proxy {
namespace {

// Per-thread scratch for the exclusion mask (indexed by candidate, not by provider).
std::span<bool> Mask(std::size_t n) {
    thread_local std::unique_ptr<bool[]> storage;
    thread_local std::size_t capacity = 0;
    if (n > capacity) {
        capacity = std::max<std::size_t>(n, 16);
        storage.reset(new bool[capacity]);
    }
    return {storage.get(), n};
}

}  // namespace

std::optional<Selection> TargetSelector::Select(const Route& route, Balancer& balancer, const TriedProviders& tried,
                                                std::size_t last_failed, std::int64_t now_ms,
                                                std::size_t preferred) const {
    // 0. A routing script's choice.
    if (preferred < tried.size() && !tried[preferred] && Healthy(preferred, now_ms) && Enter(preferred, now_ms)) {
        return Selection{preferred, false, false};
    }
    // 1. The failed provider's configured fallbacks, in order.
    if (last_failed < tried.size()) {
        for (std::size_t p : routes_.FallbacksOf(last_failed)) {
            if (!tried[p] && Healthy(p, now_ms) && Enter(p, now_ms)) return Selection{p, false, true};
        }
    }
    const auto& c = route.candidates;
    auto mask = Mask(c.size());
    // 2. The strategy over healthy, untried targets.
    for (std::size_t i = 0; i < c.size(); ++i) mask[i] = tried[c[i].provider] || !Healthy(c[i].provider, now_ms);
    for (;;) {
        std::size_t i = balancer.Pick(PickInput{c, mask, health_, now_ms});
        if (i == Balancer::kNone) break;
        if (Enter(c[i].provider, now_ms)) return Selection{c[i].provider, false, false};
        mask[i] = true;  // lost the half-open probe slot to another request: try the next one
    }
    // 3. Panic: nothing healthy is left untried; try what is untried anyway.
    for (std::size_t i = 0; i < c.size(); ++i) mask[i] = tried[c[i].provider];
    std::size_t i = balancer.Pick(PickInput{c, mask, health_, now_ms});
    if (i == Balancer::kNone) return std::nullopt;
    return Selection{c[i].provider, true, false};
}

}  // namespace llmproxy::proxy
