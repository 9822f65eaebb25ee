#include <gtest/gtest.h>

#include <thread>

#include "core/config.hpp"
#include "proxy/gcra.hpp"
#include "proxy/rate_limiter.hpp"

using namespace llmproxy;
using namespace llmproxy::proxy;

namespace {
constexpr std::int64_t kSec = 1'000'000'000;
}

TEST(Gcra, BurstThenSteadyRate) {
    Gcra g(10, 5);  // 10/s, bucket of 5
    int allowed = 0;
    for (int i = 0; i < 20; ++i) allowed += g.TryTake(0).allowed;
    EXPECT_EQ(allowed, 5);
    auto d = g.TryTake(0);
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.retry_after_ns, kSec / 10);
    EXPECT_EQ(d.remaining, 0);
    EXPECT_FALSE(g.TryTake(kSec / 10 - 1).allowed);  // one tick early
    EXPECT_TRUE(g.TryTake(kSec / 10).allowed);       // exactly at the boundary
    // Over one second at the steady rate: exactly 10 more.
    allowed = 0;
    for (std::int64_t t = kSec / 10 + 1; t <= kSec + kSec / 10 + kSec / 2000; t += kSec / 1000) allowed += g.TryTake(t).allowed;
    EXPECT_EQ(allowed, 10);
}

TEST(Gcra, CostsAndRefunds) {
    Gcra tpm(100, 1000);  // 6000 tokens/minute
    EXPECT_TRUE(tpm.TryTake(0, 800).allowed);
    EXPECT_FALSE(tpm.TryTake(0, 300).allowed);
    tpm.Adjust(-500);  // the request used 300, not 800
    auto d = tpm.TryTake(0, 300);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 400);
}

TEST(ConcurrencyGate, ExactUnderThreads) {
    ConcurrencyGate gate(5);
    std::atomic<int> peak{0}, inside{0}, admitted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 20000; ++i) {
                if (!gate.TryEnter()) continue;
                admitted++;
                int now = ++inside;
                int p = peak.load();
                while (now > p && !peak.compare_exchange_weak(p, now)) {
                }
                --inside;
                gate.Leave();
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_LE(peak.load(), 5);
    EXPECT_GT(admitted.load(), 0);
    EXPECT_EQ(gate.in_flight(), 0);
}

TEST(RateLimiter, KeyLimitsDefaultsAndHeaders) {
    auto r = core::LoadConfigString(R"(
providers: [ { name: a, base_url: "http://h:1" } ]
auth:
  keys:
    - { key: sk-a-000000000000, name: a, rate_limit: { requests_per_minute: 3 } }
    - { key: sk-b-000000000000, name: b }
rate_limit: { key_defaults: { requests_per_minute: 100, max_concurrent: 1 } }
)", "t.yaml");
    ASSERT_TRUE(r.errors.empty()) << r.errors[0];
    EXPECT_EQ(r.config->auth.keys[0].limits.requests_per_minute, 3);
    EXPECT_EQ(r.config->auth.keys[0].limits.max_concurrent, 1);  // from defaults
    RateLimiter limiter(*r.config);
    {
        std::vector<Admission> held;
        for (int i = 0; i < 3; ++i) {
            held.push_back(limiter.Admit(0, 10, 0));
            EXPECT_FALSE(held.back().denied()) << i;
            held.pop_back();  // finished: releases the concurrency slot
        }
        auto over = limiter.Admit(0, 10, 0);
        ASSERT_TRUE(over.denied());
        EXPECT_EQ(over.reply->status, 429);
        EXPECT_EQ(over.reply->code, "rate_limit_exceeded");
        EXPECT_EQ(over.reason, LimitReason::kKeyRpm);
        EXPECT_NE(over.headers.find("Retry-After: 20\r\n"), std::string::npos) << over.headers;
        EXPECT_NE(over.headers.find("x-ratelimit-limit-requests: 3\r\n"), std::string::npos);
        EXPECT_NE(over.headers.find("x-ratelimit-remaining-requests: 0\r\n"), std::string::npos);
        EXPECT_NE(over.headers.find("x-ratelimit-reset-requests: 1m0s\r\n"), std::string::npos) << over.headers;
    }
    auto first = limiter.Admit(1, 10, 0);
    EXPECT_FALSE(first.denied());
    auto second = limiter.Admit(1, 10, 0);  // max_concurrent 1 while `first` is in flight
    ASSERT_TRUE(second.denied());
    EXPECT_EQ(second.reason, LimitReason::kKeyConcurrency);
}

TEST(RateLimiter, GlobalLimits) {
    auto r = core::LoadConfigString(R"(
providers: [ { name: a, base_url: "http://h:1" } ]
rate_limit: { global: { requests_per_second: 2, burst: 2, max_concurrent: 10 } }
)", "t.yaml");
    ASSERT_TRUE(r.errors.empty());
    RateLimiter limiter(*r.config);
    EXPECT_FALSE(limiter.Admit(-1, 0, 0).denied());
    EXPECT_FALSE(limiter.Admit(-1, 0, 0).denied());
    auto third = limiter.Admit(-1, 0, 0);
    EXPECT_TRUE(third.denied());
    EXPECT_EQ(third.reason, LimitReason::kGlobalRate);
    EXPECT_FALSE(limiter.Admit(-1, 0, kSec / 2).denied());
}

TEST(RateLimiter, ConfigRefusesWhatIsNotBuiltYet) {
    auto r = core::LoadConfigString(R"(
providers: [ { name: a, base_url: "http://h:1" } ]
rate_limit: { storage: redis }
auth: { keys: [ { key: sk-x-00000000000, name: x, total_quota: 1000 } ] }
)", "t.yaml");
    std::string all;
    for (const auto& e : r.errors) all += e + "\n";
    EXPECT_NE(all.find("rate_limit.storage: only memory is implemented yet"), std::string::npos) << all;
    EXPECT_NE(all.find("total_quota: quotas are not implemented yet"), std::string::npos) << all;
}
