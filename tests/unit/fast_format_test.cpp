#include "core/fast_format.hpp"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <random>
#include <string>

namespace llmproxy::core {
namespace {

std::string Millis3(double value) {
    std::string out;
    AppendMillis3(out, value);
    return out;
}

TEST(FastFormat, Millis3HasThreeDecimals) {
    EXPECT_EQ(Millis3(0), "0.000");
    EXPECT_EQ(Millis3(12.5), "12.500");
    EXPECT_EQ(Millis3(1234.5678), "1234.568");
    EXPECT_EQ(Millis3(0.0004), "0.000");
    EXPECT_EQ(Millis3(0.0996), "0.100");
    EXPECT_EQ(Millis3(999.9996), "1000.000");
    EXPECT_EQ(Millis3(7.07), "7.070");
}

TEST(FastFormat, Millis3OutsideTheFastRangeStillFormats) {
    EXPECT_EQ(Millis3(-1.25), "-1.250");
    EXPECT_EQ(Millis3(2e12), "2000000000000.000");
    EXPECT_EQ(Millis3(std::nan("")), "nan");
}

// Whatever the value, the text reads back within half a thousandth of it.
TEST(FastFormat, Millis3ReadsBackWithinHalfAThousandth) {
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> scale(-3, 9);
    for (int i = 0; i < 100000; ++i) {
        const double value = std::pow(10.0, scale(rng));
        const std::string text = Millis3(value);
        const auto dot = text.find('.');
        ASSERT_NE(dot, std::string::npos) << text;
        ASSERT_EQ(text.size() - dot, 4u) << text;
        double back = 0;
        std::from_chars(text.data(), text.data() + text.size(), back);
        ASSERT_LE(std::abs(back - value), 0.0005 + value * 1e-15) << value << " -> " << text;
    }
}

}  // namespace
}  // namespace llmproxy::core
