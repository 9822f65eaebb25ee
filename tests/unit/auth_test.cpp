#include <gtest/gtest.h>

#include "core/cidr.hpp"
#include "core/config.hpp"
#include "core/secret_hash.hpp"
#include "proxy/auth.hpp"

using namespace llmproxy;
using namespace llmproxy::core;
using namespace llmproxy::proxy;

namespace {
IpAddress Ip(const char* s) {
    return *IpAddress::Parse(s);
}

std::shared_ptr<const Config> Load(const std::string& yaml) {
    auto r = LoadConfigString(yaml, "t.yaml");
    EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors[0]);
    return r.config;
}

const char* kKeys = R"(
providers: [ { name: a, base_url: "http://h:1" } ]
auth:
  keys:
    - { key: sk-team-a-0123456789, name: team-a, user_id: u1, allowed_models: ["gpt-*"] }
    - { key_hash: "sha256:%HASH%", name: hashed }
    - { key: sk-disabled-000000, name: off, status: disabled }
    - { key: sk-expired-0000000, name: old, expires_at: "2020-01-01T00:00:00Z" }
    - { key: sk-office-00000000, name: office, allowed_ips: ["10.0.1.0/24", "2001:db8::/32"] }
)";

std::string Config1() {
    std::string y = kKeys;
    y.replace(y.find("%HASH%"), 6, HexOf(Sha256("sk-from-hash-999999")));
    return y;
}
}  // namespace

TEST(Cidr, V4V6AndMapped) {
    auto net = *Cidr::Parse("10.0.1.0/24");
    EXPECT_TRUE(net.Contains(Ip("10.0.1.7")));
    EXPECT_FALSE(net.Contains(Ip("10.0.2.7")));
    EXPECT_TRUE(net.Contains(Ip("::ffff:10.0.1.9")));  // what a dual-stack socket reports
    auto v6 = *Cidr::Parse("2001:db8::/32");
    EXPECT_TRUE(v6.Contains(Ip("2001:db8:1::5")));
    EXPECT_FALSE(v6.Contains(Ip("2001:db9::5")));
    EXPECT_FALSE(v6.Contains(Ip("10.0.1.7")));
    EXPECT_TRUE(Cidr::Parse("127.0.0.1")->Contains(Ip("127.0.0.1")));
    EXPECT_FALSE(Cidr::Parse("127.0.0.1")->Contains(Ip("127.0.0.2")));
    EXPECT_TRUE(Cidr::Parse("0.0.0.0/0")->Contains(Ip("8.8.8.8")));
    EXPECT_TRUE(Cidr::Parse("10.1.2.3/31")->Contains(Ip("10.1.2.2")));
    EXPECT_FALSE(Cidr::Parse("10.0.0.0/33"));
    EXPECT_FALSE(Cidr::Parse("not-an-ip/8"));
    EXPECT_FALSE(Cidr::Parse("10.0.0.0/"));
}

TEST(SecretHash, HashingCompareAndMask) {
    EXPECT_EQ(HexOf(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    auto h = *ParseKeyHash("sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD");
    EXPECT_TRUE(ConstantTimeEqual(h, Sha256("abc")));
    EXPECT_FALSE(ConstantTimeEqual(h, Sha256("abd")));
    EXPECT_FALSE(ParseKeyHash("xyz"));
    EXPECT_EQ(MaskKey("sk-proj-abcdefghijklmnop1234"), "sk-...1234");
    EXPECT_EQ(MaskKey("short"), "***");
}

TEST(Auth, HeadersAndOutcomes) {
    auto config = Load(Config1());
    auto keys = BuildKeySet(*config, {}, nullptr);
    const KeySet& index = *keys;
    auto any = Ip("127.0.0.1");
    auto ok = Authenticate(index, {"Bearer sk-team-a-0123456789", "", ""}, any, 1000);
    ASSERT_FALSE(ok.error);
    EXPECT_EQ(ok.key->config.name, "team-a");
    EXPECT_EQ(Authenticate(index, {"", "sk-team-a-0123456789", ""}, any, 0).key->config.name, "team-a");
    EXPECT_EQ(Authenticate(index, {"", "", "sk-from-hash-999999"}, any, 0).key->config.name, "hashed");
    auto missing = Authenticate(index, {"", "", ""}, any, 0);
    EXPECT_EQ(missing.error->status, 401);
    auto wrong = Authenticate(index, {"Bearer sk-wrong-key-00000000", "", ""}, any, 0);
    EXPECT_EQ(wrong.error->status, 401);
    EXPECT_EQ(wrong.error->code, "invalid_api_key");
    EXPECT_NE(wrong.error->message.find("sk-...0000"), std::string::npos);
    EXPECT_EQ(wrong.error->message.find("sk-wrong-key"), std::string::npos);  // never echoed whole
    EXPECT_EQ(Authenticate(index, {"Bearer sk-disabled-000000", "", ""}, any, 0).error->code, "api_key_disabled");
    EXPECT_EQ(Authenticate(index, {"Bearer sk-expired-0000000", "", ""}, any, 1'700'000'000).error->code,
              "api_key_expired");
    EXPECT_EQ(Authenticate(index, {"Bearer sk-office-00000000", "", ""}, Ip("10.0.9.1"), 0).error->code,
              "ip_not_allowed");
    EXPECT_FALSE(Authenticate(index, {"Bearer sk-office-00000000", "", ""}, Ip("::ffff:10.0.1.5"), 0).error);
    EXPECT_TRUE(ModelAllowed(ok.key->config, "gpt-4o"));
    EXPECT_FALSE(ModelAllowed(ok.key->config, "claude-3"));
}

TEST(Auth, OffMeansOpen) {
    auto config = Load("providers: [ { name: a, base_url: 'http://h:1' } ]\n");
    auto keys = BuildKeySet(*config, {}, nullptr);
    auto r = Authenticate(*keys, {"", "", ""}, Ip("1.2.3.4"), 0);
    EXPECT_FALSE(r.error);
    EXPECT_EQ(r.key, nullptr);
}

TEST(Auth, ForwardedForOnlyFromTrustedProxies) {
    std::vector<Cidr> trusted{*Cidr::Parse("127.0.0.1"), *Cidr::Parse("10.0.0.0/8")};
    auto from_proxy = ClientAddress(Ip("127.0.0.1"), "203.0.113.9, 10.1.1.1", trusted);
    EXPECT_EQ(from_proxy.bytes, Ip("203.0.113.9").bytes);
    auto spoofed = ClientAddress(Ip("198.51.100.7"), "10.0.1.5", trusted);  // untrusted peer: ignored
    EXPECT_EQ(spoofed.bytes, Ip("198.51.100.7").bytes);
    auto garbage = ClientAddress(Ip("127.0.0.1"), "nonsense", trusted);
    EXPECT_EQ(garbage.bytes, Ip("127.0.0.1").bytes);
}

TEST(Auth, ConfigErrors) {
    auto r = LoadConfigString(R"(
providers: [ { name: a, base_url: "http://h:1" } ]
server: { trusted_proxies: ["nope"] }
auth:
  keys:
    - { name: both, key: a, key_hash: b }
    - { key: sk-x, name: dup }
    - { key: sk-y, name: dup, expires_at: "tomorrow", allowed_ips: ["300.1.1.1"] }
    - { key: sk-z, name: limited, total_quota: 5, quota_reset_period: hourly }
)",
                              "t.yaml");
    std::string all;
    for (const auto& e : r.errors) all += e + "\n";
    EXPECT_NE(all.find("server.trusted_proxies: \"nope\" is not an IP"), std::string::npos) << all;
    EXPECT_NE(all.find("auth.keys[0]: needs exactly one of key or key_hash"), std::string::npos) << all;
    EXPECT_NE(all.find("auth.keys[2].name: duplicate key name"), std::string::npos) << all;
    EXPECT_NE(all.find("auth.keys[2].expires_at: must be UTC"), std::string::npos) << all;
    EXPECT_NE(all.find("auth.keys[2].allowed_ips: \"300.1.1.1\""), std::string::npos) << all;
    EXPECT_NE(all.find("auth.keys[3].quota_reset_period: must be daily, weekly, monthly or never"), std::string::npos)
        << all;
}

TEST(PassThrough, GrantedPerKeyAndDeleteOnlyExplicitly) {
    core::ApiKeyConfig open;  // allowed_models ["*"], no grants: everything but DELETE
    EXPECT_TRUE(proxy::PassThroughAllowed(open, "GET", "/v1/files"));
    EXPECT_TRUE(proxy::PassThroughAllowed(open, "POST", "/v1/batches"));
    EXPECT_FALSE(proxy::PassThroughAllowed(open, "DELETE", "/v1/files/file-1"));

    core::ApiKeyConfig limited;
    limited.allowed_models = {"gpt-4o"};  // model limits: nothing by default
    EXPECT_FALSE(proxy::PassThroughAllowed(limited, "GET", "/v1/files"));

    limited.allowed_endpoints = std::vector<std::string>{"/v1/files*", "DELETE /v1/files/*", "* /v1/audio/*"};
    EXPECT_TRUE(proxy::PassThroughAllowed(limited, "GET", "/v1/files"));
    EXPECT_TRUE(proxy::PassThroughAllowed(limited, "DELETE", "/v1/files/file-1"));
    EXPECT_FALSE(proxy::PassThroughAllowed(limited, "DELETE", "/v1/files"));  // not under /v1/files/
    EXPECT_TRUE(proxy::PassThroughAllowed(limited, "POST", "/v1/audio/transcriptions"));
    EXPECT_FALSE(proxy::PassThroughAllowed(limited, "GET", "/v1/batches"));

    core::ApiKeyConfig none;
    none.allowed_endpoints = std::vector<std::string>{};  // explicitly nothing
    EXPECT_FALSE(proxy::PassThroughAllowed(none, "GET", "/v1/files"));
    EXPECT_TRUE(core::ValidEndpointGrant("DELETE /v1/files/*"));
    EXPECT_FALSE(core::ValidEndpointGrant("/admin/*"));
    EXPECT_FALSE(core::ValidEndpointGrant("GET /v1/a b"));
}
