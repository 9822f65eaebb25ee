#pragma once
// Quota windows and UTC timestamps. A quota resets at a UTC boundary: midnight (daily),
// Monday midnight (weekly, ISO weeks) or the 1st of the month at midnight (monthly).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"

namespace llmproxy::core {

std::optional<QuotaPeriod> ParseQuotaPeriod(std::string_view text);
const char* QuotaPeriodName(QuotaPeriod p);

/// Unix seconds at which the window containing `now_s` began (0 for kNever).
std::int64_t PeriodStart(QuotaPeriod p, std::int64_t now_s);
/// Unix seconds at which that window ends (INT64_MAX for kNever).
std::int64_t PeriodEnd(QuotaPeriod p, std::int64_t now_s);

/// "2026-12-31T23:59:59Z" (UTC only) -> unix seconds.
std::optional<std::int64_t> ParseUtcTime(std::string_view text);
std::string FormatUtcTime(std::int64_t unix_s);

}  // namespace llmproxy::core
