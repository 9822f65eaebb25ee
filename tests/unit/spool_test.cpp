#include <gtest/gtest.h>

#include <filesystem>

#include "usage/spool.hpp"
#include "usage/usage_event.hpp"

using namespace llmproxy::usage;

namespace {
std::string TempDir() {
    auto dir = std::filesystem::temp_directory_path() /
               ("lp-spool-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand()));
    std::filesystem::remove_all(dir);
    return dir.string();
}
}  // namespace

TEST(Spool, AppendPeekAdvanceAndResume) {
    const std::string dir = TempDir();
    {
        Spool s(dir);
        EXPECT_TRUE(s.empty());
        ASSERT_TRUE(s.Append({R"({"request_id":"a"})", R"({"request_id":"b"})", R"({"request_id":"c"})"}));
        std::uint64_t bytes = 0;
        auto batch = s.Peek(2, bytes);
        ASSERT_EQ(batch.size(), 2u);
        EXPECT_EQ(batch[1], R"({"request_id":"b"})");
        s.Advance(bytes);
        EXPECT_FALSE(s.empty());
    }
    {
        Spool again(dir);  // a restart resumes after what was delivered
        std::uint64_t bytes = 0;
        auto batch = again.Peek(10, bytes);
        ASSERT_EQ(batch.size(), 1u);
        EXPECT_EQ(batch[0], R"({"request_id":"c"})");
        again.Advance(bytes);
        EXPECT_TRUE(again.empty());
        EXPECT_EQ(std::filesystem::file_size(dir + "/usage.jsonl"), 0u);  // fully delivered: truncated
    }
    std::filesystem::remove_all(dir);
}

TEST(UsageEvent, LlmProxyFormat) {
    UsageEvent e;
    e.request_id = "req_1";
    e.user_id = "u1";
    e.api_key = "sk-...abcd";
    e.model = "gpt-4o";
    e.provider = "a";
    e.endpoint = "/v1/chat/completions";
    e.is_stream = true;
    e.usage = Usage{.prompt_tokens = 10, .completion_tokens = 5, .total_tokens = 15};
    e.latency_ms = 12.5;
    e.status_code = 200;
    e.timestamp_ms = 1'700'000'000'123;
    std::string json = ToJson(e);
    EXPECT_NE(json.find(R"("usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"cached_tokens":0,)"),
              std::string::npos);
    EXPECT_NE(json.find(R"("timestamp":"2023-11-14T22:13:20.123Z")"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("is_stream":true)"), std::string::npos);
    EXPECT_EQ(json.find("request_body"), std::string::npos);
    e.request_body = std::string_view(R"({"q":"x"})");
    e.usage.reset();
    json = ToJson(e);
    EXPECT_NE(json.find(R"("request_body":"{\"q\":\"x\"}")"), std::string::npos);
    EXPECT_NE(json.find(R"("usage":null)"), std::string::npos);
}

TEST(Spool, PeekPastBatchesInFlight) {
    const std::string dir = TempDir();
    Spool s(dir);
    ASSERT_TRUE(s.Append({R"({"n":1})", R"({"n":2})", R"({"n":3})", R"({"n":4})", R"({"n":5})"}));
    std::uint64_t first = 0, second = 0, third = 0, none = 0;
    EXPECT_EQ(s.Peek(2, first), (std::vector<std::string>{R"({"n":1})", R"({"n":2})"}));
    EXPECT_EQ(s.Peek(2, second, first), (std::vector<std::string>{R"({"n":3})", R"({"n":4})"}));
    EXPECT_EQ(s.Peek(2, third, first + second), (std::vector<std::string>{R"({"n":5})"}));
    EXPECT_TRUE(s.Peek(2, none, first + second + third).empty());
    EXPECT_EQ(none, 0u);
    s.Advance(first);  // the first batch delivered, the second failed: it comes back first
    std::uint64_t again = 0;
    EXPECT_EQ(s.Peek(2, again), (std::vector<std::string>{R"({"n":3})", R"({"n":4})"}));
    EXPECT_EQ(again, second);
    std::filesystem::remove_all(dir);
}

TEST(Spool, ResyncsAfterTheFileWasTruncatedByHand) {
    const std::string dir = TempDir();
    Spool s(dir);
    ASSERT_TRUE(s.Append({R"({"n":1})", R"({"n":2})", R"({"n":3})"}));
    std::uint64_t bytes = 0;
    ASSERT_EQ(s.Peek(1, bytes).size(), 1u);
    s.Advance(bytes);
    std::filesystem::resize_file(dir + "/usage.jsonl", 0);  // an operator "cleans up"
    ASSERT_TRUE(s.Append({R"({"n":4})"}));
    std::uint64_t none = 0;
    EXPECT_TRUE(s.Peek(10, none).empty());  // the offset points past the file's new end
    EXPECT_GT(s.Resync(), 0u);              // what was lost is reported
    std::uint64_t got = 0;
    EXPECT_EQ(s.Peek(10, got), (std::vector<std::string>{R"({"n":4})"}));  // the new event is not
    s.Advance(got);
    EXPECT_TRUE(s.empty());
    std::filesystem::remove_all(dir);
}
