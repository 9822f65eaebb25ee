#include "core/request_id.hpp"
#include "core/units.hpp"
#include "http/wire.hpp"
#include "proxy/auth.hpp"
#include "stages/stages.hpp"

namespace llmproxy::stages {
namespace {

// x-llm-proxy-timeout: "30", "30s", "1500ms" — the client's own limit, capped by config.
std::optional<core::Millis> RequestTimeout(const ClientRequest& req, core::Millis cap) {
    auto it = req.find("x-llm-proxy-timeout");
    if (it == req.end()) return std::nullopt;
    auto d = core::ParseDuration(std::string_view(it->value().data(), it->value().size()));
    if (!d || d->count() <= 0) return std::nullopt;
    return std::min(*d, cap);
}

}  // namespace

bool RouteStage::Run(RequestContext& ctx) {
    auto& req = ctx.request();
    auto& routed = ctx.routed;
    const auto& body = routed.body;
    proxy::Resolution res =
        ctx.snap().routes.Resolve(body.has_model ? std::string_view(body.model) : std::string_view());
    if (res.public_model.empty()) {
        ctx.Refuse(core::BadRequest("Missing required parameter: 'model'.", "missing_required_parameter", "model"));
        return false;
    }
    if (res.route == nullptr) {
        ctx.Refuse(core::NotFound(
            "The model '" + res.public_model + "' does not exist or is not served by this gateway", "model_not_found"));
        return false;
    }
    if (ctx.key && !proxy::ModelAllowed(ctx.key->config, res.public_model)) {
        ctx.Refuse(core::LocalReply{
            403,
            "permission_error",
            "model_not_allowed",
            "The API key '" + ctx.key->config.name + "' may not use the model '" + res.public_model + "'.",
            "model",
            {}});
        return false;
    }
    routed.public_model = std::move(res.public_model);
    routed.route = res.route;
    const std::string_view target(req.target().data(), req.target().size());
    routed.path_suffix = target.substr(3);  // after "/v1"
    routed.traceparent = core::MakeTraceparent(wire::FindUnknownField(req, "traceparent"));
    if (auto timeout = RequestTimeout(req, ctx.config().routing.max_request_timeout)) {
        routed.deadline = pipeline::Clock::now() + *timeout;
    }
    return true;
}

}  // namespace llmproxy::stages
