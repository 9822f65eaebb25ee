#include <gtest/gtest.h>

#include "core/config.hpp"
#include "observe/metrics.hpp"
#include "observe/prometheus_text.hpp"
#include "pipeline/snapshot.hpp"

#include <set>

using namespace llmproxy;
using namespace llmproxy::observe;

TEST(Histogram, BucketsAreUpperBoundsInclusive) {
    Histogram h;
    h.Observe(0.005);   // le=0.005
    h.Observe(0.0051);  // le=0.01
    h.Observe(1000);    // only +Inf
    EXPECT_EQ(h.buckets[0].Get(), 1u);
    EXPECT_EQ(h.buckets[1].Get(), 1u);
    EXPECT_EQ(h.count.Get(), 3u);
    EXPECT_NEAR(h.sum.load(), 1000.0101, 1e-9);
}

TEST(MetricsShard, SeriesByLabelsAndModelCap) {
    MetricsShard shard(1);
    for (int i = 0; i < 3; ++i)
        shard.RecordRequest({"POST", "/v1/chat/completions", "gpt-4o", "a", 200, false}, 0.01, -1);
    shard.RecordRequest({"POST", "/v1/chat/completions", "gpt-4o", "a", 502, false}, 0.02, -1);
    for (std::size_t i = 0; i < MetricsShard::kMaxModels + 10; ++i) {
        shard.RecordRequest({"POST", "/v1/chat/completions", "m" + std::to_string(i), "a", 200, false}, 0.01, 0.005);
    }
    std::vector<MetricsShard::SeriesView> views;
    shard.Collect(views);
    std::uint64_t other = 0, gpt200 = 0;
    for (const auto& v : views) {
        if (v.model == "other") other += v.count;
        if (v.model == "gpt-4o" && v.status == 200) gpt200 = v.count;
    }
    EXPECT_EQ(gpt200, 3u);
    EXPECT_EQ(other, 11u);  // gpt-4o took one of the 256 slots
    EXPECT_LE(views.size(), MetricsShard::kMaxModels + 2);
}

TEST(MetricsShard, ConfiguredModelsKeepTheirLabelWhateverCameFirst) {
    // Hardening #14.15: made-up names sent through a wildcard route took every slot first.
    MetricsShard shard(1);
    shard.SetConfiguredModels({"gpt-4o", "Qwen/Qwen2.5-7B"});
    for (std::size_t i = 0; i < MetricsShard::kMaxModels + 10; ++i) {
        shard.RecordRequest({"POST", "/v1/chat/completions", "made-up-" + std::to_string(i), "a", 404, false}, 0.01,
                            -1);
    }
    shard.RecordRequest({"POST", "/v1/chat/completions", "gpt-4o", "a", 200, false}, 0.01, -1);
    shard.RecordRequest({"POST", "/v1/chat/completions", "Qwen/Qwen2.5-7B", "a", 200, false}, 0.01, -1);
    std::vector<MetricsShard::SeriesView> views;
    shard.Collect(views);
    std::set<std::string> labelled;
    for (const auto& v : views) labelled.insert(std::string(v.model));
    EXPECT_TRUE(labelled.count("gpt-4o"));
    EXPECT_TRUE(labelled.count("Qwen/Qwen2.5-7B"));
    EXPECT_TRUE(labelled.count("other"));  // the made-up ones past the cap
    EXPECT_LE(views.size(), MetricsShard::kMaxModels + 3);
}

TEST(Snapshot, ConfiguredModelNamesAreTheExactOnes) {
    core::Config config;
    auto& p = config.providers.emplace_back();
    p.models = {"gpt-4o", "claude-*", "*"};
    p.model_map = {{"small", "Qwen/small"}};
    config.routing.models["big"].fallback_models = {"small", "tiny"};
    config.routing.default_model = "gpt-4o-mini";
    const auto names = ConfiguredModelNames(config);
    EXPECT_EQ(names, (std::unordered_set<std::string>{"gpt-4o", "small", "big", "tiny", "gpt-4o-mini"}));
}

TEST(PrometheusText, MergesShardsAndEscapes) {
    MetricsShard a(1), b(1);
    a.RecordRequest({"POST", "/v1/embeddings", "emb", "we\"ird\\", 200, false}, 0.5, -1);
    b.RecordRequest({"POST", "/v1/embeddings", "emb", "we\"ird\\", 200, false}, 1.5, -1);
    a.RequestStarted();
    ScrapeInput in;
    in.shards = {&a, &b};
    in.version = "test";
    std::string text = RenderPrometheus(in);
    EXPECT_NE(text.find("llm_proxy_requests_total{method=\"POST\",endpoint=\"/v1/embeddings\",model=\"emb\","
                        "provider=\"we\\\"ird\\\\\",status_code=\"200\"} 2\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("le=\"1\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("le=\"2.5\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("llm_proxy_active_requests 1\n"), std::string::npos);
    EXPECT_EQ(text.find("llm_proxy_time_to_first_token_seconds_bucket"), std::string::npos);  // no streams
}

TEST(PrometheusText, LlmProxyCompatNames) {
    MetricsShard a(1), b(1);
    a.RecordRequest({"POST", "/v1/chat/completions", "m", "http://vllm:8000", 200, true}, 0.15, 0.01);
    b.RecordRequest({"POST", "/v1/chat/completions", "m", "http://vllm:8000", 200, true}, 1.5, 0.01);
    b.RecordRequest({"POST", "/v1/chat/completions", "m", "http://vllm:8000", 502, false}, 0.004, -1);
    a.CountTokens("m", "http://vllm:8000", {15, 42, 0, 0, 0});
    ScrapeInput in;
    in.shards = {&a, &b};
    in.webhook.success = 7;
    in.webhook.failure = 1;
    EXPECT_EQ(RenderPrometheus(in).find("llmproxy_"), std::string::npos);  // only behind the switch
    in.llmproxy_compat = true;
    const std::string text = RenderPrometheus(in);
    const std::string labels = "path=\"/v1/chat/completions\",stream=\"true\",backend=\"http://vllm:8000\"";
    EXPECT_NE(text.find("llmproxy_requests_total{" + labels + ",status=\"200\"} 2\n"), std::string::npos) << text;
    EXPECT_NE(text.find("llmproxy_requests_total{path=\"/v1/chat/completions\",stream=\"false\",backend=\"http://"
                        "vllm:8000\",status=\"502\"} 1\n"),
              std::string::npos);
    EXPECT_NE(text.find("llmproxy_latency_ms_bucket{" + labels + ",le=\"100\"} 0\n"), std::string::npos) << text;
    EXPECT_NE(text.find("llmproxy_latency_ms_bucket{" + labels + ",le=\"200\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("llmproxy_latency_ms_bucket{" + labels + ",le=\"2000\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("llmproxy_latency_ms_sum{" + labels + "} 1650"), std::string::npos);
    EXPECT_NE(text.find("llmproxy_webhook_success_total 7\n"), std::string::npos);
    EXPECT_NE(text.find("llmproxy_webhook_failure_total 1\n"), std::string::npos);
    EXPECT_NE(text.find("llmproxy_usage_tokens_total{type=\"prompt\"} 15\n"), std::string::npos);
    EXPECT_NE(text.find("llmproxy_usage_tokens_total{type=\"completion\"} 42\n"), std::string::npos);
}

TEST(PrometheusText, ProviderGauges) {
    MetricsShard shard(4);
    shard.ObserveProviderLatency(3, 0.02);  // provider "a" lives in slot 3
    ScrapeInput in;
    in.shards = {&shard};
    in.providers = {{"a", true, 2, 3}};
    EXPECT_NE(RenderPrometheus(in).find("llm_proxy_provider_health{provider=\"a\"} 1\n"), std::string::npos);
    in.providers[0].available = false;
    std::string text = RenderPrometheus(in);
    EXPECT_NE(text.find("llm_proxy_provider_in_flight{provider=\"a\"} 2\n"), std::string::npos);
    EXPECT_NE(text.find("llm_proxy_provider_health{provider=\"a\"} 0\n"), std::string::npos);
    EXPECT_NE(text.find("llm_proxy_provider_latency_seconds_count{provider=\"a\"} 1\n"), std::string::npos);
}

TEST(MetricsShard, ClientChosenLabelsCannotGrowTheScrape) {
    MetricsShard shard(1);
    // Junk methods (any token is a valid HTTP method) and names that are no model names.
    for (int i = 0; i < 2000; ++i) {
        const std::string method = "JUNK" + std::to_string(i);
        shard.RecordRequest({method, "unknown", "", "", 404, false}, 0.001, -1);
    }
    const std::string long_name(4096, 'x');
    for (int i = 0; i < 300; ++i) {
        shard.RecordRequest({"POST", "/v1/chat/completions", long_name + std::to_string(i), "a", 200, false}, 0.01, -1);
        shard.CountTokens(long_name + std::to_string(i), "a", {.prompt = 1, .completion = 1});
    }
    shard.RecordRequest({"POST", "/v1/chat/completions", "model with spaces\n{}", "a", 200}, 0.01, -1);
    shard.RecordRequest({"GET", "/v1/models", "Qwen/Qwen2.5-7B-Instruct:q4@v1", "a", 200, false}, 0.01, -1);
    std::vector<MetricsShard::SeriesView> views;
    shard.Collect(views);
    EXPECT_LE(views.size(), 4u);
    bool qwen = false;
    for (const auto& v : views) {
        EXPECT_TRUE(v.method == "other" || v.method == "POST" || v.method == "GET") << v.method;
        EXPECT_LE(v.model.size(), MetricsShard::kMaxModelLabelBytes);
        qwen = qwen || v.model == "Qwen/Qwen2.5-7B-Instruct:q4@v1";
    }
    EXPECT_TRUE(qwen);
    ScrapeInput in;
    in.shards = {&shard};
    EXPECT_LT(RenderPrometheus(in).size(), 16u * 1024);
}
