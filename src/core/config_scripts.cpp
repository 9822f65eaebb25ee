// Parsing of `scripts:` (the seven documented script points, plus on_chunk) and `hooks:` (the Go
// LLMProxy's wired lifecycle hooks, with its keys: `path` or `script`, `timeout`, `max_memory`).
// A script file is read here, so a reload picks up its new text with the snapshot.
#include <filesystem>

#include "core/config_reader.hpp"

namespace llmproxy::core::detail {
namespace {

// A relative path is tried as given (the Go LLMProxy's way), then beside the config file.
std::optional<std::string> ReadScriptFile(const Reader& r, const std::string& file) {
    if (auto text = ReadConfigText(file)) return text;
    const std::filesystem::path config_dir = std::filesystem::path(r.source()).parent_path();
    if (std::filesystem::path(file).is_relative() && !config_dir.empty()) {
        return ReadConfigText((config_dir / file).string());
    }
    return std::nullopt;
}

// `dialect_keys`: the file and size keys of the dialect (scripts: script_file, max_memory in
// bytes; hooks: path, max_memory in MB).
struct Dialect {
    const char* file_key;
    bool memory_in_mb;
};

}  // namespace

void ParseScriptEntry(Reader& r, const YAML::Node& node, const std::string& path, const char* file_key,
                      bool memory_in_mb, ScriptConfig& out) {
    const Dialect d{file_key, memory_in_mb};
    if (!r.Keys(node, path, {"enabled", "script", d.file_key, "timeout", "max_memory", "on_error", "rewrite"})) return;
    out.name = path;
    out.enabled = true;
    r.BoolField(node, path, "enabled", out.enabled);
    r.DurationField(node, path, "timeout", out.timeout);
    if (d.memory_in_mb) {
        int mb = 0;
        r.IntField(node, path, "max_memory", mb, 1, 1024);
        if (mb > 0) out.max_memory = static_cast<std::size_t>(mb) << 20;
    } else {
        r.SizeField(node, path, "max_memory", out.max_memory);
    }
    if (out.max_memory < (1u << 20)) r.Error(node["max_memory"], path + ".max_memory", "must be at least 1MiB");
    std::string on_error = out.fail_open ? "fail_open" : "fail_closed";
    r.StrField(node, path, "on_error", on_error);
    if (on_error != "fail_open" && on_error != "fail_closed") {
        r.Error(node["on_error"], path + ".on_error", "must be fail_open or fail_closed");
    }
    out.fail_open = on_error == "fail_open";
    r.BoolField(node, path, "rewrite", out.rewrite);
    // Inline code is taken as written: ${...} in Lua is not an environment variable.
    if (auto script = node["script"]; script && script.IsScalar()) out.code = script.Scalar();
    r.StrField(node, path, d.file_key, out.file);
    if (!out.file.empty()) {  // the file wins over inline code, as in the Go LLMProxy
        auto text = ReadScriptFile(r, out.file);
        if (!text) {
            r.Error(node[d.file_key], path + "." + d.file_key, "cannot read \"" + out.file + "\"");
            return;
        }
        out.code = std::move(*text);
    }
    if (out.enabled && out.code.empty()) {
        r.Error(node, path, std::string("needs script or ") + d.file_key);
    }
    if (!out.enabled) out.code.clear();
}

void ParseScripts(Reader& r, const YAML::Node& node, Config& c) {
    const std::string p = "scripts";
    auto& s = c.scripts;
    const std::pair<const char*, ScriptConfig*> points[] = {{"routing", &s.routing},
                                                            {"auth", &s.auth},
                                                            {"request_transform", &s.request_transform},
                                                            {"response_transform", &s.response_transform},
                                                            {"rate_limit", &s.rate_limit},
                                                            {"usage", &s.usage},
                                                            {"error_handler", &s.error_handler},
                                                            {"on_chunk", &s.on_chunk}};
    std::set<std::string> keys;
    for (const auto& [name, _] : points) keys.insert(name);
    if (!r.Keys(node, p, keys)) return;
    for (const auto& [name, config] : points) {
        if (auto entry = node[name]) ParseScriptEntry(r, entry, p + "." + name, "script_file", false, *config);
    }
}

void ParseDecisionWebhook(Reader& r, const YAML::Node& node, const std::string& path, DecisionWebhookConfig& out) {
    if (!r.Keys(node, path, {"enabled", "url", "timeout", "retry", "on_failure"})) return;
    out.enabled = true;
    r.BoolField(node, path, "enabled", out.enabled);
    r.StrField(node, path, "url", out.url);
    r.DurationField(node, path, "timeout", out.timeout);
    r.IntField(node, path, "retry", out.retry, 0, 5);
    r.StrField(node, path, "on_failure", out.on_failure);
    if (out.on_failure != "use_default" && out.on_failure != "reject" && out.on_failure != "ignore") {
        r.Error(node["on_failure"], path + ".on_failure", "must be use_default, reject or ignore");
    }
    if (!out.enabled) return;
    ParseHttpUrl(r, node["url"] ? node["url"] : node, path + ".url", out.url,
                 {out.tls, out.host, out.port, out.host_header, out.path});
}

void ParseHooks(Reader& r, const YAML::Node& node, Config& c) {
    const std::string p = "hooks";
    auto& h = c.hooks;
    const std::pair<const char*, ScriptConfig*> hooks[] = {
        {"on_request", &h.on_request},   {"on_auth", &h.on_auth},   {"on_route", &h.on_route},
        {"on_response", &h.on_response}, {"on_error", &h.on_error}, {"on_complete", &h.on_complete}};
    std::set<std::string> keys{"enabled", "auth_decision", "routing_decision"};
    for (const auto& [name, _] : hooks) keys.insert(name);
    if (!r.Keys(node, p, keys)) return;
    h.enabled = true;
    r.BoolField(node, p, "enabled", h.enabled);
    if (auto n = node["auth_decision"]) ParseDecisionWebhook(r, n, p + ".auth_decision", h.auth_decision);
    if (auto n = node["routing_decision"]) ParseDecisionWebhook(r, n, p + ".routing_decision", h.routing_decision);
    if (!h.enabled) h.auth_decision = h.routing_decision = DecisionWebhookConfig{};
    for (const auto& [name, config] : hooks) {
        config->fail_open = true;  // the Go LLMProxy's hooks fail open; on_error: fail_closed changes it
        if (auto entry = node[name]) ParseScriptEntry(r, entry, p + "." + name, "path", true, *config);
        if (!h.enabled) *config = ScriptConfig{};
    }
}

namespace {

// A redis step's own block: {key_pattern, cache_ttl, storage}. `storage` names one of the Go
// LLMProxy's storage.caches; here there is one Redis (redis.url), so any name means it.
void ParseRedisStep(Reader& r, const YAML::Node& block, const std::string& path, AuthPipelineEntry& entry) {
    if (!block) return;
    if (!r.Keys(block, path, {"key_pattern", "cache_ttl", "storage"})) return;
    r.StrField(block, path, "key_pattern", entry.key_pattern);
    r.DurationField(block, path, "cache_ttl", entry.cache_ttl);
    if (entry.key_pattern.find("{api_key}") == std::string::npos) {
        r.Error(block["key_pattern"], path + ".key_pattern",
                "must contain {api_key} (where the presented key goes, e.g. llmproxy:key:{api_key})");
    }
}

}  // namespace

// auth.pipeline: [{name, type: builtin | lua | redis, enabled, lua: {path | script, timeout,
// max_memory}, redis: {key_pattern, cache_ttl, storage}}].
void ParseAuthPipeline(Reader& r, const YAML::Node& node, Config& c) {
    if (!node.IsSequence()) {
        r.Error(node, "auth.pipeline", "must be a list of steps");
        return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
        const std::string path = "auth.pipeline[" + std::to_string(i) + "]";
        const YAML::Node step = node[i];
        if (!r.Keys(step, path, {"name", "type", "enabled", "lua", "redis"})) continue;
        AuthPipelineEntry entry;
        std::string type = "builtin";
        bool enabled = true;
        r.StrField(step, path, "name", entry.name);
        r.StrField(step, path, "type", type);
        r.BoolField(step, path, "enabled", enabled);
        if (!enabled) continue;
        if (type == "lua") {
            entry.type = AuthStepType::kLua;
            if (!step["lua"]) {
                r.Error(step, path + ".lua", "a lua step needs lua: {path | script}");
                continue;
            }
            ParseScriptEntry(r, step["lua"], path + ".lua", "path", true, entry.script);
            if (!entry.name.empty()) entry.script.name = "auth.pipeline." + entry.name;
        } else if (type == "redis") {
            entry.type = AuthStepType::kRedis;
            ParseRedisStep(r, step["redis"], path + ".redis", entry);
        } else if (type != "builtin") {
            r.Error(step["type"], path + ".type",
                    "\"" + type +
                        "\" is not a step llm-proxy runs (builtin: auth.keys and the store; lua: a script; redis: "
                        "keys kept in Redis)");
            continue;
        }
        c.auth.pipeline.push_back(std::move(entry));
    }
}

}  // namespace llmproxy::core::detail
