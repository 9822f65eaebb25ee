#include "proxy/attempt_policy.hpp"

#include <algorithm>

namespace llmproxy::proxy {

bool MoreTargets(const RouteTable& routes, const Route& route, const TriedProviders& tried, std::size_t provider,
                 bool more_models) {
    if (more_models) return true;
    for (const auto& c : route.candidates) {
        if (!tried[c.provider] && c.provider != provider && c.weight > 0) return true;
    }
    for (std::size_t f : routes.FallbacksOf(provider)) {
        if (!tried[f] && f != provider) return true;
    }
    return false;
}

std::span<const int> AttemptPolicy::Holds(int attempt, bool more_targets, Clock::time_point now) {
    const bool retries_left = attempt <= retry_.max_retries && budget_.tokens() >= 1 && now < deadline_;
    std::size_t n = 0;
    if (retries_left) {
        for (int s : retry_.on_status) {
            if ((more_targets || s != 429) && n < holds_.size()) holds_[n++] = s;
        }
    }
    return {holds_.data(), n};
}

AfterFailure AttemptPolicy::Decide(FailureKind kind, unsigned held_status, int attempt, std::int64_t now_ms,
                                   Clock::time_point now, double unit_random) {
    AfterFailure d;
    if (!ShouldRetry(retry_, kind, held_status)) {
        d.why_not = "not retryable";
        return d;
    }
    if (attempt > retry_.max_retries) {
        d.why_not = "out of retries";
        return d;
    }
    if (!budget_.TryRetry(now_ms)) {
        d.why_not = "retry budget exhausted";
        return d;
    }
    // The backoff is bounded by the request's deadline: a wait that reaches it ends the request.
    d.wait = BackoffDelay(retry_, attempt, unit_random);
    if (now + d.wait >= deadline_) {
        d.why_not = "deadline";
        return d;
    }
    d.retry = true;
    return d;
}

}  // namespace llmproxy::proxy
