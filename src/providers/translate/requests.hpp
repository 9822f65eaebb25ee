#pragma once
// Request bodies from one dialect to the other. Each field is mapped on purpose; a field with no
// counterpart is dropped deliberately (docs/translation.md lists them), never by rebuilding the
// body from a fixed struct of known fields and losing the rest silently.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "core/error_reply.hpp"

namespace llmproxy::providers::translate {

struct RequestOptions {
    std::string_view upstream_model;
    bool stream_usage = true;                // ask an OpenAI upstream for stream usage
    std::int64_t default_max_tokens = 4096;  // Anthropic requires max_tokens; OpenAI clients may omit it
    std::int64_t max_tokens_cap = 0;         // > 0: what the provider can serve (max_tokens is clamped)
};

struct RequestTranslation {
    std::string body;                       // the upstream's request
    std::optional<core::LocalReply> error;  // the request cannot be translated (the client's fault: 400)
    std::vector<std::string> custom_tools;  // Responses `custom` tools sent as functions: their calls go back as custom
};

/// The client's body as a JSON object (into `parsed`), or false with the 400 in `result`.
bool ParseRequestBody(std::string_view body, boost::json::value& parsed, RequestTranslation& result);

/// Anthropic Messages request -> OpenAI chat completions request.
RequestTranslation MessagesToChatRequest(std::string_view body, const RequestOptions& options);
/// OpenAI Responses request -> OpenAI chat completions request (stateless: a
/// previous_response_id is refused, the whole history must come in `input`).
RequestTranslation ResponsesToChatRequest(std::string_view body, const RequestOptions& options);
/// OpenAI chat completions request -> Anthropic Messages request.
RequestTranslation ChatToMessagesRequest(std::string_view body, const RequestOptions& options);

}  // namespace llmproxy::providers::translate
