#include <gtest/gtest.h>

#include "core/quota_period.hpp"

using namespace llmproxy::core;

namespace {
std::int64_t T(const char* utc) {
    return *ParseUtcTime(utc);
}
}  // namespace

TEST(QuotaPeriod, DailyBoundariesAreUtcMidnight) {
    EXPECT_EQ(PeriodStart(QuotaPeriod::kDaily, T("2026-03-14T23:59:59Z")), T("2026-03-14T00:00:00Z"));
    EXPECT_EQ(PeriodStart(QuotaPeriod::kDaily, T("2026-03-15T00:00:00Z")), T("2026-03-15T00:00:00Z"));
    EXPECT_EQ(PeriodEnd(QuotaPeriod::kDaily, T("2026-03-14T12:00:00Z")), T("2026-03-15T00:00:00Z"));
}

TEST(QuotaPeriod, WeeklyStartsOnMonday) {
    // 2026-11-22 is a Sunday; its week began Monday 2026-11-16.
    EXPECT_EQ(PeriodStart(QuotaPeriod::kWeekly, T("2026-11-22T23:00:00Z")), T("2026-11-16T00:00:00Z"));
    EXPECT_EQ(PeriodStart(QuotaPeriod::kWeekly, T("2026-11-23T00:00:00Z")), T("2026-11-23T00:00:00Z"));
    EXPECT_EQ(PeriodEnd(QuotaPeriod::kWeekly, T("2026-11-16T00:00:00Z")), T("2026-11-23T00:00:00Z"));
    // Across a year boundary: 2027-01-01 is a Friday.
    EXPECT_EQ(PeriodStart(QuotaPeriod::kWeekly, T("2027-01-01T08:00:00Z")), T("2026-12-28T00:00:00Z"));
}

TEST(QuotaPeriod, MonthlyEndOfMonthAndLeapDay) {
    EXPECT_EQ(PeriodStart(QuotaPeriod::kMonthly, T("2026-01-31T23:59:59Z")), T("2026-01-01T00:00:00Z"));
    EXPECT_EQ(PeriodEnd(QuotaPeriod::kMonthly, T("2026-01-31T23:59:59Z")), T("2026-02-01T00:00:00Z"));
    EXPECT_EQ(PeriodEnd(QuotaPeriod::kMonthly, T("2026-12-31T23:59:59Z")), T("2027-01-01T00:00:00Z"));
    // 2028 is a leap year: Feb 29 belongs to February, March starts after it.
    EXPECT_EQ(PeriodStart(QuotaPeriod::kMonthly, T("2028-02-29T12:00:00Z")), T("2028-02-01T00:00:00Z"));
    EXPECT_EQ(PeriodEnd(QuotaPeriod::kMonthly, T("2028-02-29T12:00:00Z")), T("2028-03-01T00:00:00Z"));
    EXPECT_EQ(PeriodEnd(QuotaPeriod::kDaily, T("2028-02-28T12:00:00Z")), T("2028-02-29T00:00:00Z"));
    EXPECT_EQ(PeriodEnd(QuotaPeriod::kMonthly, T("2027-02-10T00:00:00Z")) - T("2027-02-01T00:00:00Z"), 28 * 86400);
}

TEST(QuotaPeriod, NeverAndParsing) {
    EXPECT_EQ(PeriodStart(QuotaPeriod::kNever, T("2026-05-05T05:05:05Z")), 0);
    EXPECT_EQ(PeriodEnd(QuotaPeriod::kNever, 0), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(*ParseQuotaPeriod("monthly"), QuotaPeriod::kMonthly);
    EXPECT_FALSE(ParseQuotaPeriod("hourly"));
    EXPECT_FALSE(ParseUtcTime("2027-02-29T00:00:00Z"));  // not a leap year
    EXPECT_FALSE(ParseUtcTime("2026-01-01 00:00:00"));
    EXPECT_EQ(FormatUtcTime(T("2028-02-29T23:59:58Z")), "2028-02-29T23:59:58Z");
}
