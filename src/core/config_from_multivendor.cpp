// The LiteLLM-based multi-vendor proxy's config.yaml: os_env (vendor keys), model_config
// (public model -> vendor), model_routes (vendor -> public model -> the vendor's model name),
// server {host, port: 9000, log_level, workers}, proxy {timeout (s), max_retries,
// default_model}, connector (its HTTP client's pool: nothing to carry over).
//
// Each vendor named in model_config becomes a provider with that vendor's preset, serving the
// public models routed to it under their vendor names. Its key is <VENDOR>_API_KEY from os_env
// (the value itself, as written) or from the environment; its base URL may be moved with
// <VENDOR>_API_BASE, in os_env or the environment, as LiteLLM honours.
#include <cctype>
#include <cstdlib>
#include <map>

#include "core/config_dialect.hpp"
#include "core/vendor_presets.hpp"

namespace llmproxy::core::detail {
namespace {

std::string Upper(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

// os_env[name] as written, else a reference to the environment when it is set there.
std::optional<YAML::Node> FromEnv(const YAML::Node& os_env, const std::string& name) {
    if (IsMapNode(os_env) && os_env[name]) return os_env[name];
    if (const char* v = std::getenv(name.c_str()); v && *v) return Scalar("${" + name + "}");
    return std::nullopt;
}

struct VendorModels {
    YAML::Node first_mention;         // where the vendor is first named (for errors)
    std::vector<std::string> models;  // public names, in file order
};

YAML::Node Provider(Reader& r, const std::string& vendor, const VendorModels& v, const YAML::Node& root,
                    const std::optional<std::string>& timeout) {
    YAML::Node p(YAML::NodeType::Map);
    p["name"] = vendor;
    if (!FindPreset(vendor)) {
        r.Error(v.first_mention, "model_config",
                "\"" + vendor + "\" is not a known vendor (one of: " + PresetNames() + ")");
        return p;
    }
    p["preset"] = vendor;
    const auto os_env = root["os_env"];
    if (auto key = FromEnv(os_env, Upper(vendor) + "_API_KEY")) p["api_key"] = *key;
    if (auto base = FromEnv(os_env, Upper(vendor) + "_API_BASE")) p["base_url"] = *base;
    const auto all_routes = root["model_routes"];
    for (const auto& model : v.models) {
        p["models"].push_back(model);
        if (!IsMapNode(all_routes) || !IsMapNode(all_routes[vendor])) continue;
        if (const auto routed = all_routes[vendor][model]) p["model_map"][model] = routed;
    }
    if (timeout) p["timeouts"]["total"] = *timeout;
    return p;
}

void Server(Reader& r, const YAML::Node& server, YAML::Node& native) {
    native["server"]["listen"] = ListenAddress(r, server, "server", "0.0.0.0", 9000);
    if (!server) return;
    r.Keys(server, "server", {"host", "port", "log_level", "workers"});
    Carry(native["server"], "workers", server["workers"]);
    if (server["log_level"]) {
        std::string level = "info";
        r.StrField(server, "server", "log_level", level);
        for (auto& c : level) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (level == "warning") level = "warn";
        if (level == "critical") level = "error";
        native["logging"]["level"] = level;
    }
}

}  // namespace

YAML::Node FromMultiVendor(Reader& r, const YAML::Node& root) {
    YAML::Node native(YAML::NodeType::Map);
    r.Keys(root, "", {"os_env", "model_config", "model_routes", "server", "proxy", "connector"});
    Server(r, root["server"], native);
    native["providers"] = YAML::Node(YAML::NodeType::Sequence);  // printed before routing
    std::optional<std::string> timeout;
    if (const auto proxy = root["proxy"];
        proxy && r.Keys(proxy, "proxy", {"timeout", "max_retries", "default_model"})) {
        if (proxy["timeout"]) {
            timeout = SecondsToDuration(r, proxy["timeout"], "proxy.timeout");
        }
        Carry(native["routing"]["retry"], "max_retries", proxy["max_retries"]);
        Carry(native["routing"], "default_model", proxy["default_model"]);
    }
    if (root["connector"])
        r.Warn("connector: ignored (its HTTP client's pool; providers[].max_connections is the cap here)");
    if (root["os_env"] && !IsMapNode(root["os_env"]))
        r.Error(root["os_env"], "os_env", "must be a mapping of names to values");

    const auto config = root["model_config"];
    if (!IsMapNode(config)) {
        r.Error(config.IsDefined() ? config : root, "model_config", "must map public model names to vendors");
        return native;
    }
    std::map<std::string, VendorModels> vendors;
    std::vector<std::string> order;
    for (const auto& kv : config) {
        const auto model = kv.first.as<std::string>();
        const auto vendor = r.Str(kv.second, "model_config." + model).value_or("");
        if (vendor.empty()) continue;
        auto [it, added] = vendors.try_emplace(vendor);
        if (added) {
            it->second.first_mention = kv.second;
            order.push_back(vendor);
        }
        it->second.models.push_back(model);
    }
    if (const auto routes = root["model_routes"]; IsMapNode(routes)) {
        for (const auto& kv : routes) {
            const auto vendor = kv.first.as<std::string>();
            if (!vendors.count(vendor))
                r.Warn("model_routes." + vendor + ": not used; no model_config line names vendor \"" + vendor + "\"");
        }
    }
    for (const auto& vendor : order) native["providers"].push_back(Provider(r, vendor, vendors[vendor], root, timeout));
    return native;
}

}  // namespace llmproxy::core::detail
