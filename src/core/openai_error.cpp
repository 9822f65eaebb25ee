#include "core/openai_error.hpp"

#include "core/json_escape.hpp"

namespace llmproxy::core {

std::string ErrorBody(const LocalReply& reply, std::string_view request_id) {
    std::string out;
    out.reserve(160 + reply.message.size());
    out += R"({"error":{"message":)";
    AppendJsonString(out, reply.message);
    out += R"(,"type":)";
    AppendJsonString(out, reply.type);
    out += R"(,"param":)";
    if (reply.param.empty())
        out += "null";
    else
        AppendJsonString(out, reply.param);
    out += R"(,"code":)";
    if (reply.code.empty())
        out += "null";
    else
        AppendJsonString(out, reply.code);
    out += R"(,"request_id":)";
    AppendJsonString(out, request_id);
    out += "}}";
    return out;
}

LocalReply BadRequest(std::string message, std::string code, std::string param) {
    return {400, "invalid_request_error", std::move(code), std::move(message), std::move(param), {}};
}

LocalReply NotFound(std::string message, std::string code) {
    return {404, "invalid_request_error", std::move(code), std::move(message), {}, {}};
}

}  // namespace llmproxy::core
