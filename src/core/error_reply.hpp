#pragma once
// The gateway's own error answers and how each dialect writes them: OpenAI's
// {"error":{"message","type","param","code"}} and Anthropic's
// {"type":"error","error":{"type","message"}}, whole or as a stream's in-band error event.
#include <string>
#include <string_view>

#include "core/dialect.hpp"

namespace llmproxy::core {

/// A reply the gateway produces itself (not relayed from an upstream).
struct LocalReply {
    int status = 500;
    std::string type;     // invalid_request_error, not_found_error, upstream_error, ...
    std::string code;     // machine-readable: model_not_found, invalid_json, ...; empty -> null
    std::string message;  // for humans
    std::string param;    // offending field; empty -> null
    std::string allow;    // Allow header for 405
};

/// The error body in the client's dialect.
std::string ErrorBody(const LocalReply& reply, std::string_view request_id, Dialect dialect = Dialect::kOpenAIChat);

/// The in-band error event that ends a stream already started (status is already 200).
std::string StreamErrorEvent(const LocalReply& reply, std::string_view request_id, Dialect dialect);

/// A Responses stream's in-band failure: event response.failed with the error in its response.
std::string ResponsesFailedEvent(const LocalReply& reply, std::string_view request_id);

/// Anthropic's error type for a status (invalid_request_error, authentication_error, ...).
std::string_view AnthropicErrorType(int status);

LocalReply BadRequest(std::string message, std::string code = {}, std::string param = {});
LocalReply NotFound(std::string message, std::string code = {});

}  // namespace llmproxy::core
