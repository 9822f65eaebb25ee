#include "proxy/retry_policy.hpp"

#include <algorithm>
#include <cmath>

namespace llmproxy::proxy {

bool ShouldRetry(const core::RetryConfig& config, FailureKind kind, unsigned status) {
    switch (kind) {
        case FailureKind::kConnect:
            return config.on_connect_error;
        case FailureKind::kTimeout:
            return config.on_timeout;
        case FailureKind::kStatus:
            return std::find(config.on_status.begin(), config.on_status.end(), static_cast<int>(status)) !=
                   config.on_status.end();
    }
    return false;
}

core::Millis BackoffDelay(const core::RetryConfig& config, int retry, double unit_random) {
    double base =
        static_cast<double>(config.initial_wait.count()) * std::pow(config.multiplier, std::max(0, retry - 1));
    base = std::min(base, static_cast<double>(config.max_wait.count()));
    double factor = 1.0 + config.jitter * (2.0 * unit_random - 1.0);  // [1-jitter, 1+jitter)
    return core::Millis(static_cast<std::int64_t>(std::llround(std::max(0.0, base * factor))));
}

RetryBudget::RetryBudget(double ratio, int min_per_second)
    : ratio_(ratio),
      per_ms_(min_per_second / 1000.0),
      cap_(std::max(10.0, static_cast<double>(min_per_second))),
      tokens_(cap_) {}

void RetryBudget::Refill(std::int64_t now_ms) {
    if (last_ms_ >= 0 && now_ms > last_ms_)
        tokens_ = std::min(cap_, tokens_ + per_ms_ * static_cast<double>(now_ms - last_ms_));
    last_ms_ = std::max(last_ms_, now_ms);
}

void RetryBudget::OnRequest(std::int64_t now_ms) {
    Refill(now_ms);
    tokens_ = std::min(cap_, tokens_ + ratio_);
}

bool RetryBudget::TryRetry(std::int64_t now_ms) {
    Refill(now_ms);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
}

}  // namespace llmproxy::proxy
