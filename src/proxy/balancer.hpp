#pragma once
// Picks one target among the candidates of a route. A balancer object holds the per-route
// state of one worker thread (no locks: each worker owns its own).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace llmproxy::proxy {

struct Candidate {
    std::size_t provider = 0;  // index into Config::providers
    int weight = 1;
};

class Balancer {
public:
    virtual ~Balancer() = default;
    /// Returns an index into `candidates`, which is never empty and is the same list (same
    /// order) on every call for this balancer. `excluded[i]` marks candidates to skip (e.g. an
    /// attempt already failed there); returns SIZE_MAX when every candidate is excluded.
    virtual std::size_t Pick(std::span<const Candidate> candidates, std::span<const bool> excluded) = 0;
};

/// Smooth weighted round robin (as in nginx): for weights 5,1,1 yields a,a,b,a,c,a,a — spread
/// out rather than bursty, exact over every cycle of sum(weights) picks.
class SmoothWeightedRoundRobin final : public Balancer {
public:
    std::size_t Pick(std::span<const Candidate> candidates, std::span<const bool> excluded) override;

private:
    std::vector<std::int64_t> current_;
};

/// Plain rotation, weights ignored (weight 0 still means "never").
class RoundRobin final : public Balancer {
public:
    std::size_t Pick(std::span<const Candidate> candidates, std::span<const bool> excluded) override;

private:
    std::size_t next_ = 0;
};

std::unique_ptr<Balancer> MakeBalancer(std::string_view strategy);

}  // namespace llmproxy::proxy
