// The Go LLMProxy's config.yaml (aiyuekuang/LLMProxy, the format its README documents):
// listen, backends, usage_hook, health_check, routing, auth + api_keys, rate_limit, and its
// Lua blocks (scripts, hooks), which the native format takes verbatim.
//
// What it means there is kept: a backend is named by its URL (in metrics and usage events),
// the client's path is appended to it whole, a weight <= 0 counts as 1, round_robin ignores
// weights, retries happen only with routing.retry.enabled (on network errors, timeouts and
// 5xx), keys are checked only with auth.enabled. One reading differs on purpose: a rate_limit
// block (or global / per_key) that sets limits but leaves out `enabled` is on (the README's
// own scenarios leave it out and mean it); `enabled: false` turns it off.
#include <cstdlib>
#include <set>

#include "core/config_dialect.hpp"

namespace llmproxy::core::detail {
namespace {

std::string Trimmed(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

YAML::Node Backends(Reader& r, const YAML::Node& backends) {
    YAML::Node list(YAML::NodeType::Sequence);
    if (!IsListNode(backends) || backends.size() == 0) {
        r.Error(backends, "backends", "must be a non-empty list of {url, weight}");
        return list;
    }
    std::set<std::string> names;
    for (std::size_t i = 0; i < backends.size(); ++i) {
        const auto& b = backends[i];
        const std::string path = "backends[" + std::to_string(i) + "]";
        if (!r.Keys(b, path, {"url", "weight", "models"})) continue;
        std::string url;
        r.StrField(b, path, "url", url);
        if (url.empty()) {
            r.Error(b, path + ".url", "is required");
            continue;
        }
        int weight = 1;
        r.IntField(b, path, "weight", weight, -1'000'000, 1'000'000);
        YAML::Node out(YAML::NodeType::Map);
        // Named by its URL, as there; a URL listed twice (a double share there) gets a number.
        std::string name = url;
        for (int n = 2; !names.insert(name).second; ++n) name = url + " (" + std::to_string(n) + ")";
        if (name == url)
            out["name"] = b["url"];
        else
            out["name"] = name;
        // There the client's path goes after the URL whole ("/v1/chat/completions").
        out["base_url"] = Trimmed(url) + "/v1";
        out["weight"] = weight > 0 ? weight : 1;
        if (b["models"])
            out["models"] = b["models"];
        else
            out["models"].push_back("*");
        list.push_back(out);
    }
    return list;
}

// Retries there: only when enabled; 3 attempts, 1s doubling to 10s unless told otherwise.
YAML::Node Retry(Reader& r, const YAML::Node& retry) {
    YAML::Node out(YAML::NodeType::Map);
    const std::string p = "routing.retry";
    if (retry && !r.Keys(retry, p, {"enabled", "max_retries", "initial_wait", "max_wait", "multiplier"})) return out;
    if (!Flag(r, retry, p, "enabled", false)) {
        out["max_retries"] = 0;
        return out;
    }
    int max_retries = 0;
    r.IntField(retry, p, "max_retries", max_retries, 0, 10);
    out["max_retries"] = max_retries > 0 ? max_retries : 3;
    out["initial_wait"] = retry["initial_wait"] ? retry["initial_wait"] : Scalar("1s");
    out["max_wait"] = retry["max_wait"] ? retry["max_wait"] : Scalar("10s");
    out["multiplier"] = retry["multiplier"] ? retry["multiplier"] : Scalar("2");
    for (const char* on : {"connect_error", "timeout", "500", "502", "503", "504"}) out["retry_on"].push_back(on);
    return out;
}

YAML::Node Routing(Reader& r, const YAML::Node& routing) {
    YAML::Node out(YAML::NodeType::Map);
    out["strategy"] = "round_robin";
    if (!routing) {
        out["retry"]["max_retries"] = 0;
        return out;
    }
    if (!r.Keys(routing, "routing", {"retry", "load_balance_strategy", "fallback"})) return out;
    if (auto s = routing["load_balance_strategy"]) {
        auto name = r.Str(s, "routing.load_balance_strategy").value_or("");
        if (name == "round_robin" || name == "least_connections" || name == "latency_based")
            out["strategy"] = s;
        else if (!name.empty())
            r.Error(s, "routing.load_balance_strategy",
                    "must be round_robin, least_connections or latency_based (got \"" + name + "\")");
    }
    out["retry"] = Retry(r, routing["retry"]);
    const auto fallback = routing["fallback"];
    if (IsListNode(fallback)) {
        for (std::size_t i = 0; i < fallback.size(); ++i) {
            const auto& rule = fallback[i];
            const std::string path = "routing.fallback[" + std::to_string(i) + "]";
            if (!r.Keys(rule, path, {"primary", "fallback", "models"})) continue;
            YAML::Node entry(YAML::NodeType::Map);
            Carry(entry, "primary", rule["primary"]);  // backends are named by URL: the same string
            Carry(entry, "fallback", rule["fallback"]);
            if (rule["models"])
                r.Warn(path + ".models: ignored; the rule applies to every model (route models with routing.models)");
            out["fallback"].push_back(entry);
        }
    } else if (fallback) {
        r.Error(fallback, "routing.fallback", "must be a list of {primary, fallback}");
    }
    return out;
}

}  // namespace

YAML::Node GoLlmProxyKeys(Reader& r, const YAML::Node& auth, const YAML::Node& keys, YAML::Node& native);
YAML::Node GoLlmProxyRateLimit(Reader& r, const YAML::Node& limits, YAML::Node& native);

YAML::Node FromGoLlmProxy(Reader& r, const YAML::Node& root) {
    YAML::Node native(YAML::NodeType::Map);
    r.Keys(root, "",
           {"listen", "backends", "usage_hook", "health_check", "routing", "auth", "api_keys", "rate_limit", "scripts",
            "hooks", "metrics", "redis", "database", "logging", "tokenizer"});
    std::string listen = ":8000";  // its default
    r.StrField(root, "", "listen", listen);
    if (listen.starts_with(':')) listen = "0.0.0.0" + listen;
    native["server"]["listen"] = listen;
    // Its Lua blocks and llm-proxy's own sections are native already.
    for (const char* key : {"scripts", "hooks", "metrics", "redis", "database", "logging", "tokenizer"})
        Carry(native, key, root[key]);
    native["providers"] = Backends(r, root["backends"]);
    // Same keys and meaning as native ones (which may be added): checked by the native loader.
    Carry(native, "health_check", root["health_check"]);
    Carry(native, "usage_hook", root["usage_hook"]);
    native["routing"] = Routing(r, root["routing"]);
    // Its metric names too, so its users' dashboards keep working.
    if (!native["metrics"]) native["metrics"]["compat"] = "llmproxy";
    native["auth"] = GoLlmProxyKeys(r, root["auth"], root["api_keys"], native);
    if (const auto limits = root["rate_limit"]) {
        auto converted = GoLlmProxyRateLimit(r, limits, native);
        if (converted.size() > 0) native["rate_limit"] = converted;
    }
    return native;
}

}  // namespace llmproxy::core::detail
