#pragma once
// The effective configuration: the YAML file with what the store holds laid over it. The store
// wins for the objects it holds (providers by name, routing.models entries by model name); the
// result is validated by the same loader as a file, so a provider from an admin call or a
// store row is checked by exactly the code that checks one in YAML.
#include <cstdint>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/config.hpp"

namespace llmproxy::core {

struct StoredProvider {
    std::int64_t id = 0;
    std::string name;
    bool enabled = true;  // a disabled one is left out (and hides a file provider of its name)
    std::string spec;     // JSON object: the provider's YAML keys, without name
};

struct StoredRoute {
    std::string model;
    std::string spec;  // JSON object: strategy, fallback_models, targets
};

struct ConfigOverlay {
    std::vector<StoredProvider> providers;
    std::vector<StoredRoute> routes;
};

/// `yaml` is the file's text (named `source` in errors). Stored values are taken literally
/// (no ${ENV} expansion: a row must not read the gateway's environment). Targets of a route
/// that name a disabled provider are dropped; a route left without targets is dropped too.
ConfigResult LoadEffectiveConfig(const std::string& yaml, const std::string& source, const ConfigOverlay& overlay);

/// One provider checked on its own (every field; not how it fits with the rest): errors name
/// its fields ("request: base_url: must start with http:// or https://").
std::vector<std::string> CheckStoredProvider(const StoredProvider& provider);

/// A JSON document as a YAML node, strings escaped against ${ENV} expansion. Throws
/// std::invalid_argument when `json` does not parse.
YAML::Node JsonToYaml(const std::string& json);

}  // namespace llmproxy::core
