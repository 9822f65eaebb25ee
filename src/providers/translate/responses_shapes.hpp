#pragma once
// The pieces of OpenAI's Responses API that the chat -> Responses translators (whole body and
// stream) both write: output items, usage, the response object, and a custom tool's raw input
// recovered from the function arguments it was offered as.
#include <cstdint>
#include <string>
#include <string_view>

#include "providers/translate/streams.hpp"

namespace llmproxy::providers::translate::responses {

/// Completed output items, as JSON.
std::string MessageItem(std::string_view id, std::string_view text, std::string_view status = "completed");
std::string ReasoningItem(std::string_view id, std::string_view text);
std::string FunctionCallItem(std::string_view id, std::string_view call_id, std::string_view name,
                             std::string_view arguments, std::string_view status = "completed");
std::string CustomCallItem(std::string_view id, std::string_view call_id, std::string_view name, std::string_view input,
                           std::string_view status = "completed");

/// {"input_tokens":..,"input_tokens_details":{"cached_tokens":..},"output_tokens":..,...}
std::string UsageJson(const StreamTokens& tokens);

/// What a response object says besides its output.
struct ResponseState {
    std::string_view id;
    std::string_view model;
    std::int64_t created_at = 0;
    std::string_view status;             // in_progress, completed, incomplete, failed
    std::string_view incomplete_reason;  // max_output_tokens, content_filter (status incomplete)
    std::string_view error_code;         // status failed
    std::string_view error_message;
};
/// The response object; `output` is the items' JSON joined by commas, `usage` JSON or empty (null).
std::string ResponseJson(const ResponseState& state, std::string_view output, std::string_view usage);

/// The status a chat finish_reason gives a response, and the reason when incomplete.
std::string_view StatusOf(std::string_view finish_reason);
std::string_view IncompleteReasonOf(std::string_view finish_reason);

/// A custom tool's raw input from the arguments of the function it was offered as:
/// {"input": "..."} as asked, else a lone string field, a JSON string, or the text itself,
/// with a Markdown fence around it removed.
std::string CustomInput(std::string_view arguments);

/// A fresh response id ("resp_<hex>").
std::string NewResponseId();

}  // namespace llmproxy::providers::translate::responses
