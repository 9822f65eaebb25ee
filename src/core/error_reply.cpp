#include "core/error_reply.hpp"

#include "core/json_escape.hpp"

namespace llmproxy::core {
namespace {

std::string OpenAIErrorBody(const LocalReply& reply, std::string_view request_id) {
    std::string out;
    out.reserve(160 + reply.message.size());
    out += R"({"error":{"message":)";
    AppendJsonString(out, reply.message);
    out += R"(,"type":)";
    AppendJsonString(out, reply.type);
    out += R"(,"param":)";
    AppendJsonStringOrNull(out, reply.param);
    out += R"(,"code":)";
    AppendJsonStringOrNull(out, reply.code);
    out += R"(,"request_id":)";
    AppendJsonString(out, request_id);
    out += "}}";
    return out;
}

// Anthropic's shape: the SDKs read error.type and error.message; request_id sits beside them.
std::string AnthropicErrorBody(const LocalReply& reply, std::string_view request_id) {
    std::string out;
    out.reserve(120 + reply.message.size());
    out += R"({"type":"error","error":{"type":)";
    AppendJsonString(out, AnthropicErrorType(reply.status));
    out += R"(,"message":)";
    AppendJsonString(out, reply.message);
    out += R"(},"request_id":)";
    AppendJsonString(out, request_id);
    out += "}";
    return out;
}

}  // namespace

std::string_view AnthropicErrorType(int status) {
    switch (status) {
        case 401:
            return "authentication_error";
        case 402:
            return "billing_error";
        case 403:
            return "permission_error";
        case 404:
            return "not_found_error";
        case 413:
            return "request_too_large";
        case 429:
            return "rate_limit_error";
        case 503:
        case 529:
            return "overloaded_error";
        case 504:
            return "timeout_error";
        default:
            return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

std::string ErrorBody(const LocalReply& reply, std::string_view request_id, Dialect dialect) {
    return dialect == Dialect::kAnthropic ? AnthropicErrorBody(reply, request_id) : OpenAIErrorBody(reply, request_id);
}

std::string StreamErrorEvent(const LocalReply& reply, std::string_view request_id, Dialect dialect) {
    if (dialect == Dialect::kOpenAIResponses) return ResponsesFailedEvent(reply, request_id);
    return "event: error\ndata: " + ErrorBody(reply, request_id, dialect) + "\n\n";
}

// Responses clients (Codex) end a stream on a terminal event and ignore an untyped error: the
// failure is a response.failed whose response carries the error. (A translated stream writes
// its own, with its id and sequence: providers/translate.)
std::string ResponsesFailedEvent(const LocalReply& reply, std::string_view request_id) {
    std::string out = R"(event: response.failed
data: {"type":"response.failed","sequence_number":0,"response":{"id":)";
    AppendJsonString(out, "resp_" + std::string(request_id));
    out += R"(,"object":"response","status":"failed","output":[],"error":{"code":)";
    AppendJsonString(out, reply.code.empty() ? reply.type : reply.code);
    out += R"(,"message":)";
    AppendJsonString(out, reply.message);
    out += "}}}\n\n";
    return out;
}

LocalReply BadRequest(std::string message, std::string code, std::string param) {
    return {400, "invalid_request_error", std::move(code), std::move(message), std::move(param), {}};
}

LocalReply NotFound(std::string message, std::string code) {
    return {404, "invalid_request_error", std::move(code), std::move(message), {}, {}};
}

}  // namespace llmproxy::core
