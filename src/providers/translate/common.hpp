#pragma once
// What the translators between OpenAI chat and Anthropic Messages share: reading a JSON DOM
// without exceptions, tool ids both sides accept, and the stop reason mapping.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json.hpp>

namespace llmproxy::providers::translate {

namespace json = boost::json;

/// `obj[key]` as a string, or empty when absent or not a string.
inline std::string_view StringOf(const json::object& obj, std::string_view key) {
    const json::value* v = obj.if_contains(key);
    if (!v || !v->is_string()) return {};
    const json::string& s = v->get_string();
    return {s.data(), s.size()};
}

/// Whether `v` is the string `s`.
inline bool IsString(const json::value& v, std::string_view s) {
    return v.is_string() && std::string_view(v.get_string()) == s;
}

/// Whether `obj[key]` is the boolean `b`.
inline bool IsBool(const json::object& obj, std::string_view key, bool b) {
    const json::value* v = obj.if_contains(key);
    return v && v->is_bool() && v->get_bool() == b;
}

inline const json::object* ObjectOf(const json::object& obj, std::string_view key) {
    const json::value* v = obj.if_contains(key);
    return v && v->is_object() ? &v->get_object() : nullptr;
}

inline const json::array* ArrayOf(const json::object& obj, std::string_view key) {
    const json::value* v = obj.if_contains(key);
    return v && v->is_array() ? &v->get_array() : nullptr;
}

/// `obj[key]` as an integer within +-2^53 (an upstream's absurd token count must not overflow
/// the sums made of it), or `otherwise` when absent or not a number.
inline std::int64_t IntOf(const json::object& obj, std::string_view key, std::int64_t otherwise = 0) {
    constexpr std::int64_t kLimit = std::int64_t{1} << 53;
    const json::value* v = obj.if_contains(key);
    if (!v) return otherwise;
    if (v->is_int64()) return std::clamp(v->get_int64(), -kLimit, kLimit);
    if (v->is_uint64()) return static_cast<std::int64_t>(std::min<std::uint64_t>(v->get_uint64(), kLimit));
    if (v->is_double()) {
        const double d = v->get_double();
        if (!(d == d)) return otherwise;  // NaN
        return static_cast<std::int64_t>(std::clamp(d, -static_cast<double>(kLimit), static_cast<double>(kLimit)));
    }
    return otherwise;
}

/// A tool id both dialects accept: Anthropic requires ^[a-zA-Z0-9_-]+$, while some OpenAI
/// upstreams (Kimi, DeepSeek) send "functions.Bash:0". Deterministic, so the id the client sends
/// back with the tool's result matches the one it was given.
std::string NormalizeToolId(std::string_view id, std::size_t ordinal);

/// OpenAI finish_reason -> Anthropic stop_reason.
std::string_view StopReasonOf(std::string_view finish_reason, bool saw_tool_call);
/// Anthropic stop_reason -> OpenAI finish_reason.
std::string_view FinishReasonOf(std::string_view stop_reason);

/// `stream: true` of the client's request carried to a chat request, asking for stream usage
/// unless the provider refuses it.
void CopyStreamFlag(const json::object& in, bool stream_usage, json::object& out);

/// A JSON DOM parsed without throwing; null on malformed input.
json::value ParseOrNull(std::string_view text);

/// The strings of `values` that are not blank (stop sequences: Anthropic refuses blank ones).
json::array NonBlankStrings(const json::array& values);

}  // namespace llmproxy::providers::translate
