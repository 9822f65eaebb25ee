#pragma once
#include <string>
#include <string_view>

namespace llmproxy::core {

/// Appends `text` to `out` as a JSON string literal, quotes included.
void AppendJsonString(std::string& out, std::string_view text);

/// Appends `,"name":"value"` (value escaped): one member of an object being built by hand.
inline void AppendJsonField(std::string& out, std::string_view name, std::string_view value) {
    out += ",\"";
    out += name;
    out += "\":";
    AppendJsonString(out, value);
}

/// Appends `text` as a JSON string, or null when it is empty.
inline void AppendJsonStringOrNull(std::string& out, std::string_view text) {
    if (text.empty())
        out += "null";
    else
        AppendJsonString(out, text);
}

inline std::string JsonString(std::string_view text) {
    std::string out;
    AppendJsonString(out, text);
    return out;
}

}  // namespace llmproxy::core
