#pragma once
// Picks one target among the candidates of a route. A balancer object holds the per-route
// state of one worker thread (no locks: each worker owns its own). Strategies that need live
// numbers (in-flight requests, latency) read them from the shared ProviderHealth objects.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string_view>
#include <vector>

#include "proxy/provider_health.hpp"

namespace llmproxy::proxy {

struct Candidate {
    std::size_t provider = 0;  // index into Config::providers
    int weight = 1;
};

/// Live numbers of the providers, indexed like Config::providers. Empty in pure unit tests.
using HealthTable = std::span<const std::shared_ptr<ProviderHealth>>;

struct PickInput {
    std::span<const Candidate> candidates;  // never empty; same list every call
    std::span<const bool> excluded;         // empty, or one flag per candidate: skip it
    HealthTable health;
    std::int64_t now_ms = 0;
};

class Balancer {
public:
    static constexpr std::size_t kNone = SIZE_MAX;
    virtual ~Balancer() = default;
    /// Index into candidates, or kNone when every candidate is excluded or has weight 0.
    virtual std::size_t Pick(const PickInput& in) = 0;

    std::size_t Pick(std::span<const Candidate> c, std::span<const bool> excluded) {
        return Pick(PickInput{c, excluded, {}, 0});
    }

protected:
    static bool Usable(const PickInput& in, std::size_t i) {
        return in.candidates[i].weight > 0 && (in.excluded.empty() || !in.excluded[i]);
    }
    static int InFlight(const PickInput& in, std::size_t i) {
        return in.health.empty() ? 0 : in.health[in.candidates[i].provider]->in_flight();
    }
};

/// Smooth weighted round robin (as in nginx): for weights 5,1,1 yields a,a,b,a,c,a,a — spread
/// out rather than bursty, exact over every cycle of sum(weights) picks.
class SmoothWeightedRoundRobin final : public Balancer {
public:
    using Balancer::Pick;
    std::size_t Pick(const PickInput& in) override;

private:
    std::vector<std::int64_t> current_;
};

/// Plain rotation, weights ignored (weight 0 still means "never").
class RoundRobin final : public Balancer {
public:
    using Balancer::Pick;
    std::size_t Pick(const PickInput& in) override;

private:
    std::size_t next_ = 0;
};

/// Random, proportional to weight.
class WeightedRandom final : public Balancer {
public:
    explicit WeightedRandom(std::uint64_t seed) : rng_(seed) {}
    using Balancer::Pick;
    std::size_t Pick(const PickInput& in) override;

private:
    std::mt19937_64 rng_;
};

/// Fewest in-flight requests (across all workers); ties go to the higher weight, then rotate.
class LeastConnections final : public Balancer {
public:
    using Balancer::Pick;
    std::size_t Pick(const PickInput& in) override;

private:
    std::size_t rotate_ = 0;
};

/// Power of two choices over a latency score: EWMA of time-to-first-byte times (in-flight + 1),
/// so a fast target is not stampeded. The EWMA decays while a target is unused, so a recovered
/// or once-slow target is tried again. Untried targets (score 0) win.
class LatencyBased final : public Balancer {
public:
    explicit LatencyBased(std::uint64_t seed) : rng_(seed) {}
    using Balancer::Pick;
    std::size_t Pick(const PickInput& in) override;

private:
    double Score(const PickInput& in, std::size_t i) const;
    std::mt19937_64 rng_;
};

/// strategy: round_robin | weighted_round_robin | weighted_random | least_connections | latency_based
std::unique_ptr<Balancer> MakeBalancer(std::string_view strategy, std::uint64_t seed = 1);

}  // namespace llmproxy::proxy
