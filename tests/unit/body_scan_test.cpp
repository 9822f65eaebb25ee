#include <gtest/gtest.h>

#include "proxy/body_scan.hpp"
#include "proxy/multipart_scan.hpp"
#include "proxy/body_splice.hpp"

using namespace llmproxy::proxy;

namespace {
BodyInfo Scan(std::string body) {
    return ScanBody(body);
}

std::string Splice(std::string body, std::string_view model) {
    auto info = ScanBody(body);
    EXPECT_TRUE(info.valid) << info.error;
    return SpliceModel(body, info, model);
}
}  // namespace

TEST(BodyScan, ReadsTopLevelFields) {
    auto info = Scan(R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},
        "messages":[{"role":"user","content":"hi"}],"max_tokens":128,"user":"u-1","top_k":5})");
    ASSERT_TRUE(info.valid) << info.error;
    EXPECT_TRUE(info.has_model);
    EXPECT_EQ(info.model, "gpt-4o");
    EXPECT_TRUE(info.stream);
    EXPECT_TRUE(info.include_usage);
    EXPECT_TRUE(info.has_messages);
    EXPECT_EQ(info.max_tokens, 128);
    EXPECT_EQ(info.user, "u-1");
}

TEST(BodyScan, NestedModelKeysAreNotTopLevel) {
    auto info = Scan(R"({"messages":[{"role":"user","content":"x","model":"inner"}],"tools":[{"model":"t"}]})");
    ASSERT_TRUE(info.valid);
    EXPECT_FALSE(info.has_model);
}

TEST(BodyScan, EscapedAndUnicodeModel) {
    std::string body = R"({ "model" : "a\"b\u00e9\/c" , "messages":[]})";
    auto info = ScanBody(body);
    ASSERT_TRUE(info.valid) << info.error;
    EXPECT_EQ(info.model, "a\"bé/c");
    EXPECT_EQ(body.substr(info.model_begin, info.model_end - info.model_begin), R"("a\"b\u00e9\/c")");
}

TEST(BodyScan, RejectsMalformed) {
    EXPECT_FALSE(Scan("").valid);
    EXPECT_FALSE(Scan("not json").valid);
    EXPECT_FALSE(Scan(R"({"model":"a",)").valid);
    EXPECT_FALSE(Scan(R"({"model":"a"} trailing)").valid);
    EXPECT_FALSE(Scan(R"({"model":"a","x":[1 2]})").valid);
    EXPECT_FALSE(Scan(R"({"model":"a","x":tru})").valid);
    EXPECT_FALSE(Scan(R"({"model":"a","x":{"y":}})").valid);
    EXPECT_FALSE(Scan("[1,2,3]").valid);
    EXPECT_FALSE(Scan(R"({"model":42})").valid);
    EXPECT_FALSE(Scan(R"({"model":"a","stream":"yes"})").valid);
    EXPECT_FALSE(Scan("{\"model\":\"\xff\xfe\"}").valid);  // invalid UTF-8
}

TEST(BodyScan, AcceptsNullStreamAndOddTypes) {
    auto info = Scan(R"({"model":"m","stream":null,"max_tokens":"lots","user":7,"stream_options":null})");
    ASSERT_TRUE(info.valid) << info.error;
    EXPECT_FALSE(info.stream);
    EXPECT_FALSE(info.max_tokens);
}

TEST(BodyScan, MaxTokensMustBeAnIntegerInRange) {
    EXPECT_EQ(Scan(R"({"model":"m","max_tokens":1024.0})").max_tokens, 1024);
    EXPECT_EQ(Scan(R"({"model":"m","max_completion_tokens":0})").max_tokens, 0);
    EXPECT_EQ(Scan(R"({"model":"m","max_output_tokens":2147483647})").max_tokens, 2147483647);
    for (const char* bad : {"1e11", "100000000000", "-1", "2.5", "9223372036854775808", "1e308", "-0.5"}) {
        const auto info = Scan(std::string(R"({"model":"m","max_tokens":)") + bad + "}");
        ASSERT_TRUE(info.valid) << bad;  // valid JSON: the parse stage answers 400 invalid_value
        EXPECT_TRUE(info.max_tokens_invalid) << bad;
        EXPECT_FALSE(info.max_tokens) << bad;
    }
}

TEST(BodySplice, ReplacesOnlyTheModelValue) {
    std::string body =
        R"({"messages":[{"model":"keep"}], "model" : "Proxy/gpt-4", "top_k": 3, "guided_json": {"a":1}})";
    EXPECT_EQ(Splice(body, "gpt-4"),
              R"({"messages":[{"model":"keep"}], "model" : "gpt-4", "top_k": 3, "guided_json": {"a":1}})");
}

TEST(BodySplice, EscapesTheNewName) {
    EXPECT_EQ(Splice(R"({"model":"x"})", "we\"ird"), R"({"model":"we\"ird"})");
}

TEST(BodySplice, InsertsWhenAbsent) {
    EXPECT_EQ(Splice(R"({"messages":[]})", "dflt"), R"({"model":"dflt","messages":[]})");
    EXPECT_EQ(Splice(R"(  { } )", "dflt"), R"(  {"model":"dflt" } )");
}

TEST(BodySplice, KeepsUnicodeBytesAround) {
    std::string body = "{\"messages\":[{\"content\":\"日本語 🙂\"}],\"model\":\"a\"}";
    EXPECT_EQ(Splice(body, "bb"), "{\"messages\":[{\"content\":\"日本語 🙂\"}],\"model\":\"bb\"}");
}

TEST(MultipartScan, FindsTheModelFieldAndRefusesAmbiguity) {
    const std::string ct = "multipart/form-data; boundary=XyZ";
    const std::string body =
        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n"
        "RIFF....name=\"model\" inside the audio\r\n"
        "--XyZ\r\ncontent-disposition: form-data; name=model\r\n\r\nwhisper-1\r\n--XyZ--\r\n";
    auto f = llmproxy::proxy::FindMultipartField(body, ct, "model");
    EXPECT_EQ(f.outcome, llmproxy::proxy::MultipartField::kFound);
    EXPECT_EQ(f.value, "whisper-1");
    EXPECT_EQ(llmproxy::proxy::FindMultipartField(body, "multipart/form-data; boundary=\"XyZ\"", "model").value,
              "whisper-1");
    EXPECT_EQ(llmproxy::proxy::FindMultipartField(body, "application/json", "model").outcome,
              llmproxy::proxy::MultipartField::kAbsent);
    EXPECT_EQ(llmproxy::proxy::FindMultipartField(body, ct, "language").outcome,
              llmproxy::proxy::MultipartField::kAbsent);

    const std::string twice =
        "--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\na\r\n"
        "--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nb\r\n--XyZ--\r\n";
    EXPECT_EQ(llmproxy::proxy::FindMultipartField(twice, ct, "model").outcome,
              llmproxy::proxy::MultipartField::kAmbiguous);
    const std::string long_value =
        "--XyZ\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n" + std::string(300, 'm') + "\r\n--XyZ--\r\n";
    EXPECT_EQ(llmproxy::proxy::FindMultipartField(long_value, ct, "model").outcome,
              llmproxy::proxy::MultipartField::kAmbiguous);
}
