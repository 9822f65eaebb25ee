#include "stages/script_view.hpp"

#include <boost/json.hpp>
#include <chrono>

#include "proxy/provider_health.hpp"

namespace llmproxy::stages {

script::RequestView ViewOf(RequestContext& ctx) {
    auto& req = ctx.request();
    script::RequestView v;
    v.id = ctx.request_id;
    v.method = std::string_view(req.method_string().data(), req.method_string().size());
    const std::string_view target(req.target().data(), req.target().size());
    v.path = target.substr(0, target.find('?'));
    v.client_ip = ctx.client_ip;
    if (ctx.key) {
        v.api_key = ctx.key->config.key_hint;
        v.user_id = ctx.key->config.user_id;
        v.key_name = ctx.key->config.name;
    }
    v.model = !ctx.routed.public_model.empty() ? std::string_view(ctx.routed.public_model)
                                               : std::string_view(ctx.routed.body.model);
    v.headers = &static_cast<const HeadFields&>(req);
    v.body = req.body();
    return v;
}

std::vector<script::BackendView> BackendsOf(const RequestContext& ctx) {
    std::vector<script::BackendView> out;
    if (!ctx.routed.route) return out;
    const auto& providers = ctx.config().providers;
    const std::int64_t now_ms = proxy::SteadyNowMs();
    for (const auto& candidate : ctx.routed.route->candidates) {
        const std::size_t p = candidate.provider;
        const auto& health = *ctx.snap().health[p];
        script::BackendView b;
        b.name = providers[p].name;
        b.url = providers[p].base_url;
        b.healthy = health.Available(now_ms);
        b.weight = candidate.weight;
        b.latency_ms = health.ewma_ttfb_ms();
        b.active_connections = health.in_flight();
        out.push_back(b);
    }
    return out;
}

std::int64_t UnixSecondsAtStart(const RequestContext& ctx) {
    const auto age = pipeline::Clock::now() - ctx.started;
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch() - age)
        .count();
}

bool PreferProvider(RequestContext& ctx, std::string_view name) {
    const auto& providers = ctx.config().providers;
    for (std::size_t p = 0; p < providers.size(); ++p) {
        if (providers[p].name == name) {
            ctx.routed.preferred_provider = p;
            return true;
        }
    }
    return !ScriptFailed(
        ctx, script::ScriptFailure{"routing returned an unknown backend '" + std::string(name) + "'", false});
}

bool ScriptFailed(RequestContext& ctx, const std::optional<script::ScriptFailure>& failure) {
    if (!failure || failure->fail_open) return false;
    ctx.Refuse(core::LocalReply{500,
                                "server_error",
                                "script_error",
                                "A gateway script failed while handling this request; the gateway's log has the "
                                "details under this request's id.",
                                {},
                                {}});
    return true;
}

std::string ErrorMessageOf(std::string_view body) {
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(body, ec);
    if (!ec && doc.is_object()) {
        const auto& o = doc.as_object();
        if (const auto* error = o.if_contains("error")) {
            if (error->is_string()) return std::string(error->as_string());
            if (error->is_object()) {
                if (const auto* m = error->as_object().if_contains("message"); m && m->is_string()) {
                    return std::string(m->as_string());
                }
            }
        }
        if (const auto* m = o.if_contains("message"); m && m->is_string()) return std::string(m->as_string());
    }
    return std::string(body.substr(0, 512));
}

}  // namespace llmproxy::stages
