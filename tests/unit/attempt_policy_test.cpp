// The forward stage's decisions without sockets (proxy/attempt_policy.hpp): what an attempt may
// hold back, when targets are gone round again, and what follows a failure.
#include <gtest/gtest.h>

#include "core/config.hpp"
#include "proxy/attempt_policy.hpp"

using namespace llmproxy;
using namespace llmproxy::proxy;
using Clock = std::chrono::steady_clock;

namespace {

core::RetryConfig Retry(int max_retries) {
    core::RetryConfig r;
    r.max_retries = max_retries;
    r.initial_wait = core::Millis(100);
    r.max_wait = core::Millis(1000);
    r.multiplier = 2;
    r.jitter = 0;
    r.on_status = {429, 502, 503};
    return r;
}

std::vector<int> Held(std::span<const int> s) {
    return {s.begin(), s.end()};
}

}  // namespace

TEST(AttemptPolicy, HoldsRetryableStatusesWhileRetriesAreLeft) {
    const auto retry = Retry(2);
    RetryBudget budget(0.2, 10);
    const auto now = Clock::now();
    AttemptPolicy policy(retry, budget, now + std::chrono::seconds(30));
    EXPECT_EQ(Held(policy.Holds(1, true, now)), (std::vector<int>{429, 502, 503}));
    EXPECT_EQ(Held(policy.Holds(2, true, now)), (std::vector<int>{429, 502, 503}));
    EXPECT_TRUE(policy.Holds(3, true, now).empty());  // the last attempt relays what it gets
}

TEST(AttemptPolicy, ALoneTargets429IsRelayedWithItsRetryAfter) {
    const auto retry = Retry(2);
    RetryBudget budget(0.2, 10);
    const auto now = Clock::now();
    AttemptPolicy policy(retry, budget, now + std::chrono::seconds(30));
    EXPECT_EQ(Held(policy.Holds(1, false, now)), (std::vector<int>{502, 503}));
}

TEST(AttemptPolicy, NothingIsHeldPastTheDeadlineOrWithAnEmptyBudget) {
    const auto retry = Retry(2);
    RetryBudget budget(0.0, 0);
    const auto now = Clock::now();
    AttemptPolicy late(retry, budget, now);
    EXPECT_TRUE(late.Holds(1, true, now).empty());
    for (int i = 0; i < 20; ++i) budget.TryRetry(0);  // drain it
    AttemptPolicy broke(retry, budget, now + std::chrono::seconds(30));
    EXPECT_TRUE(broke.Holds(1, true, now).empty());
}

TEST(AttemptPolicy, RetriesWithExponentialBackoffThenStops) {
    const auto retry = Retry(2);
    RetryBudget budget(0.2, 10);
    const auto now = Clock::now();
    AttemptPolicy policy(retry, budget, now + std::chrono::seconds(30));
    auto d1 = policy.Decide(FailureKind::kConnect, 0, 1, 0, now, 0.5);
    EXPECT_TRUE(d1.retry);
    EXPECT_EQ(d1.wait, core::Millis(100));
    auto d2 = policy.Decide(FailureKind::kStatus, 502, 2, 0, now, 0.5);
    EXPECT_TRUE(d2.retry);
    EXPECT_EQ(d2.wait, core::Millis(200));
    auto d3 = policy.Decide(FailureKind::kStatus, 502, 3, 0, now, 0.5);
    EXPECT_FALSE(d3.retry);
    EXPECT_EQ(d3.why_not, "out of retries");
}

TEST(AttemptPolicy, UnlistedFailuresAreNotRetried) {
    auto retry = Retry(2);
    retry.on_timeout = false;
    RetryBudget budget(0.2, 10);
    const auto now = Clock::now();
    AttemptPolicy policy(retry, budget, now + std::chrono::seconds(30));
    EXPECT_EQ(policy.Decide(FailureKind::kStatus, 500, 1, 0, now, 0.5).why_not, "not retryable");
    EXPECT_EQ(policy.Decide(FailureKind::kTimeout, 0, 1, 0, now, 0.5).why_not, "not retryable");
    EXPECT_TRUE(policy.Decide(FailureKind::kConnect, 0, 1, 0, now, 0.5).retry);
}

TEST(AttemptPolicy, TheBudgetAndTheDeadlineEndRetries) {
    const auto retry = Retry(100);
    RetryBudget budget(0.0, 0);  // 10 tokens to start, none added
    const auto now = Clock::now();
    AttemptPolicy policy(retry, budget, now + std::chrono::hours(1));
    int retried = 0;
    for (int attempt = 1; attempt <= 50; ++attempt) {
        if (!policy.Decide(FailureKind::kConnect, 0, attempt, 0, now, 0.5).retry) break;
        ++retried;
    }
    EXPECT_EQ(retried, 10);
    EXPECT_EQ(policy.Decide(FailureKind::kConnect, 0, 11, 0, now, 0.5).why_not, "retry budget exhausted");

    RetryBudget fresh(0.2, 10);
    AttemptPolicy short_deadline(retry, fresh, now + core::Millis(150));
    EXPECT_TRUE(short_deadline.Decide(FailureKind::kConnect, 0, 1, 0, now, 0.5).retry);              // waits 100 ms
    EXPECT_EQ(short_deadline.Decide(FailureKind::kConnect, 0, 2, 0, now, 0.5).why_not, "deadline");  // 200 ms
}

TEST(AttemptPolicy, TargetsAreRevisitedOnlyOnTheLastModelAndNotAfterA429) {
    const auto retry = Retry(2);
    RetryBudget budget(0.2, 10);
    AttemptPolicy policy(retry, budget, Clock::now() + std::chrono::seconds(30));
    EXPECT_TRUE(policy.MayRevisit(1, false, true));
    EXPECT_FALSE(policy.MayRevisit(0, false, true));   // nothing tried yet: no target at all
    EXPECT_FALSE(policy.MayRevisit(3, false, true));   // out of retries
    EXPECT_FALSE(policy.MayRevisit(1, true, true));    // Retry-After asked us to stay away
    EXPECT_FALSE(policy.MayRevisit(1, false, false));  // a fallback model comes next
}

TEST(AttemptPolicy, MoreTargetsCountsUntriedTargetsFallbacksAndModels) {
    auto r = core::LoadConfigString(R"(
providers:
  - { name: a, base_url: "http://h:1", models: ["m"] }
  - { name: b, base_url: "http://h:2", models: ["m"] }
  - { name: c, base_url: "http://h:3", models: ["other"] }
routing:
  fallback: [ { primary: b, fallback: [c] } ]
)",
                                    "t.yaml");
    ASSERT_TRUE(r.errors.empty());
    RouteTable routes(r.config);
    const Route& route = *routes.Resolve("m").route;
    TriedProviders tried{true, false, false};
    EXPECT_TRUE(MoreTargets(routes, route, tried, 0, false));  // b is left
    tried = {true, true, false};
    EXPECT_TRUE(MoreTargets(routes, route, tried, 1, false));  // b's fallback c
    EXPECT_FALSE(MoreTargets(routes, route, tried, 0, false));
    tried = {true, true, true};
    EXPECT_FALSE(MoreTargets(routes, route, tried, 1, false));
    EXPECT_TRUE(MoreTargets(routes, route, tried, 1, true));  // a fallback model
}
