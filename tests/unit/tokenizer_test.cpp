// Our tokenizer against tiktoken's own ids (tests/tokenizer/reference.json, produced by the
// npm tiktoken package from corpus.json).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "usage/local_count.hpp"
#include "usage/tokenizer.hpp"

using namespace llmproxy::usage;

namespace {

std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

const Tokenizer& Get(const std::string& name) {
    static std::unique_ptr<Tokenizer> cl = Tokenizer::LoadFile(LP_TOKENIZER_DIR "/cl100k_base.json", "cl100k_base");
    static std::unique_ptr<Tokenizer> o2 = Tokenizer::LoadFile(LP_TOKENIZER_DIR "/o200k_base.json", "o200k_base");
    return name == "cl100k_base" ? *cl : *o2;
}

}  // namespace

TEST(Tokenizer, IdsEqualTiktokensOnTheReferenceCorpus) {
    auto corpus = boost::json::parse(Read(LP_SOURCE_DIR "/tests/tokenizer/corpus.json")).as_array();
    auto reference = boost::json::parse(Read(LP_SOURCE_DIR "/tests/tokenizer/reference.json")).as_object();
    for (const char* name : {"cl100k_base", "o200k_base"}) {
        const auto& expected = reference.at(name).as_array();
        ASSERT_EQ(expected.size(), corpus.size());
        for (std::size_t i = 0; i < corpus.size(); ++i) {
            const auto& text = corpus[i].as_string();
            std::vector<std::uint32_t> want;
            for (const auto& id : expected[i].as_array()) want.push_back(static_cast<std::uint32_t>(id.as_int64()));
            EXPECT_EQ(Get(name).Encode(std::string_view(text.data(), text.size())), want) << name << " #" << i;
            EXPECT_EQ(Get(name).Count(std::string_view(text.data(), text.size())), want.size());
        }
    }
}

TEST(Tokenizer, KnownIdsAndVocabulary) {
    EXPECT_EQ(Get("cl100k_base").Encode("hello world"), (std::vector<std::uint32_t>{15339, 1917}));
    EXPECT_EQ(Get("cl100k_base").vocabulary_size(), 100256u);
    EXPECT_EQ(Get("o200k_base").vocabulary_size(), 199998u);
}

TEST(Tokenizer, LongPiecesUseTheHeapMergeAndAgree) {
    // A 300-byte run is one regex piece: merged by the heap path; 255 bytes by the scan.
    // Splitting differently must not change the result: compare with tiktoken's rule that a
    // run of one letter merges the same way however long it is (count grows monotonically).
    const auto& t = Get("cl100k_base");
    const std::string a255(255, 'a'), a300(300, 'a'), a100k(100'000, 'z');
    EXPECT_LT(t.Count(a255), t.Count(a300));
    EXPECT_GT(t.Count(a100k), 100'000u / 16);  // finishes (a quadratic merge would take minutes)
    EXPECT_LT(t.Count(a100k), 100'000u);
}

TEST(Tokenizer, InvalidUtf8AndEmptyAreSafe) {
    const auto& t = Get("o200k_base");
    EXPECT_EQ(t.Count(""), 0u);
    const std::string bad("\xff\xfe valid \xc3", 10);
    EXPECT_GE(t.Count(bad), 1u);  // never throws or crashes
}

TEST(Tokenizer, ModelToEncoding) {
    EXPECT_EQ(EncodingForModel("gpt-4o-mini"), "o200k_base");
    EXPECT_EQ(EncodingForModel("openai/gpt-4.1-2025-04-14"), "o200k_base");
    EXPECT_EQ(EncodingForModel("o3-mini"), "o200k_base");
    EXPECT_EQ(EncodingForModel("gpt-4-turbo"), "cl100k_base");
    EXPECT_EQ(EncodingForModel("gpt-3.5-turbo"), "cl100k_base");
    EXPECT_EQ(EncodingForModel("text-embedding-3-small"), "cl100k_base");
    EXPECT_EQ(EncodingForModel("llama-3.1-8b"), "cl100k_base");
    EXPECT_EQ(EncodingForModel("llama-3.1-8b", "o200k_base"), "o200k_base");
}

TEST(PromptCount, AnthropicSystemToolResultsAndToolInputsCount) {
    const Tokenizer& t = Get("cl100k_base");
    const std::string base = R"({"model":"c","max_tokens":5,"messages":[{"role":"user","content":"hello there"}]})";
    const std::string with_system =
        R"({"model":"c","max_tokens":5,"system":[{"type":"text","text":"You are a careful assistant."}],)"
        R"("messages":[{"role":"user","content":"hello there"}]})";
    const std::string with_tools =
        R"({"model":"c","max_tokens":5,"messages":[{"role":"user","content":"hello there"},)"
        R"({"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{"path":"/etc/hosts"}}]},)"
        R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"text","text":"127.0.0.1 localhost"}]}]}]})";
    const auto b = CountPromptTokens(t, base);
    EXPECT_GT(b, 0);
    EXPECT_EQ(CountPromptTokens(t, with_system),
              b + static_cast<std::int64_t>(t.Count("You are a careful assistant.")));
    EXPECT_GT(CountPromptTokens(t, with_tools), b + static_cast<std::int64_t>(t.Count("127.0.0.1 localhost")));
}
