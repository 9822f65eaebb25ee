#pragma once
// Number and time formatting for per-request lines (access log, usage events) without printf:
// std::to_chars is locale-free and several times faster, and the date part of a timestamp is
// cached per second.
#include <cstdint>
#include <string>

namespace llmproxy::core {

/// Appends `value` with exactly three decimals ("12.500").
void AppendMillis3(std::string& out, double value);
/// Appends `value` in decimal (no temporary string).
void AppendInt(std::string& out, std::int64_t value);
/// Appends "2026-11-22T00:00:38.123Z" for a unix time in milliseconds.
void AppendUtcTimestamp(std::string& out, std::int64_t unix_ms);

}  // namespace llmproxy::core
