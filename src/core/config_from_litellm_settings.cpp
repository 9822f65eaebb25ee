// LiteLLM proxy's router_settings, litellm_settings and general_settings, as native routing,
// provider defaults, server.admin_key and auth. LiteLLM has many more settings than a gateway
// config carries (callbacks, caching, budgets, alerting): those are left out with a warning
// each, never silently.
#include <map>
#include <optional>

#include "core/config_dialect.hpp"

namespace llmproxy::core::detail {
namespace {

const std::map<std::string, std::string> kStrategies{{"simple-shuffle", "weighted_random"},
                                                     {"least-busy", "least_connections"},
                                                     {"latency-based-routing", "latency_based"}};

void Fallbacks(Reader& r, const YAML::Node& list, const std::string& path, YAML::Node& native) {
    if (!IsListNode(list)) {
        r.Error(list, path, "must be a list like [{\"gpt-4\": [\"gpt-3.5-turbo\"]}]");
        return;
    }
    for (std::size_t i = 0; i < list.size(); ++i) {
        if (!IsMapNode(list[i])) {
            r.Error(list[i], path + "[" + std::to_string(i) + "]", "must map a model to its fallback models");
            continue;
        }
        for (const auto& kv : list[i]) {
            native["routing"]["models"][kv.first.as<std::string>()]["fallback_models"] = kv.second;
        }
    }
}

void Strategy(Reader& r, const YAML::Node& node, YAML::Node& native) {
    const auto name = r.Str(node, "router_settings.routing_strategy").value_or("");
    if (auto it = kStrategies.find(name); it != kStrategies.end()) {
        native["routing"]["strategy"] = it->second;
    } else if (name.starts_with("usage-based-routing") || name == "cost-based-routing") {
        native["routing"]["strategy"] = "weighted_random";
        r.Warn("router_settings.routing_strategy: " + name +
               " is not available here; traffic is shared by weight (rpm, tpm) as simple-shuffle does");
    } else {
        r.Error(node, "router_settings.routing_strategy",
                "must be simple-shuffle, least-busy, latency-based-routing, usage-based-routing(-v2) or "
                "cost-based-routing (got \"" +
                    name + "\")");
    }
}

void Router(Reader& r, const YAML::Node& s, YAML::Node& native, LiteLlmDefaults& defaults) {
    const std::string p = "router_settings";
    for (const auto& kv : s) {
        const auto key = kv.first.as<std::string>();
        if (key == "routing_strategy") {
            Strategy(r, kv.second, native);
        } else if (key == "num_retries") {
            native["routing"]["retry"]["max_retries"] = kv.second;
        } else if (key == "timeout") {
            defaults.timeout = SecondsToDuration(r, kv.second, p + ".timeout");
        } else if (key == "fallbacks") {
            Fallbacks(r, kv.second, p + ".fallbacks", native);
        } else if (key == "allowed_fails") {
            int fails = 0;
            r.IntField(s, p, "allowed_fails", fails, 1, 1000);
            defaults.allowed_fails = std::to_string(fails);
        } else if (key == "cooldown_time") {
            defaults.cooldown = SecondsToDuration(r, kv.second, p + ".cooldown_time");
        } else {
            r.Warn(p + "." + key + ": ignored (a LiteLLM router setting with no equivalent here)");
        }
    }
}

void Litellm(Reader& r, const YAML::Node& s, YAML::Node& native, LiteLlmDefaults& defaults) {
    const std::string p = "litellm_settings";
    for (const auto& kv : s) {
        const auto key = kv.first.as<std::string>();
        if (key == "num_retries") {
            if (native["routing"]["retry"]["max_retries"])
                r.Warn(p + ".num_retries: router_settings.num_retries applies");
            else
                native["routing"]["retry"]["max_retries"] = kv.second;
        } else if (key == "request_timeout") {
            if (defaults.timeout)
                r.Warn(p + ".request_timeout: router_settings.timeout applies");
            else
                defaults.timeout = SecondsToDuration(r, kv.second, p + ".request_timeout");
        } else if (key == "fallbacks") {
            Fallbacks(r, kv.second, p + ".fallbacks", native);
        } else if (key == "drop_params") {
            r.Warn(p + ".drop_params: each vendor preset drops what its API rejects (providers[].drop_params to add)");
        } else {
            r.Warn(p + "." + key + ": ignored (no meaning here)");
        }
    }
}

void General(Reader& r, const YAML::Node& s, YAML::Node& native) {
    for (const auto& kv : s) {
        const auto key = kv.first.as<std::string>();
        if (key == "master_key") {
            native["server"]["admin_key"] = kv.second;
            YAML::Node master(YAML::NodeType::Map);
            master["name"] = "master_key";
            master["key"] = YAML::Clone(kv.second);  // not the same node twice (it would print as an alias)
            native["auth"]["keys"].push_back(master);
        } else {
            r.Warn("general_settings." + key +
                   ": ignored (LiteLLM's virtual keys, budgets and UI live in its own "
                   "database; keys here: llm-proxy keys add, or the admin API)");
        }
    }
}

}  // namespace

void LiteLlmSettings(Reader& r, const YAML::Node& root, YAML::Node& native, LiteLlmDefaults& defaults) {
    native["routing"]["strategy"] = "weighted_random";  // simple-shuffle, LiteLLM's default
    if (const auto s = root["router_settings"]; IsMapNode(s)) Router(r, s, native, defaults);
    if (const auto s = root["litellm_settings"]; IsMapNode(s)) Litellm(r, s, native, defaults);
    if (const auto s = root["general_settings"]; IsMapNode(s)) General(r, s, native);
    if (root["callback_settings"]) r.Warn("callback_settings: ignored (LiteLLM callbacks)");
    for (const char* key : {"router_settings", "litellm_settings", "general_settings"}) {
        if (root[key] && !IsMapNode(root[key])) r.Error(root[key], key, "must be a mapping");
    }
}

}  // namespace llmproxy::core::detail
