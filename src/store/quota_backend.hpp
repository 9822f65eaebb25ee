#pragma once
// Where quota counters are shared and kept across restarts: the SQL store, or Redis when
// rate_limit.storage is redis. Blocking; called by the sync thread only.
#include <cstdint>
#include <string>

namespace llmproxy::store {

class QuotaBackend {
public:
    virtual ~QuotaBackend() = default;
    /// Adds `delta` (may be 0: just read) to the key's counter for the window starting at
    /// `period_start` and returns the window's total. Throws std::exception on failure.
    virtual std::int64_t Add(const std::string& key_id, std::int64_t period_start, std::int64_t period_end,
                             std::int64_t delta) = 0;
};

}  // namespace llmproxy::store
