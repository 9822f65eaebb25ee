// The effective configuration: the file with the store's providers and routes laid over it.
#include <gtest/gtest.h>

#include <cstdlib>

#include "core/config_overlay.hpp"

namespace llmproxy::core {
namespace {

constexpr const char* kFile = R"(
providers:
  - { name: a, base_url: "http://a:1/v1", api_key: "${LP_OVERLAY_TEST_KEY}" }
  - { name: b, base_url: "http://b:1/v1" }
routing:
  models:
    gpt-4: { strategy: latency_based }
)";

TEST(ConfigOverlay, StoreWinsByNameAndDisabledHidesTheFileProvider) {
    ConfigOverlay overlay;
    overlay.providers.push_back({7, "b", true, R"({"base_url":"http://b2:2/v1","weight":3})"});
    overlay.providers.push_back({8, "a", false, R"({"base_url":"http://a2:2/v1"})"});
    overlay.providers.push_back({9, "c", true, R"({"base_url":"http://c:1/v1","api_key":"k$${X}"})"});
    auto r = LoadEffectiveConfig(kFile, "f.yaml", overlay);
    ASSERT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors.front());
    ASSERT_EQ(r.config->providers.size(), 2u);
    EXPECT_EQ(r.config->providers[0].name, "b");
    EXPECT_EQ(r.config->providers[0].host, "b2");
    EXPECT_EQ(r.config->providers[0].weight, 3);
    EXPECT_EQ(r.config->providers[0].origin, "store");
    EXPECT_EQ(r.config->providers[0].store_id, 7);
    EXPECT_EQ(r.config->providers[1].name, "c");
    // A stored value is literal: no ${ENV} expansion.
    EXPECT_EQ(r.config->providers[1].api_key, "k$${X}");
}

TEST(ConfigOverlay, RoutesReplaceTheFilesAndMustNameProviders) {
    ConfigOverlay overlay;
    overlay.routes.push_back({"gpt-4", R"({"targets":[{"provider":"a","model":"gpt-4o","weight":2}]})"});
    auto r = LoadEffectiveConfig(kFile, "f.yaml", overlay);
    ASSERT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors.front());
    const auto& route = r.config->routing.models.at("gpt-4");
    EXPECT_EQ(route.strategy, "");  // the file's entry is replaced, not merged
    ASSERT_EQ(route.targets.size(), 1u);
    EXPECT_EQ(route.targets[0].model, "gpt-4o");
    EXPECT_EQ(route.origin, "store");

    overlay.routes[0].spec = R"({"targets":[{"provider":"ghost"}]})";
    r = LoadEffectiveConfig(kFile, "f.yaml", overlay);
    ASSERT_FALSE(r.errors.empty());
    EXPECT_NE(r.errors[0].find("routing.models.gpt-4.targets[0].provider: no provider named \"ghost\""),
              std::string::npos)
        << r.errors[0];

    // Every target disabled: the route stays, unserved.
    overlay.routes[0].spec = R"({"targets":[{"provider":"c"}]})";
    overlay.providers.push_back({1, "c", false, R"({"base_url":"http://c:1/v1"})"});
    r = LoadEffectiveConfig(kFile, "f.yaml", overlay);
    ASSERT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors.front());
    EXPECT_TRUE(r.config->routing.models.at("gpt-4").targets_disabled);
}

TEST(ConfigOverlay, OneProviderAloneNamesItsFields) {
    auto errors = CheckStoredProvider({0, "p", true, R"({"base_url":"ftp://x","type":"mystery"})"});
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_NE(errors[0].find("request: type: must be openai"), std::string::npos) << errors[0];
    EXPECT_NE(errors[1].find("request: base_url: must start with http://"), std::string::npos) << errors[1];
    EXPECT_FALSE(CheckStoredProvider({0, "p", true, "[1"}).empty());
    EXPECT_TRUE(CheckStoredProvider({0, "p", true, R"({"base_url":"http://h:1"})"}).empty());
}

}  // namespace
}  // namespace llmproxy::core
