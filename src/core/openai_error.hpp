#pragma once
// OpenAI-style error bodies: {"error":{"message","type","param","code"}}.
#include <string>
#include <string_view>

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

std::string ErrorBody(const LocalReply& reply, std::string_view request_id);

LocalReply BadRequest(std::string message, std::string code = {}, std::string param = {});
LocalReply NotFound(std::string message, std::string code = {});

}  // namespace llmproxy::core
