// YAML -> validated Config. Every problem is collected (not just the first) with the file,
// line, column and dotted key path, so an operator can fix a config in one pass.
#include <boost/url/parse.hpp>
#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "core/config.hpp"
#include "core/config_dialect.hpp"
#include "core/config_reader.hpp"
#include "core/vendor_presets.hpp"

namespace llmproxy::core {
namespace detail {

void ParseServer(Reader& r, const YAML::Node& node, ServerConfig& s) {
    const std::string p = "server";
    if (!r.Keys(node, p,
                {"listen", "workers", "max_body_bytes", "max_body_memory", "max_header_bytes", "max_connections",
                 "header_timeout", "body_timeout", "idle_timeout", "drain_timeout", "admin_key", "trusted_proxies",
                 "max_translated_body", "responses_websocket"})) {
        return;
    }
    r.StrField(node, p, "listen", s.listen);
    r.IntField(node, p, "workers", s.workers, 0, 256);
    r.SizeField(node, p, "max_body_bytes", s.max_body_bytes);
    r.SizeField(node, p, "max_body_memory", s.max_body_memory);
    r.SizeField(node, p, "max_header_bytes", s.max_header_bytes);
    r.SizeField(node, p, "max_translated_body", s.max_translated_body);
    r.BoolField(node, p, "responses_websocket", s.responses_websocket);
    r.IntField(node, p, "max_connections", s.max_connections, 0, 10'000'000);
    r.DurationField(node, p, "header_timeout", s.header_timeout);
    r.DurationField(node, p, "body_timeout", s.body_timeout);
    r.DurationField(node, p, "idle_timeout", s.idle_timeout);
    r.DurationField(node, p, "drain_timeout", s.drain_timeout);
    r.StrField(node, p, "admin_key", s.admin_key);
    r.StrList(node, p, "trusted_proxies", s.trusted_proxies);
    CheckTrustedProxies(r, node, s);

    auto colon = s.listen.rfind(':');
    int port = -1;
    if (colon != std::string::npos) {
        try {
            std::size_t used = 0;
            port = std::stoi(s.listen.substr(colon + 1), &used);
            if (used != s.listen.size() - colon - 1) port = -1;
        } catch (const std::exception&) {
        }
    }
    if (colon == std::string::npos || port < 0 || port > 65535) {
        r.Error(node["listen"], "server.listen", "must be host:port such as 0.0.0.0:8080 (got \"" + s.listen + "\")");
        return;
    }
    s.listen_host = s.listen.substr(0, colon);
    if (s.listen_host.size() > 1 && s.listen_host.front() == '[') {  // [::1]:8080
        s.listen_host = s.listen_host.substr(1, s.listen_host.size() - 2);
    }
    if (s.listen_host.empty()) s.listen_host = "0.0.0.0";
    s.listen_port = static_cast<uint16_t>(port);
}

void ParseBaseUrl(Reader& r, const YAML::Node& node, const std::string& path, ProviderConfig& p) {
    auto url = boost::urls::parse_uri(p.base_url);
    if (!url) {
        r.Error(node, path, "is not a valid URL (got \"" + p.base_url + "\")");
        return;
    }
    auto scheme = url->scheme();
    if (scheme != "http" && scheme != "https") {
        r.Error(node, path, "must start with http:// or https:// (got \"" + p.base_url + "\")");
        return;
    }
    if (url->host().empty()) {
        r.Error(node, path, "has no host (got \"" + p.base_url + "\")");
        return;
    }
    if (url->has_query() || url->has_fragment() || url->has_userinfo()) {
        r.Error(node, path, "must not contain a query, fragment or credentials (put keys in api_key)");
        return;
    }
    p.tls = scheme == "https";
    p.host = url->host_address();
    if (url->host_type() == boost::urls::host_type::ipv6) p.host = url->host_ipv6_address().to_string();
    p.port = url->has_port() ? std::string(url->port()) : (p.tls ? "443" : "80");
    p.host_header = std::string(url->encoded_host_and_port());
    p.base_path = std::string(url->encoded_path());
    while (!p.base_path.empty() && p.base_path.back() == '/') p.base_path.pop_back();
    if (p.base_path.empty()) p.base_path = "/v1";  // "http://vllm:8000" means the usual /v1 API
}

// A vendor preset's defaults, before the provider's own fields (which override them).
void ApplyPreset(Reader& r, const YAML::Node& node, const std::string& path, ProviderConfig& p) {
    const VendorPreset* preset = FindPreset(p.preset);
    if (!preset) {
        r.Error(node["preset"], path + ".preset", "is not a known vendor (one of: " + PresetNames() + ")");
        return;
    }
    p.type = preset->type;
    p.base_url = preset->base_url;
    if (const char* key = std::getenv(std::string(preset->api_key_env).c_str())) p.api_key = key;
    if (p.health_check.path == HealthCheckConfig{}.path) {  // a path of the top-level health_check wins
        const auto url = boost::urls::parse_uri(p.base_url);
        std::string base = url ? std::string(url->encoded_path()) : std::string();
        while (!base.empty() && base.back() == '/') base.pop_back();
        p.health_check.path = preset->health_path.starts_with('/') ? std::string(preset->health_path)
                                                                   : base + "/" + std::string(preset->health_path);
    }
    p.native_responses = preset->native_responses;
    p.native_messages = preset->native_messages;
    p.stream_usage = preset->stream_usage;
    p.fix_tool_call_index = preset->fix_tool_call_index;
    p.normalize_errors = preset->normalize_errors;
    p.drop_params.assign(preset->drop_params.begin(), preset->drop_params.end());
    p.rename_params.assign(preset->rename_params.begin(), preset->rename_params.end());
}

void ParseProvider(Reader& r, const YAML::Node& node, const std::string& path, ProviderConfig& p) {
    if (!r.Keys(node, path,
                {"name",
                 "type",
                 "base_url",
                 "api_key",
                 "weight",
                 "models",
                 "model_map",
                 "headers",
                 "forward_account_headers",
                 "timeouts",
                 "max_connections",
                 "pool_timeout",
                 "keepalive_idle",
                 "tls_verify",
                 "ca_file",
                 "health_check",
                 "circuit_breaker",
                 "stream_usage",
                 "native_messages",
                 "native_responses",
                 "preset",
                 "drop_params",
                 "rename_params",
                 "fix_tool_call_index",
                 "normalize_errors",
                 "anthropic_version",
                 "anthropic_betas",
                 "max_output_tokens",
                 "default_max_tokens"})) {
        return;
    }
    r.StrField(node, path, "name", p.name);
    if (p.name.empty()) r.Error(node, path + ".name", "is required");
    r.StrField(node, path, "preset", p.preset);
    if (!p.preset.empty()) ApplyPreset(r, node, path, p);
    r.StrField(node, path, "type", p.type);
    if (p.type != "openai" && p.type != "anthropic") {
        r.Error(node["type"], path + ".type", "must be openai or anthropic (got \"" + p.type + "\")");
    }
    r.StrField(node, path, "base_url", p.base_url);
    if (p.base_url.empty())
        r.Error(node, path + ".base_url", "is required (or a preset)");
    else
        ParseBaseUrl(r, node["base_url"] ? node["base_url"] : node, path + ".base_url", p);
    r.StrField(node, path, "api_key", p.api_key);
    r.IntField(node, path, "weight", p.weight, 0, 1'000'000);
    r.StrList(node, path, "models", p.models);
    if (p.models.empty()) r.Error(node["models"], path + ".models", "must list at least one model or \"*\"");
    r.StrMap(node, path, "model_map", p.model_map);
    r.StrMap(node, path, "headers", p.headers);
    if (auto t = node["timeouts"]) {
        const std::string tp = path + ".timeouts";
        if (r.Keys(t, tp, {"connect", "first_byte", "idle", "total"})) {
            r.DurationField(t, tp, "connect", p.timeouts.connect);
            r.DurationField(t, tp, "first_byte", p.timeouts.first_byte);
            r.DurationField(t, tp, "idle", p.timeouts.idle);
            r.DurationField(t, tp, "total", p.timeouts.total);
        }
    }
    r.IntField(node, path, "max_connections", p.max_connections, 0, 1'000'000);
    r.DurationField(node, path, "pool_timeout", p.pool_timeout);
    r.DurationField(node, path, "keepalive_idle", p.keepalive_idle);
    r.BoolField(node, path, "tls_verify", p.tls_verify);
    r.BoolField(node, path, "forward_account_headers", p.forward_account_headers);
    r.StrField(node, path, "ca_file", p.ca_file);
    r.BoolField(node, path, "stream_usage", p.stream_usage);
    r.BoolField(node, path, "native_messages", p.native_messages);
    // Known hosts that serve the Responses API get it passed through unless told otherwise.
    if (p.preset.empty()) {
        for (std::string_view host : {"api.openai.com", "openrouter.ai", "api.moonshot.ai", "api.moonshot.cn"})
            p.native_responses = p.native_responses || p.host == host;
    }
    r.BoolField(node, path, "native_responses", p.native_responses);
    r.StrList(node, path, "drop_params", p.drop_params);
    r.StrMap(node, path, "rename_params", p.rename_params);
    r.BoolField(node, path, "fix_tool_call_index", p.fix_tool_call_index);
    r.BoolField(node, path, "normalize_errors", p.normalize_errors);
    r.StrField(node, path, "anthropic_version", p.anthropic_version);
    r.StrList(node, path, "anthropic_betas", p.anthropic_betas);
    r.IntField(node, path, "max_output_tokens", p.max_output_tokens, 0, 10'000'000);
    r.IntField(node, path, "default_max_tokens", p.default_max_tokens, 1, 10'000'000);
    if (auto hc = node["health_check"]) {
        p.health_check.enabled = true;
        ParseHealthCheck(r, hc, path + ".health_check", p.health_check);
    }
    if (auto cb = node["circuit_breaker"]) ParseCircuitBreaker(r, cb, path + ".circuit_breaker", p.circuit_breaker);
    for (const auto& [from, to] : p.model_map) {
        bool listed = false;
        for (const auto& m : p.models) listed = listed || GlobMatch(m, from);
        if (!listed) {
            r.Error(node["model_map"], path + ".model_map." + from,
                    "maps a model this provider does not serve (add it to models)");
        }
        if (to.empty()) r.Error(node["model_map"], path + ".model_map." + from, "maps to an empty name");
    }
}

// More providers with glob models than the route table builds subsets for would leave every
// glob-routed model unserved: refused here instead.
void CheckGlobProviders(Reader& r, const YAML::Node& node, const Config& c) {
    std::size_t globs = 0;
    for (const auto& p : c.providers) {
        globs += std::any_of(p.models.begin(), p.models.end(),
                             [](const std::string& m) { return m.find_first_of("*?") != std::string::npos; });
    }
    if (globs > kMaxGlobProviders) {
        r.Error(node, "providers",
                std::to_string(globs) + " providers serve models by glob (\"*\", \"gpt-*\"); at most " +
                    std::to_string(kMaxGlobProviders) +
                    " may: list exact model names on the others, or route names in routing.models");
    }
}

bool Served(const Config& c, const std::string& model) {
    if (auto it = c.routing.models.find(model); it != c.routing.models.end() && !it->second.targets.empty()) {
        for (const auto& t : it->second.targets) {
            if (t.weight > 0) return true;
        }
        return false;
    }
    for (const auto& p : c.providers) {
        if (p.weight == 0) continue;
        for (const auto& m : p.models) {
            if (GlobMatch(m, model)) return true;
        }
    }
    return false;
}

void Parse(Reader& r, const YAML::Node& root, Config& c) {
    if (!root.IsDefined() || root.IsNull()) {
        r.Error(root, "(root)", "config is empty; it needs at least one provider");
        return;
    }
    if (!r.Keys(root, "",
                {"server", "providers", "routing", "logging", "health_check", "auth", "rate_limit", "usage_hook",
                 "database", "redis", "tokenizer", "scripts", "hooks", "metrics"}))
        return;
    if (auto s = root["server"]) ParseServer(r, s, c.server);
    // The top-level health_check is the default for every provider (and turns checks on).
    HealthCheckConfig default_check;
    if (auto hc = root["health_check"]) {
        default_check.enabled = true;
        ParseHealthCheck(r, hc, "health_check", default_check);
    }

    auto providers = root["providers"];
    // With a store, providers may all come from it (added through the admin API): until one is,
    // every model is answered model_not_found.
    const auto database = root["database"];
    const bool store_backed = database && database.IsMap() && database["url"];
    if (providers && providers.IsSequence() && providers.size() == 0 && store_backed) {
    } else if (!providers && store_backed) {
    } else if (!providers || !providers.IsSequence() || providers.size() == 0) {
        r.Error(providers ? providers : root, "providers", "must be a non-empty list of providers");
    } else {
        std::set<std::string> names;
        for (std::size_t i = 0; i < providers.size(); ++i) {
            ProviderConfig p;
            p.health_check = default_check;
            const std::string path = "providers[" + std::to_string(i) + "]";
            ParseProvider(r, providers[i], path, p);
            if (!p.name.empty() && !names.insert(p.name).second) {
                r.Error(providers[i]["name"], path + ".name", "duplicate provider name \"" + p.name + "\"");
            }
            c.providers.push_back(std::move(p));
        }
        CheckGlobProviders(r, providers, c);
    }

    if (auto routing = root["routing"]) ParseRouting(r, routing, c);
    if (auto auth = root["auth"]) ParseAuth(r, auth, c);
    if (auto db = root["database"]) ParseDatabase(r, db, c);
    if (auto redis = root["redis"]) ParseRedis(r, redis, c);
    if (auto tk = root["tokenizer"]) {
        if (r.Keys(tk, "tokenizer", {"data_dir", "default_encoding"})) {
            r.StrField(tk, "tokenizer", "data_dir", c.tokenizer.data_dir);
            r.StrField(tk, "tokenizer", "default_encoding", c.tokenizer.default_encoding);
            if (c.tokenizer.default_encoding != "cl100k_base" && c.tokenizer.default_encoding != "o200k_base") {
                r.Error(tk["default_encoding"], "tokenizer.default_encoding", "must be cl100k_base or o200k_base");
            }
        }
    }
    // After auth: fills each key's unset limits from rate_limit.key_defaults.
    if (auto rl = root["rate_limit"]) ParseRateLimit(r, rl, c);
    if (auto hook = root["usage_hook"]) ParseUsageHook(r, hook, c);
    if (auto metrics = root["metrics"]) {
        if (r.Keys(metrics, "metrics", {"compat"})) {
            std::string compat = "none";
            r.StrField(metrics, "metrics", "compat", compat);
            if (compat != "none" && compat != "llmproxy")
                r.Error(metrics["compat"], "metrics.compat", "must be none or llmproxy (the Go LLMProxy's names)");
            c.metrics.llmproxy_compat = compat == "llmproxy";
        }
    }
    if (auto scripts = root["scripts"]) ParseScripts(r, scripts, c);
    if (auto hooks = root["hooks"]) ParseHooks(r, hooks, c);
    if (auto logging = root["logging"]) {
        if (r.Keys(logging, "logging", {"level", "access_log", "request_log"})) {
            r.StrField(logging, "logging", "level", c.logging.level);
            r.StrField(logging, "logging", "access_log", c.logging.access_log);
            if (auto rl = logging["request_log"]) {
                const std::string p = "logging.request_log";
                auto& q = c.logging.request_log;
                if (r.Keys(rl, p, {"enabled", "include_bodies", "max_body_bytes", "redact_fields", "output"})) {
                    q.enabled = true;
                    r.BoolField(rl, p, "enabled", q.enabled);
                    r.BoolField(rl, p, "include_bodies", q.include_bodies);
                    r.SizeField(rl, p, "max_body_bytes", q.max_body_bytes);
                    r.StrList(rl, p, "redact_fields", q.redact_fields);
                    r.StrField(rl, p, "output", q.output);
                    if (q.output.empty()) r.Error(rl, p + ".output", "must be a file path or database");
                }
            }
            static const std::set<std::string> kLevels{"trace", "debug", "info", "warn", "error", "off"};
            if (!kLevels.count(c.logging.level)) {
                r.Error(logging["level"], "logging.level", "must be one of trace, debug, info, warn, error, off");
            }
        }
    }
    if (auto auth = root["auth"]) CheckAuth(r, auth, c);
    if (c.logging.request_log.enabled && c.logging.request_log.output == "database" && c.database.url.empty()) {
        r.Error(root["logging"], "logging.request_log.output", "is database but database.url is not set");
    }
    bool any_weight = false;
    for (const auto& p : c.providers) any_weight = any_weight || p.weight > 0;
    if (!c.providers.empty() && !any_weight) {
        r.Error(providers, "providers", "every provider has weight 0; nothing can be served");
    }
}

}  // namespace detail

namespace {

std::string Positioned(const std::string& source, const YAML::Exception& e) {
    std::ostringstream os;
    os << source;
    if (e.mark.line >= 0) os << ':' << e.mark.line + 1 << ':' << e.mark.column + 1;
    os << ": " << e.msg;
    return os.str();
}

}  // namespace

detail::NativeTree detail::ReadAsNative(const YAML::Node& root, const std::string& source_name) {
    NativeTree tree;
    detail::Reader reader(source_name, tree.result);
    try {
        const auto dialect = DetectDialect(root);
        tree.root = ToNative(reader, dialect, root);
        if (dialect != ConfigDialect::kNative) tree.result.dialect = DialectName(dialect);
    } catch (const YAML::Exception& e) {
        tree.result.errors.push_back(Positioned(source_name, e));
    }
    return tree;
}

ConfigResult detail::Validate(NativeTree tree, const std::string& source_name) {
    ConfigResult result = std::move(tree.result);
    if (!result.errors.empty()) return result;
    auto config = std::make_shared<Config>();
    detail::Reader reader(source_name, result);
    try {
        detail::Parse(reader, tree.root, *config);
    } catch (const YAML::Exception& e) {
        result.errors.push_back(Positioned(source_name, e));
    }
    if (result.errors.empty()) result.config = std::move(config);
    return result;
}

ConfigResult detail::LoadNode(const YAML::Node& root, const std::string& source_name) {
    return Validate(ReadAsNative(root, source_name), source_name);
}

ConfigResult LoadConfigString(const std::string& yaml, const std::string& source_name) {
    YAML::Node root;
    try {
        root = YAML::Load(yaml);
    } catch (const YAML::Exception& e) {
        ConfigResult result;
        result.errors.push_back(Positioned(source_name, e));
        return result;
    }
    return detail::LoadNode(root, source_name);
}

std::optional<std::string> ReadConfigText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

ConfigResult LoadConfigFile(const std::string& path) {
    auto text = ReadConfigText(path);
    if (!text) {
        ConfigResult result;
        result.errors.push_back(path + ": cannot open file");
        return result;
    }
    return LoadConfigString(*text, path);
}

}  // namespace llmproxy::core
