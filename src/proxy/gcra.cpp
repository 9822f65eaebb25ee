#include "proxy/gcra.hpp"

#include <algorithm>
#include <cmath>

namespace llmproxy::proxy {

namespace {

// units * interval in ns, clamped to [-Gcra::kMaxNs / 4, Gcra::kMaxNs / 4] before any cast (a
// double beyond the int64 range cast to one is undefined behaviour).
std::int64_t SaturatedNs(double units, std::int64_t interval_ns) {
    constexpr double kBound = static_cast<double>(Gcra::kMaxNs / 4);
    const double ns = units * static_cast<double>(interval_ns);
    if (!(ns == ns)) return 0;  // NaN
    return static_cast<std::int64_t>(std::clamp(ns, -kBound, kBound));
}

}  // namespace

Gcra::Gcra(double rate_per_second, double burst)
    : burst_(std::max(1.0, burst)),
      // At least 1 ns per unit: rates above 1e9 units/s (e.g. a "never" TPM of 1e12/min) are
      // effectively unlimited, and the division below must never be by zero.
      interval_ns_(static_cast<std::int64_t>(
          std::clamp<double>(1e9 / std::max(rate_per_second, 1e-9), 1, static_cast<double>(kMaxNs / 4)))),
      tolerance_ns_(SaturatedNs(burst_, interval_ns_)) {}

Gcra::Decision Gcra::TryTake(std::int64_t now_ns, double cost) {
    if (!(cost <= burst_)) {  // also NaN
        Decision never;
        never.never = true;
        never.retry_after_ns = tolerance_ns_;
        never.reset_ns = tolerance_ns_;
        return never;
    }
    const std::int64_t cost_ns = SaturatedNs(std::max(cost, 0.0), interval_ns_);  // refunds go through Adjust
    now_ns = std::clamp<std::int64_t>(now_ns, 0, kMaxNs);
    std::int64_t tat = tat_.load(std::memory_order_relaxed);
    for (;;) {
        const std::int64_t base = std::max(tat, now_ns);
        const std::int64_t new_tat = base + cost_ns;
        const std::int64_t used = new_tat - now_ns;  // how full the bucket would be, in time
        Decision d;
        if (used > tolerance_ns_) {
            d.allowed = false;
            d.retry_after_ns = used - tolerance_ns_;
            d.remaining = std::max<std::int64_t>(0, (tolerance_ns_ - (base - now_ns)) / interval_ns_);
            d.reset_ns = base - now_ns;
            return d;
        }
        if (tat_.compare_exchange_weak(tat, new_tat, std::memory_order_relaxed)) {
            d.allowed = true;
            d.remaining = (tolerance_ns_ - used) / interval_ns_;
            d.reset_ns = used;
            return d;
        }
    }
}

void Gcra::Adjust(double cost_delta) {
    const std::int64_t delta = SaturatedNs(cost_delta, interval_ns_);
    std::int64_t tat = tat_.load(std::memory_order_relaxed);
    // Both within kMaxNs: the sum cannot overflow; the result is kept within it too.
    while (!tat_.compare_exchange_weak(tat, std::clamp<std::int64_t>(tat + delta, -kMaxNs, kMaxNs),
                                       std::memory_order_relaxed)) {
    }
}

bool ConcurrencyGate::TryEnter() {
    int n = in_flight_.load(std::memory_order_relaxed);
    while (n < max_) {
        if (in_flight_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) return true;
    }
    return false;
}

}  // namespace llmproxy::proxy
