#include "proxy/gcra.hpp"

#include <algorithm>
#include <cmath>

namespace llmproxy::proxy {

Gcra::Gcra(double rate_per_second, double burst)
    : burst_(std::max(1.0, burst)),
      // At least 1 ns per unit: rates above 1e9 units/s (e.g. a "never" TPM of 1e12/min) are
      // effectively unlimited, and the division below must never be by zero.
      interval_ns_(std::max<std::int64_t>(1, static_cast<std::int64_t>(1e9 / std::max(rate_per_second, 1e-9)))),
      tolerance_ns_(static_cast<std::int64_t>(burst_ * static_cast<double>(interval_ns_))) {}

Gcra::Decision Gcra::TryTake(std::int64_t now_ns, double cost) {
    const auto cost_ns = static_cast<std::int64_t>(cost * static_cast<double>(interval_ns_));
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
    tat_.fetch_add(static_cast<std::int64_t>(cost_delta * static_cast<double>(interval_ns_)),
                   std::memory_order_relaxed);
}

bool ConcurrencyGate::TryEnter() {
    int n = in_flight_.load(std::memory_order_relaxed);
    while (n < max_) {
        if (in_flight_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) return true;
    }
    return false;
}

}  // namespace llmproxy::proxy
