// The Go LLMProxy's auth (+ top-level api_keys) and rate_limit blocks, as native auth.keys and
// rate_limit. There: keys are checked only with auth.enabled; auth.defaults fills a key's
// total_quota and quota_reset_period; a bucket's burst is burst_size, else twice its rate.
#include <cstdlib>
#include <set>

#include "core/config_dialect.hpp"

namespace llmproxy::core::detail {
namespace {

const std::set<std::string> kKeyFields{
    "key",           "name",        "user_id",    "status",     "total_quota", "used_quota", "quota_reset_period",
    "last_reset_at", "allowed_ips", "denied_ips", "expires_at", "created_at",  "updated_at"};

YAML::Node Key(Reader& r, const YAML::Node& k, const std::string& path, const YAML::Node& defaults, std::size_t i,
               std::set<std::string>& names) {
    YAML::Node out(YAML::NodeType::Map);
    Carry(out, "key", k["key"]);
    // A name is optional there and need not be unique; here it names the key in logs and metrics.
    std::string name;
    r.StrField(k, path, "name", name);
    if (name.empty()) r.StrField(k, path, "user_id", name);
    if (name.empty()) name = "key-" + std::to_string(i + 1);
    for (int n = 2; !names.insert(name).second; ++n) name += " (" + std::to_string(n) + ")";
    out["name"] = name;
    Carry(out, "user_id", k["user_id"]);
    std::string status = "active";
    r.StrField(k, path, "status", status);
    out["status"] = status == "active" ? "active" : "disabled";  // there, anything but active is refused
    for (const char* field : {"total_quota", "quota_reset_period"}) {
        if (k[field])
            out[field] = k[field];
        else if (IsMapNode(defaults) && defaults[field])
            out[field] = defaults[field];
    }
    Carry(out, "allowed_ips", k["allowed_ips"]);
    Carry(out, "expires_at", k["expires_at"]);
    if (k["denied_ips"])
        r.Error(k["denied_ips"], path + ".denied_ips",
                "has no equivalent here: list the addresses a key may come from in allowed_ips");
    if (k["used_quota"])
        r.Warn(path + ".used_quota: ignored; use is counted from 0 (kept across restarts with database.url or Redis)");
    for (const char* field : {"last_reset_at", "created_at", "updated_at"}) {
        if (k[field]) r.Warn(path + "." + field + ": ignored (bookkeeping of the Go LLMProxy's own store)");
    }
    return out;
}

// Redis for a block with storage: redis: the file's redis section, else REDIS_URL, else local.
void NeedRedis(Reader& r, YAML::Node& native, const std::string& what) {
    if (native["redis"]) return;
    const char* env = std::getenv("REDIS_URL");
    native["redis"]["url"] = env && *env ? "${REDIS_URL}" : "redis://127.0.0.1:6379";
    r.Warn(what + ": redis; no redis section, so " +
           (env && *env ? std::string("REDIS_URL") : std::string("redis://127.0.0.1:6379")) +
           " is used (set redis.url to choose)");
}

}  // namespace

YAML::Node GoLlmProxyKeys(Reader& r, const YAML::Node& auth, const YAML::Node& keys, YAML::Node& native) {
    YAML::Node out(YAML::NodeType::Map);
    bool enabled = false;
    std::string storage = "file";
    // Copied, never assigned: assigning a missing key's node to a Node throws in yaml-cpp.
    const YAML::Node defaults = IsMapNode(auth) ? auth["defaults"] : YAML::Node();
    if (auth && r.Keys(auth, "auth", {"enabled", "storage", "defaults"})) {
        enabled = Flag(r, auth, "auth", "enabled", false);
        r.StrField(auth, "auth", "storage", storage);
        if (defaults) r.Keys(defaults, "auth.defaults", {"quota_reset_period", "total_quota"});
    }
    out["enabled"] = enabled;
    if (!enabled) {
        if (IsListNode(keys) && keys.size() > 0)
            r.Warn("api_keys: not checked, as there: auth.enabled is not true, so requests need no key");
        return out;
    }
    if (storage == "redis") {
        // Its keys live in Redis at llmproxy:key:{api_key} (what its redis auth provider reads);
        // api_keys listed in the file are checked first, as its builtin provider comes first.
        NeedRedis(r, native, "auth.storage");
        if (IsListNode(keys) && keys.size() > 0) {
            YAML::Node builtin(YAML::NodeType::Map);
            builtin["name"] = "api_keys";
            builtin["type"] = "builtin";
            out["pipeline"].push_back(builtin);
        }
        YAML::Node redis(YAML::NodeType::Map);
        redis["name"] = "redis";
        redis["type"] = "redis";
        out["pipeline"].push_back(redis);
    } else if (storage != "file") {
        r.Error(auth["storage"], "auth.storage", "must be file or redis (got \"" + storage + "\")");
    }
    if (keys && !IsListNode(keys)) {
        r.Error(keys, "api_keys", "must be a list of keys");
        return out;
    }
    std::set<std::string> names;
    for (std::size_t i = 0; keys && i < keys.size(); ++i) {
        const std::string path = "api_keys[" + std::to_string(i) + "]";
        if (!r.Keys(keys[i], path, kKeyFields)) continue;
        out["keys"].push_back(Key(r, keys[i], path, defaults, i, names));
    }
    return out;
}

YAML::Node GoLlmProxyRateLimit(Reader& r, const YAML::Node& limits, YAML::Node& native) {
    YAML::Node out(YAML::NodeType::Map);
    if (!r.Keys(limits, "rate_limit", {"enabled", "storage", "global", "per_key"})) return out;
    if (!Flag(r, limits, "rate_limit", "enabled", true)) return out;
    std::string storage = "memory";
    r.StrField(limits, "rate_limit", "storage", storage);
    if (storage == "redis") NeedRedis(r, native, "rate_limit.storage");
    if (storage == "redis" || storage == "memory")
        out["storage"] = storage;
    else
        r.Error(limits["storage"], "rate_limit.storage", "must be memory or redis (got \"" + storage + "\")");
    const auto global = limits["global"];
    if (global &&
        r.Keys(global, "rate_limit.global", {"enabled", "requests_per_second", "requests_per_minute", "burst_size"}) &&
        Flag(r, global, "rate_limit.global", "enabled", true)) {
        double rps = 0, rpm = 0, burst = 0;
        r.DoubleField(global, "rate_limit.global", "requests_per_second", rps, 0, 1e9);
        r.DoubleField(global, "rate_limit.global", "requests_per_minute", rpm, 0, 1e12);
        r.DoubleField(global, "rate_limit.global", "burst_size", burst, 0, 1e9);
        if (rps <= 0 && rpm > 0) {
            rps = rpm / 60;
            if (burst <= 0) burst = rpm;
            r.Warn("rate_limit.global.requests_per_minute: enforced as " + std::to_string(rps) +
                   " requests per second with a burst of " + std::to_string(burst));
        }
        if (rps > 0) {
            out["global"]["requests_per_second"] = rps;
            out["global"]["burst"] = burst > 0 ? burst : 2 * rps;  // its default burst
        }
    }
    const auto per_key = limits["per_key"];
    if (per_key &&
        r.Keys(per_key, "rate_limit.per_key",
               {"enabled", "requests_per_second", "requests_per_minute", "tokens_per_minute", "max_concurrent",
                "burst_size"}) &&
        Flag(r, per_key, "rate_limit.per_key", "enabled", true)) {
        YAML::Node d(YAML::NodeType::Map);
        for (const char* field : {"requests_per_second", "requests_per_minute", "tokens_per_minute", "max_concurrent"})
            Carry(d, field, per_key[field]);
        if (per_key["burst_size"])
            r.Warn(
                "rate_limit.per_key.burst_size: ignored; a key's burst here is one second of its requests_per_second");
        if (d.size() > 0) out["key_defaults"] = d;
    }
    return out;
}

}  // namespace llmproxy::core::detail
