#include "proxy/balancer.hpp"

namespace llmproxy::proxy {

std::size_t SmoothWeightedRoundRobin::Pick(const PickInput& in) {
    if (current_.size() != in.candidates.size()) current_.assign(in.candidates.size(), 0);
    std::int64_t total = 0;
    std::size_t best = kNone;
    for (std::size_t i = 0; i < in.candidates.size(); ++i) {
        if (!Usable(in, i)) continue;
        current_[i] += in.candidates[i].weight;
        total += in.candidates[i].weight;
        if (best == kNone || current_[i] > current_[best]) best = i;
    }
    if (best != kNone) current_[best] -= total;
    return best;
}

std::size_t RoundRobin::Pick(const PickInput& in) {
    const std::size_t n = in.candidates.size();
    for (std::size_t k = 0; k < n; ++k) {
        std::size_t i = (next_ + k) % n;
        if (Usable(in, i)) {
            next_ = i + 1;
            return i;
        }
    }
    return kNone;
}

std::size_t WeightedRandom::Pick(const PickInput& in) {
    std::int64_t total = 0;
    for (std::size_t i = 0; i < in.candidates.size(); ++i) {
        if (Usable(in, i)) total += in.candidates[i].weight;
    }
    if (total == 0) return kNone;
    std::int64_t r = std::uniform_int_distribution<std::int64_t>(0, total - 1)(rng_);
    for (std::size_t i = 0; i < in.candidates.size(); ++i) {
        if (!Usable(in, i)) continue;
        r -= in.candidates[i].weight;
        if (r < 0) return i;
    }
    return kNone;
}

std::size_t LeastConnections::Pick(const PickInput& in) {
    const std::size_t n = in.candidates.size();
    std::size_t best = kNone;
    for (std::size_t k = 0; k < n; ++k) {
        std::size_t i = (rotate_ + k) % n;  // rotating start: equal candidates take turns
        if (!Usable(in, i)) continue;
        if (best == kNone) {
            best = i;
            continue;
        }
        int a = InFlight(in, i), b = InFlight(in, best);
        if (a < b || (a == b && in.candidates[i].weight > in.candidates[best].weight)) best = i;
    }
    ++rotate_;
    return best;
}

double LatencyBased::Score(const PickInput& in, std::size_t i) const {
    if (in.health.empty()) return 0;
    const auto& h = *in.health[in.candidates[i].provider];
    return h.LatencyScore(in.now_ms) * (h.in_flight() + 1);
}

std::size_t LatencyBased::Pick(const PickInput& in) {
    std::vector<std::size_t> usable;
    usable.reserve(in.candidates.size());
    for (std::size_t i = 0; i < in.candidates.size(); ++i) {
        if (Usable(in, i)) usable.push_back(i);
    }
    if (usable.empty()) return kNone;
    if (usable.size() == 1) return usable[0];
    std::uniform_int_distribution<std::size_t> dist(0, usable.size() - 1);
    std::size_t a = dist(rng_), b = dist(rng_);
    while (b == a) b = dist(rng_);
    double sa = Score(in, usable[a]), sb = Score(in, usable[b]);
    if (sa == sb) return usable[std::min(a, b)];
    return sa < sb ? usable[a] : usable[b];
}

std::unique_ptr<Balancer> MakeBalancer(std::string_view strategy, std::uint64_t seed) {
    if (strategy == "round_robin") return std::make_unique<RoundRobin>();
    if (strategy == "weighted_random") return std::make_unique<WeightedRandom>(seed);
    if (strategy == "least_connections") return std::make_unique<LeastConnections>();
    if (strategy == "latency_based") return std::make_unique<LatencyBased>(seed);
    return std::make_unique<SmoothWeightedRoundRobin>();
}

}  // namespace llmproxy::proxy
