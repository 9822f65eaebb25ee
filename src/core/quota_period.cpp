#include "core/quota_period.hpp"

#include <chrono>
#include <cstdio>
#include <limits>

namespace llmproxy::core {
namespace {

using namespace std::chrono;

sys_days DayOf(std::int64_t unix_s) {
    return floor<days>(sys_seconds{seconds{unix_s}});
}

std::int64_t ToUnix(sys_days d) {
    return duration_cast<seconds>(d.time_since_epoch()).count();
}

}  // namespace

std::optional<QuotaPeriod> ParseQuotaPeriod(std::string_view text) {
    if (text == "never" || text.empty()) return QuotaPeriod::kNever;
    if (text == "daily") return QuotaPeriod::kDaily;
    if (text == "weekly") return QuotaPeriod::kWeekly;
    if (text == "monthly") return QuotaPeriod::kMonthly;
    return std::nullopt;
}

const char* QuotaPeriodName(QuotaPeriod p) {
    switch (p) {
        case QuotaPeriod::kDaily:
            return "daily";
        case QuotaPeriod::kWeekly:
            return "weekly";
        case QuotaPeriod::kMonthly:
            return "monthly";
        case QuotaPeriod::kNever:
            break;
    }
    return "never";
}

std::int64_t PeriodStart(QuotaPeriod p, std::int64_t now_s) {
    const sys_days day = DayOf(now_s);
    switch (p) {
        case QuotaPeriod::kDaily:
            return ToUnix(day);
        case QuotaPeriod::kWeekly: {
            const weekday wd{day};
            return ToUnix(day - (wd - Monday));  // weekday difference is always 0..6 days
        }
        case QuotaPeriod::kMonthly: {
            const year_month_day ymd{day};
            return ToUnix(sys_days{ymd.year() / ymd.month() / 1});
        }
        case QuotaPeriod::kNever:
            break;
    }
    return 0;
}

std::int64_t PeriodEnd(QuotaPeriod p, std::int64_t now_s) {
    const sys_days start = DayOf(PeriodStart(p, now_s));
    switch (p) {
        case QuotaPeriod::kDaily:
            return ToUnix(start + days{1});
        case QuotaPeriod::kWeekly:
            return ToUnix(start + days{7});
        case QuotaPeriod::kMonthly: {
            const year_month_day ymd{start};
            return ToUnix(sys_days{(ymd.year() / ymd.month() + months{1}) / 1});
        }
        case QuotaPeriod::kNever:
            break;
    }
    return std::numeric_limits<std::int64_t>::max();
}

std::optional<std::int64_t> ParseUtcTime(std::string_view text) {
    int y, mo, d, h, mi, s;
    char z = 0;
    const std::string copy(text);
    if (std::sscanf(copy.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 || z != 'Z') {
        return std::nullopt;
    }
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok() || h > 23 || mi > 59 || s > 60 || h < 0 || mi < 0 || s < 0) return std::nullopt;
    return ToUnix(sys_days{ymd}) + h * 3600 + mi * 60 + s;
}

std::string FormatUtcTime(std::int64_t unix_s) {
    const sys_days day = DayOf(unix_s);
    const year_month_day ymd{day};
    const std::int64_t sec = unix_s - ToUnix(day);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), static_cast<int>(sec / 3600),
                  static_cast<int>(sec / 60 % 60), static_cast<int>(sec % 60));
    return buf;
}

}  // namespace llmproxy::core
