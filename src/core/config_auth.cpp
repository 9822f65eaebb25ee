// Parsing of `auth:` (API keys) and server.trusted_proxies.
#include <ctime>

#include "core/cidr.hpp"
#include "core/config_reader.hpp"
#include "core/secret_hash.hpp"

namespace llmproxy::core::detail {
namespace {

// "2026-12-31T23:59:59Z" (UTC only) -> unix seconds.
std::optional<std::int64_t> ParseUtc(const std::string& text) {
    std::tm tm{};
    char z = 0;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                    &tm.tm_min, &tm.tm_sec, &z) != 7 ||
        z != 'Z') {
        return std::nullopt;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return static_cast<std::int64_t>(timegm(&tm));
}

void ParseKey(Reader& r, const YAML::Node& node, const std::string& path, ApiKeyConfig& k) {
    if (!r.Keys(node, path, {"key", "key_hash", "name", "user_id", "status", "allowed_models", "allowed_ips",
                             "expires_at", "metadata", "total_quota", "quota_reset_period", "rate_limit"})) {
        return;
    }
    for (const char* later : {"total_quota", "quota_reset_period", "rate_limit"}) {
        if (node[later]) {
            r.Error(node[later], path + "." + later,
                    "quotas and rate limits are not implemented yet; remove it rather than trust it");
        }
    }
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
        r.Error(node["key_hash"], path + ".key_hash", "must be 64 hex characters (SHA-256), optionally prefixed sha256:");
    }
    r.StrField(node, path, "name", k.name);
    if (k.name.empty()) r.Error(node, path + ".name", "is required (it names the key in logs and metrics)");
    r.StrField(node, path, "user_id", k.user_id);
    std::string status = "active";
    r.StrField(node, path, "status", status);
    if (status != "active" && status != "disabled") {
        r.Error(node["status"], path + ".status", "must be active or disabled");
    }
    k.active = status == "active";
    r.StrList(node, path, "allowed_models", k.allowed_models);
    r.StrList(node, path, "allowed_ips", k.allowed_ips);
    for (const auto& ip : k.allowed_ips) {
        if (!Cidr::Parse(ip)) r.Error(node["allowed_ips"], path + ".allowed_ips", "\"" + ip + "\" is not an IP or CIDR");
    }
    std::string expires;
    r.StrField(node, path, "expires_at", expires);
    if (!expires.empty()) {
        if (auto t = ParseUtc(expires)) k.expires_at = *t;
        else r.Error(node["expires_at"], path + ".expires_at", "must be UTC like 2026-12-31T23:59:59Z");
    }
    r.StrMap(node, path, "metadata", k.metadata);
}

}  // namespace

void ParseAuth(Reader& r, const YAML::Node& node, Config& c) {
    if (!r.Keys(node, "auth", {"enabled", "keys"})) return;
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
    c.auth.enabled = !c.auth.keys.empty();
    r.BoolField(node, "auth", "enabled", c.auth.enabled);
    if (c.auth.enabled && c.auth.keys.empty()) {
        r.Error(node, "auth", "is enabled but has no keys: every request would be refused");
    }
}

void CheckTrustedProxies(Reader& r, const YAML::Node& server, const ServerConfig& s) {
    for (const auto& p : s.trusted_proxies) {
        if (!Cidr::Parse(p)) r.Error(server["trusted_proxies"], "server.trusted_proxies", "\"" + p + "\" is not an IP or CIDR");
    }
}

}  // namespace llmproxy::core::detail
