#pragma once
// Token counts the gateway works out itself, with the model's tokenizer: for a request's
// prompt (TPM admission, and metering when the upstream reports no usage) and for the text a
// response relayed to the client (a provider without usage, a stream cut by either side: what
// was produced is still metered).
#include <cstdint>
#include <string_view>

#include "usage/tokenizer.hpp"

namespace llmproxy::usage {

/// The prompt of an OpenAI request body: chat messages (string or text parts; 3 tokens of
/// framing per message and 3 to prime the reply, as OpenAI counts), a completions prompt, or
/// an embeddings/responses input. Returns -1 when the body is not JSON.
std::int64_t CountPromptTokens(const Tokenizer& t, std::string_view request_json);

/// The generated text in what was relayed: SSE chunks (delta content, reasoning, tool call
/// arguments, completions text, Responses API deltas) or a whole JSON response.
std::int64_t CountCompletionTokens(const Tokenizer& t, std::string_view relayed, bool sse);

}  // namespace llmproxy::usage
