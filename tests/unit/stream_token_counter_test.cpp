#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "usage/stream_token_counter.hpp"

using namespace llmproxy::usage;

namespace {

const Tokenizer& Cl100k() {
    static std::unique_ptr<Tokenizer> t = Tokenizer::LoadFile(LP_TOKENIZER_DIR "/cl100k_base.json", "cl100k_base");
    return *t;
}

std::string JsonEscape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '"' || c == '\\') out.push_back('\\');
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out.push_back(c);
    }
    return out;
}

std::string Chunk(std::string_view delta) {
    return "data: "
           "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" +
           JsonEscape(delta) + "\"},\"finish_reason\":null}]}\n\n";
}

}  // namespace

TEST(GeneratedText, PicksTheGeneratedMembersOnly) {
    std::string out;
    AppendGeneratedText(
        R"({"model":"content","choices":[{"delta":{"role":"assistant","content":"Hi \"there\"\n\u00e9\ud83d\ude00"}}]})",
        out);
    EXPECT_EQ(out, "Hi \"there\"\n\xC3\xA9\xF0\x9F\x98\x80");
    out.clear();
    AppendGeneratedText(
        R"({"choices":[{"delta":{"tool_calls":[{"function":{"name":"get","arguments":"{\"city\":\"Paris\"}"}}]}}]})",
        out);
    EXPECT_EQ(out, "get{\"city\":\"Paris\"}");
    out.clear();
    AppendGeneratedText(R"({"choices":[{"text":"done","logprobs":null}],"usage":{"prompt_tokens":3}})", out);
    EXPECT_EQ(out, "done");
    out.clear();
    // Responses API: the deltas count, the "done" events repeating the text do not.
    AppendGeneratedText(R"({"type":"response.output_text.delta","delta":"Hel"})", out);
    AppendGeneratedText(R"({"type":"response.output_text.done","text":"Hello"})", out);
    EXPECT_EQ(out, "Hel");
}

// The scan starts at "choices" when a chunk has it; what only looks like it does not move it.
TEST(GeneratedText, ReadsFromChoicesOnAndNotFromLookAlikes) {
    std::string out;
    AppendGeneratedText(
        R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","system_fingerprint":"fp",)"
        R"("choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}],"usage":null})",
        out);
    EXPECT_EQ(out, "Hi");
    out.clear();
    // An escaped look-alike in a value before the real text: not a key, the text is still read.
    AppendGeneratedText(R"({"id":"x\"choices\":[","choices":[{"delta":{"content":"A"}}]})", out);
    EXPECT_EQ(out, "A");
    out.clear();
    // A text member before "choices" (no chat chunk has one) is not lost when "choices" is
    // absent, and an event that starts with its type is read whole.
    AppendGeneratedText(R"({"type":"response.output_text.delta","delta":"Hel","x":{"choices":[]}})", out);
    EXPECT_EQ(out, "Hel");
    out.clear();
    AppendGeneratedText(R"({"content":"C","model":"m"})", out);
    EXPECT_EQ(out, "C");
}

TEST(StreamTokenCounter, EqualsCountingTheWholeTextAndKeepsLittle) {
    std::string text;
    for (int i = 0; i < 400; ++i) {
        text += "The gateway relays event " + std::to_string(i) + " of the stream, counting\ttokens as they pass. ";
        if (i % 17 == 0) text += "\n\nA new paragraph: résumé, naïve, 東京, emoji 🙂.\n";
    }
    const auto expected = static_cast<std::int64_t>(Cl100k().Count(text));
    std::mt19937 rng(7);
    StreamTokenCounter counter(Cl100k());
    std::size_t max_pending_capacity_hint = 0;
    for (std::size_t at = 0; at < text.size();) {
        // Deltas of 1..12 bytes, cut on UTF-8 boundaries, a few events per block.
        std::string block;
        for (int e = 0; e < 3 && at < text.size(); ++e) {
            std::size_t n = std::min<std::size_t>(1 + rng() % 12, text.size() - at);
            while (at + n < text.size() && (static_cast<unsigned char>(text[at + n]) & 0xC0) == 0x80) ++n;
            block += Chunk(std::string_view(text).substr(at, n));
            at += n;
        }
        counter.AddEvents(block);
        max_pending_capacity_hint = std::max(max_pending_capacity_hint, block.size());
    }
    counter.AddEvents("data: [DONE]\n\n");
    const auto got = counter.Total();
    // Slices are cut before spaces, where the tokenizer's split cuts too.
    EXPECT_NEAR(static_cast<double>(got), static_cast<double>(expected), expected * 0.005) << got << " vs " << expected;
    EXPECT_GT(text.size(), 20u * StreamTokenCounter::kSliceBytes);  // the stream was much longer than a slice
}

namespace {

// The stream of `text` in deltas of 1..12 bytes (cut on UTF-8 boundaries), counted in `mode`.
std::int64_t CountStreamed(const std::string& text, StreamTokenCounter::Mode mode) {
    std::mt19937 rng(11);
    StreamTokenCounter counter(Cl100k(), mode);
    for (std::size_t at = 0; at < text.size();) {
        std::size_t n = std::min<std::size_t>(1 + rng() % 12, text.size() - at);
        while (at + n < text.size() && (static_cast<unsigned char>(text[at + n]) & 0xC0) == 0x80) ++n;
        counter.AddEvents(Chunk(std::string_view(text).substr(at, n)));
        at += n;
    }
    return counter.Total();
}

}  // namespace

// Sampled mode (the upstream reports usage; the count serves a stream cut before it): exact up
// to its sample (kSampleEvents events, kSampleBytes of text); beyond, the first events' tokens per byte of events, the
// later events not read at all. Its error on long streams of prose, CJK and code is printed and bounded.
TEST(StreamTokenCounter, SampledIsExactWhenShortAndCloseWhenLong) {
    std::string shortish;
    for (int i = 0; i < 10; ++i) shortish += "A short answer, word " + std::to_string(i) + ". ";
    ASSERT_LT(shortish.size(), StreamTokenCounter::kSampleBytes);
    EXPECT_EQ(CountStreamed(shortish, StreamTokenCounter::Mode::kSampled),
              static_cast<std::int64_t>(Cl100k().Count(shortish)));

    std::string prose, cjk, code;
    for (int i = 0; i < 300; ++i) {
        prose += "The gateway relays event " + std::to_string(i) + " of the stream while the model keeps writing. ";
        if (i % 13 == 0)
            prose += "\n\nParagraph " + std::to_string(i) + ": résumé, naïve; numbers 3.14159 and 2.71828.\n";
        cjk += "网关在流经过时统计令牌，第" + std::to_string(i) + "个事件。東京の天気は晴れです。";
        code += "for (int i = 0; i < n; ++i) { total += values[i] * " + std::to_string(i) + "; }\n";
    }
    for (const auto* text : {&prose, &cjk, &code}) {
        const double exact = static_cast<double>(Cl100k().Count(*text));
        const double sampled = static_cast<double>(CountStreamed(*text, StreamTokenCounter::Mode::kSampled));
        const double error = (sampled - exact) / exact;
        std::printf("sampled count: %zu bytes, exact %.0f, sampled %.0f (%+.1f%%)\n", text->size(), exact, sampled,
                    100 * error);
        EXPECT_LT(std::abs(error), 0.05);
    }
}
