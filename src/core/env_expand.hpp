#pragma once
// ${VAR} and ${VAR:-default} expansion for configuration values.
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace llmproxy::core {

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

struct ExpandResult {
    std::string value;
    std::vector<std::string> unset;  // ${VAR} without default whose VAR is not set (expanded empty)
    std::string error;               // malformed reference, e.g. "${" without "}"
};

/// Expands every ${VAR} / ${VAR:-default} in text. "$$" is a literal "$".
/// `lookup` defaults to getenv.
ExpandResult ExpandEnv(std::string_view text, const EnvLookup& lookup = {});

}  // namespace llmproxy::core
