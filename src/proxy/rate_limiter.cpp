#include "proxy/rate_limiter.hpp"

#include <cmath>
#include <limits>

#include "core/quota_period.hpp"

namespace llmproxy::proxy {
namespace {

// OpenAI's reset format: "1s", "6m0s", "120ms".
std::string ResetText(std::int64_t ns) {
    const std::int64_t ms = (ns + 999'999) / 1'000'000;
    if (ms < 1000) return std::to_string(ms) + "ms";
    const std::int64_t s = (ms + 999) / 1000;
    if (s < 60) return std::to_string(s) + "s";
    return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
}

void AppendHeader(std::string& out, const std::string& name, const std::string& value) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
}

const char* DenialMessage(LimitReason r) {
    switch (r) {
        case LimitReason::kGlobalRate:
            return "The gateway is over its request rate limit.";
        case LimitReason::kGlobalConcurrency:
            return "The gateway is at its limit of concurrent requests.";
        case LimitReason::kKeyRps:
            return "Rate limit reached for requests per second.";
        case LimitReason::kKeyRpm:
            return "Rate limit reached for requests per minute.";
        case LimitReason::kKeyTpm:
            return "Rate limit reached for tokens per minute.";
        case LimitReason::kKeyConcurrency:
            return "Too many concurrent requests for this API key.";
        case LimitReason::kKeyQuota:
            return "You exceeded your current quota of tokens for this API key; it resets at the start of the next "
                   "quota period.";
        case LimitReason::kStoreUnavailable:
            return "The rate limit store is unavailable; try again shortly.";
        case LimitReason::kScript:
            return "Rate limit reached (a gateway rate_limit script).";
        case LimitReason::kCount:
            break;
    }
    return "Rate limit reached.";
}

}  // namespace

const char* LimitReasonName(LimitReason r) {
    switch (r) {
        case LimitReason::kGlobalRate:
            return "global_rate";
        case LimitReason::kGlobalConcurrency:
            return "global_concurrency";
        case LimitReason::kKeyRps:
            return "key_rps";
        case LimitReason::kKeyRpm:
            return "key_rpm";
        case LimitReason::kKeyTpm:
            return "key_tpm";
        case LimitReason::kKeyConcurrency:
            return "key_concurrency";
        case LimitReason::kKeyQuota:
            return "key_quota";
        case LimitReason::kStoreUnavailable:
            return "store_unavailable";
        case LimitReason::kScript:
            return "script";
        case LimitReason::kCount:
            break;
    }
    return "none";
}

Admission& Admission::operator=(Admission&& o) noexcept {
    if (this != &o) {
        ReleaseSlots();
        reply = std::move(o.reply);
        headers = std::move(o.headers);
        reason = o.reason;
        global_gate_ = std::exchange(o.global_gate_, nullptr);
        key_gate_ = std::exchange(o.key_gate_, nullptr);
        tpm_ = std::exchange(o.tpm_, nullptr);
        quota_ = std::exchange(o.quota_, nullptr);
        tpm_charged_ = o.tpm_charged_;
        global_remaining = o.global_remaining;
        key_remaining = o.key_remaining;
    }
    return *this;
}

void Admission::ReleaseSlots() {
    if (global_gate_) global_gate_->Leave();
    if (key_gate_) key_gate_->Leave();
    global_gate_ = key_gate_ = nullptr;
}

Admission::~Admission() {
    ReleaseSlots();
}

void Admission::SetActualTokens(std::int64_t tokens, std::int64_t now_s) {
    if (tpm_) tpm_->Adjust(static_cast<double>(tokens) - tpm_charged_);
    if (quota_) quota_->Consume(tokens, now_s);
    tpm_ = nullptr;
    quota_ = nullptr;
}

KeyCounters::KeyCounters(const core::ApiKeyConfig& key) : limits(key.limits), quota(key.total_quota, key.quota_period) {
    const auto& l = key.limits;
    if (l.requests_per_second > 0) rps = std::make_unique<Gcra>(l.requests_per_second, l.requests_per_second);
    if (l.requests_per_minute > 0) rpm = std::make_unique<Gcra>(l.requests_per_minute / 60.0, l.requests_per_minute);
    if (l.tokens_per_minute > 0) tpm = std::make_unique<Gcra>(l.tokens_per_minute / 60.0, l.tokens_per_minute);
    if (l.max_concurrent > 0) concurrency = std::make_unique<ConcurrencyGate>(l.max_concurrent);
}

bool KeyCounters::SameLimits(const core::ApiKeyConfig& key) const {
    const auto& l = key.limits;
    return l.requests_per_second == limits.requests_per_second && l.requests_per_minute == limits.requests_per_minute &&
           l.tokens_per_minute == limits.tokens_per_minute && l.max_concurrent == limits.max_concurrent &&
           l.blocked == limits.blocked && key.total_quota == quota.limit() && key.quota_period == quota.period();
}

void DenyAdmission(Admission& a, LimitReason reason, std::int64_t retry_after_ns, const char* kind, std::int64_t limit,
                   std::int64_t remaining, std::int64_t reset_ns) {
    a.reason = reason;
    if (reason == LimitReason::kKeyQuota) {
        a.reply = core::LocalReply{429, "insufficient_quota", "insufficient_quota", DenialMessage(reason), {}, {}};
    } else if (reason == LimitReason::kStoreUnavailable) {
        a.reply = core::LocalReply{503, "api_error", "rate_limit_store_unavailable", DenialMessage(reason), {}, {}};
    } else {
        a.reply = core::LocalReply{429, "rate_limit_error", "rate_limit_exceeded", DenialMessage(reason), {}, {}};
    }
    const std::int64_t retry_s = std::max<std::int64_t>(1, (retry_after_ns + 999'999'999) / 1'000'000'000);
    AppendHeader(a.headers, "Retry-After", std::to_string(retry_s));
    if (kind) {
        const std::string k = kind;
        AppendHeader(a.headers, "x-ratelimit-limit-" + k, std::to_string(limit));
        AppendHeader(a.headers, "x-ratelimit-remaining-" + k, std::to_string(remaining));
        AppendHeader(a.headers, "x-ratelimit-reset-" + k, ResetText(reset_ns));
    }
}

RateLimiter::RateLimiter(const core::Config& config) {
    const auto& rl = config.rate_limit;
    if (rl.global_requests_per_second > 0) {
        global_rate_ = std::make_unique<Gcra>(rl.global_requests_per_second,
                                              rl.global_burst > 0 ? rl.global_burst : rl.global_requests_per_second);
    }
    if (rl.global_max_concurrent > 0) global_concurrency_ = std::make_unique<ConcurrencyGate>(rl.global_max_concurrent);
}

Admission RateLimiter::Admit(KeyCounters* key, double estimated_tokens, std::int64_t now_ns, std::int64_t now_s,
                             bool key_limits_elsewhere) {
    Admission a;
    auto deny = [&](LimitReason reason, const Gcra::Decision* d, const char* kind, std::int64_t limit,
                    std::int64_t retry_ns = 1'000'000'000) {
        // A denied admission holds nothing: give back what was taken before the denial.
        if (a.global_gate_) a.global_gate_->Leave();
        if (a.key_gate_) a.key_gate_->Leave();
        if (a.tpm_) a.tpm_->Adjust(-a.tpm_charged_);
        a.global_gate_ = a.key_gate_ = nullptr;
        a.tpm_ = nullptr;
        a.quota_ = nullptr;
        DenyAdmission(a, reason, d ? d->retry_after_ns : retry_ns, d ? kind : nullptr, limit, d ? d->remaining : 0,
                      d ? d->reset_ns : 0);
        return std::move(a);
    };
    if (global_rate_) {
        auto d = global_rate_->TryTake(now_ns);
        if (!d.allowed) return deny(LimitReason::kGlobalRate, &d, nullptr, 0);
        a.global_remaining = d.remaining;
    }
    if (global_concurrency_) {
        if (!global_concurrency_->TryEnter()) return deny(LimitReason::kGlobalConcurrency, nullptr, nullptr, 0);
        a.global_gate_ = global_concurrency_.get();
    }
    if (key == nullptr) return a;
    if (key->limits.blocked) {
        Admission refused = deny(LimitReason::kKeyRps, nullptr, nullptr, 0, 60'000'000'000);
        refused.reply->message = "This API key's rate limit is 0 requests per second: every request is refused.";
        return refused;
    }
    if (key->quota.enabled()) {
        if (key->quota.Exhausted(now_s)) {
            const std::int64_t end = core::PeriodEnd(key->quota.period(), now_s);
            const std::int64_t wait_ns =
                end == std::numeric_limits<std::int64_t>::max() ? 86'400'000'000'000 : (end - now_s) * 1'000'000'000;
            return deny(LimitReason::kKeyQuota, nullptr, nullptr, 0, wait_ns);
        }
        a.quota_ = &key->quota;
    }
    // More tokens than the key's whole TPM bucket (a huge max_tokens): no wait would ever admit
    // it, wherever the bucket is kept. Said so, rather than "retry later".
    const double tpm_cost = std::max(1.0, std::ceil(estimated_tokens));
    const double tpm_limit = key->limits.tokens_per_minute;
    if (tpm_limit > 0 && !(tpm_cost <= tpm_limit)) {
        Admission refused = deny(LimitReason::kKeyTpm, nullptr, nullptr, 0, 60'000'000'000);
        refused.reply->message = "Request too large for this API key's tokens per minute (TPM): limit " +
                                 std::to_string(static_cast<std::int64_t>(std::min(tpm_limit, 1e18))) +
                                 ", requested about " +
                                 std::to_string(static_cast<std::int64_t>(std::min(tpm_cost, 1e18))) +
                                 " (prompt + max_tokens). It can never be admitted: lower max_tokens or the prompt.";
        return refused;
    }
    if (key_limits_elsewhere) return a;
    // The slot first: a slot is given back on a later refusal, a rate unit is not, so a request
    // refused for concurrency must not have spent the key's rate.
    if (key->concurrency) {
        if (!key->concurrency->TryEnter()) return deny(LimitReason::kKeyConcurrency, nullptr, nullptr, 0);
        a.key_gate_ = key->concurrency.get();
    }
    if (key->rps) {
        auto d = key->rps->TryTake(now_ns);
        if (!d.allowed) return deny(LimitReason::kKeyRps, &d, "requests", key->rps->limit());
        a.key_remaining = d.remaining;
    }
    if (key->rpm) {
        auto d = key->rpm->TryTake(now_ns);
        if (!d.allowed) return deny(LimitReason::kKeyRpm, &d, "requests", key->rpm->limit());
        a.key_remaining = a.key_remaining < 0 ? d.remaining : std::min(a.key_remaining, d.remaining);
    }
    if (key->tpm) {
        const double cost = std::max(1.0, std::ceil(estimated_tokens));
        auto d = key->tpm->TryTake(now_ns, cost);
        if (!d.allowed) return deny(LimitReason::kKeyTpm, &d, "tokens", key->tpm->limit());
        a.tpm_ = key->tpm.get();
        a.tpm_charged_ = cost;
    }
    return a;
}

}  // namespace llmproxy::proxy
