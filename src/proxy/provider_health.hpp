#pragma once
// Runtime health of one provider, shared by every worker (atomics; a mutex only on the rare
// failure path): active health-check verdict, circuit breaker (passive ejection with growing
// cooldown and half-open probing), 429 cool-down, in-flight count and latency EWMA.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "core/config.hpp"

namespace llmproxy::proxy {

enum class BreakerState { kClosed, kOpen, kHalfOpen };

struct HealthView {  // a consistent-enough copy for /health/detailed
    bool active_healthy = true;
    BreakerState state = BreakerState::kClosed;
    std::int64_t ejected_for_ms = 0;  // remaining
    std::int64_t cooled_for_ms = 0;   // remaining 429 cool-down
    int consecutive_failures = 0;
    int ejections = 0;
    int in_flight = 0;
    double ewma_ttfb_ms = 0;
    std::string last_error;
};

class ProviderHealth {
public:
    explicit ProviderHealth(core::CircuitBreakerConfig config) : config_(config) {}

    /// May new requests go here now? (Healthy, not ejected, not cooling down after a 429.)
    /// In half-open state only one probe request at a time is let through (TryProbe).
    bool Available(std::int64_t now_ms) const;
    /// Claims the half-open probe slot when the ejection has expired. Returns true when the
    /// caller may send its request (closed state always true).
    bool TryEnter(std::int64_t now_ms);

    void OnSuccess(std::int64_t now_ms, double ttfb_ms);
    /// A connect error, timeout or 5xx. Ejects after `failure_threshold` in a row.
    void OnFailure(std::int64_t now_ms, std::string_view why);
    /// A 429: not a fault of the target, but it asked for a pause.
    void OnRateLimited(std::int64_t now_ms, std::int64_t retry_after_ms);
    /// Active health check verdict; a healthy verdict (after unhealthy) also ends a passive
    /// ejection.
    void SetActiveHealthy(bool healthy, std::string_view why = {});
    bool active_healthy() const { return active_healthy_.load(std::memory_order_relaxed); }
    /// A passing active check while passively ejected: let one probe request through now
    /// (half-open) instead of waiting out the cooldown; real traffic then decides.
    void OnActiveCheckPassed() {
        if (state_.load(std::memory_order_relaxed) == static_cast<int>(BreakerState::kOpen)) {
            ejected_until_ms_.store(0);
        }
    }
    /// A half-open probe ended without a verdict (e.g. the client left): free the slot.
    void ReleaseProbe() { probe_in_flight_.store(false); }

    void BeginRequest() { in_flight_.fetch_add(1, std::memory_order_relaxed); }
    void EndRequest() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
    int in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
    /// Latency score for latency_based: EWMA of time-to-first-byte, decayed toward 0 while the
    /// target is not used (so a recovered or once-slow target gets probed again).
    double LatencyScore(std::int64_t now_ms) const;
    double ewma_ttfb_ms() const { return ewma_ms_.load(std::memory_order_relaxed); }

    HealthView Describe(std::int64_t now_ms) const;

    static constexpr double kEwmaAlpha = 0.3;
    static constexpr double kDecayMs = 10'000;

private:
    void Eject(std::int64_t now_ms);  // mutex held

    const core::CircuitBreakerConfig config_;
    std::atomic<bool> active_healthy_{true};
    std::atomic<int> state_{static_cast<int>(BreakerState::kClosed)};
    std::atomic<std::int64_t> ejected_until_ms_{0};
    std::atomic<std::int64_t> cooled_until_ms_{0};
    std::atomic<bool> probe_in_flight_{false};
    std::atomic<int> consecutive_failures_{0};
    std::atomic<int> ejections_{0};
    std::atomic<int> in_flight_{0};
    std::atomic<double> ewma_ms_{0};
    std::atomic<std::int64_t> last_used_ms_{0};
    mutable std::mutex mu_;  // failure path and last_error only
    std::string last_error_;
};

/// Milliseconds on the steady clock: the one time base for health state.
std::int64_t SteadyNowMs();

}  // namespace llmproxy::proxy
