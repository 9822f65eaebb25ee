#include "core/config_overlay.hpp"

#include <set>
#include <stdexcept>

#include <boost/json.hpp>

#include "core/config_reader.hpp"

namespace llmproxy::core {
namespace {

// "$" doubled: the loader reads "$$" as a literal "$", so a stored value is never expanded.
std::string Literal(std::string_view text) {
    std::string out;
    for (char c : text) {
        out.push_back(c);
        if (c == '$') out.push_back('$');
    }
    return out;
}

YAML::Node ToYaml(const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::object: {
            YAML::Node map(YAML::NodeType::Map);
            for (const auto& [key, value] : v.as_object()) map[std::string(key)] = ToYaml(value);
            return map;
        }
        case boost::json::kind::array: {
            YAML::Node seq(YAML::NodeType::Sequence);
            for (const auto& item : v.as_array()) seq.push_back(ToYaml(item));
            return seq;
        }
        case boost::json::kind::string:
            return YAML::Node(Literal(v.as_string()));
        case boost::json::kind::null:
            return YAML::Node(YAML::NodeType::Null);
        default:
            return YAML::Node(boost::json::serialize(v));  // numbers and booleans, as the file spells them
    }
}

// The stored route with targets on disabled or missing providers left out; null when none is
// left (a route that only named such targets).
YAML::Node RouteNode(const StoredRoute& route, const std::set<std::string>& disabled) {
    YAML::Node node = JsonToYaml(route.spec);
    auto targets = node.IsMap() ? node["targets"] : YAML::Node();
    if (!targets || !targets.IsSequence()) return node;
    YAML::Node kept(YAML::NodeType::Sequence);
    for (const auto& t : targets) {
        const auto provider = t.IsMap() && t["provider"] ? t["provider"].Scalar() : std::string();
        if (!disabled.count(provider)) kept.push_back(t);
    }
    if (kept.size() == 0 && targets.size() > 0) return YAML::Node();
    node["targets"] = kept;
    return node;
}

// The file's providers but those the store holds (by name), then the store's enabled ones.
YAML::Node MergeProviders(const YAML::Node& file, const std::vector<StoredProvider>& stored_rows,
                          std::set<std::string>& disabled) {
    std::set<std::string> stored;
    for (const auto& p : stored_rows) {
        stored.insert(p.name);
        if (!p.enabled) disabled.insert(p.name);
    }
    YAML::Node providers(YAML::NodeType::Sequence);
    if (file && file.IsSequence()) {
        for (const auto& p : file) {
            const bool named = p.IsMap() && p["name"] && p["name"].IsScalar();
            if (!named || !stored.count(p["name"].Scalar())) providers.push_back(p);
        }
    }
    for (const auto& p : stored_rows) {
        if (!p.enabled) continue;
        YAML::Node node;
        try {
            node = JsonToYaml(p.spec);
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("provider \"" + p.name + "\": " + e.what());
        }
        if (node.IsMap()) node["name"] = Literal(p.name);
        providers.push_back(node);
    }
    return providers;
}

// Each stored route replaces routing.models[model]; one left without a live target is removed
// and named in `unserved`.
void MergeRoutes(YAML::Node& root, const std::vector<StoredRoute>& routes, const std::set<std::string>& disabled,
                 std::vector<std::string>& unserved) {
    if (!root["routing"] || !root["routing"].IsMap()) root["routing"] = YAML::Node(YAML::NodeType::Map);
    YAML::Node routing = root["routing"];
    if (!routing["models"] || !routing["models"].IsMap()) routing["models"] = YAML::Node(YAML::NodeType::Map);
    YAML::Node models = routing["models"];
    for (const auto& r : routes) {
        YAML::Node node;
        try {
            node = RouteNode(r, disabled);
        } catch (const std::invalid_argument& e) {
            throw std::invalid_argument("route \"" + r.model + "\": " + e.what());
        }
        if (node.IsNull() || !node.IsDefined()) {
            models.remove(r.model);
            unserved.push_back(r.model);
        } else {
            models[r.model] = node;
        }
    }
}

}  // namespace

YAML::Node JsonToYaml(const std::string& json) {
    boost::system::error_code ec;
    auto value = boost::json::parse(json, ec);
    if (ec) throw std::invalid_argument("not valid JSON: " + ec.message());
    return ToYaml(value);
}

std::vector<std::string> CheckStoredProvider(const StoredProvider& provider) {
    YAML::Node node;
    try {
        node = JsonToYaml(provider.spec);
    } catch (const std::invalid_argument& e) {
        return {std::string("request: ") + e.what()};
    }
    if (!node.IsMap()) return {"request: a provider must be a JSON object"};
    node["name"] = Literal(provider.name);
    YAML::Node root(YAML::NodeType::Map);
    root["providers"].push_back(node);
    auto result = detail::LoadNode(root, "request");
    for (auto& e : result.errors) {
        // The provider is alone in its list: "providers[0].field" says no more than "field".
        for (std::string_view prefix : {"providers[0].", "providers[0]"}) {
            if (auto at = e.find(prefix); at != std::string::npos) {
                e.erase(at, prefix.size());
                break;
            }
        }
    }
    return result.errors;
}

ConfigResult LoadEffectiveConfig(const std::string& yaml, const std::string& source, const ConfigOverlay& overlay) {
    YAML::Node root;
    try {
        root = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
        return LoadConfigString(yaml, source);  // reports the syntax error with its position
    }
    // Another gateway's file is converted first: the store's objects lay over the native tree.
    auto tree = detail::ReadAsNative(root, source);
    if (!tree.result.errors.empty() || !tree.root.IsMap()) return detail::Validate(std::move(tree), source);
    if (overlay.providers.empty() && overlay.routes.empty()) return detail::Validate(std::move(tree), source);
    root = tree.root;  // (yaml-cpp: both now name one node; the merges below edit tree.root)

    std::set<std::string> disabled;
    std::vector<std::string> unserved;  // routes left without an enabled target
    try {
        root["providers"] = MergeProviders(root["providers"], overlay.providers, disabled);
        if (!overlay.routes.empty()) MergeRoutes(root, overlay.routes, disabled, unserved);
    } catch (const std::invalid_argument& e) {
        ConfigResult bad;
        bad.errors.push_back(std::string("store: ") + e.what());
        return bad;
    }
    auto result = detail::Validate(std::move(tree), source);
    if (!result.config) return result;
    auto config = std::make_shared<Config>(*result.config);
    for (auto& p : config->providers) {
        for (const auto& s : overlay.providers) {
            if (s.name == p.name) {
                p.origin = "store";
                p.store_id = s.id;
            }
        }
    }
    for (const auto& model : unserved) config->routing.models[model].targets_disabled = true;
    for (const auto& r : overlay.routes) {
        if (auto it = config->routing.models.find(r.model); it != config->routing.models.end()) {
            it->second.origin = "store";
        }
    }
    result.config = std::move(config);
    return result;
}

}  // namespace llmproxy::core
