// The script points that run between the stages (pipeline.cpp calls them in order). Each
// builds the script's view of the request from the context and applies its answer; with no
// script configured a point costs one branch.
#include <ctime>

#include "http/wire.hpp"
#include "proxy/body_scan.hpp"
#include "script/script_set.hpp"
#include "stages/script_view.hpp"
#include "stages/stages.hpp"

namespace llmproxy::stages {
namespace {

using script::Point;

core::LocalReply Forbidden(std::string message, std::string code) {
    return core::LocalReply{403, "permission_error", std::move(code), std::move(message), {}, {}};
}

// Applies the hook's answer: headers it changed go upstream; continue = false answers 403
// with `error` as the message (the Go LLMProxy's on_request behaviour, here for every hook).
bool ApplyHook(RequestContext& ctx, const script::Answer<script::HookResult>& answer) {
    if (ScriptFailed(ctx, answer.failure)) return false;
    if (!answer.value) return true;
    for (const auto& header : answer.value->headers) ctx.script_headers.push_back(header);
    if (!answer.value->stop) return true;
    const std::string& why = answer.value->error;
    ctx.Refuse(Forbidden(why.empty() ? "The request was refused by a gateway hook." : why, "hook_refused"));
    return false;
}

bool RunHook(RequestContext& ctx, Point hook, const std::vector<script::BackendView>* backends = nullptr) {
    script::ScriptSet& scripts = *ctx.scripts();
    if (!scripts.Has(hook)) return true;
    const script::RequestView request = ViewOf(ctx);
    script::HookInput input;
    input.request = &request;
    input.backends = backends;
    input.timestamp = UnixSecondsAtStart(ctx);
    return ApplyHook(ctx, scripts.Hook(hook, input));
}

script::KeyInfo KeyInfoOf(const RequestContext& ctx) {
    script::KeyInfo info;
    if (!ctx.key) return info;
    const auto& k = ctx.key->config;
    info.key = k.key_hint;
    info.name = k.name;
    info.user_id = k.user_id;
    info.status = k.active ? "active" : "disabled";
    info.total_quota = static_cast<double>(k.total_quota);
    info.used_quota = ctx.key->counters ? static_cast<double>(ctx.key->counters->quota.Used(std::time(nullptr))) : 0;
    info.allowed_ips = &k.allowed_ips;
    info.expires_at = static_cast<double>(k.expires_at);
    return info;
}

// Refuses with the script's decision: its status (403 by default) and reason.
bool Decide(RequestContext& ctx, const script::Answer<script::Decision>& answer, unsigned default_status,
            std::string_view code) {
    if (ScriptFailed(ctx, answer.failure)) return false;
    if (!answer.value || answer.value->allow) return true;
    const script::Decision& d = *answer.value;
    core::LocalReply reply{static_cast<int>(d.status_code ? d.status_code : default_status),
                           default_status == 429 ? "rate_limit_error" : "permission_error",
                           std::string(code),
                           d.reason.empty() ? "The request was refused by a gateway script." : d.reason,
                           {},
                           {}};
    std::string headers;
    if (reply.status == 429) wire::AppendHeader(headers, "Retry-After", std::to_string(std::max(d.retry_after, 1)));
    ctx.Refuse(std::move(reply), std::move(headers));
    return false;
}

}  // namespace

bool ScriptStage::BeforeRoute(RequestContext& ctx, Runtime& rt) {
    script::ScriptSet* scripts = ctx.scripts();
    if (!scripts) return true;
    if (ctx.key && scripts->Has(Point::kAuth)) {
        const auto answer = scripts->Auth(ViewOf(ctx), KeyInfoOf(ctx));
        if (!Decide(ctx, answer, 403, "script_refused")) return false;
    }
    if (ctx.key && !RunHook(ctx, Point::kOnAuth)) return false;
    return RunHook(ctx, Point::kOnRequest);
}

bool ScriptStage::AfterRoute(RequestContext& ctx, Runtime& rt) {
    script::ScriptSet* scripts = ctx.scripts();
    if (!scripts || (!scripts->Has(Point::kRouting) && !scripts->Has(Point::kOnRoute))) return true;
    // The route's live backend numbers, only for scripts that name `backends`.
    const bool wanted = scripts->NamesBackends(Point::kRouting) || scripts->NamesBackends(Point::kOnRoute);
    const std::vector<script::BackendView> backends = wanted ? BackendsOf(ctx) : std::vector<script::BackendView>{};
    if (scripts->Has(Point::kRouting)) {
        const auto answer = scripts->Routing(ViewOf(ctx), backends);
        if (ScriptFailed(ctx, answer.failure)) return false;
        if (answer.value && !PreferProvider(ctx, *answer.value)) return false;
    }
    return RunHook(ctx, Point::kOnRoute, &backends);
}

bool ScriptStage::AfterLimits(RequestContext& ctx, Runtime& rt) {
    script::ScriptSet* scripts = ctx.scripts();
    if (!scripts || !scripts->Has(Point::kRateLimit)) return true;
    script::LimitStatus status;
    status.global_remaining = static_cast<double>(ctx.admission.global_remaining);
    status.key_remaining = static_cast<double>(ctx.admission.key_remaining);
    const auto* counters = ctx.key ? ctx.key->counters.get() : nullptr;
    status.concurrent_count = counters && counters->concurrency ? counters->concurrency->in_flight() : 0;
    const auto answer = scripts->RateLimit(ViewOf(ctx), KeyInfoOf(ctx), status);
    if (Decide(ctx, answer, 429, "script_rate_limited")) return true;
    if (!answer.failure) rt.metrics->CountRateLimited(static_cast<std::size_t>(proxy::LimitReason::kScript));
    return false;
}

namespace {

// The Go LLMProxy's error types: auth_error | rate_limit | backend_error | timeout (ours add
// invalid_request and script_error).
std::string_view ErrorTypeOf(const core::LocalReply& reply) {
    if (reply.code == "script_error") return "script_error";
    if (reply.status == 401 || reply.status == 403) return "auth_error";
    if (reply.status == 429) return "rate_limit";
    if (reply.status == 504 || reply.code.find("timeout") != std::string::npos) return "timeout";
    if (reply.status >= 500) return "backend_error";
    return "invalid_request";
}

}  // namespace

std::optional<std::string> RunErrorScripts(RequestContext& ctx, core::LocalReply& reply) {
    script::ScriptSet& scripts = *ctx.scripts();
    const script::RequestView request = ViewOf(ctx);
    const auto& providers = ctx.config().providers;
    const std::string_view backend_url = ctx.record.provider_index < providers.size()
                                             ? std::string_view(providers[ctx.record.provider_index].base_url)
                                             : std::string_view();
    if (scripts.Has(Point::kOnError)) {
        script::HookInput input;
        input.request = &request;
        input.error_message = reply.message;
        input.timestamp = UnixSecondsAtStart(ctx);
        scripts.Hook(Point::kOnError, input);  // observes only, as in the Go LLMProxy
    }
    if (!scripts.Has(Point::kErrorHandler)) return std::nullopt;
    const script::ErrorView error{ErrorTypeOf(reply), reply.message, backend_url, static_cast<unsigned>(reply.status),
                                  std::max(ctx.record.attempts - 1, 0)};
    auto answer = scripts.ErrorHandler(request, error);
    if (!answer.value) return std::nullopt;  // nil or a failed handler: the gateway's own answer stands
    if (answer.value->status_code) reply.status = static_cast<int>(answer.value->status_code);
    return std::move(answer.value->body);
}

void ScriptStage::OnError(RequestContext& ctx) {
    if (!ctx.scripts() || !ctx.error) return;
    auto body = RunErrorScripts(ctx, *ctx.error);
    if (!body) return;
    const unsigned status = static_cast<unsigned>(ctx.error->status);
    ctx.error.reset();
    ctx.Answer(status, std::move(*body));
    ctx.content_type = "application/json";
}

void ScriptStage::OnFinish(RequestContext& ctx, double latency_ms) {
    script::ScriptSet* scripts = ctx.scripts();
    if (!scripts || !ctx.endpoint || ctx.endpoint->handler) return;  // proxied requests only
    const auto& record = ctx.record;
    const script::RequestView request = ViewOf(ctx);
    const std::string_view backend_url = record.provider_index < ctx.config().providers.size()
                                             ? std::string_view(ctx.config().providers[record.provider_index].base_url)
                                             : std::string_view();
    if (scripts->Has(Point::kUsage) && record.attempts > 0) {
        script::UsageView usage;
        if (record.usage) {
            usage.prompt_tokens = record.usage->prompt_tokens;
            usage.completion_tokens = record.usage->completion_tokens;
            usage.total_tokens = record.usage->total_tokens;
        }
        usage.response_body = record.response_body;
        usage.backend_url = backend_url;
        usage.latency_ms = latency_ms;
        usage.is_stream = ctx.routed.body.stream;
        auto answer = scripts->Usage(request, usage);
        if (answer.value) ctx.script_usage_fields = std::move(*answer.value);
    }
    if (!scripts->Has(Point::kOnResponse) && !scripts->Has(Point::kOnComplete)) return;
    script::ResponseView response;
    response.status_code = record.status;
    response.latency_ms = latency_ms;
    response.backend_url = backend_url;
    response.body = record.response_body;
    script::HookInput input;
    input.request = &request;
    input.response = &response;
    input.timestamp = UnixSecondsAtStart(ctx);
    for (Point hook : {Point::kOnResponse, Point::kOnComplete}) {
        if (scripts->Has(hook)) scripts->Hook(hook, input);
    }
}

bool ScriptStage::TransformRequest(RequestContext& ctx, Runtime& rt, const core::ProviderConfig& provider,
                                   providers::PreparedRequest& prepared,
                                   std::vector<std::pair<std::string, std::string>>& headers) {
    headers = ctx.script_headers;
    script::ScriptSet* scripts = ctx.scripts();
    if (!scripts || !scripts->Has(Point::kRequestTransform)) return true;
    script::RequestView view = ViewOf(ctx);
    view.body = prepared.body;  // as this provider gets it (model mapped, maybe translated)
    view.backend_url = provider.base_url;
    auto answer = scripts->RequestTransform(view);
    if (ScriptFailed(ctx, answer.failure)) return false;
    if (!answer.value) return true;  // nil: the bytes go as they are
    for (auto& header : answer.value->headers) headers.push_back(std::move(header));
    if (!answer.value->body) return true;
    std::string& body = *answer.value->body;
    // A changed body is a new body: within max_body_bytes, charged to the worker's budget, and
    // JSON where JSON was sent.
    std::optional<std::string> wrong;
    if (body.size() > ctx.config().server.max_body_bytes)
        wrong = "a body over server.max_body_bytes";
    else if (ctx.routed.json && !proxy::ScanBody(body).valid)
        wrong = "a body that is not JSON";
    if (wrong) return !ScriptFailed(ctx, script::ScriptFailure{"request_transform returned " + *wrong, false});
    if (!ctx.body_hold.Take(*rt.body_budget, body.size())) {
        ctx.Refuse(core::LocalReply{503,
                                    "server_error",
                                    "server_busy",
                                    "The gateway is holding too many request bodies; retry shortly.",
                                    {},
                                    {}});
        return false;
    }
    prepared.edited = std::move(body);
    prepared.body = prepared.edited;
    return true;
}

}  // namespace llmproxy::stages
