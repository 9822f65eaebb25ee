#include "proxy/quota.hpp"

#include "core/quota_period.hpp"

namespace llmproxy::proxy {

std::int64_t QuotaCounter::Used(std::int64_t now_s) const {
    const std::int64_t start = period_start_.load(std::memory_order_acquire);
    if (now_s < start || now_s >= period_end_.load(std::memory_order_acquire)) return 0;  // a new window
    return used_.load(std::memory_order_relaxed);
}

void QuotaCounter::RollLocked(std::int64_t now_s) {
    if (now_s >= period_start_.load(std::memory_order_relaxed) && now_s < period_end_.load(std::memory_order_relaxed)) {
        return;
    }
    used_.store(0, std::memory_order_relaxed);
    unsynced_ = 0;  // the old window's unwritten tokens no longer count against anything
    period_end_.store(core::PeriodEnd(period_, now_s), std::memory_order_release);
    period_start_.store(core::PeriodStart(period_, now_s), std::memory_order_release);
}

void QuotaCounter::Consume(std::int64_t tokens, std::int64_t now_s) {
    if (!enabled() || tokens <= 0) return;
    std::lock_guard lock(mu_);
    RollLocked(now_s);
    used_.fetch_add(tokens, std::memory_order_relaxed);
    unsynced_ += tokens;
}

QuotaCounter::Pending QuotaCounter::TakeUnsynced(std::int64_t now_s) {
    std::lock_guard lock(mu_);
    RollLocked(now_s);
    Pending p{period_start_.load(std::memory_order_relaxed), unsynced_};
    unsynced_ = 0;
    return p;
}

void QuotaCounter::SetSyncedTotal(std::int64_t period_start, std::int64_t total) {
    std::lock_guard lock(mu_);
    if (period_start != period_start_.load(std::memory_order_relaxed)) return;  // window rolled meanwhile
    used_.store(total + unsynced_, std::memory_order_relaxed);                  // plus what finished since the take
}

void QuotaCounter::ReturnUnsynced(const Pending& p) {
    std::lock_guard lock(mu_);
    if (p.period_start == period_start_.load(std::memory_order_relaxed)) unsynced_ += p.delta;
}

}  // namespace llmproxy::proxy
