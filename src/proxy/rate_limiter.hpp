#pragma once
// The limits stage (storage: memory): a global request rate and concurrency, and per key
// requests per second / minute, tokens per minute and concurrent requests. State is shared by
// all workers through lock-free atomics (see gcra.hpp), so the limits hold for the instance.
// TPM admits on an estimate (prompt bytes / 4 + max_tokens) and is corrected with real usage.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/openai_error.hpp"
#include "proxy/gcra.hpp"

namespace llmproxy::proxy {

enum class LimitReason { kGlobalRate, kGlobalConcurrency, kKeyRps, kKeyRpm, kKeyTpm, kKeyConcurrency, kCount };
const char* LimitReasonName(LimitReason r);

class RateLimiter;

/// Admission of one request; releases its concurrency slots when destroyed.
class Admission {
public:
    Admission() = default;
    Admission(Admission&& other) noexcept { *this = std::move(other); }
    Admission& operator=(Admission&& other) noexcept;
    ~Admission();

    bool denied() const { return reply.has_value(); }
    /// The request's real token count is known: correct the TPM charge made on the estimate.
    void SetActualTokens(std::int64_t tokens);

    std::optional<core::LocalReply> reply;  // 429 when denied
    std::string headers;                    // Retry-After and x-ratelimit-* for the 429
    LimitReason reason = LimitReason::kCount;

private:
    friend class RateLimiter;
    ConcurrencyGate* global_gate_ = nullptr;
    ConcurrencyGate* key_gate_ = nullptr;
    Gcra* tpm_ = nullptr;
    double tpm_charged_ = 0;
};

class RateLimiter {
public:
    explicit RateLimiter(const core::Config& config);
    /// `key_index` is the caller's position in auth.keys (-1 without a key).
    Admission Admit(int key_index, double estimated_tokens, std::int64_t now_ns);

private:
    struct KeyState {
        std::unique_ptr<Gcra> rps, rpm, tpm;
        std::unique_ptr<ConcurrencyGate> concurrency;
    };
    std::unique_ptr<Gcra> global_rate_;
    std::unique_ptr<ConcurrencyGate> global_concurrency_;
    std::vector<KeyState> keys_;
};

}  // namespace llmproxy::proxy
