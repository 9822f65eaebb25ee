#pragma once
// Per-key limits shared by every instance through Redis (rate_limit.storage: redis): the same
// GCRA and concurrency semantics as the memory limiter, run atomically inside Redis by one Lua
// script per request, on Redis's own clock (instances' clocks may differ). Global limits stay
// per instance (they protect the instance). This file builds the commands and reads the
// replies; the worker's RedisClient sends them.
#include <cstdint>
#include <string>
#include <vector>

#include "proxy/key_set.hpp"
#include "proxy/rate_limiter.hpp"

namespace llmproxy::proxy {

extern const char* const kAdmitScript;

/// What one admission asks Redis and how to read the answer.
struct SharedAdmitCall {
    std::vector<std::string> command;  // EVALSHA ...; empty when the key has no shared limits
    std::vector<LimitReason> reasons;  // per limit, in the script's order
    std::vector<std::int64_t> limits;  // the bucket sizes, for x-ratelimit-limit-*
    double tpm_charged = 0;            // tokens charged to the TPM bucket (corrected on release)
};

/// `member` names this request's concurrency slot; `lease_ms` bounds how long a slot of a
/// crashed instance stays taken.
SharedAdmitCall BuildSharedAdmit(const std::string& sha, const KeyEntry& key, double estimated_tokens,
                                 const std::string& member, std::int64_t lease_ms);

/// Reads the script's reply {allowed, which, retry_us, remaining, reset_us} into `a` (denied
/// or left admitted). Returns false when the reply is malformed.
bool ApplySharedAdmitReply(const std::vector<std::int64_t>& reply, const SharedAdmitCall& call, Admission& a);

/// Plain commands (no script) that free the concurrency slot and correct the TPM charge with
/// the real usage (`actual_tokens` < 0: unknown, keep the estimate). Sent without waiting.
std::vector<std::vector<std::string>> BuildSharedRelease(const KeyEntry& key, const std::string& member,
                                                        double tpm_charged, std::int64_t actual_tokens);

}  // namespace llmproxy::proxy
