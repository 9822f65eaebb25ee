#include <gtest/gtest.h>

#include <limits>
#include <thread>

#include "core/config.hpp"
#include "proxy/gcra.hpp"
#include "proxy/key_set.hpp"
#include "proxy/rate_limiter.hpp"
#include "proxy/shared_limits.hpp"

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
    for (std::int64_t t = kSec / 10 + 1; t <= kSec + kSec / 10 + kSec / 2000; t += kSec / 1000)
        allowed += g.TryTake(t).allowed;
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
)",
                                    "t.yaml");
    ASSERT_TRUE(r.errors.empty()) << r.errors[0];
    EXPECT_EQ(r.config->auth.keys[0].limits.requests_per_minute, 3);
    EXPECT_EQ(r.config->auth.keys[0].limits.max_concurrent, 1);  // from defaults
    RateLimiter limiter(*r.config);
    auto keys = BuildKeySet(*r.config, {}, nullptr);
    KeyCounters* a = keys->entries()[0].counters.get();
    KeyCounters* b = keys->entries()[1].counters.get();
    {
        std::vector<Admission> held;
        for (int i = 0; i < 3; ++i) {
            held.push_back(limiter.Admit(a, 10, 0, 0));
            EXPECT_FALSE(held.back().denied()) << i;
            held.pop_back();  // finished: releases the concurrency slot
        }
        auto over = limiter.Admit(a, 10, 0, 0);
        ASSERT_TRUE(over.denied());
        EXPECT_EQ(over.reply->status, 429);
        EXPECT_EQ(over.reply->code, "rate_limit_exceeded");
        EXPECT_EQ(over.reason, LimitReason::kKeyRpm);
        EXPECT_NE(over.headers.find("Retry-After: 20\r\n"), std::string::npos) << over.headers;
        EXPECT_NE(over.headers.find("x-ratelimit-limit-requests: 3\r\n"), std::string::npos);
        EXPECT_NE(over.headers.find("x-ratelimit-remaining-requests: 0\r\n"), std::string::npos);
        EXPECT_NE(over.headers.find("x-ratelimit-reset-requests: 1m0s\r\n"), std::string::npos) << over.headers;
    }
    auto first = limiter.Admit(b, 10, 0, 0);
    EXPECT_FALSE(first.denied());
    auto second = limiter.Admit(b, 10, 0, 0);  // max_concurrent 1 while `first` is in flight
    ASSERT_TRUE(second.denied());
    EXPECT_EQ(second.reason, LimitReason::kKeyConcurrency);
}

TEST(RateLimiter, GlobalLimits) {
    auto r = core::LoadConfigString(R"(
providers: [ { name: a, base_url: "http://h:1" } ]
rate_limit: { global: { requests_per_second: 2, burst: 2, max_concurrent: 10 } }
)",
                                    "t.yaml");
    ASSERT_TRUE(r.errors.empty());
    RateLimiter limiter(*r.config);
    EXPECT_FALSE(limiter.Admit(nullptr, 0, 0, 0).denied());
    EXPECT_FALSE(limiter.Admit(nullptr, 0, 0, 0).denied());
    auto third = limiter.Admit(nullptr, 0, 0, 0);
    EXPECT_TRUE(third.denied());
    EXPECT_EQ(third.reason, LimitReason::kGlobalRate);
    EXPECT_FALSE(limiter.Admit(nullptr, 0, kSec / 2, 0).denied());
}

TEST(RateLimiter, RedisStorageNeedsRedisUrl) {
    auto r = core::LoadConfigString(R"(
providers: [ { name: a, base_url: "http://h:1" } ]
rate_limit: { storage: redis, on_redis_error: maybe }
)",
                                    "t.yaml");
    std::string all;
    for (const auto& e : r.errors) all += e + "\n";
    EXPECT_NE(all.find("rate_limit.storage: is redis but redis.url is not set"), std::string::npos) << all;
    EXPECT_NE(all.find("rate_limit.on_redis_error: must be fail_open or fail_closed"), std::string::npos) << all;
    auto ok = core::LoadConfigString(R"(
providers: [ { name: a, base_url: "http://h:1" } ]
redis: { url: "redis://:s3cret@127.0.0.1:6390/2", timeout: 20ms }
rate_limit: { storage: redis, on_redis_error: fail_closed }
)",
                                     "t.yaml");
    ASSERT_TRUE(ok.errors.empty()) << ok.errors[0];
    EXPECT_EQ(ok.config->redis.port, "6390");
    EXPECT_EQ(ok.config->redis.password, "s3cret");
    EXPECT_EQ(ok.config->redis.db, 2);
    EXPECT_FALSE(ok.config->rate_limit.fail_open);
}

TEST(Quota, ExhaustedKeyGetsInsufficientQuotaUntilTheWindowRolls) {
    auto r = core::LoadConfigString(R"(
providers: [ { name: a, base_url: "http://h:1" } ]
auth: { keys: [ { key: sk-q-00000000000, name: q, total_quota: 100, quota_reset_period: daily } ] }
)",
                                    "t.yaml");
    ASSERT_TRUE(r.errors.empty()) << r.errors[0];
    RateLimiter limiter(*r.config);
    auto keys = BuildKeySet(*r.config, {}, nullptr);
    KeyCounters* q = keys->entries()[0].counters.get();
    const std::int64_t day = 1'767'225'600;  // 2026-01-01T00:00:00Z
    {
        auto a = limiter.Admit(q, 10, 0, day + 10);
        ASSERT_FALSE(a.denied());
        a.SetActualTokens(99, day + 11);  // real usage counts, not the estimate
    }
    EXPECT_EQ(q->quota.Used(day + 12), 99);
    {
        auto a = limiter.Admit(q, 10, 0, day + 12);  // 99 < 100: still admitted
        ASSERT_FALSE(a.denied());
        a.SetActualTokens(5, day + 13);
    }
    auto over = limiter.Admit(q, 10, 0, day + 14);
    ASSERT_TRUE(over.denied());
    EXPECT_EQ(over.reply->status, 429);
    EXPECT_EQ(over.reply->code, "insufficient_quota");
    EXPECT_EQ(over.reply->type, "insufficient_quota");
    EXPECT_EQ(over.reason, LimitReason::kKeyQuota);
    EXPECT_NE(over.headers.find("Retry-After: 86386\r\n"), std::string::npos) << over.headers;  // to midnight
    EXPECT_FALSE(limiter.Admit(q, 10, 0, day + 86'400).denied());  // next day: a fresh window
}

TEST(Quota, SyncMergesOtherInstancesAndKeepsLocalAdditions) {
    QuotaCounter q(1000, core::QuotaPeriod::kMonthly);
    const std::int64_t t = 1'767'225'600;
    q.Consume(30, t);
    auto pending = q.TakeUnsynced(t);
    EXPECT_EQ(pending.delta, 30);
    q.Consume(5, t);                                   // finished while the write was in flight
    q.SetSyncedTotal(pending.period_start, 30 + 400);  // another instance used 400
    EXPECT_EQ(q.Used(t), 435);
    EXPECT_EQ(q.TakeUnsynced(t).delta, 5);
    auto lost = q.TakeUnsynced(t);
    EXPECT_EQ(lost.delta, 0);
    q.Consume(7, t);
    auto failed = q.TakeUnsynced(t);
    q.ReturnUnsynced(failed);  // the store was down: retried next time
    EXPECT_EQ(q.TakeUnsynced(t).delta, 7);
}

TEST(KeySet, RebuildKeepsCountersOfUnchangedKeys) {
    auto r = core::LoadConfigString(R"(
providers: [ { name: a, base_url: "http://h:1" } ]
auth: { keys: [ { key: sk-c-00000000000, name: c, rate_limit: { max_concurrent: 1 } } ] }
)",
                                    "t.yaml");
    ASSERT_TRUE(r.errors.empty());
    core::ApiKeyConfig stored;
    stored.name = "s";
    stored.hash = core::Sha256("sk-stored-0000000");
    stored.limits.max_concurrent = 2;
    auto first = BuildKeySet(*r.config, {stored}, nullptr);
    ASSERT_EQ(first->entries().size(), 2u);
    ASSERT_NE(first->Find(core::Sha256("sk-stored-0000000")), nullptr);
    core::ApiKeyConfig clash = stored;  // same name as a config key: ignored
    clash.name = "c";
    clash.hash = core::Sha256("sk-other-00000000");
    std::vector<std::string> warnings;
    auto second = BuildKeySet(*r.config, {stored, clash}, first.get(), &warnings);
    EXPECT_EQ(second->entries().size(), 2u);
    EXPECT_EQ(warnings.size(), 1u);
    EXPECT_EQ(second->entries()[1].counters, first->entries()[1].counters);  // same limits: carried over
    stored.limits.max_concurrent = 3;
    auto third = BuildKeySet(*r.config, {stored}, second.get());
    EXPECT_NE(third->entries()[1].counters, second->entries()[1].counters);  // new limits: new counters
}

TEST(Gcra, HugeRatesNeverDivideByZero) {
    Gcra tpm(1e12 / 60.0, 1e12);  // an "unlimited" TPM
    auto d = tpm.TryTake(0, 1e6);
    EXPECT_TRUE(d.allowed);
    EXPECT_GT(d.remaining, 0);
}

TEST(SharedLimits, CommandAndReplies) {
    auto r = core::LoadConfigString(R"(
providers: [ { name: a, base_url: "http://h:1" } ]
auth: { keys: [ { key: sk-s-00000000000, name: s,
                  rate_limit: { requests_per_second: 10, tokens_per_minute: 6000, max_concurrent: 2 } },
                { key: sk-n-00000000000, name: n } ] }
)",
                                    "t.yaml");
    ASSERT_TRUE(r.errors.empty()) << r.errors[0];
    auto keys = BuildKeySet(*r.config, {}, nullptr);
    const KeyEntry& s = keys->entries()[0];
    const std::int64_t t0 = 1'000'000'000;
    auto call = BuildSharedAdmit("SHA", s, 99.5, "slot-1", 60'000, 0.005, t0);
    // EVALSHA sha 2 rate conc | n=2, max=2, member, lease | rps: field, interval, tolerance, need, want | tpm: ...
    ASSERT_EQ(call.command.size(), 5u + 4u + 10u);
    EXPECT_EQ(call.command[0], "EVALSHA");
    EXPECT_EQ(call.command[2], "2");
    EXPECT_EQ(call.command[3], "llmproxy:{" + s.id.substr(0, 32) + "}:rate");
    EXPECT_EQ(call.command[4], "llmproxy:{" + s.id.substr(0, 32) + "}:conc");
    EXPECT_EQ(call.command[5], "2");
    EXPECT_EQ(call.command[6], "2");
    EXPECT_EQ(call.command[7], "slot-1");
    EXPECT_EQ(call.command[9], "rps");
    EXPECT_EQ(call.command[10], "100000");   // 10 rps: 100 ms per request
    EXPECT_EQ(call.command[11], "1000000");  // burst 10
    EXPECT_EQ(call.command[12], "1");        // need
    EXPECT_EQ(call.command[13], "1");        // 10 rps earns no whole unit in 5 ms: no lease
    EXPECT_EQ(call.command[14], "tpm");
    EXPECT_EQ(call.command[17], "100");  // TPM cost: the estimate, rounded up
    EXPECT_EQ(call.tpm_charged, 100);
    EXPECT_TRUE(BuildSharedAdmit("SHA", keys->entries()[1], 10, "x", 1, 0.005, t0).command.empty());  // no limits

    Admission ok;
    EXPECT_TRUE(ApplySharedAdmitReply({1, 0, 0, 9, 100000, 1, 100}, call, ok, t0));
    EXPECT_FALSE(ok.denied());
    Admission tpm;
    EXPECT_TRUE(ApplySharedAdmitReply({0, 2, 2'500'000, 0, 3'000'000}, call, tpm, t0));
    ASSERT_TRUE(tpm.denied());
    EXPECT_EQ(tpm.reason, LimitReason::kKeyTpm);
    EXPECT_NE(tpm.headers.find("Retry-After: 3\r\n"), std::string::npos) << tpm.headers;
    EXPECT_NE(tpm.headers.find("x-ratelimit-limit-tokens: 6000\r\n"), std::string::npos) << tpm.headers;
    Admission conc;
    EXPECT_TRUE(ApplySharedAdmitReply({0, 3, 1'000'000, 0, 0}, call, conc, t0));
    EXPECT_EQ(conc.reason, LimitReason::kKeyConcurrency);
    Admission bad;
    EXPECT_FALSE(ApplySharedAdmitReply({0, 7, 0, 0, 0}, call, bad, t0));
    EXPECT_FALSE(ApplySharedAdmitReply({1, 0, 0, 0, 0}, call, bad, t0));  // grants missing

    auto release = BuildSharedRelease(s, "slot-1", 100, 40);
    ASSERT_EQ(release.size(), 2u);
    EXPECT_EQ(release[0], (std::vector<std::string>{"ZREM", call.command[4], "slot-1"}));
    EXPECT_EQ(release[1], (std::vector<std::string>{"HINCRBY", call.command[3], "tpm", "-600000"}));  // 60 tokens back
    EXPECT_TRUE(BuildSharedRelease(keys->entries()[1], "slot-1", 0, 5).empty());
}

TEST(SharedLimits, BusyKeysAreServedFromLeases) {
    auto r = core::LoadConfigString(R"(
providers: [ { name: a, base_url: "http://h:1" } ]
auth: { keys: [ { key: sk-b-00000000000, name: busy, rate_limit: { requests_per_second: 10000 } } ] }
)",
                                    "t.yaml");
    ASSERT_TRUE(r.errors.empty());
    auto keys = BuildKeySet(*r.config, {}, nullptr);
    const KeyEntry& busy = keys->entries()[0];
    const std::int64_t t0 = 5'000'000'000;
    auto first = BuildSharedAdmit("SHA", busy, 1, "", 1, 0.005, t0);
    ASSERT_FALSE(first.command.empty());
    EXPECT_EQ(first.command[12], "1");   // need
    EXPECT_EQ(first.command[13], "51");  // want: 1 + 10000/s x 5 ms
    Admission a;
    ASSERT_TRUE(ApplySharedAdmitReply({1, 0, 0, 9949, 5100, 51}, first, a, t0));
    for (int i = 0; i < 50; ++i) {  // the next 50 requests need no round trip
        EXPECT_TRUE(BuildSharedAdmit("SHA", busy, 1, "", 1, 0.005, t0 + i).command.empty()) << i;
    }
    EXPECT_FALSE(BuildSharedAdmit("SHA", busy, 1, "", 1, 0.005, t0 + 60).command.empty());  // lease used up
    // A partial grant (Redis had room for 20 only) leases what was granted.
    auto second = BuildSharedAdmit("SHA", busy, 1, "", 1, 0.005, t0 + 70);
    Admission b;
    ASSERT_TRUE(ApplySharedAdmitReply({1, 0, 0, 0, 0, 20}, second, b, t0 + 70));
    EXPECT_EQ(busy.counters->lease_rps.units(), 19);
    // Leases expire: a second later they are not used.
    EXPECT_FALSE(BuildSharedAdmit("SHA", busy, 1, "", 1, 0.005, t0 + 70 + kLeaseTtlNs).command.empty());
    // Window 0: one round trip per request, no lease asked.
    auto exact = BuildSharedAdmit("SHA", busy, 1, "", 1, 0.0, t0 + 2 * kLeaseTtlNs);
    EXPECT_EQ(exact.command[13], "1");
}

TEST(Gcra, ACostAboveTheBurstIsNeverAdmittedAndLeavesTheBucketAlone) {
    // Hardening #14.4: 1e11 tokens x 60 ms per token overflowed the int64 arithmetic and was
    // admitted with the bucket full.
    Gcra tpm(1000.0 / 60, 1000);
    for (double cost :
         {1e11, 1e300, 1001.0, std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()}) {
        const auto d = tpm.TryTake(5 * kSec, cost);
        EXPECT_FALSE(d.allowed) << cost;
        EXPECT_TRUE(d.never) << cost;
    }
    const auto d = tpm.TryTake(5 * kSec, 1000);  // the whole bucket is still there
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 0);
}

TEST(Gcra, CorrectionsSaturateInsteadOfWrapping) {
    Gcra tpm(1000.0 / 60, 1000);
    tpm.Adjust(-1e300);  // a refund of more than could ever be charged
    tpm.Adjust(-1e300);
    EXPECT_TRUE(tpm.TryTake(kSec, 1000).allowed);
    EXPECT_FALSE(tpm.TryTake(kSec, 1).allowed);  // the refund did not make the bucket bottomless
    tpm.Adjust(1e300);                           // a usage of more than could ever be produced
    tpm.Adjust(1e300);
    const auto d = tpm.TryTake(kSec, 1);
    EXPECT_FALSE(d.allowed);
    EXPECT_GT(d.retry_after_ns, 0);  // a long wait, not a negative one from a wrapped TAT
}

TEST(RateLimiter, TpmCostAboveTheLimitIsRefusedAsNeverAdmissible) {
    core::ApiKeyConfig key;
    key.limits.tokens_per_minute = 1000;
    KeyCounters counters(key);
    core::Config config;
    RateLimiter limiter(config);
    for (bool shared : {false, true}) {
        Admission a = limiter.Admit(&counters, 1e11, kSec, 1, shared);
        ASSERT_TRUE(a.denied());
        EXPECT_EQ(a.reply->status, 429);
        EXPECT_NE(a.reply->message.find("can never be admitted"), std::string::npos);
    }
    Admission ok = limiter.Admit(&counters, 1000, kSec, 1, false);  // the bucket is untouched
    EXPECT_FALSE(ok.denied());
}
