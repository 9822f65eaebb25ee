#include <gtest/gtest.h>

#include "observe/request_log.hpp"

using llmproxy::observe::Redact;

namespace {
const std::vector<std::string> kFields{"api_key", "password", "secret"};
}

TEST(Redact, ConfiguredFieldsAtAnyDepthCaseInsensitive) {
    const std::string body =
        R"({"model":"m","api_key":"abc","nested":{"Password" : "hunter2","list":[{"secret":"s\"x"}]},"note":"password"})";
    const std::string out = Redact(body, kFields, 1 << 20);
    EXPECT_EQ(
        out,
        R"({"model":"m","api_key":"[REDACTED]","nested":{"Password" : "[REDACTED]","list":[{"secret":"[REDACTED]"}]},"note":"password"})");
}

TEST(Redact, KeyMaterialAnywhereIsMasked) {
    const std::string out =
        Redact(R"({"content":"my key is sk-proj-ABCDEFGHIJKLMNOP1234 ok","h":"Bearer abcdefghijklmnop9876"})", kFields,
               1 << 20);
    EXPECT_EQ(out.find("ABCDEFGHIJKLMNOP"), std::string::npos) << out;
    EXPECT_NE(out.find("sk-...1234"), std::string::npos) << out;
    EXPECT_EQ(out.find("abcdefghijklmnop"), std::string::npos) << out;
    EXPECT_NE(out.find("Bearer ...9876"), std::string::npos) << out;
    EXPECT_EQ(Redact("task-force sk-short", kFields, 100), "task-force sk-short");  // not keys
}

TEST(Redact, TruncatedOrInvalidInputAndCap) {
    // Cut in the middle of a secret: still hidden.
    EXPECT_EQ(Redact(R"({"password":"hunt)", kFields, 100), R"({"password":"[REDACTED]")");
    EXPECT_EQ(Redact("not json at all", kFields, 100), "not json at all");
    const std::string big(1000, 'x');
    const std::string out = Redact(big, kFields, 100);
    EXPECT_EQ(out, std::string(100, 'x') + "...[truncated 900 bytes]");
    // SSE bodies: data lines are scanned the same way.
    EXPECT_EQ(Redact("data: {\"secret\":\"v\"}\n\n", kFields, 100), "data: {\"secret\":\"[REDACTED]\"}\n\n");
}
