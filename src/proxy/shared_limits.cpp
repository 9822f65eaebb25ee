#include "proxy/shared_limits.hpp"

#include <algorithm>

#include <cmath>
#include <cstdio>

namespace llmproxy::proxy {

// KEYS[1]: the key's buckets (one hash, a field per limit); KEYS[2]: its concurrency set.
// ARGV: n buckets, max_concurrent (0: none), member, slot lease_ms, then per bucket: field,
// interval_us, tolerance_us, need, want. A bucket admits when `need` units fit and then grants
// up to `want` (the rest is leased to the instance). All-or-nothing over the buckets.
// Replies {allowed, which, retry_us, remaining, reset_us, grant_1..grant_n}. Times are
// microseconds on Redis's clock (instances' clocks may differ); string.format('%d') keeps them
// exact where tostring would round to 14 digits.
const char* const kAdmitScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = tonumber(ARGV[1])
local fields = {}
for i = 1, n do fields[i] = ARGV[i * 5] end
local tats = n > 0 and redis.call('HMGET', KEYS[1], unpack(fields)) or {}
local update, grants = {}, {}
local first_remaining, first_reset, ttl = -1, 0, 0
for i = 1, n do
  local b = i * 5
  local interval, tolerance = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2])
  local need, want = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4])
  local tat = tonumber(tats[i]) or now
  if tat < now then tat = now end
  local used = tat + need * interval - now
  if used > tolerance then
    return {0, i, used - tolerance, math.floor(math.max(0, tolerance - (tat - now)) / interval), tat - now}
  end
  local grant = math.max(need, math.min(want, math.floor((tolerance - (tat - now)) / interval)))
  local nt = tat + grant * interval
  grants[i] = grant
  update[#update + 1] = fields[i]
  update[#update + 1] = string.format('%d', nt)
  if nt - now > ttl then ttl = nt - now end
  if first_remaining < 0 then
    first_remaining = math.floor((tolerance - (nt - now)) / interval)
    first_reset = nt - now
  end
end
local max_conc = tonumber(ARGV[2])
if max_conc > 0 then
  local now_ms = math.floor(now / 1000)
  if redis.call('ZCARD', KEYS[2]) >= max_conc then
    -- Full: drop slots whose lease ran out (an instance that died holding them), then recount.
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now_ms)
    if redis.call('ZCARD', KEYS[2]) >= max_conc then return {0, n + 1, 1000000, 0, 0} end
  end
  local lease = tonumber(ARGV[4])
  redis.call('ZADD', KEYS[2], now_ms + lease, ARGV[3])
  redis.call('PEXPIRE', KEYS[2], lease)
end
if n > 0 then
  redis.call('HSET', KEYS[1], unpack(update))
  redis.call('PEXPIRE', KEYS[1], math.floor(ttl / 1000) + 1000)
end
local reply = {1, 0, 0, math.max(first_remaining, 0), first_reset}
for i = 1, n do reply[5 + i] = grants[i] end
return reply
)lua";

namespace {

// Redis key names: the hash tag {id} keeps one API key's buckets in one cluster slot, so the
// script's keys never cross slots.
std::string RedisKey(const KeyEntry& key, const char* what) {
    return "llmproxy:{" + key.id.substr(0, 32) + "}:" + what;
}

// Microseconds per unit, fractional: a TPM of millions needs less than a microsecond per token.
double IntervalUs(double per_second) {
    return 1e6 / std::max(per_second, 1e-9);
}

std::string Exact(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return buf;
}

}  // namespace

SharedAdmitCall BuildSharedAdmit(const std::string& sha, const KeyEntry& key, double estimated_tokens,
                                 const std::string& member, std::int64_t slot_lease_ms, double lease_window_s,
                                 std::int64_t now_ns) {
    SharedAdmitCall call;
    const auto& l = key.config.limits;
    KeyCounters& counters = *key.counters;
    std::vector<std::string> buckets;
    auto bucket = [&](const char* field, double per_second, double burst, std::int64_t need, LimitReason reason,
                      LeasePool& pool) {
        if (pool.TryTake(need, now_ns)) {  // leased earlier: no round trip for this bucket
            call.taken.push_back({&pool, need});
            return;
        }
        const double interval = IntervalUs(per_second);
        // Lease what the key earns in `lease_window_s`, at most a tenth of its burst so that
        // several instances never strand much of it.
        const auto lease = static_cast<std::int64_t>(std::min({per_second * lease_window_s, burst / 10.0, 1e15}));
        buckets.push_back(field);
        buckets.push_back(Exact(interval));
        buckets.push_back(Exact(std::max(1.0, burst) * interval));
        buckets.push_back(std::to_string(need));
        buckets.push_back(std::to_string(need + std::max<std::int64_t>(0, lease)));
        call.reasons.push_back(reason);
        call.limits.push_back(static_cast<std::int64_t>(std::min(burst, 1e18)));
        call.pools.push_back(&pool);
        call.needs.push_back(need);
    };
    if (l.requests_per_second > 0) {
        bucket("rps", l.requests_per_second, l.requests_per_second, 1, LimitReason::kKeyRps, counters.lease_rps);
    }
    if (l.requests_per_minute > 0) {
        bucket("rpm", l.requests_per_minute / 60.0, l.requests_per_minute, 1, LimitReason::kKeyRpm, counters.lease_rpm);
    }
    if (l.tokens_per_minute > 0) {
        call.tpm_charged = std::max(1.0, std::ceil(estimated_tokens));
        bucket("tpm", l.tokens_per_minute / 60.0, l.tokens_per_minute,
               static_cast<std::int64_t>(std::min(call.tpm_charged, 1e15)), LimitReason::kKeyTpm, counters.lease_tpm);
    }
    const std::size_t gcra_count = call.reasons.size();
    const int max_concurrent = l.max_concurrent > 0 ? l.max_concurrent : 0;
    if (max_concurrent > 0) {
        call.reasons.push_back(LimitReason::kKeyConcurrency);
        call.limits.push_back(max_concurrent);
    }
    if (call.reasons.empty()) return call;  // everything came from leases (or no shared limits)
    call.command = {"EVALSHA", sha, "2", RedisKey(key, "rate"), RedisKey(key, "conc")};
    call.command.push_back(std::to_string(gcra_count));
    call.command.push_back(std::to_string(max_concurrent));
    call.command.push_back(member);
    call.command.push_back(std::to_string(slot_lease_ms));
    call.command.insert(call.command.end(), buckets.begin(), buckets.end());
    return call;
}

void AbandonSharedAdmit(SharedAdmitCall& call) {
    for (auto& [pool, units] : call.taken) pool->GiveBack(units);
    call.taken.clear();
}

bool ApplySharedAdmitReply(const std::vector<std::int64_t>& reply, SharedAdmitCall& call, Admission& a,
                           std::int64_t now_ns) {
    const std::size_t buckets = call.pools.size();
    if (reply.size() < 5) return false;
    if (reply[0] == 1) {
        if (reply.size() != 5 + buckets) return false;
        for (std::size_t i = 0; i < buckets; ++i) {
            call.pools[i]->Add(reply[5 + i] - call.needs[i], now_ns, kLeaseTtlNs);
        }
        return true;
    }
    const auto which = reply[1];
    if (which < 1 || which > static_cast<std::int64_t>(call.reasons.size())) return false;
    AbandonSharedAdmit(call);  // refused: the units this request took locally go back
    const LimitReason reason = call.reasons[static_cast<std::size_t>(which - 1)];
    const char* kind = reason == LimitReason::kKeyTpm           ? "tokens"
                       : reason == LimitReason::kKeyConcurrency ? nullptr
                                                                : "requests";
    DenyAdmission(a, reason, reply[2] * 1000, kind, call.limits[static_cast<std::size_t>(which - 1)], reply[3],
                  reply[4] * 1000);
    return true;
}

std::vector<std::vector<std::string>> BuildSharedRelease(const KeyEntry& key, const std::string& member,
                                                         double tpm_charged, std::int64_t actual_tokens) {
    std::vector<std::vector<std::string>> commands;
    const auto& l = key.config.limits;
    if (l.max_concurrent > 0 && !member.empty()) commands.push_back({"ZREM", RedisKey(key, "conc"), member});
    if (l.tokens_per_minute > 0 && actual_tokens >= 0) {
        // Clamped before the cast (a huge usage from a broken upstream must not overflow it):
        // a day of debt or credit at most.
        constexpr double kBoundUs = 86'400e6;
        const double delta_us =
            (static_cast<double>(actual_tokens) - tpm_charged) * IntervalUs(l.tokens_per_minute / 60.0);
        const auto adjust_us =
            std::isnan(delta_us) ? 0 : static_cast<std::int64_t>(std::clamp(delta_us, -kBoundUs, kBoundUs));
        // A missing field (the bucket expired) becomes a TAT in the past: harmless.
        if (adjust_us != 0) commands.push_back({"HINCRBY", RedisKey(key, "rate"), "tpm", std::to_string(adjust_us)});
    }
    return commands;
}

}  // namespace llmproxy::proxy
