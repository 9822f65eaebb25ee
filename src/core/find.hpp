#pragma once
// Substring search with glibc's memmem: std::string_view::find looks for the first character
// with memchr and compares at every hit, which is slow for JSON, where '"' is everywhere.
#include <cstring>
#include <string_view>

namespace llmproxy::core {

inline std::size_t Find(std::string_view haystack, std::string_view needle, std::size_t from = 0) {
    if (from > haystack.size() || needle.size() > haystack.size() - from) return std::string_view::npos;
    if (needle.empty()) return from;  // (and memmem must not see the null of an empty view)
    const void* at = ::memmem(haystack.data() + from, haystack.size() - from, needle.data(), needle.size());
    return at ? static_cast<std::size_t>(static_cast<const char*>(at) - haystack.data()) : std::string_view::npos;
}

inline bool Contains(std::string_view haystack, std::string_view needle) {
    return Find(haystack, needle) != std::string_view::npos;
}

}  // namespace llmproxy::core
