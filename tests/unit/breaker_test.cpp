#include <gtest/gtest.h>

#include "proxy/provider_health.hpp"
#include "proxy/retry_policy.hpp"

using namespace llmproxy::proxy;
using llmproxy::core::CircuitBreakerConfig;
using llmproxy::core::Millis;
using llmproxy::core::RetryConfig;

namespace {
CircuitBreakerConfig Breaker() {
    CircuitBreakerConfig c;
    c.failure_threshold = 3;
    c.base_ejection = Millis(1000);
    c.max_ejection = Millis(5000);
    return c;
}
}  // namespace

TEST(CircuitBreaker, EjectsAfterConsecutiveFailures) {
    ProviderHealth h(Breaker());
    h.OnFailure(0, "x");
    h.OnFailure(0, "x");
    h.OnSuccess(0, 1);  // a success resets the run
    h.OnFailure(0, "x");
    h.OnFailure(0, "x");
    EXPECT_TRUE(h.Available(0));
    h.OnFailure(0, "boom");
    EXPECT_FALSE(h.Available(10));
    EXPECT_EQ(h.Describe(10).state, BreakerState::kOpen);
    EXPECT_EQ(h.Describe(10).last_error, "boom");
    EXPECT_EQ(h.Describe(10).ejected_for_ms, 990);
}

TEST(CircuitBreaker, HalfOpenLetsOneProbeThrough) {
    ProviderHealth h(Breaker());
    for (int i = 0; i < 3; ++i) h.OnFailure(0, "x");
    EXPECT_FALSE(h.TryEnter(999));
    EXPECT_TRUE(h.Available(1000));
    EXPECT_TRUE(h.TryEnter(1000));  // the probe
    EXPECT_EQ(h.Describe(1000).state, BreakerState::kHalfOpen);
    EXPECT_FALSE(h.Available(1000));  // only one at a time
    EXPECT_FALSE(h.TryEnter(1000));
    h.OnSuccess(1001, 5);
    EXPECT_EQ(h.Describe(1001).state, BreakerState::kClosed);
    EXPECT_TRUE(h.Available(1001));
}

TEST(CircuitBreaker, CooldownGrowsOnRepeatedEjectionAndIsCapped) {
    ProviderHealth h(Breaker());
    std::int64_t t = 0;
    for (int i = 0; i < 3; ++i) h.OnFailure(t, "x");
    EXPECT_EQ(h.Describe(t).ejected_for_ms, 1000);
    std::int64_t expected[] = {2000, 4000, 5000, 5000};
    for (auto want : expected) {
        t += h.Describe(t).ejected_for_ms;
        ASSERT_TRUE(h.TryEnter(t));
        h.OnFailure(t, "probe failed");  // half-open failure: open again, longer
        EXPECT_EQ(h.Describe(t).ejected_for_ms, want);
    }
}

TEST(CircuitBreaker, ReleasedProbeFreesTheSlot) {
    ProviderHealth h(Breaker());
    for (int i = 0; i < 3; ++i) h.OnFailure(0, "x");
    ASSERT_TRUE(h.TryEnter(1000));
    h.ReleaseProbe();
    EXPECT_TRUE(h.TryEnter(1000));
}

TEST(CircuitBreaker, RateLimitCoolsWithoutEjecting) {
    ProviderHealth h(Breaker());
    h.OnRateLimited(0, 4000);
    EXPECT_FALSE(h.Available(3999));
    EXPECT_TRUE(h.Available(4000));
    EXPECT_EQ(h.Describe(0).state, BreakerState::kClosed);
    h.OnRateLimited(5000, 3'600'000);  // an absurd Retry-After is capped at max_ejection
    EXPECT_TRUE(h.Available(10'000));
}

TEST(CircuitBreaker, ActiveChecks) {
    ProviderHealth h(Breaker());
    h.SetActiveHealthy(false, "down");
    EXPECT_FALSE(h.Available(0));
    for (int i = 0; i < 3; ++i) h.OnFailure(0, "x");
    h.SetActiveHealthy(true);  // recovery ends the passive ejection too
    EXPECT_TRUE(h.Available(1));
    for (int i = 0; i < 3; ++i) h.OnFailure(10, "x");
    EXPECT_FALSE(h.Available(11));
    h.OnActiveCheckPassed();  // healthy check while ejected: half-open now
    EXPECT_TRUE(h.Available(11));
    EXPECT_TRUE(h.TryEnter(11));
    EXPECT_FALSE(h.Available(11));
}

TEST(Backoff, ScheduleIsExponentialCappedAndJittered) {
    RetryConfig r;
    r.initial_wait = Millis(100);
    r.max_wait = Millis(1000);
    r.multiplier = 2.0;
    r.jitter = 0.0;
    EXPECT_EQ(BackoffDelay(r, 1, 0.5), Millis(100));
    EXPECT_EQ(BackoffDelay(r, 2, 0.5), Millis(200));
    EXPECT_EQ(BackoffDelay(r, 4, 0.5), Millis(800));
    EXPECT_EQ(BackoffDelay(r, 5, 0.5), Millis(1000));
    r.jitter = 0.2;
    EXPECT_EQ(BackoffDelay(r, 1, 0.0), Millis(80));
    EXPECT_EQ(BackoffDelay(r, 1, 0.999999), Millis(120));
}

TEST(RetryConditions, FollowConfig) {
    RetryConfig r;
    EXPECT_TRUE(ShouldRetry(r, FailureKind::kConnect, 0));
    EXPECT_TRUE(ShouldRetry(r, FailureKind::kStatus, 503));
    EXPECT_FALSE(ShouldRetry(r, FailureKind::kStatus, 400));
    r.on_timeout = false;
    r.on_status = {502};
    EXPECT_FALSE(ShouldRetry(r, FailureKind::kTimeout, 0));
    EXPECT_FALSE(ShouldRetry(r, FailureKind::kStatus, 503));
    EXPECT_TRUE(ShouldRetry(r, FailureKind::kStatus, 502));
}

TEST(RetryBudget, CapsRetriesToAFractionOfTraffic) {
    RetryBudget budget(0.1, 0);  // no time refill
    int allowed = 0;
    for (int i = 0; i < 1000; ++i) {
        budget.OnRequest(0);
        allowed += budget.TryRetry(0);
    }
    // 10 initial tokens + 0.1 per request.
    EXPECT_NEAR(allowed, 110, 2);
}

TEST(RetryBudget, RefillsOverTime) {
    RetryBudget budget(0.0, 10);
    while (budget.TryRetry(0)) {
    }
    EXPECT_FALSE(budget.TryRetry(50));
    EXPECT_TRUE(budget.TryRetry(150));  // 10/s -> one token after 100 ms
}
