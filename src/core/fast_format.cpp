#include "core/fast_format.hpp"

#include <charconv>
#include <cmath>
#include <ctime>

namespace llmproxy::core {

void AppendMillis3(std::string& out, double value) {
    // Latencies are small and non-negative: thousandths as an integer (to_chars of a double in
    // fixed notation costs ~300 instructions, twice a request). Anything else takes to_chars.
    if (value >= 0 && value < 1e12) {
        const auto thousandths = static_cast<std::int64_t>(value * 1000 + 0.5);
        AppendInt(out, thousandths / 1000);
        const auto fraction = static_cast<int>(thousandths % 1000);
        const char digits[3] = {static_cast<char>('0' + fraction / 100), static_cast<char>('0' + fraction / 10 % 10),
                                static_cast<char>('0' + fraction % 10)};
        out += '.';
        out.append(digits, 3);
        return;
    }
    char buf[48];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::fixed, 3);
    if (ec != std::errc()) {
        out += "0.000";
        return;
    }
    out.append(buf, end);
}

void AppendInt(std::string& out, std::int64_t value) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    out.append(buf, end);
}

void AppendUtcTimestamp(std::string& out, std::int64_t unix_ms) {
    thread_local std::int64_t cached_second = -1;
    thread_local char cached[24];  // "YYYY-MM-DDTHH:MM:SS"
    const std::int64_t second = unix_ms / 1000;
    if (second != cached_second) {
        std::time_t t = static_cast<std::time_t>(second);
        std::tm tm{};
        gmtime_r(&t, &tm);
        std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
        cached_second = second;
    }
    out.append(cached, 19);
    const int ms = static_cast<int>(unix_ms % 1000);
    char frac[5] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                    static_cast<char>('0' + ms % 10), 'Z'};
    out.append(frac, 5);
}

}  // namespace llmproxy::core
