#pragma once
// Parsing of human-friendly durations ("250ms", "10s", "2m") and sizes ("32MiB").
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace llmproxy::core {

/// "150ms", "2s", "1.5s", "3m", "1h"; a bare number means seconds.
std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text);

/// "1024", "64KiB", "32MiB", "1GiB", "10KB", "5MB" (KB/MB = 1000-based).
std::optional<std::uint64_t> ParseSize(std::string_view text);

/// Glob match with '*' (any run) and '?' (one char); used for model names.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace llmproxy::core
