#pragma once
// Internal to the config loader: the config files of the gateways llm-proxy replaces, read as
// they are. A foreign file is recognised by its top-level keys and converted, in memory, into
// the native YAML tree, which the native loader then validates like any native file. The
// native tree is built from the user's own YAML nodes, so a value found wrong later still
// points at its file:line:col; keys of the foreign file are checked here, against that
// format's own keys, with the same errors a native file gets. What has no equivalent is an
// error naming the key, or, where leaving it out changes nothing that matters, a warning
// saying what was left out (llm-proxy convert-config prints those as comments).
#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/config_reader.hpp"

namespace llmproxy::core::detail {

enum class ConfigDialect { kNative, kPythonLlmProxy, kGoLlmProxy, kMultiVendor, kLiteLlm };

/// Which format `root` is written in (kNative for anything not recognised as another one).
ConfigDialect DetectDialect(const YAML::Node& root);

/// "a Go LLMProxy config", for the log line at start and convert-config's header.
std::string_view DialectName(ConfigDialect dialect);

/// The native tree of a foreign file (kNative: `root` itself). Problems go to `r`.
YAML::Node ToNative(Reader& r, ConfigDialect dialect, const YAML::Node& root);

YAML::Node FromPythonLlmProxy(Reader& r, const YAML::Node& root);
YAML::Node FromGoLlmProxy(Reader& r, const YAML::Node& root);
YAML::Node FromMultiVendor(Reader& r, const YAML::Node& root);
YAML::Node FromLiteLlm(Reader& r, const YAML::Node& root);

/// What LiteLLM's router_settings / litellm_settings set for every deployment.
// Strings, not the user's nodes: a node placed under every provider would print as a YAML alias.
struct LiteLlmDefaults {
    std::optional<std::string> timeout;        // providers[].timeouts.total
    std::optional<std::string> allowed_fails;  // providers[].circuit_breaker.failure_threshold
    std::optional<std::string> cooldown;       // providers[].circuit_breaker.base_ejection
};
void LiteLlmSettings(Reader& r, const YAML::Node& root, YAML::Node& native, LiteLlmDefaults& defaults);

// Helpers shared by the converters.

// A missing key's node is "invalid" in yaml-cpp: asking its type throws. These ask safely.
inline bool IsMapNode(const YAML::Node& n) {
    return n.IsDefined() && n.IsMap();
}
inline bool IsListNode(const YAML::Node& n) {
    return n.IsDefined() && n.IsSequence();
}

/// `to[key] = from`, when `from` is present (the node itself: its position is kept).
inline void Carry(YAML::Node to, const char* key, const YAML::Node& from) {
    if (from.IsDefined() && !from.IsNull()) to[key] = from;
}

/// A scalar the converter writes itself (no position of its own).
inline YAML::Node Scalar(const std::string& value) {
    return YAML::Node(value);
}

/// "host:port" for server.listen from a host and a port (either may be absent).
std::string ListenAddress(Reader& r, const YAML::Node& server, const std::string& path, const std::string& default_host,
                          int default_port);

/// A number of seconds (30, 1.5) as a native duration ("30s", "1500ms"); nullopt, with an
/// error at `node`, when it is not a positive number.
std::optional<std::string> SecondsToDuration(Reader& r, const YAML::Node& node, const std::string& path);

/// A boolean read the native way (true/false/yes/no/on/off), with an error when it is neither.
bool Flag(Reader& r, const YAML::Node& map, const std::string& path, const char* key, bool fallback);

}  // namespace llmproxy::core::detail
