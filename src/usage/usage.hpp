#pragma once
// Token usage as reported by upstreams, read from response bodies and SSE events as they pass.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace llmproxy::usage {

struct Usage {
    std::int64_t prompt_tokens = 0;
    std::int64_t completion_tokens = 0;
    std::int64_t total_tokens = 0;
    bool estimated = false;  // counted by the gateway's tokenizer, not reported by the upstream
};

/// Reads usage from a JSON object (a whole non-stream response, or one SSE chunk). Knows the
/// OpenAI/vLLM/TGI shape {"usage":{"prompt_tokens","completion_tokens","total_tokens"}} and
/// Ollama's native {"prompt_eval_count","eval_count"}. Returns nullopt when there is none.
std::optional<Usage> ParseUsage(std::string_view json);

/// The payload of an SSE event: its "data:" lines joined by '\n' (per the SSE spec).
std::string SseData(std::string_view event);

/// True for an OpenAI "usage-only" stream chunk: "choices" is an empty array and "usage" is an
/// object. Such a chunk exists only because stream_options.include_usage was set.
bool IsUsageOnlyChunk(std::string_view json);

}  // namespace llmproxy::usage
