#include "proxy/balancer.hpp"

#include <limits>

namespace llmproxy::proxy {
namespace {
constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

bool Usable(std::span<const Candidate> c, std::span<const bool> excluded, std::size_t i) {
    return c[i].weight > 0 && (excluded.empty() || !excluded[i]);
}
}  // namespace

std::size_t SmoothWeightedRoundRobin::Pick(std::span<const Candidate> candidates,
                                           std::span<const bool> excluded) {
    if (current_.size() != candidates.size()) current_.assign(candidates.size(), 0);
    std::int64_t total = 0;
    std::size_t best = kNone;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        if (!Usable(candidates, excluded, i)) continue;
        current_[i] += candidates[i].weight;
        total += candidates[i].weight;
        if (best == kNone || current_[i] > current_[best]) best = i;
    }
    if (best != kNone) current_[best] -= total;
    return best;
}

std::size_t RoundRobin::Pick(std::span<const Candidate> candidates, std::span<const bool> excluded) {
    for (std::size_t n = 0; n < candidates.size(); ++n) {
        std::size_t i = (next_ + n) % candidates.size();
        if (Usable(candidates, excluded, i)) {
            next_ = i + 1;
            return i;
        }
    }
    return kNone;
}

std::unique_ptr<Balancer> MakeBalancer(std::string_view strategy) {
    if (strategy == "round_robin") return std::make_unique<RoundRobin>();
    return std::make_unique<SmoothWeightedRoundRobin>();
}

}  // namespace llmproxy::proxy
