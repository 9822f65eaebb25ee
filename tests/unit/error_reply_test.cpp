#include <gtest/gtest.h>

#include "core/json_escape.hpp"
#include "core/error_reply.hpp"
#include "core/request_id.hpp"

#include <boost/json.hpp>

using namespace llmproxy::core;

TEST(OpenAiError, Shape) {
    auto body = ErrorBody(NotFound("The model 'x' does not exist", "model_not_found"), "req_1");
    EXPECT_EQ(body, R"({"error":{"message":"The model 'x' does not exist","type":"invalid_request_error","param":null,)"
                    R"("code":"model_not_found","request_id":"req_1"}})");
}

TEST(OpenAiError, EscapesMessage) {
    LocalReply r{400, "invalid_request_error", "", "bad \"quote\"\n\x01", "messages", {}};
    auto body = ErrorBody(r, "id");
    EXPECT_NE(body.find(R"("message":"bad \"quote\"\n\u0001")"), std::string::npos) << body;
    EXPECT_NE(body.find(R"("param":"messages")"), std::string::npos);
    EXPECT_NE(body.find(R"("code":null)"), std::string::npos);
}

TEST(JsonEscape, Utf8PassesThrough) {
    EXPECT_EQ(JsonString("héllo 世界 🙂"), "\"héllo 世界 🙂\"");
    EXPECT_EQ(JsonString("a\\b"), "\"a\\\\b\"");
}

TEST(RequestId, EchoesSafeClientIdsOnly) {
    EXPECT_EQ(MakeRequestId("client-abc-123"), "client-abc-123");
    auto generated = MakeRequestId("bad id with spaces");
    EXPECT_EQ(generated.view().rfind("req_", 0), 0u);
    EXPECT_EQ(generated.size(), 20u);
    EXPECT_NE(MakeRequestId(""), MakeRequestId(""));
    EXPECT_EQ(MakeRequestId(std::string(129, 'a')).view().rfind("req_", 0), 0u);
}

TEST(Traceparent, KeepsValidMakesNew) {
    const std::string valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    EXPECT_EQ(MakeTraceparent(valid), valid);
    EXPECT_EQ(TraceId(valid), "4bf92f3577b34da6a3ce929d0e0e4736");
    for (std::string bad : {"", "garbage", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"}) {
        auto made = MakeTraceparent(bad);
        EXPECT_EQ(made.size(), 55u) << bad;
        EXPECT_EQ(made.view().rfind("00-", 0), 0u);
        EXPECT_EQ(made.view().substr(52), "-01");
        EXPECT_NE(made, bad);
    }
    EXPECT_NE(MakeTraceparent(""), MakeTraceparent(""));
}

TEST(JsonEscape, RunsAndEveryEscape) {
    using llmproxy::core::JsonString;
    EXPECT_EQ(JsonString(""), R"("")");
    EXPECT_EQ(JsonString("plain ascii and ünïcödé 😀"), "\"plain ascii and ünïcödé 😀\"");
    EXPECT_EQ(JsonString("a\"b\\c\nd\re\tf\bg\fh"), R"("a\"b\\c\nd\re\tf\bg\fh")");
    EXPECT_EQ(JsonString(std::string("\x01x\x1f", 3)), R"("\u0001x\u001f")");
    EXPECT_EQ(JsonString("\"\"\\"), R"("\"\"\\")");
    std::string out = "prefix";
    for (int i = 0; i < 200; ++i) llmproxy::core::AppendJsonField(out, "k", "value\n");
    EXPECT_EQ(out.size(), 6u + 200u * (5u + 9u));  // ,"k": + "value\n"
}

TEST(JsonEscape, InvalidUtf8BecomesReplacementCharacters) {
    std::string out;
    // Valid multi-byte text passes unchanged; raw bytes, truncated sequences, overlongs and
    // surrogates become U+FFFD; the result is valid JSON.
    llmproxy::core::AppendJsonString(out, std::string("ok \xC3\xA9 \xE6\x9D\xB1 \xF0\x9F\x99\x82 ") + "\xff\xfe" +
                                              "\xC3" + " \xC0\xAF \xED\xA0\x80 \"q\"");
    EXPECT_EQ(out,
              "\"ok \xC3\xA9 \xE6\x9D\xB1 \xF0\x9F\x99\x82 \\ufffd\\ufffd\\ufffd \\ufffd\\ufffd "
              "\\ufffd\\ufffd\\ufffd \\\"q\\\"\"");
    boost::system::error_code ec;
    (void)boost::json::parse(out, ec);
    EXPECT_FALSE(ec);
}

// The escaper skips plain bytes eight at a time: a byte that needs escaping is found wherever it
// sits relative to those eight-byte steps, and every byte value round-trips through a JSON parser.
TEST(JsonEscape, EveryByteAtEveryOffsetRoundTrips) {
    for (int c = 0; c < 0x80; ++c) {
        for (std::size_t at = 0; at < 20; ++at) {
            std::string text(24, 'a');
            text[at] = static_cast<char>(c);
            std::string out;
            llmproxy::core::AppendJsonString(out, text);
            boost::system::error_code ec;
            const auto parsed = boost::json::parse(out, ec);
            ASSERT_FALSE(ec) << "byte " << c << " at " << at << ": " << out;
            ASSERT_EQ(std::string(parsed.as_string()), text) << "byte " << c << " at " << at;
        }
    }
    for (int c = 0x80; c < 0x100; ++c) {  // a lone high byte is never valid UTF-8: U+FFFD
        for (std::size_t at = 0; at < 20; ++at) {
            std::string text(24, 'b');
            text[at] = static_cast<char>(c);
            std::string out;
            llmproxy::core::AppendJsonString(out, text);
            std::string want = "\"" + std::string(at, 'b') + "\\ufffd" + std::string(23 - at, 'b') + "\"";
            ASSERT_EQ(out, want) << "byte " << c << " at " << at;
        }
    }
}
