#include "proxy/shared_limits.hpp"

#include <cmath>

namespace llmproxy::proxy {

// KEYS: the GCRA buckets (n of them), then the concurrency set when ARGV[2] > 0.
// ARGV: n, max_concurrent, member, lease_ms, then per bucket: interval_us, tolerance_us, cost.
// All-or-nothing: nothing is charged unless every limit admits. Times are microseconds on
// Redis's clock; string.format('%d') keeps them exact (tostring would round to 14 digits).
const char* const kAdmitScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = tonumber(ARGV[1])
local new_tat = {}
local first_remaining, first_reset = -1, 0
for i = 1, n do
  local b = 4 + (i - 1) * 3
  local interval, tolerance, cost = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  local nt = tat + cost * interval
  local used = nt - now
  if used > tolerance then
    return {0, i, used - tolerance, math.floor(math.max(0, tolerance - (tat - now)) / interval), tat - now}
  end
  new_tat[i] = nt
  if first_remaining < 0 then
    first_remaining = math.floor((tolerance - used) / interval)
    first_reset = used
  end
end
local max_conc = tonumber(ARGV[2])
if max_conc > 0 then
  local set = KEYS[n + 1]
  redis.call('ZREMRANGEBYSCORE', set, '-inf', now / 1000)
  if redis.call('ZCARD', set) >= max_conc then
    return {0, n + 1, 1000000, 0, 0}
  end
  local lease = tonumber(ARGV[4])
  redis.call('ZADD', set, now / 1000 + lease, ARGV[3])
  redis.call('PEXPIRE', set, lease)
end
for i = 1, n do
  redis.call('SET', KEYS[i], string.format('%d', new_tat[i]), 'PX', math.floor((new_tat[i] - now) / 1000) + 1000)
end
return {1, 0, 0, math.max(first_remaining, 0), first_reset}
)lua";

// KEYS: [1] the TPM bucket (or a placeholder), [2] the concurrency set (or a placeholder).
// ARGV: member ('' = no slot), TPM correction in microseconds (may be negative).
const char* const kReleaseScript = R"lua(
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[2], ARGV[1]) end
local adjust = tonumber(ARGV[2])
if adjust ~= 0 then
  local tat = tonumber(redis.call('GET', KEYS[1]))
  if tat then redis.call('SET', KEYS[1], string.format('%d', tat + adjust), 'KEEPTTL') end
end
return 1
)lua";

namespace {

// Redis key names: the hash tag {id} keeps one API key's buckets in one cluster slot, so the
// script's keys never cross slots.
std::string RedisKey(const KeyEntry& key, const char* what) {
    return "llmproxy:{" + key.id.substr(0, 32) + "}:" + what;
}

std::int64_t IntervalUs(double per_second) {
    return static_cast<std::int64_t>(1e6 / std::max(per_second, 1e-9));
}

}  // namespace

SharedAdmitCall BuildSharedAdmit(const std::string& sha, const KeyEntry& key, double estimated_tokens,
                                 const std::string& member, std::int64_t lease_ms) {
    SharedAdmitCall call;
    const auto& l = key.config.limits;
    std::vector<std::string> keys, buckets;
    auto bucket = [&](const char* name, double per_second, double burst, double cost, LimitReason reason) {
        const std::int64_t interval = IntervalUs(per_second);
        keys.push_back(RedisKey(key, name));
        buckets.push_back(std::to_string(interval));
        buckets.push_back(std::to_string(static_cast<std::int64_t>(std::max(1.0, burst) * static_cast<double>(interval))));
        buckets.push_back(std::to_string(static_cast<std::int64_t>(cost)));
        call.reasons.push_back(reason);
        call.limits.push_back(static_cast<std::int64_t>(burst));
    };
    if (l.requests_per_second > 0) bucket("rps", l.requests_per_second, l.requests_per_second, 1, LimitReason::kKeyRps);
    if (l.requests_per_minute > 0) {
        bucket("rpm", l.requests_per_minute / 60.0, l.requests_per_minute, 1, LimitReason::kKeyRpm);
    }
    if (l.tokens_per_minute > 0) {
        call.tpm_charged = std::max(1.0, std::ceil(estimated_tokens));
        bucket("tpm", l.tokens_per_minute / 60.0, l.tokens_per_minute, call.tpm_charged, LimitReason::kKeyTpm);
    }
    const int max_concurrent = l.max_concurrent > 0 ? l.max_concurrent : 0;
    if (max_concurrent > 0) {
        keys.push_back(RedisKey(key, "conc"));
        call.reasons.push_back(LimitReason::kKeyConcurrency);
        call.limits.push_back(max_concurrent);
    }
    if (keys.empty()) return call;
    const std::size_t gcra_count = keys.size() - (max_concurrent > 0 ? 1 : 0);
    call.command = {"EVALSHA", sha, std::to_string(keys.size())};
    call.command.insert(call.command.end(), keys.begin(), keys.end());
    call.command.push_back(std::to_string(gcra_count));
    call.command.push_back(std::to_string(max_concurrent));
    call.command.push_back(member);
    call.command.push_back(std::to_string(lease_ms));
    call.command.insert(call.command.end(), buckets.begin(), buckets.end());
    return call;
}

bool ApplySharedAdmitReply(const std::vector<std::int64_t>& reply, const SharedAdmitCall& call, Admission& a) {
    if (reply.size() != 5) return false;
    if (reply[0] == 1) return true;
    const auto which = reply[1];
    if (which < 1 || which > static_cast<std::int64_t>(call.reasons.size())) return false;
    const LimitReason reason = call.reasons[static_cast<std::size_t>(which - 1)];
    const char* kind = reason == LimitReason::kKeyTpm ? "tokens"
                       : reason == LimitReason::kKeyConcurrency ? nullptr
                                                                 : "requests";
    DenyAdmission(a, reason, reply[2] * 1000, kind, call.limits[static_cast<std::size_t>(which - 1)], reply[3],
                  reply[4] * 1000);
    return true;
}

std::vector<std::string> BuildSharedRelease(const std::string& sha, const KeyEntry& key, const std::string& member,
                                            double tpm_charged, std::int64_t actual_tokens) {
    const auto& l = key.config.limits;
    const bool slot = l.max_concurrent > 0 && !member.empty();
    std::int64_t adjust_us = 0;
    if (l.tokens_per_minute > 0 && actual_tokens >= 0) {
        adjust_us = static_cast<std::int64_t>((static_cast<double>(actual_tokens) - tpm_charged) *
                                              static_cast<double>(IntervalUs(l.tokens_per_minute / 60.0)));
    }
    if (!slot && adjust_us == 0) return {};
    return {"EVALSHA", sha, "2", RedisKey(key, "tpm"), RedisKey(key, "conc"), slot ? member : "", std::to_string(adjust_us)};
}

}  // namespace llmproxy::proxy
