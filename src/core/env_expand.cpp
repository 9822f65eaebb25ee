#include "core/env_expand.hpp"

#include <cstdlib>

namespace llmproxy::core {

ExpandResult ExpandEnv(std::string_view text, const EnvLookup& lookup) {
    ExpandResult out;
    auto get = [&](const std::string& name) -> std::optional<std::string> {
        if (lookup) return lookup(name);
        const char* v = std::getenv(name.c_str());
        if (!v) return std::nullopt;
        return std::string(v);
    };
    out.value.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c != '$' || i + 1 >= text.size()) {
            out.value.push_back(c);
            continue;
        }
        if (text[i + 1] == '$') {  // "$$" escapes a dollar sign
            out.value.push_back('$');
            ++i;
            continue;
        }
        if (text[i + 1] != '{') {
            out.value.push_back(c);
            continue;
        }
        auto close = text.find('}', i + 2);
        if (close == std::string_view::npos) {
            out.error = "unterminated '${' in \"" + std::string(text) + "\"";
            return out;
        }
        std::string_view inner = text.substr(i + 2, close - i - 2);
        std::string name(inner);
        std::optional<std::string> fallback;
        if (auto sep = inner.find(":-"); sep != std::string_view::npos) {
            name = std::string(inner.substr(0, sep));
            fallback = std::string(inner.substr(sep + 2));
        }
        if (name.empty()) {
            out.error = "empty variable name in \"" + std::string(text) + "\"";
            return out;
        }
        auto value = get(name);
        if (value && !value->empty()) {
            out.value += *value;
        } else if (fallback) {
            out.value += *fallback;
        } else if (!value) {
            out.unset.push_back(name);
        }
        i = close;
    }
    return out;
}

}  // namespace llmproxy::core
