#pragma once
// Generic cell rate algorithm (a token bucket kept as one timestamp) and a concurrency gate,
// both lock-free: workers share them through a single atomic each, so limits are exact across
// workers without a lock on the hot path.
#include <algorithm>
#include <atomic>
#include <cstdint>

namespace llmproxy::proxy {

class Gcra {
public:
    /// `rate` units per second, bucket of `burst` units (burst >= 1).
    Gcra(double rate_per_second, double burst);

    struct Decision {
        bool allowed = false;
        bool never = false;               // denied because the cost is above the burst: no wait helps
        std::int64_t retry_after_ns = 0;  // when denied: wait this long
        std::int64_t remaining = 0;       // units left in the bucket after this decision
        std::int64_t reset_ns = 0;        // until the bucket is full again
    };
    /// Takes `cost` units. A cost above the burst is never admitted (it could only be by
    /// overflowing the arithmetic). Every product and sum below saturates (see kMaxNs), so no
    /// input — a huge max_tokens, a huge usage from upstream — can wrap the bucket round.
    Decision TryTake(std::int64_t now_ns, double cost = 1);
    /// Charges (or refunds, when negative) after the fact: TPM admits on an estimate and
    /// corrects with the real usage. The debt (or credit) is bounded by kMaxNs.
    void Adjust(double cost_delta);
    double burst() const { return burst_; }

    /// Bound of every time quantity kept here (~146 years of ns): clock readings, the bucket's
    /// tolerance and the TAT stay below it, so their sums never overflow an int64.
    static constexpr std::int64_t kMaxNs = std::int64_t{1} << 62;
    std::int64_t limit() const { return static_cast<std::int64_t>(std::min(burst_, 1e18)); }

private:
    double burst_;
    std::int64_t interval_ns_;          // time one unit takes to replenish
    std::int64_t tolerance_ns_;         // burst * interval
    std::atomic<std::int64_t> tat_{0};  // theoretical arrival time
};

class ConcurrencyGate {
public:
    explicit ConcurrencyGate(int max) : max_(max) {}
    bool TryEnter();
    void Leave() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }
    int in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
    int max() const { return max_; }

private:
    int max_;
    std::atomic<int> in_flight_{0};
};

}  // namespace llmproxy::proxy
