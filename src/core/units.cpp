#include "core/units.hpp"

#include <charconv>
#include <cmath>
#include <string>

namespace llmproxy::core {
namespace {

std::optional<double> LeadingNumber(std::string_view text, std::string_view& rest) {
    std::size_t i = 0;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
        ++i;
    }
    if (i == 0) return std::nullopt;
    double value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, value);
    if (ec != std::errc() || ptr != text.data() + i) return std::nullopt;
    rest = text.substr(i);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    return value;
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
    std::string_view unit;
    auto value = LeadingNumber(text, unit);
    if (!value) return std::nullopt;
    double ms;
    if (unit.empty() || unit == "s")
        ms = *value * 1000;
    else if (unit == "ms")
        ms = *value;
    else if (unit == "m")
        ms = *value * 60'000;
    else if (unit == "h")
        ms = *value * 3'600'000;
    else
        return std::nullopt;
    if (!(ms < 1e15)) return std::nullopt;  // ~30,000 years: also rejects inf/NaN before the cast
    return std::chrono::milliseconds(static_cast<long long>(std::llround(ms)));
}

std::optional<std::uint64_t> ParseSize(std::string_view text) {
    std::string_view unit;
    auto value = LeadingNumber(text, unit);
    if (!value) return std::nullopt;
    double mult;
    if (unit.empty() || unit == "B")
        mult = 1;
    else if (unit == "KiB")
        mult = 1024.0;
    else if (unit == "MiB")
        mult = 1024.0 * 1024;
    else if (unit == "GiB")
        mult = 1024.0 * 1024 * 1024;
    else if (unit == "KB")
        mult = 1e3;
    else if (unit == "MB")
        mult = 1e6;
    else if (unit == "GB")
        mult = 1e9;
    else
        return std::nullopt;
    const double bytes = *value * mult;
    if (!(bytes < 1e18)) return std::nullopt;  // out of range for uint64 (found by fuzz_config)
    return static_cast<std::uint64_t>(bytes);
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
    // Iterative matcher with single backtrack point: linear for patterns with one '*'.
    std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
    while (t < text.size()) {
        if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
            ++p;
            ++t;
        } else if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = t;
        } else if (star != std::string_view::npos) {
            p = star + 1;
            t = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

}  // namespace llmproxy::core
