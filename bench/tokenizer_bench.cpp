// Tokenizer throughput on English text (the project's own docs: prose with some code), per
// core, for both encodings; plus counting a chat request's prompt as the gateway does.
// Run: build/bench_tokenizer   (bytes_per_second is the MB/s figure)
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>

#include "usage/local_count.hpp"
#include "usage/tokenizer.hpp"

using namespace llmproxy::usage;

namespace {

std::string EnglishText() {
    std::string text;
    for (const char* f : {"/README.md", "/docs/life_of_a_request.md", "/docs/style.md", "/bench/README.md"}) {
        std::ifstream in(std::string(LP_SOURCE_DIR) + f);
        std::ostringstream ss;
        ss << in.rdbuf();
        text += ss.str();
    }
    return text;
}

const Tokenizer& Load(const char* name) {
    static auto cl = Tokenizer::LoadFile(LP_TOKENIZER_DIR "/cl100k_base.json", "cl100k_base");
    static auto o2 = Tokenizer::LoadFile(LP_TOKENIZER_DIR "/o200k_base.json", "o200k_base");
    return std::string_view(name) == "cl100k_base" ? *cl : *o2;
}

void Count(benchmark::State& state, const char* encoding) {
    const Tokenizer& t = Load(encoding);
    const std::string text = EnglishText();
    std::size_t tokens = 0;
    for (auto _ : state) {
        tokens = t.Count(text);
        benchmark::DoNotOptimize(tokens);
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * text.size()));
    state.counters["bytes_per_token"] = static_cast<double>(text.size()) / static_cast<double>(tokens);
}
BENCHMARK_CAPTURE(Count, cl100k_base, "cl100k_base")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Count, o200k_base, "o200k_base")->Unit(benchmark::kMillisecond);

void ChatPrompt(benchmark::State& state) {
    const Tokenizer& t = Load("o200k_base");
    const std::string body =
        R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant."},)"
        R"({"role":"user","content":"Summarise the benefits of a gateway in front of model servers, in three )"
        R"(bullet points, with one sentence each and no more than twenty words per sentence."}],"max_tokens":128})";
    for (auto _ : state) benchmark::DoNotOptimize(CountPromptTokens(t, body));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(ChatPrompt)->Unit(benchmark::kMicrosecond);

// The same prompt size, but every message new (no count cache hit): the cost for a user
// message seen for the first time.
void ChatPromptUnique(benchmark::State& state) {
    const Tokenizer& t = Load("o200k_base");
    std::uint64_t n = 0;
    std::size_t bytes = 0;
    for (auto _ : state) {
        const std::string body =
            R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a helpful assistant )" +
            std::to_string(n) +
            R"(."},{"role":"user","content":"Summarise the benefits of a gateway in front of model servers, in )" +
            std::to_string(++n) + R"( bullet points, with one sentence each and no more than twenty words."}]})";
        bytes += body.size();
        benchmark::DoNotOptimize(CountPromptTokens(t, body));
    }
    state.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(ChatPromptUnique)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
