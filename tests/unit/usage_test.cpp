#include <gtest/gtest.h>

#include "observe/access_log.hpp"
#include "proxy/body_scan.hpp"
#include "proxy/body_splice.hpp"
#include "http/sse_framer.hpp"
#include "usage/usage.hpp"

using namespace llmproxy;

TEST(Usage, OpenAiShape) {
    auto u = usage::ParseUsage(
        R"({"id":"x","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":30,"total_tokens":42}})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->prompt_tokens, 12);
    EXPECT_EQ(u->completion_tokens, 30);
    EXPECT_EQ(u->total_tokens, 42);
}

TEST(Usage, UsageNextToChoicesAndMissingTotal) {
    auto u = usage::ParseUsage(
        R"({"choices":[{"delta":{"content":"x"}}],"usage":{"prompt_tokens":3,"completion_tokens":4}})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->total_tokens, 7);
}

TEST(Usage, OllamaNativeAndAbsent) {
    auto u = usage::ParseUsage(R"({"model":"llama3","done":true,"prompt_eval_count":26,"eval_count":290})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->prompt_tokens, 26);
    EXPECT_EQ(u->completion_tokens, 290);
    EXPECT_FALSE(usage::ParseUsage(R"({"choices":[],"usage":null})"));
    EXPECT_FALSE(usage::ParseUsage(R"({"choices":[]})"));
    EXPECT_FALSE(usage::ParseUsage("not json with usage"));
}

TEST(Usage, UsageOnlyChunk) {
    EXPECT_TRUE(usage::IsUsageOnlyChunk(R"({"id":"c","choices":[],"usage":{"prompt_tokens":1}})"));
    EXPECT_FALSE(usage::IsUsageOnlyChunk(R"({"id":"c","choices":[{"index":0}],"usage":{"prompt_tokens":1}})"));
    EXPECT_FALSE(usage::IsUsageOnlyChunk(R"({"id":"c","choices":[],"usage":null})"));
}

TEST(Usage, SseDataViewCopiesOnlyMultiLineEvents) {
    std::string scratch;
    const std::string one = "data: {\"a\":1}\n\n";
    const std::string_view v = usage::SseDataView(one, scratch);
    EXPECT_EQ(v, "{\"a\":1}");
    EXPECT_EQ(v.data(), one.data() + 6);  // a view into the event: no copy
    EXPECT_EQ(usage::SseDataView("event: x\r\ndata:one\r\n\r\n", scratch), "one");
    EXPECT_EQ(usage::SseDataView("event: x\r\ndata:one\r\ndata: two\r\n\r\n", scratch), "one\ntwo");
    EXPECT_EQ(usage::SseDataView("data:a\rdata:b\r\r", scratch), "a\nb");  // CR-only lines
    EXPECT_EQ(usage::SseDataView(": comment\n\n", scratch), "");
    EXPECT_EQ(usage::SseDataView("data:", scratch), "");
}

TEST(Usage, SseData) {
    EXPECT_EQ(usage::SseData("data: {\"a\":1}\n\n"), "{\"a\":1}");
    EXPECT_EQ(usage::SseData("event: x\r\ndata:one\r\ndata: two\r\n\r\n"), "one\ntwo");
    EXPECT_EQ(usage::SseData(": comment\n\n"), "");
}

TEST(Usage, ForEachEventSplitsByteExact) {
    std::string block = "data: a\n\nevent: e\r\ndata: b\r\n\r\ndata: c\r\r";
    std::vector<std::string> events;
    sse::ForEachEvent(block, [&](std::string_view e) { events.emplace_back(e); });
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[0], "data: a\n\n");
    EXPECT_EQ(events[1], "event: e\r\ndata: b\r\n\r\n");
    EXPECT_EQ(events[2], "data: c\r\r");
}

TEST(BodySplice, InjectIncludeUsage) {
    std::string body = R"({"model":"m","stream":true,"messages":[]})";
    std::string out = proxy::InjectIncludeUsage(body);
    EXPECT_EQ(out, R"({"stream_options":{"include_usage":true},"model":"m","stream":true,"messages":[]})");
    auto info = proxy::ScanBody(out);
    ASSERT_TRUE(info.valid);
    EXPECT_TRUE(info.include_usage);
    EXPECT_TRUE(info.has_stream_options);
}

TEST(AccessLog, JsonLine) {
    observe::AccessRecord r{
        "req_1", "POST", "/v1/chat/completions", "gpt-4o", "a", "a:502,b:200", "127.0.0.1", 200, 12.5, 3.25, true};
    r.prompt_tokens = 10;
    r.completion_tokens = 5;
    r.total_tokens = 15;
    std::string line = observe::AccessLog::Format(r);
    EXPECT_EQ(line.rfind("{\"ts\":\"", 0), 0u);
    EXPECT_NE(line.find(R"("request_id":"req_1","method":"POST","path":"/v1/chat/completions","model":"gpt-4o",)"
                        R"("provider":"a","status":200,"latency_ms":12.500,"ttft_ms":3.250,"stream":true,)"
                        R"("prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"attempts":"a:502,b:200",)"
                        R"("client_ip":"127.0.0.1"})"),
              std::string::npos)
        << line;
    observe::AccessRecord bare{"id\"q", "GET", "/health", "", "none", "", "::1", 200, 0.1};
    std::string l2 = observe::AccessLog::Format(bare);
    EXPECT_NE(l2.find(R"("request_id":"id\"q")"), std::string::npos);
    EXPECT_NE(l2.find(R"("prompt_tokens":null)"), std::string::npos);
    EXPECT_EQ(l2.find("ttft_ms"), std::string::npos);
}

TEST(Usage, MoonshotUsageInsideTheChoice) {
    auto u = usage::ParseUsage(
        R"({"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop","usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13,"cached_tokens":2}}]})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->prompt_tokens, 9);
    EXPECT_EQ(u->completion_tokens, 4);
    EXPECT_EQ(u->cached_tokens, 2);
    EXPECT_FALSE(usage::ParseUsage(R"({"choices":[{"index":0,"delta":{"content":"usage"}}]})"));
}
