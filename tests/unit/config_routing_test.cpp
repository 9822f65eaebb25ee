#include <gtest/gtest.h>

#include "core/config.hpp"

using namespace llmproxy::core;

namespace {
std::string Joined(const ConfigResult& r) {
    std::string out;
    for (const auto& e : r.errors) out += e + "\n";
    return out;
}
}  // namespace

TEST(ConfigRouting, ResilienceSections) {
    auto r = LoadConfigString(R"(
health_check: { path: /v1/models, interval: 5s }
providers:
  - name: a
    base_url: http://h:1
    models: ["gpt-4o", "gpt-4o-mini"]
    circuit_breaker: { failure_threshold: 3, base_ejection: 2s, max_ejection: 1m }
  - name: b
    base_url: http://h:2
    models: ["gpt-4o-mini"]
    health_check: { enabled: false }
routing:
  strategy: latency_based
  max_request_timeout: 2m
  retry: { max_retries: 3, initial_wait: 50ms, max_wait: 1s, multiplier: 3, jitter: 0.1,
           retry_on: [connect_error, 503], budget: { ratio: 0.5, min_per_second: 5 } }
  fallback: [ { primary: a, fallback: [b] } ]
  models: { gpt-4o: { strategy: least_connections, fallback_models: [gpt-4o-mini] } }
)",
                              "t.yaml");
    ASSERT_TRUE(r.errors.empty()) << Joined(r);
    const auto& c = *r.config;
    EXPECT_TRUE(c.providers[0].health_check.enabled);
    EXPECT_EQ(c.providers[0].health_check.path, "/v1/models");
    EXPECT_EQ(c.providers[0].health_check.interval, Millis(5000));
    EXPECT_FALSE(c.providers[1].health_check.enabled);
    EXPECT_EQ(c.providers[0].circuit_breaker.failure_threshold, 3);
    EXPECT_EQ(c.providers[0].circuit_breaker.max_ejection, Millis(60000));
    EXPECT_EQ(c.routing.strategy, "latency_based");
    EXPECT_EQ(c.routing.retry.max_retries, 3);
    EXPECT_DOUBLE_EQ(c.routing.retry.multiplier, 3.0);
    EXPECT_TRUE(c.routing.retry.on_connect_error);
    EXPECT_FALSE(c.routing.retry.on_timeout);
    EXPECT_EQ(c.routing.retry.on_status, std::vector<int>{503});
    EXPECT_DOUBLE_EQ(c.routing.retry.budget_ratio, 0.5);
    ASSERT_EQ(c.routing.fallback.size(), 1u);
    EXPECT_EQ(c.routing.fallback[0].fallback, std::vector<std::string>{"b"});
    EXPECT_EQ(c.routing.models.at("gpt-4o").strategy, "least_connections");
    EXPECT_EQ(c.routing.models.at("gpt-4o").fallback_models, std::vector<std::string>{"gpt-4o-mini"});
    EXPECT_EQ(c.routing.max_request_timeout, Millis(120000));
}

TEST(ConfigRouting, Errors) {
    auto r = LoadConfigString(R"(
providers:
  - { name: a, base_url: "http://h:1", models: ["m"] }
routing:
  strategy: fastest
  retry: { retry_on: [teapot], multiplier: 0.5 }
  fallback: [ { primary: a, fallback: [ghost] } ]
  models: { m: { fallback_models: [nobody] } }
)",
                              "t.yaml");
    auto all = Joined(r);
    EXPECT_NE(all.find("routing.strategy: must be one of"), std::string::npos) << all;
    EXPECT_NE(all.find("routing.retry.retry_on: unknown condition \"teapot\""), std::string::npos) << all;
    EXPECT_NE(all.find("routing.retry.multiplier: must be a number between"), std::string::npos) << all;
    EXPECT_NE(all.find("routing.fallback[0].fallback: no provider named \"ghost\""), std::string::npos) << all;
    EXPECT_NE(all.find("routing.models.m.fallback_models: model \"nobody\" is served by no provider"),
              std::string::npos)
        << all;
}
