#pragma once
// The forward stage's decisions, kept apart from its sockets (as Envoy keeps its router's retry
// state apart from the upstream request): which answers an attempt may hold back because
// another attempt will follow, whether the targets may be gone round again, and what follows a
// failed attempt (retry after a backoff, or give up and say why). Unit-tested without sockets.
#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "proxy/retry_policy.hpp"
#include "proxy/route_table.hpp"
#include "proxy/tried_providers.hpp"

namespace llmproxy::proxy {

/// Anything left to try after a failure at `provider` without repeating one: another target of
/// the route, one of its fallbacks, or (`more_models`) a fallback model.
bool MoreTargets(const RouteTable& routes, const Route& route, const TriedProviders& tried, std::size_t provider,
                 bool more_models);

/// What follows a failed attempt (one whose answer never reached the client).
struct AfterFailure {
    bool retry = false;
    core::Millis wait{0};      // the backoff before the next attempt
    std::string_view why_not;  // when not retried: "not retryable", "out of retries", ...
};

class AttemptPolicy {
public:
    using Clock = std::chrono::steady_clock;

    AttemptPolicy(const core::RetryConfig& retry, RetryBudget& budget, Clock::time_point deadline)
        : retry_(retry), budget_(budget), deadline_(deadline) {}

    /// The statuses attempt number `attempt` (1 = first) may hold back: the retryable ones while
    /// retries, budget and time are left. A 429 is held only when another target can answer
    /// (a lone target's 429 is relayed as is, with its Retry-After).
    std::span<const int> Holds(int attempt, bool more_targets, Clock::time_point now);

    /// When no untried target is left: may the same targets be tried again? Only while retries
    /// are left, on the last model, and not after a 429 (its Retry-After asked us to stay away).
    bool MayRevisit(int attempt, bool last_was_429, bool last_model) const {
        return attempt > 0 && attempt <= retry_.max_retries && !last_was_429 && last_model;
    }

    /// After attempt number `attempt` failed with `kind` (`held_status` for kStatus).
    /// `unit_random` in [0, 1) jitters the backoff; a retry withdraws from the budget.
    AfterFailure Decide(FailureKind kind, unsigned held_status, int attempt, std::int64_t now_ms, Clock::time_point now,
                        double unit_random);

private:
    const core::RetryConfig& retry_;
    RetryBudget& budget_;
    Clock::time_point deadline_;
    std::array<int, 16> holds_{};
};

}  // namespace llmproxy::proxy
