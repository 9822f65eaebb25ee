#include <spdlog/spdlog.h>

#include "proxy/shared_limits.hpp"
#include "stages/stages.hpp"

namespace llmproxy::stages {
namespace {

std::int64_t SteadyNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(pipeline::Clock::now().time_since_epoch()).count();
}

// The request is refused by `denied` (releasing what the local limiter took for it).
void Refuse(RequestContext& ctx, proxy::Admission denied) {
    ctx.admission = std::move(denied);
    ctx.Refuse(*ctx.admission.reply, ctx.admission.headers);
}

}  // namespace

// One script call, pipelined with the other requests of this worker. Fast path: while an
// earlier answer from Redis said "no requests until T" for this key, refuse locally without
// asking (Redis would say the same).
Task<bool> SharedLimitsStage::Run(RequestContext& ctx, Runtime& rt) {
    if (!ctx.key || !rt.redis) co_return true;
    const proxy::KeyEntry& key = *ctx.key;
    proxy::KeyCounters& counters = *key.counters;
    const auto now_ns = SteadyNs();
    const std::int64_t until = counters.shared_denied_until_ns.load(std::memory_order_relaxed);
    if (now_ns < until) {
        const auto reason =
            static_cast<proxy::LimitReason>(counters.shared_denied_reason.load(std::memory_order_relaxed));
        const auto& l = key.config.limits;
        const double limit = reason == proxy::LimitReason::kKeyRps ? l.requests_per_second : l.requests_per_minute;
        proxy::Admission denied;
        proxy::DenyAdmission(denied, reason, until - now_ns, "requests", static_cast<std::int64_t>(limit), 0,
                             until - now_ns);
        rt.metrics->CountRateLimited(static_cast<std::size_t>(reason));
        Refuse(ctx, std::move(denied));
        co_return false;
    }
    const auto& config = ctx.config();
    std::string member;
    if (key.config.limits.max_concurrent > 0) member = rt.NextSlotName();
    const std::int64_t slot_lease_ms = config.routing.max_request_timeout.count() + 60'000;
    const double lease_window_s = std::chrono::duration<double>(config.rate_limit.redis_lease_window).count();
    proxy::SharedAdmitCall call =
        proxy::BuildSharedAdmit(rt.admit_sha, key, ctx.estimated_tokens, member, slot_lease_ms, lease_window_s, now_ns);
    if (call.command.empty()) {  // no shared limits, or all of them served from this instance's leases
        ctx.shared_limits.Hold(*rt.redis, key, std::move(member), call.tpm_charged);
        co_return true;
    }
    std::vector<std::string> command = std::move(call.command);
    store::RedisReply reply = co_await rt.redis->Call(std::move(command));
    proxy::Admission verdict;
    if (reply.kind == store::RedisReply::Kind::kArray &&
        proxy::ApplySharedAdmitReply(reply.integers, call, verdict, now_ns)) {
        if (!verdict.denied()) {
            ctx.shared_limits.Hold(*rt.redis, key, std::move(member), call.tpm_charged);
            co_return true;
        }
        if (verdict.reason == proxy::LimitReason::kKeyRps || verdict.reason == proxy::LimitReason::kKeyRpm) {
            counters.shared_denied_reason.store(static_cast<int>(verdict.reason), std::memory_order_relaxed);
            counters.shared_denied_until_ns.store(now_ns + reply.integers[2] * 1000, std::memory_order_relaxed);
        }
        rt.metrics->CountRateLimited(static_cast<std::size_t>(verdict.reason));
        Refuse(ctx, std::move(verdict));
        co_return false;
    }
    // Redis is down, slow or answered nonsense: never hang, do as configured.
    const bool open = config.rate_limit.fail_open;
    rt.metrics->CountLimitStoreError(open);
    if (rt.ShouldLog(rt.last_redis_warning, std::chrono::seconds(5))) {
        spdlog::warn("shared rate limits unavailable ({}): {}", open ? "admitting, fail_open" : "refusing, fail_closed",
                     reply.kind == store::RedisReply::Kind::kError ? reply.text : "unexpected reply");
    }
    if (open) {
        // Admitted anyway: the request still frees its slot (a late-processed call may have
        // taken it) and charges its real tokens when it ends.
        ctx.shared_limits.Hold(*rt.redis, key, std::move(member), 0);
        co_return true;
    }
    // fail_closed. The script may still run (Redis frozen, not gone): its slot must not outlive
    // the request it was taken for. The ZREM goes out on the same connection after the script,
    // so it runs after it whenever that happens (or is a no-op if it never does).
    if (reply.outcome_unknown && !member.empty()) ctx.shared_limits.Hold(*rt.redis, key, std::move(member), 0);
    proxy::AbandonSharedAdmit(call);
    proxy::Admission refused;
    proxy::DenyAdmission(refused, proxy::LimitReason::kStoreUnavailable, 1'000'000'000, nullptr, 0, 0, 0);
    Refuse(ctx, std::move(refused));
    co_return false;
}

}  // namespace llmproxy::stages
