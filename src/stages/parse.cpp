#include <algorithm>
#include <cctype>

#include "proxy/multipart_scan.hpp"
#include "stages/stages.hpp"
#include "http/wire.hpp"

namespace llmproxy::stages {
namespace {

using pipeline::Endpoint;

// Body fields an endpoint cannot do without (OpenAI answers 400 for these too).
std::optional<core::LocalReply> CheckRequired(Endpoint e, const proxy::BodyInfo& body) {
    if (body.max_tokens_invalid) {
        return core::BadRequest(
            "Invalid 'max_tokens': must be an integer between 0 and " + std::to_string(proxy::kMaxTokensLimit) + ".",
            "invalid_value", "max_tokens");
    }
    if (e == Endpoint::kChat && !body.has_messages) {
        return core::BadRequest("Missing required parameter: 'messages'.", "missing_required_parameter", "messages");
    }
    if ((e == Endpoint::kMessages || e == Endpoint::kCountTokens) && !body.has_messages) {
        return core::BadRequest("messages: Field required", "missing_required_parameter", "messages");
    }
    if (e == Endpoint::kMessages && !body.max_tokens) {
        return core::BadRequest("max_tokens: Field required", "missing_required_parameter", "max_tokens");
    }
    if ((e == Endpoint::kEmbeddings || e == Endpoint::kResponses) && !body.has_input) {
        return core::BadRequest("Missing required parameter: 'input'.", "missing_required_parameter", "input");
    }
    if (e == Endpoint::kCompletions && !body.has_prompt) {
        return core::BadRequest("Missing required parameter: 'prompt'.", "missing_required_parameter", "prompt");
    }
    return std::nullopt;
}

bool LooksLikeJsonObject(const std::string& body) {
    const auto first = body.find_first_not_of(" \t\r\n");
    return first != std::string::npos && body[first] == '{';
}

// A multipart upload's `model` part (audio transcriptions and the like): routed and checked
// like a JSON body's model. Refused when it cannot be read unambiguously — two of them, one
// too long, or a mention our reading did not find — since the upstream would run a model the
// ACL never saw. The body is forwarded unchanged (model_map does not apply to it).
bool ScanMultipartModel(RequestContext& ctx) {
    const auto& req = ctx.request();
    auto ct = req[http::field::content_type];
    const std::string_view content_type(ct.data(), ct.size());
    if (content_type.find("multipart/") == std::string_view::npos) return true;
    const auto field = proxy::FindMultipartField(req.body(), content_type, "model");
    auto mentions_model = [&] {
        const std::string& b = req.body();
        auto contains = [&](std::string_view needle) {
            return std::search(b.begin(), b.end(), needle.begin(), needle.end(), [](char x, char y) {
                       return std::tolower(static_cast<unsigned char>(x)) == y;
                   }) != b.end();
        };
        return contains("name=\"model\"") || contains("name=model");
    };
    if (field.outcome == proxy::MultipartField::kAmbiguous ||
        (field.outcome == proxy::MultipartField::kAbsent && mentions_model())) {
        ctx.Refuse(core::BadRequest("The multipart body's 'model' field could not be read unambiguously.",
                                    "invalid_multipart", "model"));
        return false;
    }
    if (field.outcome == proxy::MultipartField::kFound) {
        ctx.routed.body.has_model = true;
        ctx.routed.body.model = field.value;
    }
    return true;
}

bool SaysJson(const ClientRequest& req) {
    const std::string_view v = wire::FindField(req, http::field::content_type);
    return v.find("json") != std::string_view::npos && v.find("multipart/") == std::string_view::npos;
}

}  // namespace

bool ParseStage::Run(RequestContext& ctx) {
    auto& req = ctx.request();
    auto& routed = ctx.routed;
    const Endpoint e = ctx.endpoint->endpoint;
    if (req.method() != http::verb::post) return true;
    // The JSON endpoints take JSON whatever the Content-Type says (curl -d sends
    // x-www-form-urlencoded; a "multipart/" in it must not skip the model ACL): what does not
    // parse is refused. Other /v1 paths are scanned whenever the body is JSON, so their model
    // is routed and checked too; a body that is not (a multipart upload) goes untouched.
    const bool json_endpoint = e != Endpoint::kOtherV1;
    if (!json_endpoint && !SaysJson(req) && !LooksLikeJsonObject(req.body())) return ScanMultipartModel(ctx);
    routed.body = proxy::ScanBody(req.body());
    if (!routed.body.valid && !json_endpoint && !SaysJson(req)) {
        routed.body = {};  // only looked like JSON: forwarded as it is
        return true;
    }
    routed.json = true;
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
