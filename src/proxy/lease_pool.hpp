#pragma once
// Units of a shared (Redis) bucket that this instance has already taken — a lease — so that
// most requests of a busy key are admitted without a round trip. Shared by the instance's
// workers (atomics). Units expire: a lease left unused must not allow a burst much later.
// A lease can only under-admit (its units were charged in Redis when taken), never over-admit.
#include <atomic>
#include <cstdint>

namespace llmproxy::proxy {

class LeasePool {
public:
    /// Takes `units` if the pool holds that many unexpired ones.
    bool TryTake(std::int64_t units, std::int64_t now_ns) {
        if (now_ns >= expires_ns_.load(std::memory_order_acquire)) return false;
        std::int64_t have = units_.load(std::memory_order_relaxed);
        while (have >= units) {
            if (units_.compare_exchange_weak(have, have - units, std::memory_order_relaxed)) return true;
        }
        return false;
    }
    /// A new lease from Redis: `units` more, all valid until now + ttl.
    void Add(std::int64_t units, std::int64_t now_ns, std::int64_t ttl_ns) {
        if (units <= 0) return;
        if (now_ns >= expires_ns_.load(std::memory_order_acquire)) units_.store(0, std::memory_order_relaxed);
        units_.fetch_add(units, std::memory_order_relaxed);
        expires_ns_.store(now_ns + ttl_ns, std::memory_order_release);
    }
    /// Units taken for a request that was refused elsewhere.
    void GiveBack(std::int64_t units) { units_.fetch_add(units, std::memory_order_relaxed); }
    std::int64_t units() const { return units_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> units_{0};
    std::atomic<std::int64_t> expires_ns_{0};
};

}  // namespace llmproxy::proxy
