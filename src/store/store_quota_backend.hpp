#pragma once
#include "store/quota_backend.hpp"
#include "store/store.hpp"

namespace llmproxy::store {

/// Quota counters in the SQL store.
class StoreQuotaBackend final : public QuotaBackend {
public:
    explicit StoreQuotaBackend(Store& store) : store_(store) {}
    std::int64_t Add(const std::string& key_id, std::int64_t period_start, std::int64_t, std::int64_t delta) override {
        return store_.AddQuotaUsage(key_id, period_start, delta);
    }

private:
    Store& store_;
};

}  // namespace llmproxy::store
