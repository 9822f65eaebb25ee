#include "core/string_pool.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace llmproxy::core {
namespace {

// Each test on its own thread: the pool is per thread, so it starts empty.
template <class Body>
void OnFreshThread(Body body) {
    std::thread(body).join();
}

std::string Sized(std::size_t capacity) {
    std::string s;
    s.reserve(capacity);
    return s;
}

TEST(StringPool, AStringGivenBackIsTakenAgain) {
    OnFreshThread([] {
        (void)TakeString(1);  // the pool exists from the first take
        std::string s = Sized(1000);
        s = "some text";
        const char* buffer = s.data();
        GiveBack(std::move(s));
        const std::string again = TakeString(900);
        EXPECT_EQ(again.data(), buffer);
        EXPECT_TRUE(again.empty());
        EXPECT_GE(again.capacity(), 900u);
    });
}

TEST(StringPool, TheLastGivenBackThatFitsIsTaken) {
    OnFreshThread([] {
        (void)TakeString(1);
        std::vector<const char*> buffers;
        for (std::size_t capacity : {300u, 1100u, 600u, 520u}) {
            std::string s = Sized(capacity);
            buffers.push_back(s.data());
            GiveBack(std::move(s));
        }
        EXPECT_EQ(TakeString(500).data(), buffers[3]);  // 520, the last given back
        EXPECT_EQ(TakeString(500).data(), buffers[2]);  // then 600
        EXPECT_EQ(TakeString(500).data(), buffers[1]);  // 1100 <= 2 * 500 + 256
        EXPECT_NE(TakeString(600).data(), buffers[0]);  // 300 is too small: a new one
        EXPECT_EQ(TakeString(100).data(), buffers[0]);  // 300 <= 2 * 100 + 256
    });
}

TEST(StringPool, AMuchLargerStringIsNotTakenForAShortOne) {
    OnFreshThread([] {
        (void)TakeString(1);
        std::string big = Sized(8192);
        const char* buffer = big.data();
        GiveBack(std::move(big));
        const std::string small = TakeString(100);
        EXPECT_NE(small.data(), buffer);
        EXPECT_LT(small.capacity(), 8192u);
        EXPECT_EQ(TakeString(5000).data(), buffer);  // still kept, for a request that fits it
    });
}

// How many of `count` strings given back (capacities base+1 .. base+count) come back from takes
// of `base`: a new string for TakeString(base) has exactly `base` (addresses would not tell: a
// freed buffer's address comes back from malloc).
std::size_t Reused(std::size_t base, std::size_t count) {
    for (std::size_t i = 1; i <= count; ++i) GiveBack(Sized(base + i));
    std::size_t reused = 0;
    std::vector<std::string> taken;
    for (std::size_t i = 0; i < count; ++i) {
        taken.push_back(TakeString(base));
        if (taken.back().capacity() != base) ++reused;
    }
    return reused;
}

TEST(StringPool, WhatIsKeptIsBoundedInNumber) {
    OnFreshThread([] {
        (void)TakeString(1);
        const std::size_t reused = Reused(2000, 600);
        EXPECT_EQ(reused, kKept);  // 256 x ~2.3 KB: within the bytes
    });
}

TEST(StringPool, WhatIsKeptIsBoundedInBytes) {
    OnFreshThread([] {
        (void)TakeString(1);
        const std::size_t reused = Reused(8000, 200);
        EXPECT_GT(reused, 100u);
        EXPECT_LE(reused * 8000, kMaxKeptBytes);
    });
}

TEST(StringPool, ReserveKeepsTheContent) {
    OnFreshThread([] {
        std::string s = "0123456789";
        Reserve(s, 5000);
        EXPECT_EQ(s, "0123456789");
        EXPECT_GE(s.capacity(), 5000u);
    });
}

}  // namespace
}  // namespace llmproxy::core
