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
#include "proxy/lease_pool.hpp"
#include "proxy/rate_limiter.hpp"

namespace llmproxy::proxy {

extern const char* const kAdmitScript;

/// How long leased units stay usable.
inline constexpr std::int64_t kLeaseTtlNs = 1'000'000'000;

/// What one admission asks Redis and how to read the answer.
struct SharedAdmitCall {
    std::vector<std::string> command;                        // EVALSHA ...; empty: admitted without Redis
    std::vector<LimitReason> reasons;                        // per limit in the script, in its order
    std::vector<std::int64_t> limits;                        // the bucket sizes, for x-ratelimit-limit-*
    std::vector<LeasePool*> pools;                           // per bucket in the script: where extra granted units go
    std::vector<std::int64_t> needs;                         // per bucket in the script: units this request needs
    std::vector<std::pair<LeasePool*, std::int64_t>> taken;  // units already taken from leases
    double tpm_charged = 0;                                  // tokens charged to the TPM bucket (corrected on release)
};

/// Takes what it can from the key's leases and builds the script call for the rest (and for
/// the concurrency slot, which is never leased). `member` names this request's slot;
/// `slot_lease_ms` bounds how long a slot of a crashed instance stays taken.
SharedAdmitCall BuildSharedAdmit(const std::string& sha, const KeyEntry& key, double estimated_tokens,
                                 const std::string& member, std::int64_t slot_lease_ms, double lease_window_s,
                                 std::int64_t now_ns);

/// Reads the script's reply into `a` (denied, or left admitted with the extra units leased).
/// Returns false when the reply is malformed (then call AbandonSharedAdmit).
bool ApplySharedAdmitReply(const std::vector<std::int64_t>& reply, SharedAdmitCall& call, Admission& a,
                           std::int64_t now_ns);
/// The request will not run (Redis unreachable and fail_closed, ...): return leased units.
void AbandonSharedAdmit(SharedAdmitCall& call);

/// Plain commands (no script) that free the concurrency slot and correct the TPM charge with
/// the real usage (`actual_tokens` < 0: unknown, keep the estimate). Sent without waiting.
std::vector<std::vector<std::string>> BuildSharedRelease(const KeyEntry& key, const std::string& member,
                                                         double tpm_charged, std::int64_t actual_tokens);

}  // namespace llmproxy::proxy
