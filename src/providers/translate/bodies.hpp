#pragma once
// Whole (non-stream) response bodies from one dialect to the other, and upstream error bodies
// in the client's dialect. Malformed input gives a clear error body, never a crash.
#include <string>
#include <string_view>

#include "providers/translate/streams.hpp"

namespace llmproxy::providers::translate {

/// OpenAI chat.completion -> Anthropic message. `model`: the name the client asked for.
std::string ChatToMessageBody(std::string_view body, std::string_view model);
/// Anthropic message -> OpenAI chat.completion.
std::string MessageToChatBody(std::string_view body, std::string_view model, bool& ok);

/// OpenAI chat.completion -> a Responses API response object.
std::string ChatToResponseBody(std::string_view body, const ResponsesStreamOptions& options);

/// An upstream's error body (OpenAI {"error":{...}}, Anthropic {"type":"error","error":{...}},
/// Ollama {"error":"..."} or anything else) in the client's dialect.
std::string ErrorToAnthropic(std::string_view body, unsigned status);
std::string ErrorToOpenAI(std::string_view body, unsigned status);

}  // namespace llmproxy::providers::translate
