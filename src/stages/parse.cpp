#include "stages/stages.hpp"

namespace llmproxy::stages {
namespace {

using pipeline::Endpoint;

// Body fields an endpoint cannot do without (OpenAI answers 400 for these too).
std::optional<core::LocalReply> CheckRequired(Endpoint e, const proxy::BodyInfo& body) {
    if (e == Endpoint::kChat && !body.has_messages) {
        return core::BadRequest("Missing required parameter: 'messages'.", "missing_required_parameter", "messages");
    }
    if ((e == Endpoint::kEmbeddings || e == Endpoint::kResponses) && !body.has_input) {
        return core::BadRequest("Missing required parameter: 'input'.", "missing_required_parameter", "input");
    }
    if (e == Endpoint::kCompletions && !body.has_prompt) {
        return core::BadRequest("Missing required parameter: 'prompt'.", "missing_required_parameter", "prompt");
    }
    return std::nullopt;
}

// The OpenAI JSON endpoints are scanned whatever the Content-Type says (curl -d sends
// x-www-form-urlencoded); other /v1 paths only when the body says it is JSON (multipart
// uploads are forwarded untouched).
bool IsJsonBody(const http::request<http::string_body>& req, bool json_endpoint) {
    auto ct = req[http::field::content_type];
    std::string_view v(ct.data(), ct.size());
    if (v.find("multipart/") != std::string_view::npos) return false;
    if (json_endpoint || v.find("json") != std::string_view::npos) return true;
    auto first = req.body().find_first_not_of(" \t\r\n");
    return first != std::string::npos && req.body()[first] == '{';
}

}  // namespace

bool ParseStage::Run(RequestContext& ctx) {
    auto& req = ctx.request();
    auto& routed = ctx.routed;
    const Endpoint e = ctx.endpoint->endpoint;
    routed.json = req.method() == http::verb::post && IsJsonBody(req, e != Endpoint::kOtherV1);
    if (!routed.json) return true;
    routed.body = proxy::ScanBody(req.body());
    if (!routed.body.valid) {
        ctx.Refuse(
            core::BadRequest("We could not parse the JSON body of your request: " + routed.body.error, "invalid_json"));
        return false;
    }
    if (auto missing = CheckRequired(e, routed.body)) {
        ctx.Refuse(std::move(*missing));
        return false;
    }
    return true;
}

}  // namespace llmproxy::stages
