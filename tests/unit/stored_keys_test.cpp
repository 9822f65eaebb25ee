// Keys kept in Redis (auth.pipeline redis steps): the record's fields as the Go LLMProxy's redis
// provider writes them (a hash, or JSON), the worker's bounded cache, and the process-wide
// counters that keep a key's limits across cache refreshes and workers.
#include <gtest/gtest.h>

#include "proxy/stored_key_record.hpp"
#include "proxy/stored_keys.hpp"

using namespace llmproxy;
using namespace llmproxy::proxy;

namespace {

StoredKeyRecord Hash(std::vector<std::string> flat) {
    auto r = ReadKeyRecordFields(flat, "sk-redis-key-0001");
    EXPECT_TRUE(r.has_value());
    return r.value_or(StoredKeyRecord{});
}

}  // namespace

TEST(StoredKeyRecord, KeyNameFromThePattern) {
    EXPECT_EQ(StoredKeyName("llmproxy:key:{api_key}", "sk-1"), "llmproxy:key:sk-1");
    EXPECT_EQ(StoredKeyName("{api_key}/{api_key}", "{api_key}"), "{api_key}/{api_key}");
}

TEST(StoredKeyRecord, GoStatusesAsNumbersAndWords) {
    EXPECT_TRUE(Hash({"status", "0"}).config.active);
    EXPECT_FALSE(Hash({"status", "1"}).config.active);
    EXPECT_TRUE(Hash({"status", "2"}).quota_exhausted);
    EXPECT_EQ(Hash({"status", "3"}).config.expires_at, 1);  // in the past: refused as expired
    EXPECT_FALSE(Hash({"status", "9"}).config.active);      // unknown: refused, as there
    EXPECT_TRUE(Hash({"status", "active"}).config.active);
    // Its code reads a hash's "disabled" as 0 (active); a word here means what it says.
    EXPECT_FALSE(Hash({"status", "disabled"}).config.active);
    EXPECT_EQ(Hash({"status", "expired"}).config.expires_at, 1);
    EXPECT_TRUE(Hash({"status", "quota_exceeded"}).quota_exhausted);
    EXPECT_FALSE(Hash({"status", "whatever"}).config.active);
}

TEST(StoredKeyRecord, QuotaBalanceExpiryNamesAndLimits) {
    EXPECT_FALSE(Hash({"total_quota", "100", "used_quota", "99"}).quota_exhausted);
    EXPECT_TRUE(Hash({"total_quota", "100", "used_quota", "100"}).quota_exhausted);
    EXPECT_FALSE(Hash({"total_quota", "0", "used_quota", "100"}).quota_exhausted);  // 0: no quota
    EXPECT_TRUE(Hash({"balance", "0"}).quota_exhausted);
    EXPECT_TRUE(Hash({"balance", "-1.5"}).quota_exhausted);
    EXPECT_FALSE(Hash({"balance", "0.01"}).quota_exhausted);
    EXPECT_EQ(Hash({"expires_at", "1767225599"}).config.expires_at, 1767225599);
    EXPECT_EQ(Hash({"expires_at", "2026-12-31T23:59:59Z"}).config.expires_at, 1798761599);
    EXPECT_FALSE(Hash({"expires_at", "next tuesday"}).config.active);  // fail closed
    auto r = Hash({"name", "alice", "user_id", "u1", "allowed_models", "gpt-4o, claude-*", "allowed_ips",
                   "10.0.0.0/8,127.0.0.1", "requests_per_second", "5", "tokens_per_minute", "1000", "team", "ml"});
    EXPECT_EQ(r.config.name, "alice");
    EXPECT_EQ(r.config.user_id, "u1");
    EXPECT_EQ(r.config.allowed_models, (std::vector<std::string>{"gpt-4o", "claude-*"}));
    EXPECT_EQ(r.config.allowed_ips, (std::vector<std::string>{"10.0.0.0/8", "127.0.0.1"}));
    EXPECT_EQ(r.config.limits.requests_per_second, 5);
    EXPECT_EQ(r.config.limits.tokens_per_minute, 1000);
    EXPECT_EQ(r.config.limits.requests_per_minute, -1);  // unset: key_defaults
    EXPECT_EQ(r.config.metadata.at("team"), "ml");       // every field, for lua steps
    EXPECT_EQ(r.config.metadata.at("name"), "alice");
    EXPECT_EQ(r.config.hash, core::Sha256("sk-redis-key-0001"));
    EXPECT_EQ(Hash({}).config.name, core::MaskKey("sk-redis-key-0001"));  // no name: the key's hint
}

TEST(StoredKeyRecord, JsonRecordsAndWhatIsNotARecord) {
    auto r = ReadKeyRecordJson(R"({"status":0,"name":"bob","total_quota":10,"used_quota":12,
                                   "allowed_models":["a","b"],"max_concurrent":2})",
                               "sk-x");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->config.active);
    EXPECT_TRUE(r->quota_exhausted);
    EXPECT_EQ(r->config.name, "bob");
    EXPECT_EQ(r->config.allowed_models, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(r->config.limits.max_concurrent, 2);
    EXPECT_FALSE(ReadKeyRecordJson("[1,2]", "sk-x"));
    EXPECT_FALSE(ReadKeyRecordJson("{\"status\":", "sk-x"));
    EXPECT_FALSE(ReadKeyRecordJson(std::string(kMaxRecordBytes + 1, ' '), "sk-x"));
    EXPECT_FALSE(ReadKeyRecordFields({"odd"}, "sk-x"));
    std::vector<std::string> many;
    for (std::size_t i = 0; i <= kMaxRecordFields; ++i) {
        many.push_back("f" + std::to_string(i));
        many.push_back("v");
    }
    EXPECT_FALSE(ReadKeyRecordFields(many, "sk-x"));
    EXPECT_FALSE(ReadKeyRecordFields({"big", std::string(kMaxRecordBytes, 'x')}, "sk-x"));
}

TEST(StoredKeys, CountersOutliveCacheEntriesAndFollowLimits) {
    StoredKeyCounters counters;
    core::KeyLimits defaults;
    defaults.requests_per_second = 10;
    auto first = StoredKeyEntry(Hash({"name", "a"}), defaults, counters, 1000);
    EXPECT_EQ(first->config.limits.requests_per_second, 10);  // key_defaults fill the record's gaps
    auto again = StoredKeyEntry(Hash({"name", "a"}), defaults, counters, 1001);
    EXPECT_EQ(first->counters, again->counters);  // re-read (another worker, a refresh): same limits
    auto changed = StoredKeyEntry(Hash({"requests_per_second", "3"}), defaults, counters, 1002);
    EXPECT_NE(first->counters, changed->counters);  // the record's limits changed: new counters
    EXPECT_EQ(changed->config.limits.requests_per_second, 3);
    EXPECT_EQ(counters.size(), 1u);
}

TEST(StoredKeys, IdleCountersAreSweptOnlyWhenNobodyHoldsThem) {
    StoredKeyCounters counters;
    std::vector<std::shared_ptr<const KeyEntry>> held;
    for (std::size_t i = 0; i <= StoredKeyCounters::kSweepAbove; ++i) {
        auto r = ReadKeyRecordFields({}, "sk-" + std::to_string(i));
        auto e = StoredKeyEntry(std::move(*r), {}, counters, 0);
        if (i < 10) held.push_back(e);
    }
    EXPECT_EQ(counters.size(), StoredKeyCounters::kSweepAbove + 1);  // all seen just now: kept
    // Long after, new keys arrive: the next sweep (amortised: once the count has doubled) drops
    // every idle key nobody holds, and keeps the held ones with their counters.
    std::size_t late = 0, before = counters.size();
    while (counters.size() >= before) {
        before = counters.size();
        auto r = ReadKeyRecordFields({}, "sk-late-" + std::to_string(late++));
        StoredKeyEntry(std::move(*r), {}, counters, 10'000);
        ASSERT_LT(late, 3 * StoredKeyCounters::kSweepAbove);
    }
    EXPECT_EQ(counters.size(), held.size() + late);
    auto r = ReadKeyRecordFields({}, "sk-3");
    EXPECT_EQ(StoredKeyEntry(std::move(*r), {}, counters, 10'000)->counters, held[3]->counters);
}

TEST(StoredKeys, CacheHonoursTtlGenerationAndCapacity) {
    StoredKeyCache cache;
    const auto h = core::Sha256("sk-a");
    cache.Put(h, {nullptr, false, 100, 7}, 0);
    ASSERT_NE(cache.Find(h, 99, 7), nullptr);
    EXPECT_EQ(cache.Find(h, 99, 7)->key, nullptr);  // remembered as "not there"
    EXPECT_EQ(cache.Find(h, 100, 7), nullptr);      // expired
    EXPECT_EQ(cache.Find(h, 50, 8), nullptr);       // read under another config
    for (std::size_t i = 0; i < StoredKeyCache::kCapacity + 100; ++i) {
        cache.Put(core::Sha256("sk-" + std::to_string(i)), {nullptr, false, 1'000'000, 7}, 1);
    }
    EXPECT_LE(cache.size(), StoredKeyCache::kCapacity);
    // The newest entries survive the eviction.
    EXPECT_NE(cache.Find(core::Sha256("sk-" + std::to_string(StoredKeyCache::kCapacity + 99)), 2, 7), nullptr);
}
