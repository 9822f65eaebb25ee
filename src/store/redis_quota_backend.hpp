#pragma once
// Quota counters in Redis (when rate_limit.storage is redis): one INCRBY per key and window,
// expiring a day after the window ends. Blocking hiredis: the sync thread's only.
#include <memory>

#include "core/config.hpp"
#include "store/quota_backend.hpp"

struct redisContext;

namespace llmproxy::store {

class RedisQuotaBackend final : public QuotaBackend {
public:
    explicit RedisQuotaBackend(const core::RedisConfig& config);
    ~RedisQuotaBackend() override;
    std::int64_t Add(const std::string& key_id, std::int64_t period_start, std::int64_t period_end,
                     std::int64_t delta) override;

private:
    void Connect();
    void Drop();

    core::RedisConfig config_;
    redisContext* ctx_ = nullptr;
};

}  // namespace llmproxy::store
