// Other gateways' config files (tests/dialects/*.yaml): recognised, converted, and validated
// like native files; convert-config's output is compared with the golden *.native.yaml.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/config.hpp"

using namespace llmproxy::core;

namespace {

const std::string kDir = std::string(LP_SOURCE_DIR) + "/tests/dialects/";

std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string Joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

// The converted text with the file's directory taken out (the goldens name the bare file).
std::string Converted(const std::string& name) {
    auto converted = ConvertConfigFile(kDir + name + ".yaml");
    EXPECT_TRUE(converted.result.errors.empty()) << Joined(converted.result.errors);
    std::string text = converted.yaml;
    for (auto at = text.find(kDir); at != std::string::npos; at = text.find(kDir)) text.erase(at, kDir.size());
    return text;
}

}  // namespace

class Golden : public testing::TestWithParam<const char*> {};

TEST_P(Golden, ConvertConfigPrintsTheGoldenNativeFileAndItLoadsAsTheForeignOneDoes) {
    const std::string name = GetParam();
    EXPECT_EQ(Converted(name), Read(kDir + name + ".native.yaml"));
    auto foreign = LoadConfigFile(kDir + name + ".yaml");
    auto native = LoadConfigFile(kDir + name + ".native.yaml");
    ASSERT_TRUE(foreign.config) << Joined(foreign.errors);
    ASSERT_TRUE(native.config) << Joined(native.errors);
    EXPECT_FALSE(foreign.dialect.empty());
    EXPECT_TRUE(native.dialect.empty()) << native.dialect;
    const auto &a = *foreign.config, &b = *native.config;
    EXPECT_EQ(a.server.listen, b.server.listen);
    ASSERT_EQ(a.providers.size(), b.providers.size());
    for (std::size_t i = 0; i < a.providers.size(); ++i) {
        EXPECT_EQ(a.providers[i].name, b.providers[i].name);
        EXPECT_EQ(a.providers[i].base_url, b.providers[i].base_url);
        EXPECT_EQ(a.providers[i].api_key, b.providers[i].api_key);
        EXPECT_EQ(a.providers[i].models, b.providers[i].models);
        EXPECT_EQ(a.providers[i].model_map, b.providers[i].model_map);
        EXPECT_EQ(a.providers[i].weight, b.providers[i].weight);
    }
    EXPECT_EQ(a.routing.strategy, b.routing.strategy);
    EXPECT_EQ(a.routing.retry.max_retries, b.routing.retry.max_retries);
    EXPECT_EQ(a.auth.enabled, b.auth.enabled);
    EXPECT_EQ(a.auth.keys.size(), b.auth.keys.size());
    EXPECT_EQ(a.auth.pipeline, b.auth.pipeline);
    EXPECT_EQ(a.redis.url, b.redis.url);
    EXPECT_EQ(a.rate_limit.global_requests_per_second, b.rate_limit.global_requests_per_second);
}

INSTANTIATE_TEST_SUITE_P(Dialects, Golden,
                         testing::Values("python_readme", "llmproxy_readme", "llmproxy_scenario1", "llmproxy_scenario2",
                                         "llmproxy_scenario3", "multivendor_readme", "litellm"));

TEST(ConfigDialect, PythonReadmeIsEveryProviderForEveryModelInTurn) {
    auto r = LoadConfigFile(kDir + "python_readme.yaml");
    ASSERT_TRUE(r.config) << Joined(r.errors);
    EXPECT_EQ(r.dialect, "a Python llm-proxy config");
    const auto& c = *r.config;
    EXPECT_EQ(c.server.listen_port, 8000);
    ASSERT_EQ(c.providers.size(), 2u);
    EXPECT_EQ(c.providers[1].name, "provider2");
    EXPECT_EQ(c.providers[1].api_key, "sk-your-api-key-2");
    EXPECT_EQ(c.providers[1].host, "api.openai.com");
    EXPECT_EQ(c.providers[0].models, std::vector<std::string>{"*"});
    EXPECT_EQ(c.routing.strategy, "round_robin");
}

TEST(ConfigDialect, GoLlmProxyKeepsItsMeanings) {
    auto r = LoadConfigFile(kDir + "llmproxy_readme.yaml");
    ASSERT_TRUE(r.config) << Joined(r.errors);
    const auto& c = *r.config;
    EXPECT_EQ(c.server.listen, "0.0.0.0:8080");
    EXPECT_EQ(c.providers[0].name, "http://vllm:8000");  // named by URL
    EXPECT_EQ(c.providers[0].base_path, "/v1");          // the client's path appended whole
    EXPECT_EQ(c.routing.strategy, "least_connections");
    EXPECT_EQ(c.routing.retry.max_retries, 3);
    EXPECT_EQ(c.routing.retry.on_status, (std::vector<int>{500, 502, 503, 504}));  // 5xx, not 429
    ASSERT_EQ(c.routing.fallback.size(), 1u);
    EXPECT_EQ(c.routing.fallback[0].fallback, std::vector<std::string>{"http://tgi:8081"});
    ASSERT_EQ(c.auth.keys.size(), 1u);
    EXPECT_EQ(c.auth.keys[0].total_quota, 100000);
    EXPECT_EQ(c.auth.keys[0].quota_period, QuotaPeriod::kDaily);
    EXPECT_EQ(c.rate_limit.global_burst, 2000);
    EXPECT_EQ(c.auth.keys[0].limits.max_concurrent, 5);  // per_key, for every key
    EXPECT_TRUE(c.usage_hook.enabled);
    EXPECT_EQ(c.providers[1].health_check.path, "/health");
    EXPECT_TRUE(c.providers[1].health_check.enabled);
}

TEST(ConfigDialect, GoLlmProxyDefaultsAreItsOwn) {
    auto r = LoadConfigString("backends:\n  - url: http://a:1/\n    weight: 0\n", "t.yaml");
    ASSERT_TRUE(r.config) << Joined(r.errors);
    const auto& c = *r.config;
    EXPECT_EQ(c.server.listen, "0.0.0.0:8000");
    EXPECT_EQ(c.providers[0].weight, 1);        // <= 0 counts as 1 there
    EXPECT_EQ(c.routing.retry.max_retries, 0);  // no retries unless enabled
    EXPECT_FALSE(c.auth.enabled);
    // Keys listed without auth.enabled are not checked there either: said, not silent.
    r = LoadConfigString("backends: [{url: 'http://a:1'}]\napi_keys: [{key: k1}]\n", "t.yaml");
    ASSERT_TRUE(r.config) << Joined(r.errors);
    EXPECT_FALSE(r.config->auth.enabled);
    EXPECT_NE(Joined(r.warnings).find("api_keys: not checked"), std::string::npos) << Joined(r.warnings);
    // The scenarios leave `enabled` out of rate_limit and mean it; enabled: false turns it off.
    r = LoadConfigString("backends: [{url: 'http://a:1'}]\nrate_limit: {global: {requests_per_second: 5}}\n", "t.yaml");
    ASSERT_TRUE(r.config) << Joined(r.errors);
    EXPECT_EQ(r.config->rate_limit.global_requests_per_second, 5);
    EXPECT_EQ(r.config->rate_limit.global_burst, 10);
    r = LoadConfigString(
        "backends: [{url: 'http://a:1'}]\nrate_limit: {enabled: false, global: {requests_per_second: 5}}\n", "t.yaml");
    ASSERT_TRUE(r.config) << Joined(r.errors);
    EXPECT_EQ(r.config->rate_limit.global_requests_per_second, 0);
}

TEST(ConfigDialect, GoLlmProxyLuaBlocksAndNativeSectionsAreTakenAsTheyAre) {
    auto r = LoadConfigString(R"(
backends: [{url: "http://a:1"}]
hooks:
  enabled: true
  on_request: {enabled: true, script: "return {continue = true}"}
scripts:
  routing: {enabled: true, script: "return nil"}
logging: {access_log: off}
metrics: {compat: none}
usage_hook: {enabled: true, url: "http://127.0.0.1:9/u", include_request_body: true}
)",
                              "t.yaml");
    ASSERT_TRUE(r.config) << Joined(r.errors);
    EXPECT_TRUE(r.config->hooks.on_request.enabled);
    EXPECT_TRUE(r.config->scripts.routing.enabled);
    EXPECT_EQ(r.config->logging.access_log, "off");
    EXPECT_FALSE(r.config->metrics.llmproxy_compat);  // the file's own choice wins
    EXPECT_TRUE(r.config->usage_hook.include_request_body);
}

TEST(ConfigDialect, MultiVendorRoutesPublicNamesToVendorNames) {
    auto r = LoadConfigFile(kDir + "multivendor_readme.yaml");
    ASSERT_TRUE(r.config) << Joined(r.errors);
    const auto& c = *r.config;
    EXPECT_EQ(c.server.listen_port, 9000);
    EXPECT_EQ(c.server.workers, 4);
    ASSERT_EQ(c.providers.size(), 3u);
    EXPECT_EQ(c.providers[0].preset, "volcengine");
    EXPECT_EQ(c.providers[0].api_key, "your-volcengine-key");
    EXPECT_EQ(c.providers[0].model_map.at("gpt-3.5-turbo"), "deepseek-v3-250324");
    EXPECT_EQ(c.providers[2].type, "anthropic");
    EXPECT_EQ(c.providers[2].timeouts.total, Millis(30'000));
    EXPECT_EQ(c.routing.default_model, "deepseek-v3-0324");
    EXPECT_EQ(c.routing.retry.max_retries, 3);
    EXPECT_NE(Joined(r.warnings).find("connector: ignored"), std::string::npos);
}

TEST(ConfigDialect, MultiVendorBaseUrlFromOsEnv) {
    auto r = LoadConfigString(R"(
os_env: {DEEPSEEK_API_KEY: k, DEEPSEEK_API_BASE: "http://127.0.0.1:9/v1"}
model_config: {chat: deepseek}
)",
                              "t.yaml");
    ASSERT_TRUE(r.config) << Joined(r.errors);
    EXPECT_EQ(r.config->providers[0].port, "9");
    EXPECT_EQ(r.config->providers[0].models, std::vector<std::string>{"chat"});
}

TEST(ConfigDialect, LiteLlmDeploymentsShareARouteByWeight) {
    auto r = LoadConfigFile(kDir + "litellm.yaml");
    ASSERT_TRUE(r.config) << Joined(r.errors);
    const auto& c = *r.config;
    EXPECT_EQ(c.server.listen_port, 4000);
    EXPECT_EQ(c.server.admin_key, "sk-1234");
    ASSERT_EQ(c.auth.keys.size(), 1u);  // the master key is an API key too
    EXPECT_EQ(c.routing.strategy, "weighted_random");
    const auto& route = c.routing.models.at("gpt-4o");
    ASSERT_EQ(route.targets.size(), 2u);
    EXPECT_EQ(route.targets[0].weight, 6);
    EXPECT_EQ(route.targets[1].model, "gpt-4o-2024-08-06");
    EXPECT_EQ(route.fallback_models, std::vector<std::string>{"claude-sonnet"});
    EXPECT_EQ(c.providers[2].type, "anthropic");
    EXPECT_EQ(c.providers[3].api_key, "sk-deepseek-in-file");  // environment_variables
    EXPECT_EQ(c.providers[3].timeouts.total, Millis(60'000));
    EXPECT_EQ(c.providers[0].timeouts.total, Millis(30'000));
    EXPECT_EQ(c.providers[0].circuit_breaker.failure_threshold, 3);
}

TEST(ConfigDialect, ForeignTyposGetTheNativePositionedError) {
    auto r = LoadConfigString("backends:\n  - url: http://a:1\n    wieght: 5\n", "t.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << Joined(r.errors);
    EXPECT_EQ(r.errors[0], "t.yaml:3:5: backends[0].wieght: unknown key (allowed: models, url, weight)");
    r = LoadConfigString("providers:\n  - name: p\n    api_base: https://x/v1\n    api_kye: k\n", "t.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << Joined(r.errors);
    EXPECT_EQ(r.errors[0], "t.yaml:4:5: providers[0].api_kye: unknown key (allowed: api_base, api_key, name)");
    // A value the native loader refuses still points at the user's line and column.
    r = LoadConfigString("providers:\n  - name: p\n    api_base: ftp://x/v1\n", "t.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << Joined(r.errors);
    EXPECT_EQ(r.errors[0].rfind("t.yaml:3:15: providers[0].base_url: must start with http:// or https://", 0), 0u)
        << r.errors[0];
}

TEST(ConfigDialect, WhatHasNoEquivalentIsAnErrorNamingIt) {
    auto r = LoadConfigString("model_list:\n  - model_name: m\n    litellm_params: {model: azure/gpt-4}\n", "t.yaml");
    ASSERT_FALSE(r.config);
    EXPECT_NE(Joined(r.errors).find("t.yaml:3:29: model_list[0].litellm_params.model: provider \"azure\""),
              std::string::npos)
        << Joined(r.errors);
    r = LoadConfigString("model_config: {m: nosuchvendor}\n", "t.yaml");
    EXPECT_NE(Joined(r.errors).find("t.yaml:1:19: model_config: \"nosuchvendor\" is not a known vendor"),
              std::string::npos)
        << Joined(r.errors);
    r = LoadConfigString(
        "backends: [{url: 'http://a:1'}]\nauth: {enabled: true}\napi_keys: [{key: k, denied_ips: [1.2.3.4]}]\n",
        "t.yaml");
    EXPECT_NE(Joined(r.errors).find("api_keys[0].denied_ips: has no equivalent"), std::string::npos)
        << Joined(r.errors);
}

TEST(ConfigDialect, NativeFilesAreNotMistaken) {
    auto r = LoadConfigString("providers:\n  - name: a\n    base_url: http://127.0.0.1:9/v1\nserver: {listen: ':1'}\n",
                              "t.yaml");
    EXPECT_TRUE(r.dialect.empty());
    // A native file with a Python-looking slip is still read as native, and told why.
    r = LoadConfigString("providers:\n  - name: a\n    base_url: http://127.0.0.1:9/v1\nserver: {port: 1}\n", "t.yaml");
    EXPECT_TRUE(r.dialect.empty());
    EXPECT_NE(Joined(r.errors).find("t.yaml:4:10: server.port: unknown key"), std::string::npos) << Joined(r.errors);
    r = LoadConfigString("", "t.yaml");
    EXPECT_TRUE(r.dialect.empty());
    EXPECT_FALSE(r.config);
}

// Found by fuzz_config: a deployment without a model, and a key holding a newline, whose
// "ignored" warning became YAML in convert-config's output.
TEST(ConfigDialect, LiteLlmDeploymentNeedsAModelAndWarningsStayComments) {
    auto r = LoadConfigString(
        "model_list:\n  - model_name: a\n    litellm_params: { api_base: 'http://127.0.0.1:1/v1' }\n", "t.yaml");
    EXPECT_FALSE(r.config);
    ASSERT_FALSE(r.errors.empty());
    EXPECT_NE(r.errors[0].find("litellm_params.model: is required"), std::string::npos) << r.errors[0];
    const std::string text =
        "model_list:\n  - model_name: a\n    litellm_params: { model: openai/gpt-4o }\n"
        "router_settings: { \"x\\ny: 1\": 2 }\n";
    auto converted = ConvertConfigText(text, "t.yaml");
    ASSERT_FALSE(converted.yaml.empty()) << Joined(converted.result.errors);
    EXPECT_NE(converted.yaml.find("x\\x0ay: 1"), std::string::npos) << converted.yaml;
    auto native = LoadConfigString(converted.yaml, "n.yaml");
    EXPECT_TRUE(native.config) << Joined(native.errors);
}
