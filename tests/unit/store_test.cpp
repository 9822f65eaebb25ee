// The SQL store against a real SQLite file (PostgreSQL is covered by the integration suite
// with a real server).
#include <gtest/gtest.h>

#include <filesystem>
#include <sqlite3.h>
#include <unistd.h>

#include "core/secret_hash.hpp"
#include "proxy/key_set.hpp"
#include "store/migrations.hpp"
#include "store/store.hpp"
#include "store/usage_ledger.hpp"

using namespace llmproxy;

namespace {

struct TempDb {
    std::string path = (std::filesystem::temp_directory_path() /
                        ("lp-store-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".db"))
                           .string();
    ~TempDb() {
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
    }
    static inline int counter = 0;
};

core::ApiKeyConfig Key(const std::string& name, const std::string& secret) {
    core::ApiKeyConfig k;
    k.name = name;
    k.hash = core::Sha256(secret);
    k.key_hint = core::MaskKey(secret);
    return k;
}

}  // namespace

TEST(Store, KeysRoundTripAndVersion) {
    TempDb db;
    auto store = store::Store::Open("sqlite://" + db.path);
    EXPECT_EQ(store->schema_version(), store::LatestSchemaVersion());
    const auto v0 = store->KeysVersion();
    auto k = Key("alice", "sk-alice-0000000000");
    k.user_id = "u1";
    k.allowed_models = {"gpt-*", "claude-?"};
    k.allowed_ips = {"10.0.0.0/8"};
    k.metadata = {{"team", "ml"}};
    k.limits.requests_per_minute = 60;
    k.total_quota = 5000;
    k.quota_period = core::QuotaPeriod::kWeekly;
    k.expires_at = 1'900'000'000;
    store->AddKey(k);
    EXPECT_THROW(store->AddKey(Key("alice", "sk-other-000000000")), store::SqlError);  // duplicate name
    EXPECT_THROW(store->AddKey(Key("bob", "sk-alice-0000000000")), store::SqlError);   // duplicate key
    EXPECT_GT(store->KeysVersion(), v0);

    auto keys = store->ListKeys();
    ASSERT_EQ(keys.size(), 1u);
    const auto& got = keys[0];
    EXPECT_EQ(got.name, "alice");
    EXPECT_TRUE(core::ConstantTimeEqual(got.hash, core::Sha256("sk-alice-0000000000")));
    EXPECT_EQ(got.key_hint, "sk-...0000");
    EXPECT_EQ(got.user_id, "u1");
    EXPECT_EQ(got.allowed_models, (std::vector<std::string>{"gpt-*", "claude-?"}));
    EXPECT_EQ(got.allowed_ips, (std::vector<std::string>{"10.0.0.0/8"}));
    EXPECT_EQ(got.metadata.at("team"), "ml");
    EXPECT_EQ(got.limits.requests_per_minute, 60);
    EXPECT_LT(got.limits.requests_per_second, 0);  // unset: the gateway applies key_defaults
    EXPECT_LT(got.limits.max_concurrent, 0);
    EXPECT_EQ(got.total_quota, 5000);
    EXPECT_EQ(got.quota_period, core::QuotaPeriod::kWeekly);
    EXPECT_EQ(got.expires_at, 1'900'000'000);
    EXPECT_TRUE(got.active);

    const auto v1 = store->KeysVersion();
    EXPECT_TRUE(store->SetKeyActive("alice", false));
    EXPECT_FALSE(store->ListKeys()[0].active);
    EXPECT_FALSE(store->SetKeyActive("nobody", false));
    EXPECT_GT(store->KeysVersion(), v1);
    EXPECT_TRUE(store->DeleteKey("alice"));
    EXPECT_FALSE(store->DeleteKey("alice"));
    EXPECT_TRUE(store->ListKeys().empty());
}

TEST(Store, QuotaCountersAddUpAcrossConnectionsAndReopen) {
    TempDb db;
    {
        auto a = store::Store::Open("sqlite://" + db.path);
        auto b = store::Store::Open("sqlite://" + db.path);  // a second instance on the same file
        EXPECT_EQ(a->AddQuotaUsage("k1", 100, 30), 30);
        EXPECT_EQ(b->AddQuotaUsage("k1", 100, 12), 42);
        EXPECT_EQ(a->AddQuotaUsage("k1", 100, 0), 42);  // a read
        EXPECT_EQ(a->AddQuotaUsage("k1", 200, 5), 5);   // a new window starts at zero
        EXPECT_EQ(a->AddQuotaUsage("k2", 100, 7), 7);
    }
    auto reopened = store::Store::Open("sqlite://" + db.path);  // migrations are not re-run
    EXPECT_EQ(reopened->schema_version(), store::LatestSchemaVersion());
    EXPECT_EQ(reopened->AddQuotaUsage("k1", 100, 0), 42);
}

TEST(Store, BadUrlIsAnError) {
    EXPECT_THROW(store::Store::Open("mysql://x"), store::SqlError);
    EXPECT_THROW(store::Store::Open("sqlite:///nonexistent-dir/x/y.db"), store::SqlError);
}

TEST(Store, UsageLedgerRowsAndTotals) {
    TempDb db;
    auto store = store::Store::Open("sqlite://" + db.path);
    const std::vector<std::string> events = {
        R"({"request_id":"r1","key_name":"alice","model":"gpt-4o","upstream_model":"gpt-4o-2024","provider":"p","endpoint":"/v1/chat/completions","is_stream":true,"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15},"usage_source":"upstream","latency_ms":12.5,"status_code":200,"timestamp_ms":1000})",
        R"({"request_id":"r2","key_name":"alice","model":"gpt-4o","provider":"p","is_stream":false,"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3},"status_code":200,"timestamp_ms":2000})",
        R"({"request_id":"r3","key_name":"bob","model":"m2","provider":"q","is_stream":false,"usage":null,"status_code":502,"timestamp_ms":3000})",
        "not json: skipped",
    };
    store::WriteUsageRows(*store, events);
    auto rows = store->sql().Query(
        "SELECT request_id, upstream_model, is_stream, total_tokens, latency_ms FROM usage_ledger ORDER BY request_id");
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0][1].value_or(""), "gpt-4o-2024");
    EXPECT_EQ(rows[0][2].value_or(""), "1");
    EXPECT_EQ(rows[0][3].value_or(""), "15");
    EXPECT_FALSE(rows[2][3].has_value());  // no usage: NULL, not 0
    auto by_key = store->UsageTotals(0, "key");
    ASSERT_EQ(by_key.size(), 2u);
    EXPECT_EQ(by_key[0].group, "alice");
    EXPECT_EQ(by_key[0].requests, 2);
    EXPECT_EQ(by_key[0].total_tokens, 18);
    EXPECT_EQ(store->UsageTotals(1500, "model")[0].total_tokens, 3);  // since: only r2 (and r3 with none)
}

TEST(Store, PlainSqlChangesToKeysBumpTheVersionAndBrokenIpListsFailClosed) {
    // Hardening #14.14: a key disabled by plain SQL kept working until a reload; an
    // allowed_ips value that did not parse allowed every address.
    TempDb db;
    auto store = store::Store::Open("sqlite://" + db.path);
    auto k = Key("alice", "sk-alice-0000000000");
    k.allowed_ips = {"10.0.0.0/8"};
    store->AddKey(k);
    const auto v0 = store->KeysVersion();
    {
        sqlite3* raw = nullptr;
        ASSERT_EQ(sqlite3_open(db.path.c_str(), &raw), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(
                      raw, "UPDATE api_keys SET status = 'disabled', allowed_ips = '10.0.0.0/8' WHERE name = 'alice'",
                      nullptr, nullptr, nullptr),
                  SQLITE_OK);
        sqlite3_close(raw);
    }
    EXPECT_GT(store->KeysVersion(), v0);
    const auto keys = store->ListKeys();
    ASSERT_EQ(keys.size(), 1u);
    EXPECT_FALSE(keys[0].active);
    ASSERT_EQ(keys[0].allowed_ips.size(), 1u);  // not a JSON list: kept as something that never parses
    core::Config config;
    config.auth.enabled = true;
    std::vector<std::string> warnings;
    const auto set = proxy::BuildKeySet(config, keys, nullptr, &warnings);
    ASSERT_EQ(set->entries().size(), 1u);
    EXPECT_TRUE(set->entries()[0].allowed_ips_broken);
    EXPECT_EQ(warnings.size(), 1u);
}

TEST(Store, AllowedEndpointsRoundTrip) {
    TempDb db;
    auto store = store::Store::Open("sqlite://" + db.path);
    auto granted = Key("files", "sk-files-000000000000");
    granted.allowed_endpoints = std::vector<std::string>{"/v1/files*", "DELETE /v1/files/*"};
    store->AddKey(granted);
    store->AddKey(Key("plain", "sk-plain-000000000000"));
    const auto keys = store->ListKeys();  // ordered by name
    ASSERT_EQ(keys.size(), 2u);
    ASSERT_TRUE(keys[0].allowed_endpoints);
    EXPECT_EQ(*keys[0].allowed_endpoints, *granted.allowed_endpoints);
    EXPECT_FALSE(keys[1].allowed_endpoints);  // unset: the default rule
}
