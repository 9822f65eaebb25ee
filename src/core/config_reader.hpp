#pragma once
// Internal to the config loader: reads typed values out of YAML nodes, expanding ${ENV}, and
// collects every problem with file:line:col and the dotted key path.
#include <yaml-cpp/yaml.h>

#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/env_expand.hpp"
#include "core/units.hpp"

namespace llmproxy::core::detail {

/// A parsed document in the native format: another gateway's config converted (the result
/// then holds the dialect's name and what the conversion found), a native one as it is.
struct NativeTree {
    YAML::Node root;
    ConfigResult result;
};
NativeTree ReadAsNative(const YAML::Node& root, const std::string& source_name);

/// Validates a native tree into a Config (keeping the tree's errors, warnings and dialect).
ConfigResult Validate(NativeTree tree, const std::string& source_name);

/// ReadAsNative, then Validate (LoadConfigString after YAML::Load).
ConfigResult LoadNode(const YAML::Node& root, const std::string& source_name);

class Reader {
public:
    Reader(std::string source, ConfigResult& result) : source_(std::move(source)), result_(result) {}

    void Error(const YAML::Node& node, const std::string& path, const std::string& what) {
        std::ostringstream os;
        os << source_;
        if (node.IsDefined() && node.Mark().line >= 0) {
            os << ':' << node.Mark().line + 1 << ':' << node.Mark().column + 1;
        }
        os << ": " << path << ": " << what;
        result_.errors.push_back(os.str());
    }

    void Warn(const std::string& what) { result_.warnings.push_back(source_ + ": " + what); }
    const std::string& source() const { return source_; }

    // Rejects keys not in `allowed`: a typo must not silently fall back to a default.
    bool Keys(const YAML::Node& node, const std::string& path, std::set<std::string> allowed) {
        if (!node.IsMap()) {
            Error(node, path, "must be a mapping");
            return false;
        }
        for (const auto& kv : node) {
            auto key = kv.first.as<std::string>();
            if (!allowed.count(key)) {
                std::string list;
                for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
                Error(kv.first, Join(path, key), "unknown key (allowed: " + list + ")");
            }
        }
        return true;
    }

    static std::string Join(const std::string& path, const std::string& key) {
        return path.empty() ? key : path + "." + key;
    }

    std::optional<std::string> Str(const YAML::Node& node, const std::string& path) {
        if (!node.IsScalar()) {
            Error(node, path, "must be a string");
            return std::nullopt;
        }
        auto expanded = ExpandEnv(node.Scalar());
        if (!expanded.error.empty()) {
            Error(node, path, expanded.error);
            return std::nullopt;
        }
        for (const auto& name : expanded.unset) {
            Warn(path + ": environment variable " + name + " is not set; using an empty value");
        }
        return expanded.value;
    }

    template <class Int>
    void IntField(const YAML::Node& map, const std::string& path, const char* key, Int& out, long long min,
                  long long max) {
        auto node = map[key];
        if (!node) return;
        auto s = Str(node, Join(path, key));
        if (!s) return;
        try {
            std::size_t used = 0;
            long long v = std::stoll(*s, &used);
            if (used != s->size()) throw std::invalid_argument("trailing");
            if (v < min || v > max) {
                Error(node, Join(path, key),
                      "must be between " + std::to_string(min) + " and " + std::to_string(max) + " (got " + *s + ")");
                return;
            }
            out = static_cast<Int>(v);
        } catch (const std::exception&) {
            Error(node, Join(path, key), "must be an integer (got \"" + *s + "\")");
        }
    }

    void StrField(const YAML::Node& map, const std::string& path, const char* key, std::string& out) {
        if (auto node = map[key]) {
            if (auto s = Str(node, Join(path, key))) out = *s;
        }
    }

    void BoolField(const YAML::Node& map, const std::string& path, const char* key, bool& out) {
        auto node = map[key];
        if (!node) return;
        auto s = Str(node, Join(path, key));
        if (!s) return;
        if (*s == "true" || *s == "yes" || *s == "on")
            out = true;
        else if (*s == "false" || *s == "no" || *s == "off")
            out = false;
        else
            Error(node, Join(path, key), "must be true or false (got \"" + *s + "\")");
    }

    void DurationField(const YAML::Node& map, const std::string& path, const char* key, Millis& out) {
        auto node = map[key];
        if (!node) return;
        auto s = Str(node, Join(path, key));
        if (!s) return;
        auto d = ParseDuration(*s);
        if (!d || d->count() <= 0) {
            Error(node, Join(path, key), "must be a positive duration such as 500ms, 10s, 2m (got \"" + *s + "\")");
            return;
        }
        out = *d;
    }

    void SizeField(const YAML::Node& map, const std::string& path, const char* key, std::size_t& out) {
        auto node = map[key];
        if (!node) return;
        auto s = Str(node, Join(path, key));
        if (!s) return;
        auto v = ParseSize(*s);
        if (!v || *v == 0) {
            Error(node, Join(path, key), "must be a positive size such as 65536, 64KiB, 32MiB (got \"" + *s + "\")");
            return;
        }
        out = static_cast<std::size_t>(*v);
    }

    void StrList(const YAML::Node& map, const std::string& path, const char* key, std::vector<std::string>& out) {
        auto node = map[key];
        if (!node) return;
        if (!node.IsSequence()) {
            Error(node, Join(path, key), "must be a list of strings");
            return;
        }
        out.clear();
        for (std::size_t i = 0; i < node.size(); ++i) {
            if (auto s = Str(node[i], Join(path, key) + "[" + std::to_string(i) + "]")) out.push_back(*s);
        }
    }

    void DoubleField(const YAML::Node& map, const std::string& path, const char* key, double& out, double min,
                     double max) {
        auto node = map[key];
        if (!node) return;
        auto s = Str(node, Join(path, key));
        if (!s) return;
        try {
            std::size_t used = 0;
            double v = std::stod(*s, &used);
            if (used != s->size() || !(v >= min && v <= max)) throw std::invalid_argument("range");
            out = v;
        } catch (const std::exception&) {
            Error(node, Join(path, key),
                  "must be a number between " + std::to_string(min) + " and " + std::to_string(max) + " (got \"" + *s +
                      "\")");
        }
    }

    template <class Out>
    void StrMap(const YAML::Node& map, const std::string& path, const char* key, Out& out) {
        auto node = map[key];
        if (!node) return;
        if (!node.IsMap()) {
            Error(node, Join(path, key), "must be a mapping of strings");
            return;
        }
        for (const auto& kv : node) {
            auto k = kv.first.as<std::string>();
            if (auto v = Str(kv.second, Join(path, key) + "." + k)) out.insert(out.end(), {k, *v});
        }
    }

private:
    std::string source_;
    ConfigResult& result_;
};

void ParseRouting(Reader& r, const YAML::Node& node, Config& c);
void ParseHealthCheck(Reader& r, const YAML::Node& node, const std::string& path, HealthCheckConfig& out);
void ParseCircuitBreaker(Reader& r, const YAML::Node& node, const std::string& path, CircuitBreakerConfig& out);
bool Served(const Config& c, const std::string& model);
void ParseAuth(Reader& r, const YAML::Node& node, Config& c);
void ParseKeyLimits(Reader& r, const YAML::Node& node, const std::string& path, KeyLimits& out);
void ParseRateLimit(Reader& r, const YAML::Node& node, Config& c);
void ParseUsageHook(Reader& r, const YAML::Node& node, Config& c);
void ParseScripts(Reader& r, const YAML::Node& node, Config& c);
/// One script entry: `file_key` names its file (script_file | path), `memory_in_mb` its max_memory unit.
void ParseScriptEntry(Reader& r, const YAML::Node& node, const std::string& path, const char* file_key,
                      bool memory_in_mb, ScriptConfig& out);
void ParseAuthPipeline(Reader& r, const YAML::Node& node, Config& c);
/// An http(s) URL the gateway POSTs to (usage and decision webhooks), split for connecting.
struct HttpTarget {
    bool& tls;
    std::string &host, &port, &host_header, &path;  // path includes the query
};
bool ParseHttpUrl(Reader& r, const YAML::Node& node, const std::string& path, const std::string& url, HttpTarget out);
void ParseHooks(Reader& r, const YAML::Node& node, Config& c);
void CheckAuth(Reader& r, const YAML::Node& node, const Config& c);
void ParseDatabase(Reader& r, const YAML::Node& node, Config& c);
void ParseRedis(Reader& r, const YAML::Node& node, Config& c);
void CheckTrustedProxies(Reader& r, const YAML::Node& server, const ServerConfig& s);

}  // namespace llmproxy::core::detail
