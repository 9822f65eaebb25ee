// Parsing of `auth:` (API keys) and server.trusted_proxies.
#include <algorithm>
#include <ctime>

#include <boost/url/parse.hpp>

#include "core/cidr.hpp"
#include "core/config_reader.hpp"
#include "core/quota_period.hpp"
#include "core/secret_hash.hpp"

namespace llmproxy::core {

bool ValidEndpointGrant(std::string_view grant) {
    const auto space = grant.find(' ');
    const std::string_view glob = space == std::string_view::npos ? grant : grant.substr(space + 1);
    return glob.starts_with("/v1/") && glob.find(' ') == std::string_view::npos;
}

}  // namespace llmproxy::core

namespace llmproxy::core::detail {
namespace {

void ParseKey(Reader& r, const YAML::Node& node, const std::string& path, ApiKeyConfig& k) {
    if (!r.Keys(node, path,
                {"key", "key_hash", "name", "user_id", "status", "allowed_models", "allowed_ips", "allowed_endpoints",
                 "expires_at", "metadata", "total_quota", "quota_reset_period", "rate_limit"})) {
        return;
    }
    r.IntField(node, path, "total_quota", k.total_quota, 0, 1'000'000'000'000'000LL);
    std::string period = "never";
    r.StrField(node, path, "quota_reset_period", period);
    if (auto p = ParseQuotaPeriod(period))
        k.quota_period = *p;
    else
        r.Error(node["quota_reset_period"], path + ".quota_reset_period", "must be daily, weekly, monthly or never");
    if (auto rl = node["rate_limit"]) ParseKeyLimits(r, rl, path + ".rate_limit", k.limits);
    std::string key, key_hash;
    r.StrField(node, path, "key", key);
    r.StrField(node, path, "key_hash", key_hash);
    if (key.empty() == key_hash.empty()) {
        r.Error(node, path, "needs exactly one of key or key_hash");
    } else if (!key.empty()) {
        k.hash = Sha256(key);
        k.key_hint = MaskKey(key);
    } else if (auto h = ParseKeyHash(key_hash)) {
        k.hash = *h;
        k.key_hint = "sha256:" + HexOf(*h).substr(0, 8);
    } else {
        r.Error(node["key_hash"], path + ".key_hash",
                "must be 64 hex characters (SHA-256), optionally prefixed sha256:");
    }
    r.StrField(node, path, "name", k.name);
    if (k.name.empty()) r.Error(node, path + ".name", "is required (it names the key in logs and metrics)");
    for (unsigned char c : k.name) {
        if (c < 0x20 || c == 0x7f) {
            r.Error(node["name"], path + ".name", "may not contain control characters (it is printed in logs)");
            break;
        }
    }
    r.StrField(node, path, "user_id", k.user_id);
    std::string status = "active";
    r.StrField(node, path, "status", status);
    if (status != "active" && status != "disabled") {
        r.Error(node["status"], path + ".status", "must be active or disabled");
    }
    k.active = status == "active";
    r.StrList(node, path, "allowed_models", k.allowed_models);
    r.StrList(node, path, "allowed_ips", k.allowed_ips);
    if (node["allowed_endpoints"]) {
        k.allowed_endpoints.emplace();
        r.StrList(node, path, "allowed_endpoints", *k.allowed_endpoints);
        for (const auto& e : *k.allowed_endpoints) {
            if (!ValidEndpointGrant(e))
                r.Error(node["allowed_endpoints"], path + ".allowed_endpoints",
                        "\"" + e +
                            "\" must be a path glob starting with /v1/, optionally after a method (\"DELETE "
                            "/v1/files/*\")");
        }
    }
    for (const auto& ip : k.allowed_ips) {
        if (!Cidr::Parse(ip))
            r.Error(node["allowed_ips"], path + ".allowed_ips", "\"" + ip + "\" is not an IP or CIDR");
    }
    std::string expires;
    r.StrField(node, path, "expires_at", expires);
    if (!expires.empty()) {
        if (auto t = ParseUtcTime(expires))
            k.expires_at = *t;
        else
            r.Error(node["expires_at"], path + ".expires_at", "must be UTC like 2026-12-31T23:59:59Z");
    }
    r.StrMap(node, path, "metadata", k.metadata);
}

}  // namespace

void ParseKeyLimits(Reader& r, const YAML::Node& node, const std::string& path, KeyLimits& out) {
    if (!r.Keys(node, path, {"requests_per_second", "requests_per_minute", "tokens_per_minute", "max_concurrent"})) {
        return;
    }
    r.DoubleField(node, path, "requests_per_second", out.requests_per_second, 0, 1e9);
    r.DoubleField(node, path, "requests_per_minute", out.requests_per_minute, 0, 1e12);
    r.DoubleField(node, path, "tokens_per_minute", out.tokens_per_minute, 0, 1e15);
    r.IntField(node, path, "max_concurrent", out.max_concurrent, 0, 1'000'000);
}

void ParseRateLimit(Reader& r, const YAML::Node& node, Config& c) {
    if (!r.Keys(node, "rate_limit", {"storage", "global", "key_defaults", "on_redis_error", "redis_lease_window"}))
        return;
    r.StrField(node, "rate_limit", "storage", c.rate_limit.storage);
    if (c.rate_limit.storage != "memory" && c.rate_limit.storage != "redis") {
        r.Error(node["storage"], "rate_limit.storage", "must be memory or redis");
    }
    if (c.rate_limit.storage == "redis" && c.redis.url.empty()) {
        r.Error(node["storage"], "rate_limit.storage", "is redis but redis.url is not set");
    }
    std::string mode = "fail_open";
    r.StrField(node, "rate_limit", "on_redis_error", mode);
    if (mode != "fail_open" && mode != "fail_closed") {
        r.Error(node["on_redis_error"], "rate_limit.on_redis_error", "must be fail_open or fail_closed");
    }
    c.rate_limit.fail_open = mode == "fail_open";
    if (auto w = node["redis_lease_window"]) {
        auto d = ParseDuration(r.Str(w, "rate_limit.redis_lease_window").value_or("x"));
        if (!d || d->count() < 0)
            r.Error(w, "rate_limit.redis_lease_window", "must be a duration such as 5ms (0 = off)");
        else
            c.rate_limit.redis_lease_window = *d;
    }
    if (auto g = node["global"]) {
        if (r.Keys(g, "rate_limit.global", {"requests_per_second", "burst", "max_concurrent"})) {
            r.DoubleField(g, "rate_limit.global", "requests_per_second", c.rate_limit.global_requests_per_second, 0,
                          1e9);
            r.DoubleField(g, "rate_limit.global", "burst", c.rate_limit.global_burst, 0, 1e9);
            r.IntField(g, "rate_limit.global", "max_concurrent", c.rate_limit.global_max_concurrent, 0, 10'000'000);
        }
    }
    if (auto d = node["key_defaults"]) ParseKeyLimits(r, d, "rate_limit.key_defaults", c.rate_limit.key_defaults);
    // Each key's unset limits come from the defaults.
    for (auto& k : c.auth.keys) {
        const auto& d = c.rate_limit.key_defaults;
        if (k.limits.requests_per_second < 0) k.limits.requests_per_second = d.requests_per_second;
        if (k.limits.requests_per_minute < 0) k.limits.requests_per_minute = d.requests_per_minute;
        if (k.limits.tokens_per_minute < 0) k.limits.tokens_per_minute = d.tokens_per_minute;
        if (k.limits.max_concurrent < 0) k.limits.max_concurrent = d.max_concurrent;
    }
}

void ParseAuth(Reader& r, const YAML::Node& node, Config& c) {
    if (!r.Keys(node, "auth", {"enabled", "keys", "mode", "pipeline"})) return;
    if (auto pipeline = node["pipeline"]) ParseAuthPipeline(r, pipeline, c);
    std::string mode = "first_match";
    r.StrField(node, "auth", "mode", mode);
    if (mode != "first_match" && mode != "all") r.Error(node["mode"], "auth.mode", "must be first_match or all");
    c.auth.pipeline_all = mode == "all";
    auto keys = node["keys"];
    if (keys && !keys.IsSequence()) {
        r.Error(keys, "auth.keys", "must be a list of keys");
    } else if (keys) {
        std::set<std::string> names;
        for (std::size_t i = 0; i < keys.size(); ++i) {
            ApiKeyConfig k;
            const std::string path = "auth.keys[" + std::to_string(i) + "]";
            ParseKey(r, keys[i], path, k);
            if (!k.name.empty() && !names.insert(k.name).second) {
                r.Error(keys[i]["name"], path + ".name", "duplicate key name \"" + k.name + "\"");
            }
            c.auth.keys.push_back(std::move(k));
        }
    }
    c.auth.enabled = !c.auth.keys.empty() || !c.auth.pipeline.empty();
    r.BoolField(node, "auth", "enabled", c.auth.enabled);
}

void CheckAuth(Reader& r, const YAML::Node& node, const Config& c) {
    bool lua_step = false;  // a lua or redis step knows keys the config does not list
    for (const auto& step : c.auth.pipeline) lua_step = lua_step || step.lua() || step.redis();
    const bool redis_step =
        std::any_of(c.auth.pipeline.begin(), c.auth.pipeline.end(), [](const auto& s) { return s.redis(); });
    if (redis_step && c.redis.url.empty()) {
        r.Error(node["pipeline"], "auth.pipeline", "has a redis step but redis.url is not set (where the keys are)");
    }
    if (c.auth.enabled && c.auth.keys.empty() && c.database.url.empty() && !lua_step) {
        r.Error(node, "auth",
                "is enabled but has no keys and no database.url to read keys from: every request would be refused");
    }
    bool quotas = false;
    for (const auto& k : c.auth.keys) quotas = quotas || k.total_quota > 0;
    if (quotas && c.database.url.empty() && c.rate_limit.storage != "redis") {
        r.Warn(
            "auth.keys: quotas are counted in memory only (set database.url or rate_limit.storage: redis to keep them "
            "across restarts)");
    }
}

void ParseDatabase(Reader& r, const YAML::Node& node, Config& c) {
    if (!r.Keys(node, "database", {"url", "poll_interval", "sync_interval", "usage_ledger"})) return;
    r.BoolField(node, "database", "usage_ledger", c.database.usage_ledger);
    r.StrField(node, "database", "url", c.database.url);
    r.DurationField(node, "database", "poll_interval", c.database.poll_interval);
    r.DurationField(node, "database", "sync_interval", c.database.sync_interval);
    const auto& u = c.database.url;
    if (!u.empty() && !u.starts_with("sqlite://") && !u.starts_with("postgres://") && !u.starts_with("postgresql://")) {
        r.Error(node["url"], "database.url", "must start with sqlite:// or postgres:// (got \"" + u + "\")");
    }
}

void ParseRedis(Reader& r, const YAML::Node& node, Config& c) {
    if (!r.Keys(node, "redis", {"url", "timeout", "connect_timeout"})) return;
    auto& rc = c.redis;
    r.StrField(node, "redis", "url", rc.url);
    r.DurationField(node, "redis", "timeout", rc.timeout);
    r.DurationField(node, "redis", "connect_timeout", rc.connect_timeout);
    auto url = boost::urls::parse_uri(rc.url);
    if (!url || url->scheme() != "redis" || url->host().empty()) {
        r.Error(node["url"] ? node["url"] : node, "redis.url", "must be redis://[:password@]host[:port][/db]");
        return;
    }
    rc.host = url->host_address();
    if (url->has_port()) rc.port = std::string(url->port());
    if (url->has_password()) rc.password = std::string(url->password());
    std::string db = std::string(url->path());
    if (!db.empty() && db != "/") {
        try {
            rc.db = std::stoi(db.substr(1));
        } catch (const std::exception&) {
            r.Error(node["url"], "redis.url", "the path must be a database number like /0");
        }
    }
}

void CheckTrustedProxies(Reader& r, const YAML::Node& server, const ServerConfig& s) {
    for (const auto& p : s.trusted_proxies) {
        if (!Cidr::Parse(p))
            r.Error(server["trusted_proxies"], "server.trusted_proxies", "\"" + p + "\" is not an IP or CIDR");
    }
}

}  // namespace llmproxy::core::detail
