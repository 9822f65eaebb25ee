#pragma once
// A key's token quota for the current window (daily/weekly/monthly/never, UTC). Workers read it
// on admission (atomics, no lock) and add each finished request's real usage; the sync thread
// writes the local additions to the shared store and reads back the total of all instances.
#include <atomic>
#include <cstdint>
#include <mutex>

#include "core/config.hpp"

namespace llmproxy::proxy {

class QuotaCounter {
public:
    QuotaCounter(std::int64_t limit, core::QuotaPeriod period) : limit_(limit), period_(period) {}

    bool enabled() const { return limit_ > 0; }
    std::int64_t limit() const { return limit_; }
    core::QuotaPeriod period() const { return period_; }

    /// Tokens used in the window that contains `now_s` (0 when the known window is older).
    std::int64_t Used(std::int64_t now_s) const;
    bool Exhausted(std::int64_t now_s) const { return enabled() && Used(now_s) >= limit_; }
    /// A request finished with `tokens` of real usage.
    void Consume(std::int64_t tokens, std::int64_t now_s);

    // The sync thread's side.
    struct Pending {
        std::int64_t period_start = 0;
        std::int64_t delta = 0;
    };
    /// Local additions not yet written, for the window containing `now_s`.
    Pending TakeUnsynced(std::int64_t now_s);
    /// The store's total for `period_start` after our delta was added.
    void SetSyncedTotal(std::int64_t period_start, std::int64_t total);
    /// Writing failed: keep the delta for the next attempt.
    void ReturnUnsynced(const Pending& p);

private:
    void RollLocked(std::int64_t now_s);

    const std::int64_t limit_;
    const core::QuotaPeriod period_;
    std::mutex mu_;  // writers only (one per finished request, and the sync thread)
    std::atomic<std::int64_t> period_start_{-1};
    std::atomic<std::int64_t> period_end_{-1};
    std::atomic<std::int64_t> used_{0};
    std::int64_t unsynced_ = 0;  // guarded by mu_
};

}  // namespace llmproxy::proxy
