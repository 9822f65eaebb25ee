#pragma once
// Token usage as reported by upstreams, read from response bodies and SSE events as they pass.
// Each dialect reports it its own way and in pieces: an Anthropic stream gives input tokens in
// message_start and output tokens in message_delta; OpenAI's comes in a last chunk; vLLM's on
// every chunk. Reports are merged, later ones overriding what they repeat.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llmproxy::usage {

/// What one JSON object said about usage; -1 for what it did not say.
struct UsageReport {
    std::int64_t prompt = -1;          // prompt_tokens, prompt_eval_count: all input
    std::int64_t input = -1;           // input_tokens: all input (Responses) or uncached input (Anthropic)
    std::int64_t completion = -1;      // completion_tokens, output_tokens, eval_count
    std::int64_t total = -1;           // total_tokens
    std::int64_t cached = -1;          // read from the prompt cache: cached_tokens, cache_read_input_tokens, ...
    std::int64_t cache_creation = -1;  // written to the prompt cache: cache_creation_input_tokens
    std::int64_t reasoning = -1;       // reasoning_tokens (within completion)
    bool anthropic = false;            // cache_*_input_tokens seen: input_tokens excludes them (they add up)
};

struct Usage {
    std::int64_t prompt_tokens = 0;  // all input, cached or not
    std::int64_t completion_tokens = 0;
    std::int64_t total_tokens = 0;
    std::int64_t cached_tokens = 0;          // of prompt_tokens, read from the provider's prompt cache
    std::int64_t cache_creation_tokens = 0;  // of prompt_tokens, written to it
    std::int64_t reasoning_tokens = 0;       // of completion_tokens, spent reasoning
    bool estimated = false;                  // counted by the gateway's tokenizer, not reported by the upstream

    // For merging Anthropic's reports: prompt = uncached input + cache read + cache creation.
    std::int64_t uncached_input = 0;
    bool additive = false;

    /// Takes in a report: what it says replaces what earlier ones said.
    void Merge(const UsageReport& report);
};

/// Reads a usage report from a JSON object (a whole non-stream response, or one SSE event):
/// a top-level "usage" (OpenAI, vLLM, TGI, Anthropic message and message_delta), the "usage" of
/// a "message" (Anthropic message_start) or a "response" (Responses API), or Ollama's native
/// {"prompt_eval_count","eval_count"}. Returns nullopt when there is none.
std::optional<UsageReport> ParseUsageReport(std::string_view json);

/// The usage of one JSON object alone (ParseUsageReport merged into an empty Usage).
std::optional<Usage> ParseUsage(std::string_view json);

/// The payload of an SSE event: its "data:" lines joined by '\n' (per the SSE spec).
std::string SseData(std::string_view event);
/// The same without a copy when the event has one data line (as every upstream sends them):
/// a view into `event`; otherwise the lines joined into `scratch`, and a view of it.
std::string_view SseDataView(std::string_view event, std::string& scratch);

/// True for an OpenAI "usage-only" stream chunk: "choices" is an empty array and "usage" is an
/// object. Such a chunk exists only because stream_options.include_usage was set.
bool IsUsageOnlyChunk(std::string_view json);

}  // namespace llmproxy::usage
