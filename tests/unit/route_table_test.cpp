#include <gtest/gtest.h>

#include "core/config.hpp"
#include "proxy/route_table.hpp"

using namespace llmproxy;

namespace {
proxy::RouteTable Table(const std::string& yaml) {
    auto r = core::LoadConfigString(yaml, "t.yaml");
    EXPECT_TRUE(r.errors.empty()) << (r.errors.empty() ? "" : r.errors[0]);
    return proxy::RouteTable(r.config);
}

std::vector<std::size_t> Providers(const proxy::Resolution& r) {
    std::vector<std::size_t> out;
    if (r.route) {
        for (auto c : r.route->candidates) out.push_back(c.provider);
    }
    return out;
}

const char* kConfig = R"(
providers:
  - { name: a, base_url: "http://h:1", models: ["gpt-4o", "gpt-4"], weight: 3, model_map: { "gpt-4": "gpt-4-0613" } }
  - { name: b, base_url: "http://h:2", models: ["gpt-*"] }
  - { name: c, base_url: "http://h:3", models: ["llama-3", "qwen"], model_map: { "qwen": "Qwen/Qwen2.5-7B" } }
routing: { strip_prefix: "Proxy/", default_model: llama-3 }
)";
}  // namespace

TEST(RouteTable, ExactAndGlob) {
    auto t = Table(kConfig);
    EXPECT_EQ(Providers(t.Resolve("gpt-4o")), (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(Providers(t.Resolve("gpt-3.5-turbo")), (std::vector<std::size_t>{1}));
    EXPECT_EQ(Providers(t.Resolve("llama-3")), (std::vector<std::size_t>{2}));
    EXPECT_EQ(t.Resolve("claude").route, nullptr);
    EXPECT_EQ(t.Resolve("gpt-4o").route->candidates[0].weight, 3);
}

TEST(RouteTable, StripPrefixAndDefault) {
    auto t = Table(kConfig);
    auto r = t.Resolve("Proxy/gpt-4o");
    EXPECT_EQ(r.public_model, "gpt-4o");
    EXPECT_EQ(Providers(r), (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(t.Resolve("Other/gpt-4o").public_model, "Other/gpt-4o");  // other prefixes unchanged
    EXPECT_EQ(t.Resolve("Proxy/").public_model, "Proxy/");
    auto d = t.Resolve("");
    EXPECT_EQ(d.public_model, "llama-3");
    EXPECT_EQ(Providers(d), (std::vector<std::size_t>{2}));
}

TEST(RouteTable, ModelMapIsPerProvider) {
    auto t = Table(kConfig);
    EXPECT_EQ(t.UpstreamModel(0, "gpt-4"), "gpt-4-0613");
    EXPECT_EQ(t.UpstreamModel(1, "gpt-4"), "gpt-4");
    EXPECT_EQ(t.UpstreamModel(2, "qwen"), "Qwen/Qwen2.5-7B");
}

TEST(RouteTable, ListedModelsAreExplicitNames) {
    auto t = Table(kConfig);
    EXPECT_EQ(t.ListedModels(), (std::vector<std::string>{"gpt-4", "gpt-4o", "llama-3", "qwen"}));
}

TEST(RouteTable, SameGlobSetSharesOneRoute) {
    auto t = Table(kConfig);
    EXPECT_EQ(t.Resolve("gpt-x").route, t.Resolve("gpt-y").route);
    EXPECT_NE(t.Resolve("gpt-x").route, t.Resolve("gpt-4o").route);
}
