#pragma once
// The limits stage (storage: memory): a global request rate and concurrency, and per key
// requests per second / minute, tokens per minute and concurrent requests. State is shared by
// all workers through lock-free atomics (see gcra.hpp), so the limits hold for the instance.
// TPM admits on an estimate (prompt bytes / 4 + max_tokens) and is corrected with real usage.
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/error_reply.hpp"
#include "proxy/gcra.hpp"
#include "proxy/lease_pool.hpp"
#include "proxy/quota.hpp"

namespace llmproxy::proxy {

enum class LimitReason {
    kGlobalRate,
    kGlobalConcurrency,
    kKeyRps,
    kKeyRpm,
    kKeyTpm,
    kKeyConcurrency,
    kKeyQuota,
    kStoreUnavailable,
    kScript,  // a rate_limit script refused it
    kCount
};
const char* LimitReasonName(LimitReason r);

/// One key's limit state. Owned by the key set (shared_ptr) and carried over when the key set
/// is rebuilt, so reloading keys does not reset anyone's counters.
struct KeyCounters {
    explicit KeyCounters(const core::ApiKeyConfig& key);
    bool SameLimits(const core::ApiKeyConfig& key) const;

    core::KeyLimits limits;
    std::unique_ptr<Gcra> rps, rpm, tpm;
    std::unique_ptr<ConcurrencyGate> concurrency;
    QuotaCounter quota;
    // Shared (Redis) limits' local fast paths: units leased from Redis per bucket, and "Redis
    // said no rps/rpm admission before this time".
    LeasePool lease_rps, lease_rpm, lease_tpm;
    std::atomic<std::int64_t> shared_denied_until_ns{0};
    std::atomic<int> shared_denied_reason{0};
};

/// The 429 for a denied limit, with Retry-After and the x-ratelimit-* headers OpenAI sends.
/// `kind` is "requests" or "tokens" (null: no x-ratelimit headers).
void DenyAdmission(class Admission& a, LimitReason reason, std::int64_t retry_after_ns, const char* kind,
                   std::int64_t limit, std::int64_t remaining, std::int64_t reset_ns);

class RateLimiter;

/// Admission of one request; releases its concurrency slots when destroyed.
class Admission {
public:
    Admission() = default;
    Admission(Admission&& other) noexcept { *this = std::move(other); }
    Admission& operator=(Admission&& other) noexcept;
    ~Admission();

    bool denied() const { return reply.has_value(); }
    /// The request finished with this real token count: correct the TPM charge made on the
    /// estimate and count it against the key's quota.
    void SetActualTokens(std::int64_t tokens, std::int64_t now_s);

    std::optional<core::LocalReply> reply;  // 429 when denied
    std::string headers;                    // Retry-After and x-ratelimit-* for the 429
    LimitReason reason = LimitReason::kCount;
    // Requests left in the global and the key's tightest rate bucket after this admission
    // (-1: no such limit), for rate_limit scripts.
    std::int64_t global_remaining = -1, key_remaining = -1;

private:
    friend class RateLimiter;
    void ReleaseSlots();
    ConcurrencyGate* global_gate_ = nullptr;
    ConcurrencyGate* key_gate_ = nullptr;
    Gcra* tpm_ = nullptr;
    QuotaCounter* quota_ = nullptr;
    double tpm_charged_ = 0;
};

class RateLimiter {
public:
    explicit RateLimiter(const core::Config& config);
    /// `key` is the caller's counters (null without a key). With `key_limits_elsewhere` (Redis
    /// storage) only the global limits and the quota are checked here.
    Admission Admit(KeyCounters* key, double estimated_tokens, std::int64_t now_ns, std::int64_t now_s,
                    bool key_limits_elsewhere = false);

private:
    std::unique_ptr<Gcra> global_rate_;
    std::unique_ptr<ConcurrencyGate> global_concurrency_;
};

}  // namespace llmproxy::proxy
