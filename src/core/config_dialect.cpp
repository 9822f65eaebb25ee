// Recognising a foreign config file, and what its converters share.
#include "core/config_dialect.hpp"

#include <cmath>
#include <cstdio>

namespace llmproxy::core::detail {
namespace {

bool Has(const YAML::Node& map, const char* key) {
    return IsMapNode(map) && map[key].IsDefined();
}

// The Python llm-proxy's providers carry api_base (ours: base_url), its server host and port
// (ours: listen). A provider written the native way makes it a native file (with a typo).
bool LooksPython(const YAML::Node& root) {
    bool api_base = false;
    const auto providers = root["providers"];
    if (IsListNode(providers)) {
        for (const auto& p : providers) {
            if (Has(p, "base_url") || Has(p, "preset") || Has(p, "type") || Has(p, "models")) return false;
            api_base = api_base || Has(p, "api_base");
        }
    }
    const auto server = root["server"];
    return api_base || Has(server, "host") || Has(server, "port");
}

}  // namespace

ConfigDialect DetectDialect(const YAML::Node& root) {
    if (!root.IsMap()) return ConfigDialect::kNative;
    if (Has(root, "model_list") || Has(root, "litellm_settings") || Has(root, "router_settings") ||
        Has(root, "general_settings"))
        return ConfigDialect::kLiteLlm;
    if (Has(root, "model_config") || Has(root, "model_routes") || Has(root, "os_env"))
        return ConfigDialect::kMultiVendor;
    if (Has(root, "backends") || Has(root, "listen") || Has(root, "api_keys")) return ConfigDialect::kGoLlmProxy;
    if (LooksPython(root)) return ConfigDialect::kPythonLlmProxy;
    return ConfigDialect::kNative;
}

std::string_view DialectName(ConfigDialect dialect) {
    switch (dialect) {
        case ConfigDialect::kPythonLlmProxy:
            return "a Python llm-proxy config";
        case ConfigDialect::kGoLlmProxy:
            return "a Go LLMProxy config";
        case ConfigDialect::kMultiVendor:
            return "a LiteLLM multi-vendor proxy config (os_env, model_config, model_routes)";
        case ConfigDialect::kLiteLlm:
            return "a LiteLLM proxy config";
        case ConfigDialect::kNative:
            break;
    }
    return "an llm-proxy config";
}

YAML::Node ToNative(Reader& r, ConfigDialect dialect, const YAML::Node& root) {
    switch (dialect) {
        case ConfigDialect::kPythonLlmProxy:
            return FromPythonLlmProxy(r, root);
        case ConfigDialect::kGoLlmProxy:
            return FromGoLlmProxy(r, root);
        case ConfigDialect::kMultiVendor:
            return FromMultiVendor(r, root);
        case ConfigDialect::kLiteLlm:
            return FromLiteLlm(r, root);
        case ConfigDialect::kNative:
            break;
    }
    return root;
}

std::string ListenAddress(Reader& r, const YAML::Node& server, const std::string& path, const std::string& default_host,
                          int default_port) {
    std::string host = default_host;
    int port = default_port;
    if (IsMapNode(server)) {
        r.StrField(server, path, "host", host);
        r.IntField(server, path, "port", port, 1, 65535);
    }
    if (host.empty()) host = default_host;
    if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";  // IPv6
    return host + ":" + std::to_string(port);
}

std::optional<std::string> SecondsToDuration(Reader& r, const YAML::Node& node, const std::string& path) {
    const auto text = r.Str(node, path);
    if (!text) return std::nullopt;
    try {
        std::size_t used = 0;
        const double seconds = std::stod(*text, &used);
        if (used == text->size() && seconds > 0 && seconds < 1e7) {
            const long long ms = std::llround(seconds * 1000);
            return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
        }
    } catch (const std::exception&) {
    }
    r.Error(node, path, "must be a positive number of seconds (got \"" + *text + "\")");
    return std::nullopt;
}

bool Flag(Reader& r, const YAML::Node& map, const std::string& path, const char* key, bool fallback) {
    bool value = fallback;
    if (IsMapNode(map)) r.BoolField(map, path, key, value);
    return value;
}

}  // namespace llmproxy::core::detail
