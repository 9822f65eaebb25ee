#include "proxy/rate_limiter.hpp"

#include <cmath>


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

core::LocalReply TooMany(const std::string& message) {
    return {429, "rate_limit_error", "rate_limit_exceeded", message, {}, {}};
}

}  // namespace

const char* LimitReasonName(LimitReason r) {
    switch (r) {
        case LimitReason::kGlobalRate: return "global_rate";
        case LimitReason::kGlobalConcurrency: return "global_concurrency";
        case LimitReason::kKeyRps: return "key_rps";
        case LimitReason::kKeyRpm: return "key_rpm";
        case LimitReason::kKeyTpm: return "key_tpm";
        case LimitReason::kKeyConcurrency: return "key_concurrency";
        case LimitReason::kCount: break;
    }
    return "none";
}

Admission& Admission::operator=(Admission&& o) noexcept {
    if (this != &o) {
        this->~Admission();
        reply = std::move(o.reply);
        headers = std::move(o.headers);
        reason = o.reason;
        global_gate_ = std::exchange(o.global_gate_, nullptr);
        key_gate_ = std::exchange(o.key_gate_, nullptr);
        tpm_ = std::exchange(o.tpm_, nullptr);
        tpm_charged_ = o.tpm_charged_;
    }
    return *this;
}

Admission::~Admission() {
    if (global_gate_) global_gate_->Leave();
    if (key_gate_) key_gate_->Leave();
    global_gate_ = key_gate_ = nullptr;
}

void Admission::SetActualTokens(std::int64_t tokens) {
    if (!tpm_) return;
    tpm_->Adjust(static_cast<double>(tokens) - tpm_charged_);
    tpm_ = nullptr;
}

RateLimiter::RateLimiter(const core::Config& config) {
    const auto& rl = config.rate_limit;
    if (rl.global_requests_per_second > 0) {
        global_rate_ = std::make_unique<Gcra>(rl.global_requests_per_second,
                                              rl.global_burst > 0 ? rl.global_burst : rl.global_requests_per_second);
    }
    if (rl.global_max_concurrent > 0) global_concurrency_ = std::make_unique<ConcurrencyGate>(rl.global_max_concurrent);
    for (const auto& k : config.auth.keys) {
        KeyState s;
        const auto& l = k.limits;
        if (l.requests_per_second > 0) s.rps = std::make_unique<Gcra>(l.requests_per_second, l.requests_per_second);
        if (l.requests_per_minute > 0) s.rpm = std::make_unique<Gcra>(l.requests_per_minute / 60.0, l.requests_per_minute);
        if (l.tokens_per_minute > 0) s.tpm = std::make_unique<Gcra>(l.tokens_per_minute / 60.0, l.tokens_per_minute);
        if (l.max_concurrent > 0) s.concurrency = std::make_unique<ConcurrencyGate>(l.max_concurrent);
        keys_.push_back(std::move(s));
    }
}

Admission RateLimiter::Admit(int key_index, double estimated_tokens, std::int64_t now_ns) {
    Admission a;
    auto deny = [&](LimitReason reason, const std::string& message, const Gcra::Decision* d, const char* kind,
                    std::int64_t limit) {
        a.reason = reason;
        a.reply = TooMany(message);
        const std::int64_t retry_ns = d ? d->retry_after_ns : 1'000'000'000;
        AppendHeader(a.headers, "Retry-After", std::to_string(std::max<std::int64_t>(1, (retry_ns + 999'999'999) / 1'000'000'000)));
        if (d && kind) {
            const std::string k = kind;
            AppendHeader(a.headers, "x-ratelimit-limit-" + k, std::to_string(limit));
            AppendHeader(a.headers, "x-ratelimit-remaining-" + k, std::to_string(d->remaining));
            AppendHeader(a.headers, "x-ratelimit-reset-" + k, ResetText(d->reset_ns));
        }
        // Slots taken before the denial are released by the destructor of `a`... but a denied
        // admission must hold nothing:
        if (a.global_gate_) a.global_gate_->Leave();
        if (a.key_gate_) a.key_gate_->Leave();
        a.global_gate_ = a.key_gate_ = nullptr;
        return std::move(a);
    };
    if (global_rate_) {
        auto d = global_rate_->TryTake(now_ns);
        if (!d.allowed) return deny(LimitReason::kGlobalRate, "The gateway is over its request rate limit.", &d, nullptr, 0);
    }
    if (global_concurrency_) {
        if (!global_concurrency_->TryEnter()) {
            return deny(LimitReason::kGlobalConcurrency, "The gateway is at its limit of concurrent requests.", nullptr,
                        nullptr, 0);
        }
        a.global_gate_ = global_concurrency_.get();
    }
    if (key_index < 0 || key_index >= static_cast<int>(keys_.size())) return a;
    auto& s = keys_[static_cast<std::size_t>(key_index)];
    if (s.rps) {
        auto d = s.rps->TryTake(now_ns);
        if (!d.allowed) return deny(LimitReason::kKeyRps, "Rate limit reached for requests per second.", &d, "requests", s.rps->limit());
    }
    if (s.rpm) {
        auto d = s.rpm->TryTake(now_ns);
        if (!d.allowed) return deny(LimitReason::kKeyRpm, "Rate limit reached for requests per minute.", &d, "requests", s.rpm->limit());
    }
    if (s.tpm) {
        const double cost = std::max(1.0, std::ceil(estimated_tokens));
        auto d = s.tpm->TryTake(now_ns, cost);
        if (!d.allowed) return deny(LimitReason::kKeyTpm, "Rate limit reached for tokens per minute.", &d, "tokens", s.tpm->limit());
        a.tpm_ = s.tpm.get();
        a.tpm_charged_ = cost;
    }
    if (s.concurrency) {
        if (!s.concurrency->TryEnter()) {
            if (a.tpm_) a.tpm_->Adjust(-a.tpm_charged_);  // not admitted: give the tokens back
            a.tpm_ = nullptr;
            return deny(LimitReason::kKeyConcurrency, "Too many concurrent requests for this API key.", nullptr,
                        nullptr, 0);
        }
        a.key_gate_ = s.concurrency.get();
    }
    return a;
}

}  // namespace llmproxy::proxy
