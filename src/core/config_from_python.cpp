// The Python llm-proxy's config.yaml: providers {name, api_base, api_key}, every one serving
// every model, taken in turn (round robin); server {host, port}, port 8000 by default.
#include "core/config_dialect.hpp"

namespace llmproxy::core::detail {

YAML::Node FromPythonLlmProxy(Reader& r, const YAML::Node& root) {
    YAML::Node native(YAML::NodeType::Map);
    r.Keys(root, "", {"providers", "server"});
    const auto server = root["server"];
    if (server && r.Keys(server, "server", {"host", "port"})) {
        native["server"]["listen"] = ListenAddress(r, server, "server", "0.0.0.0", 8000);
    } else {
        native["server"]["listen"] = "0.0.0.0:8000";
    }
    const auto providers = root["providers"];
    if (!IsListNode(providers)) {
        r.Error(providers.IsDefined() ? providers : root, "providers", "must be a list of {name, api_base, api_key}");
        return native;
    }
    YAML::Node list(YAML::NodeType::Sequence);
    for (std::size_t i = 0; i < providers.size(); ++i) {
        const auto& p = providers[i];
        const std::string path = "providers[" + std::to_string(i) + "]";
        if (!r.Keys(p, path, {"name", "api_base", "api_key"})) continue;
        if (!p["api_base"]) r.Error(p, path + ".api_base", "is required");
        YAML::Node out(YAML::NodeType::Map);
        Carry(out, "name", p["name"]);
        Carry(out, "base_url", p["api_base"]);
        Carry(out, "api_key", p["api_key"]);
        out["models"].push_back("*");
        list.push_back(out);
    }
    native["providers"] = list;
    native["routing"]["strategy"] = "round_robin";
    return native;
}

}  // namespace llmproxy::core::detail
