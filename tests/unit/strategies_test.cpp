#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include "proxy/balancer.hpp"

using namespace llmproxy::proxy;
using llmproxy::core::CircuitBreakerConfig;

namespace {
std::vector<std::shared_ptr<ProviderHealth>> Health(int n) {
    std::vector<std::shared_ptr<ProviderHealth>> v;
    for (int i = 0; i < n; ++i) v.push_back(std::make_unique<ProviderHealth>(CircuitBreakerConfig{}));
    return v;
}
}  // namespace

TEST(WeightedRandom, FollowsWeights) {
    WeightedRandom b(42);
    std::vector<Candidate> c{{0, 1}, {1, 3}};
    std::map<std::size_t, int> n;
    for (int i = 0; i < 20000; ++i) n[b.Pick(c, {})]++;
    EXPECT_NEAR(n[1] / 20000.0, 0.75, 0.02);
    bool excluded[2] = {false, true};
    for (int i = 0; i < 50; ++i) EXPECT_EQ(b.Pick(c, excluded), 0u);
    bool all[2] = {true, true};
    EXPECT_EQ(b.Pick(c, all), Balancer::kNone);
}

TEST(LeastConnections, FewestInFlightThenWeightThenRotation) {
    auto h = Health(3);
    LeastConnections b;
    std::vector<Candidate> c{{0, 1}, {1, 1}, {2, 5}};
    h[0]->BeginRequest();
    h[0]->BeginRequest();
    h[2]->BeginRequest();
    EXPECT_EQ(b.Pick(PickInput{c, {}, h, 0}), 1u);  // 1 has none in flight
    h[1]->BeginRequest();
    EXPECT_EQ(b.Pick(PickInput{c, {}, h, 0}), 2u);  // tie (1 vs 1) -> higher weight
    h[2]->EndRequest();
    h[1]->EndRequest();
    std::map<std::size_t, int> n;  // 1 and 2 tie at zero: weight picks 2 every time
    for (int i = 0; i < 10; ++i) n[b.Pick(PickInput{c, {}, h, 0})]++;
    EXPECT_EQ(n[2], 10);
    std::vector<Candidate> equal{{0, 1}, {1, 1}};  // perfect tie: rotate
    h[0]->EndRequest();
    h[0]->EndRequest();
    n.clear();
    for (int i = 0; i < 10; ++i) n[b.Pick(PickInput{equal, {}, h, 0})]++;
    EXPECT_EQ(n[0], 5);
    EXPECT_EQ(n[1], 5);
}

TEST(LatencyBased, PrefersLowerScoreAndProbesUntried) {
    auto h = Health(2);
    LatencyBased b(7);
    std::vector<Candidate> c{{0, 1}, {1, 1}};
    h[0]->OnSuccess(1000, 50.0);
    EXPECT_EQ(b.Pick(PickInput{c, {}, h, 1000}), 1u);  // untried (score 0) wins
    h[1]->OnSuccess(1000, 5.0);
    int fast = 0;
    for (int i = 0; i < 100; ++i) fast += b.Pick(PickInput{c, {}, h, 1000}) == 1;
    EXPECT_EQ(fast, 100);
    // Load counts: many in flight on the fast one makes the slow one win.
    for (int i = 0; i < 20; ++i) h[1]->BeginRequest();
    EXPECT_EQ(b.Pick(PickInput{c, {}, h, 1000}), 0u);
}

TEST(LatencyBased, UnusedTargetScoreDecays) {
    auto h = Health(1);
    h[0]->OnSuccess(0, 100.0);
    EXPECT_DOUBLE_EQ(h[0]->LatencyScore(0), 100.0);
    EXPECT_LT(h[0]->LatencyScore(30'000), 100.0 * 0.06);  // e^-3
}

TEST(MakeBalancer, EveryStrategyByName) {
    EXPECT_NE(dynamic_cast<WeightedRandom*>(MakeBalancer("weighted_random").get()), nullptr);
    EXPECT_NE(dynamic_cast<LeastConnections*>(MakeBalancer("least_connections").get()), nullptr);
    EXPECT_NE(dynamic_cast<LatencyBased*>(MakeBalancer("latency_based").get()), nullptr);
}

TEST(AllStrategies, AllUnhealthyOrExcludedGivesNone) {
    std::vector<Candidate> c{{0, 1}, {1, 2}};
    bool all[2] = {true, true};
    for (auto name : {"round_robin", "weighted_round_robin", "weighted_random", "least_connections", "latency_based"}) {
        auto b = MakeBalancer(name, 3);
        EXPECT_EQ(b->Pick(c, all), Balancer::kNone) << name;
        EXPECT_NE(b->Pick(c, {}), Balancer::kNone) << name;
    }
}
