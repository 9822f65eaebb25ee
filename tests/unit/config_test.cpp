#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "core/config.hpp"
#include "core/units.hpp"

using namespace llmproxy::core;

namespace {

std::string Joined(const ConfigResult& r) {
    std::string out;
    for (const auto& e : r.errors) out += e + "\n";
    return out;
}

const char* kMinimal = R"(
providers:
  - name: a
    base_url: http://127.0.0.1:9000/v1
)";

}  // namespace

TEST(Config, MinimalConfigGetsDefaults) {
    auto r = LoadConfigString(kMinimal, "t.yaml");
    ASSERT_TRUE(r.errors.empty()) << Joined(r);
    const auto& c = *r.config;
    EXPECT_EQ(c.server.listen_port, 8080);
    EXPECT_EQ(c.server.max_body_bytes, 32u << 20);
    ASSERT_EQ(c.providers.size(), 1u);
    EXPECT_EQ(c.providers[0].host, "127.0.0.1");
    EXPECT_EQ(c.providers[0].port, "9000");
    EXPECT_EQ(c.providers[0].base_path, "/v1");
    EXPECT_FALSE(c.providers[0].tls);
    EXPECT_EQ(c.providers[0].models, std::vector<std::string>{"*"});
    EXPECT_EQ(c.routing.strategy, "weighted_round_robin");
}

TEST(Config, FullProvider) {
    auto r = LoadConfigString(R"(
server: { listen: "127.0.0.1:1234", workers: 3, max_body_bytes: 1MiB, header_timeout: 250ms }
providers:
  - name: openai
    base_url: https://api.openai.com/v1/
    api_key: sk-secret
    weight: 5
    models: ["gpt-*", "o1"]
    model_map: { "gpt-4": "gpt-4-0613" }
    headers: { OpenAI-Organization: org-1 }
    timeouts: { connect: 2s, first_byte: 30s, idle: 1m, total: 10m }
    max_connections: 64
    tls_verify: false
routing: { strategy: round_robin, strip_prefix: "Proxy/", default_model: o1 }
)",
                              "t.yaml");
    ASSERT_TRUE(r.errors.empty()) << Joined(r);
    const auto& c = *r.config;
    EXPECT_EQ(c.server.listen_host, "127.0.0.1");
    EXPECT_EQ(c.server.listen_port, 1234);
    EXPECT_EQ(c.server.workers, 3);
    EXPECT_EQ(c.server.max_body_bytes, 1u << 20);
    EXPECT_EQ(c.server.header_timeout, Millis(250));
    const auto& p = c.providers[0];
    EXPECT_TRUE(p.tls);
    EXPECT_EQ(p.port, "443");
    EXPECT_EQ(p.base_path, "/v1");
    EXPECT_EQ(p.host_header, "api.openai.com");
    EXPECT_EQ(p.weight, 5);
    EXPECT_EQ(p.model_map.at("gpt-4"), "gpt-4-0613");
    ASSERT_EQ(p.headers.size(), 1u);
    EXPECT_EQ(p.headers[0].first, "OpenAI-Organization");
    EXPECT_EQ(p.timeouts.idle, Millis(60'000));
    EXPECT_EQ(p.max_connections, 64);
    EXPECT_FALSE(p.tls_verify);
    EXPECT_EQ(c.routing.strip_prefix, "Proxy/");
}

TEST(Config, EnvExpansionInValues) {
    setenv("LP_TEST_KEY", "sk-from-env", 1);
    unsetenv("LP_TEST_UNSET");
    auto r = LoadConfigString(R"(
providers:
  - name: a
    base_url: "http://${LP_TEST_HOST:-127.0.0.1}:9000"
    api_key: "${LP_TEST_KEY}"
    weight: "${LP_TEST_WEIGHT:-7}"
)",
                              "t.yaml");
    ASSERT_TRUE(r.errors.empty()) << Joined(r);
    EXPECT_EQ(r.config->providers[0].api_key, "sk-from-env");
    EXPECT_EQ(r.config->providers[0].host, "127.0.0.1");
    EXPECT_EQ(r.config->providers[0].weight, 7);
}

TEST(Config, ReportsEveryErrorWithLineAndKey) {
    auto r = LoadConfigString(R"(server:
  listen: "nope"
  bogus: 1
providers:
  - name: a
    base_url: ftp://x
    weight: -1
  - name: a
    base_url: http://127.0.0.1:1
    timeouts: { connect: soon }
routing:
  default_model: nobody-serves-this
  strategy: magic
)",
                              "bad.yaml");
    ASSERT_FALSE(r.errors.empty());
    EXPECT_EQ(r.config, nullptr);
    auto all = Joined(r);
    EXPECT_NE(all.find("bad.yaml:2:11: server.listen: must be host:port"), std::string::npos) << all;
    EXPECT_NE(all.find("bad.yaml:3:3: server.bogus: unknown key"), std::string::npos) << all;
    EXPECT_NE(all.find("providers[0].base_url: must start with http:// or https://"), std::string::npos) << all;
    EXPECT_NE(all.find("providers[0].weight: must be between 0"), std::string::npos) << all;
    EXPECT_NE(all.find("providers[1].name: duplicate provider name \"a\""), std::string::npos) << all;
    EXPECT_NE(all.find("providers[1].timeouts.connect: must be a positive duration"), std::string::npos) << all;
    EXPECT_NE(all.find("routing.strategy: must be"), std::string::npos) << all;
    EXPECT_EQ(r.errors.size(), 7u) << all;
}

TEST(Config, DefaultModelMustBeServed) {
    auto r = LoadConfigString(R"(
providers:
  - { name: a, base_url: "http://127.0.0.1:1", models: ["gpt-4o"] }
routing: { default_model: llama }
)",
                              "t.yaml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].find("routing.default_model: model \"llama\" is served by no provider"), std::string::npos);
}

TEST(Config, ModelMapKeyMustBeServed) {
    auto r = LoadConfigString(R"(
providers:
  - { name: a, base_url: "http://127.0.0.1:1", models: ["gpt-4o"], model_map: { "gpt-3.5": "qwen" } }
)",
                              "t.yaml");
    ASSERT_EQ(r.errors.size(), 1u) << Joined(r);
    EXPECT_NE(r.errors[0].find("model_map.gpt-3.5: maps a model this provider does not serve"), std::string::npos);
}

TEST(Config, WrongTypesAndEmptyProviders) {
    auto r = LoadConfigString("providers: {}\n", "t.yaml");
    ASSERT_FALSE(r.errors.empty());
    EXPECT_NE(Joined(r).find("providers: must be a non-empty list"), std::string::npos);
    r = LoadConfigString("providers:\n  - name: a\n    base_url: http://h:1\n    models: gpt\n", "t.yaml");
    EXPECT_NE(Joined(r).find("providers[0].models: must be a list of strings"), std::string::npos) << Joined(r);
    r = LoadConfigString("providers:\n  - name: a\n    base_url: http://h:1\n    weight: heavy\n", "t.yaml");
    EXPECT_NE(Joined(r).find("providers[0].weight: must be an integer"), std::string::npos) << Joined(r);
}

TEST(Config, YamlSyntaxErrorHasLine) {
    auto r = LoadConfigString("providers:\n  - name: [unclosed\n", "s.yaml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].rfind("s.yaml:", 0), 0u) << r.errors[0];
}

TEST(Config, MissingFile) {
    auto r = LoadConfigFile("/nonexistent/llm-proxy.yaml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].find("cannot open"), std::string::npos);
}

TEST(Units, Durations) {
    EXPECT_EQ(ParseDuration("250ms"), std::chrono::milliseconds(250));
    EXPECT_EQ(ParseDuration("1.5s"), std::chrono::milliseconds(1500));
    EXPECT_EQ(ParseDuration("2m"), std::chrono::milliseconds(120000));
    EXPECT_EQ(ParseDuration("3"), std::chrono::milliseconds(3000));
    EXPECT_FALSE(ParseDuration("fast"));
    EXPECT_FALSE(ParseDuration("5 parsecs"));
}

TEST(Units, Sizes) {
    EXPECT_EQ(ParseSize("1024"), 1024u);
    EXPECT_EQ(ParseSize("64KiB"), 65536u);
    EXPECT_EQ(ParseSize("32MiB"), 32u << 20);
    EXPECT_EQ(ParseSize("5MB"), 5'000'000u);
    EXPECT_FALSE(ParseSize("lots"));
    EXPECT_FALSE(ParseSize("99999999999999999999999999GiB"));  // no overflow UB
    EXPECT_FALSE(ParseDuration(std::string(300, '9') + "h"));
}

TEST(Units, Glob) {
    EXPECT_TRUE(GlobMatch("*", "anything"));
    EXPECT_TRUE(GlobMatch("gpt-*", "gpt-4o"));
    EXPECT_FALSE(GlobMatch("gpt-*", "claude-3"));
    EXPECT_TRUE(GlobMatch("*-mini", "gpt-4o-mini"));
    EXPECT_TRUE(GlobMatch("a?c", "abc"));
    EXPECT_FALSE(GlobMatch("a?c", "abbc"));
    EXPECT_TRUE(GlobMatch("a*b*c", "aXXbYYc"));
    EXPECT_FALSE(GlobMatch("exact", "exact2"));
}

TEST(Config, PresetFillsDefaultsAndOwnFieldsOverride) {
    setenv("MOONSHOT_API_KEY", "sk-from-env", 1);
    auto r = LoadConfigString(R"(
providers:
  - { name: kimi, preset: moonshot, models: [kimi-k2] }
  - { name: glm, preset: zhipu, base_url: "https://api.z.ai/api/coding/paas/v4", api_key: k, models: [glm-5],
      stream_usage: true, drop_params: [presence_penalty] }
)",
                              "t.yaml");
    unsetenv("MOONSHOT_API_KEY");
    ASSERT_TRUE(r.errors.empty()) << Joined(r);
    const auto& kimi = r.config->providers[0];
    EXPECT_EQ(kimi.base_url, "https://api.moonshot.ai/v1");
    EXPECT_EQ(kimi.host, "api.moonshot.ai");
    EXPECT_TRUE(kimi.tls);
    EXPECT_EQ(kimi.api_key, "sk-from-env");
    EXPECT_TRUE(kimi.native_responses);
    EXPECT_EQ(kimi.health_check.path, "/v1/models");
    const auto& glm = r.config->providers[1];
    EXPECT_EQ(glm.base_path, "/api/coding/paas/v4");  // the provider's own base_url wins
    EXPECT_TRUE(glm.stream_usage);
    EXPECT_EQ(glm.drop_params, std::vector<std::string>{"presence_penalty"});
    ASSERT_EQ(glm.rename_params.size(), 1u);  // the preset's, not overridden
    EXPECT_EQ(glm.rename_params[0].first, "max_completion_tokens");
}

TEST(Config, UnknownPresetAndTooManyGlobProviders) {
    auto r = LoadConfigString("providers:\n  - { name: x, preset: nonsuch, models: ['*'] }\n", "t.yaml");
    ASSERT_FALSE(r.errors.empty());
    EXPECT_NE(Joined(r).find("providers[0].preset"), std::string::npos) << Joined(r);
    EXPECT_NE(Joined(r).find("qianfan"), std::string::npos) << Joined(r);
    std::string yaml = "providers:\n";
    for (int i = 0; i < 11; ++i)
        yaml += "  - { name: p" + std::to_string(i) + ", base_url: 'http://h/v1', models: ['m" + std::to_string(i) +
                "-*'] }\n";
    r = LoadConfigString(yaml, "t.yaml");
    ASSERT_FALSE(r.errors.empty());
    EXPECT_NE(Joined(r).find("11 providers serve models by glob"), std::string::npos) << Joined(r);
}

TEST(Config, KnownResponsesHostsPassResponsesThrough) {
    auto r = LoadConfigString(R"(
providers:
  - { name: a, base_url: "https://api.openai.com/v1", models: [gpt-5] }
  - { name: b, base_url: "https://api.openai.com/v1", native_responses: false, models: [gpt-4o] }
  - { name: c, base_url: "http://vllm:8000/v1", models: [qwen] }
)",
                              "t.yaml");
    ASSERT_TRUE(r.errors.empty()) << Joined(r);
    EXPECT_TRUE(r.config->providers[0].native_responses);
    EXPECT_FALSE(r.config->providers[1].native_responses);
    EXPECT_FALSE(r.config->providers[2].native_responses);
}

TEST(Config, ScriptsHooksAndAuthPipeline) {
    const std::string dir = ::testing::TempDir();
    {
        std::ofstream f(dir + "/route.lua");
        f << "return nil -- ${NOT_AN_ENV}";
    }
    auto r = LoadConfigString(R"(
providers: [ { name: a, base_url: "http://127.0.0.1:1/v1" } ]
scripts:
  routing: { script_file: ")" + dir +
                                  R"(/route.lua", timeout: 20ms, max_memory: 2MiB }
  usage: { script: "return {x = '${KEEP}'}", on_error: fail_open }
hooks:
  enabled: true
  on_request: { path: ")" + dir + R"(/route.lua", max_memory: 3 }
  on_error: { enabled: false, script: "x" }
  auth_decision: { url: "https://decide.example/auth?x=1", timeout: 300ms, retry: 2, on_failure: reject }
auth:
  mode: all
  keys: [ { key: sk-a-000000000001, name: a } ]
  pipeline:
    - { type: builtin }
    - { name: partner, type: lua, lua: { script: "return true", timeout: 50ms } }
)",
                              "t.yaml");
    ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0]);
    const auto& c = *r.config;
    EXPECT_EQ(c.scripts.routing.code, "return nil -- ${NOT_AN_ENV}");  // script text is not env-expanded
    EXPECT_EQ(c.scripts.routing.timeout, std::chrono::milliseconds(20));
    EXPECT_EQ(c.scripts.routing.max_memory, 2u << 20);
    EXPECT_FALSE(c.scripts.routing.fail_open);  // scripts fail closed by default
    EXPECT_EQ(c.scripts.usage.code, "return {x = '${KEEP}'}");
    EXPECT_TRUE(c.scripts.usage.fail_open);
    EXPECT_TRUE(c.hooks.on_request.fail_open);           // hooks fail open, as in the Go LLMProxy
    EXPECT_EQ(c.hooks.on_request.max_memory, 3u << 20);  // hooks' max_memory is in MB
    EXPECT_FALSE(c.hooks.on_error.enabled);
    EXPECT_TRUE(c.hooks.auth_decision.tls);
    EXPECT_EQ(c.hooks.auth_decision.port, "443");
    EXPECT_EQ(c.hooks.auth_decision.path, "/auth?x=1");
    EXPECT_EQ(c.hooks.auth_decision.retry, 2);
    ASSERT_EQ(c.auth.pipeline.size(), 2u);
    EXPECT_TRUE(c.auth.pipeline_all);
    EXPECT_TRUE(c.auth.pipeline[1].lua());
    EXPECT_EQ(c.auth.pipeline[1].script.name, "auth.pipeline.partner");
}

TEST(Config, RedisAuthStep) {
    auto r = LoadConfigString(
        "providers: [ { name: a, base_url: \"http://127.0.0.1:1/v1\" } ]\n"
        "redis: { url: 'redis://127.0.0.1:6390' }\n"
        "auth: { pipeline: [ { type: builtin }, { name: r, type: redis, redis: { key_pattern: 'k:{api_key}', "
        "cache_ttl: 250ms, storage: cache1 } } ] }\n",
        "t.yaml");
    ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0]);
    const auto& c = *r.config;
    EXPECT_TRUE(c.auth.enabled);  // keys come from Redis: no auth.keys needed
    ASSERT_EQ(c.auth.pipeline.size(), 2u);
    EXPECT_TRUE(c.auth.pipeline[1].redis());
    EXPECT_EQ(c.auth.pipeline[1].key_pattern, "k:{api_key}");
    EXPECT_EQ(c.auth.pipeline[1].cache_ttl, std::chrono::milliseconds(250));
}

TEST(Config, ScriptMistakesAreErrors) {
    const char* bad[] = {
        "scripts: { routing: { script_file: /nonexistent/x.lua } }",
        "scripts: { routing: { timeout: 10ms } }",  // no code
        "scripts: { routng: { script: x } }",
        "scripts: { routing: { script: x, on_error: maybe } }",
        "scripts: { routing: { script: x, max_memory: 1000 } }",
        "hooks: { on_request: { script: x, script_file: y } }",  // hooks name the file `path`
        "hooks: { auth_decision: { url: 'ftp://x' } }",
        "hooks: { routing_decision: { url: 'http://x', on_failure: shrug } }",
        "auth: { pipeline: [ { type: redis } ] }",  // no redis.url
        "redis: { url: 'redis://127.0.0.1' }\nauth: { pipeline: [ { type: redis, redis: { key_pattern: k } } ] }",
        "redis: { url: 'redis://127.0.0.1' }\nauth: { pipeline: [ { type: redis, redis: { ttl: 1s } } ] }",
        "auth: { pipeline: [ { type: database } ] }",
        "auth: { pipeline: [ { type: lua } ] }",
        "auth: { mode: any, keys: [ { key: sk-a-000000000001, name: a } ] }",
    };
    for (const char* extra : bad) {
        const std::string yaml =
            std::string("providers: [ { name: a, base_url: \"http://127.0.0.1:1/v1\" } ]\n") + extra;
        EXPECT_FALSE(LoadConfigString(yaml, "t.yaml").config) << extra;
    }
}
