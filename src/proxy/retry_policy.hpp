#pragma once
// When and how soon to try again: retry conditions, exponential backoff with jitter, and a
// retry budget that caps retries to a fraction of traffic so that retries cannot multiply the
// load on an upstream that is already failing.
#include <cstdint>

#include "core/config.hpp"

namespace llmproxy::proxy {

enum class FailureKind {
    kConnect,  // could not connect / TLS / reset before any response
    kTimeout,  // connect or first-byte timeout
    kStatus,   // the upstream answered with a retryable status
};

bool ShouldRetry(const core::RetryConfig& config, FailureKind kind, unsigned status);

/// Wait before retry number `retry` (1 = first retry): initial * multiplier^(retry-1), capped at
/// max_wait, then +-jitter. `unit_random` is in [0, 1).
core::Millis BackoffDelay(const core::RetryConfig& config, int retry, double unit_random);

/// Per-worker token bucket: each request deposits `ratio` tokens, time deposits
/// `min_per_second` per second; a retry withdraws one. Single-threaded by design.
class RetryBudget {
public:
    RetryBudget(double ratio, int min_per_second);
    void OnRequest(std::int64_t now_ms);
    bool TryRetry(std::int64_t now_ms);
    double tokens() const { return tokens_; }

private:
    void Refill(std::int64_t now_ms);
    double ratio_;
    double per_ms_;
    double cap_;
    double tokens_;
    std::int64_t last_ms_ = -1;
};

}  // namespace llmproxy::proxy
