#include <gtest/gtest.h>

#include "core/config.hpp"
#include "proxy/target_selector.hpp"

using namespace llmproxy;
using namespace llmproxy::proxy;

namespace {
struct Fixture {
    explicit Fixture(const std::string& yaml) {
        auto r = core::LoadConfigString(yaml, "t.yaml");
        EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors[0]);
        config = r.config;
        routes = std::make_unique<RouteTable>(config);
        for (const auto& p : config->providers) health.push_back(std::make_unique<ProviderHealth>(p.circuit_breaker));
    }
    std::shared_ptr<const core::Config> config;
    std::unique_ptr<RouteTable> routes;
    std::vector<std::shared_ptr<ProviderHealth>> health;
};

const char* kYaml = R"(
providers:
  - { name: a, base_url: "http://h:1", models: ["m"], circuit_breaker: { failure_threshold: 1 } }
  - { name: b, base_url: "http://h:2", models: ["m"], circuit_breaker: { failure_threshold: 1 } }
  - { name: c, base_url: "http://h:3", models: ["other"] }
routing:
  strategy: round_robin
  fallback: [ { primary: a, fallback: [c] } ]
)";
}  // namespace

TEST(TargetSelector, PrefersUntriedHealthyTargets) {
    Fixture f(kYaml);
    TargetSelector sel(*f.routes, f.health);
    RoundRobin rr;
    const Route& route = *f.routes->Resolve("m").route;
    TriedProviders tried(3, false);
    tried[0] = true;
    auto s = sel.Select(route, rr, tried, SIZE_MAX, 0);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->provider, 1u);
    EXPECT_FALSE(s->panic);
}

TEST(TargetSelector, FailedPrimaryGoesToItsFallbackFirst) {
    Fixture f(kYaml);
    TargetSelector sel(*f.routes, f.health);
    RoundRobin rr;
    TriedProviders tried{true, false, false};
    auto s = sel.Select(*f.routes->Resolve("m").route, rr, tried, 0, 0);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->provider, 2u);  // c, although it does not list "m"
    EXPECT_TRUE(s->fallback);
}

TEST(TargetSelector, SkipsEjectedButNeverLeavesNoTarget) {
    Fixture f(kYaml);
    TargetSelector sel(*f.routes, f.health);
    RoundRobin rr;
    const Route& route = *f.routes->Resolve("m").route;
    f.health[0]->OnFailure(0, "down");  // threshold 1: ejected
    TriedProviders tried(3, false);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(sel.Select(route, rr, tried, SIZE_MAX, 1)->provider, 1u);
    f.health[1]->OnFailure(1, "down");
    auto s = sel.Select(route, rr, tried, SIZE_MAX, 2);  // both ejected: panic, still a target
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->panic);
    tried[0] = tried[1] = true;
    EXPECT_FALSE(sel.Select(route, rr, tried, SIZE_MAX, 2));
}
