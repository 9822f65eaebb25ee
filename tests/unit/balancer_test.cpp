#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "proxy/balancer.hpp"

using namespace llmproxy::proxy;

TEST(SmoothWrr, SequenceIsSpreadLikeNginx) {
    SmoothWeightedRoundRobin b;
    std::vector<Candidate> c{{0, 5}, {1, 1}, {2, 1}};
    std::string seq;
    for (int i = 0; i < 7; ++i) seq += static_cast<char>('a' + b.Pick(c, {}));
    EXPECT_EQ(seq, "aabacaa");
}

TEST(SmoothWrr, ExactShareOverEveryCycle) {
    SmoothWeightedRoundRobin b;
    std::vector<Candidate> c{{0, 3}, {1, 2}, {2, 5}};
    std::map<std::size_t, int> count;
    for (int i = 0; i < 1000; ++i) count[b.Pick(c, {})]++;
    EXPECT_EQ(count[0], 300);
    EXPECT_EQ(count[1], 200);
    EXPECT_EQ(count[2], 500);
}

TEST(SmoothWrr, ZeroWeightAndExclusions) {
    SmoothWeightedRoundRobin b;
    std::vector<Candidate> c{{0, 0}, {1, 1}, {2, 1}};
    bool excluded[3] = {false, true, false};
    for (int i = 0; i < 10; ++i) EXPECT_EQ(b.Pick(c, excluded), 2u);
    bool all[3] = {true, true, true};
    EXPECT_EQ(b.Pick(c, all), SIZE_MAX);
    std::vector<Candidate> none{{0, 0}};
    EXPECT_EQ(b.Pick(none, {}), SIZE_MAX);
}

TEST(RoundRobin, IgnoresWeightsButNotZero) {
    RoundRobin b;
    std::vector<Candidate> c{{0, 9}, {1, 1}, {2, 0}};
    std::string seq;
    for (int i = 0; i < 4; ++i) seq += static_cast<char>('a' + b.Pick(c, {}));
    EXPECT_EQ(seq, "abab");
}

TEST(MakeBalancer, ByName) {
    EXPECT_NE(dynamic_cast<RoundRobin*>(MakeBalancer("round_robin").get()), nullptr);
    EXPECT_NE(dynamic_cast<SmoothWeightedRoundRobin*>(MakeBalancer("weighted_round_robin").get()), nullptr);
}
