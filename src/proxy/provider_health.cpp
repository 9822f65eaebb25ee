#include "proxy/provider_health.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace llmproxy::proxy {

std::int64_t SteadyNowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

bool ProviderHealth::Available(std::int64_t now_ms) const {
    if (!active_healthy_.load(std::memory_order_relaxed)) return false;
    if (cooled_until_ms_.load(std::memory_order_relaxed) > now_ms) return false;
    auto state = static_cast<BreakerState>(state_.load(std::memory_order_acquire));
    if (state == BreakerState::kClosed) return true;
    if (ejected_until_ms_.load(std::memory_order_relaxed) > now_ms) return false;
    return !probe_in_flight_.load(std::memory_order_relaxed);  // half-open: one probe at a time
}

bool ProviderHealth::TryEnter(std::int64_t now_ms) {
    last_used_ms_.store(now_ms, std::memory_order_relaxed);
    auto state = static_cast<BreakerState>(state_.load(std::memory_order_acquire));
    if (state == BreakerState::kClosed) return true;
    if (ejected_until_ms_.load(std::memory_order_relaxed) > now_ms) return false;
    bool expected = false;
    if (!probe_in_flight_.compare_exchange_strong(expected, true)) return false;
    state_.store(static_cast<int>(BreakerState::kHalfOpen), std::memory_order_release);
    return true;
}

void ProviderHealth::OnSuccess(std::int64_t now_ms, double ttfb_ms) {
    double old = ewma_ms_.load(std::memory_order_relaxed);
    ewma_ms_.store(old == 0 ? ttfb_ms : old + kEwmaAlpha * (ttfb_ms - old), std::memory_order_relaxed);
    last_used_ms_.store(now_ms, std::memory_order_relaxed);
    if (consecutive_failures_.load(std::memory_order_relaxed) != 0) consecutive_failures_.store(0);
    if (state_.load(std::memory_order_acquire) != static_cast<int>(BreakerState::kClosed)) {
        std::lock_guard lock(mu_);
        state_.store(static_cast<int>(BreakerState::kClosed), std::memory_order_release);
        probe_in_flight_.store(false);
    }
    // A long healthy stretch forgets earlier ejections, so the next cooldown starts small.
    if (ejections_.load(std::memory_order_relaxed) != 0 &&
        now_ms - ejected_until_ms_.load(std::memory_order_relaxed) > config_.max_ejection.count()) {
        ejections_.store(0);
    }
}

void ProviderHealth::Eject(std::int64_t now_ms) {
    int n = ejections_.fetch_add(1) + 1;
    double cooldown = static_cast<double>(config_.base_ejection.count()) * std::pow(2.0, std::min(n - 1, 30));
    cooldown = std::min(cooldown, static_cast<double>(config_.max_ejection.count()));
    ejected_until_ms_.store(now_ms + static_cast<std::int64_t>(cooldown));
    state_.store(static_cast<int>(BreakerState::kOpen), std::memory_order_release);
    probe_in_flight_.store(false);
    consecutive_failures_.store(0);
}

void ProviderHealth::OnFailure(std::int64_t now_ms, std::string_view why) {
    std::lock_guard lock(mu_);
    last_error_.assign(why);
    auto state = static_cast<BreakerState>(state_.load(std::memory_order_acquire));
    if (state == BreakerState::kHalfOpen) {  // the probe failed: back to open, longer
        Eject(now_ms);
        return;
    }
    if (state == BreakerState::kOpen) return;  // already ejected (a request started before)
    if (consecutive_failures_.fetch_add(1) + 1 >= config_.failure_threshold) Eject(now_ms);
}

void ProviderHealth::OnRateLimited(std::int64_t now_ms, std::int64_t retry_after_ms) {
    std::int64_t until = now_ms + std::clamp<std::int64_t>(retry_after_ms, 0, config_.max_ejection.count());
    std::int64_t old = cooled_until_ms_.load();
    while (until > old && !cooled_until_ms_.compare_exchange_weak(old, until)) {
    }
    std::lock_guard lock(mu_);
    last_error_ = "429 rate limited";
    if (state_.load() == static_cast<int>(BreakerState::kHalfOpen)) probe_in_flight_.store(false);
}

void ProviderHealth::SetActiveHealthy(bool healthy, std::string_view why) {
    active_healthy_.store(healthy, std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    if (!healthy) {
        last_error_.assign(why);
        return;
    }
    // A passing active check is positive evidence: end a passive ejection now.
    state_.store(static_cast<int>(BreakerState::kClosed), std::memory_order_release);
    ejected_until_ms_.store(0);
    probe_in_flight_.store(false);
    consecutive_failures_.store(0);
}

double ProviderHealth::LatencyScore(std::int64_t now_ms) const {
    double ewma = ewma_ms_.load(std::memory_order_relaxed);
    double idle = static_cast<double>(now_ms - last_used_ms_.load(std::memory_order_relaxed));
    if (idle > 0) ewma *= std::exp(-idle / kDecayMs);
    return ewma;
}

HealthView ProviderHealth::Describe(std::int64_t now_ms) const {
    HealthView v;
    v.active_healthy = active_healthy_.load();
    v.state = static_cast<BreakerState>(state_.load());
    v.ejected_for_ms = std::max<std::int64_t>(0, ejected_until_ms_.load() - now_ms);
    v.cooled_for_ms = std::max<std::int64_t>(0, cooled_until_ms_.load() - now_ms);
    v.consecutive_failures = consecutive_failures_.load();
    v.ejections = ejections_.load();
    v.in_flight = in_flight_.load();
    v.ewma_ttfb_ms = ewma_ms_.load();
    std::lock_guard lock(mu_);
    v.last_error = last_error_;
    return v;
}

}  // namespace llmproxy::proxy
