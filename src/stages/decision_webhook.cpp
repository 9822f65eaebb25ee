#include "stages/decision_webhook.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <unordered_map>

#include "http/upstream_connection.hpp"
#include "http/wire.hpp"
#include "stages/script_view.hpp"

namespace llmproxy::stages {
namespace {

constexpr std::size_t kMaxAnswer = 64u << 10;
constexpr std::size_t kMaxBodyPosted = 256u << 10;  // larger request bodies are not sent along

// One TLS client context per host, per worker thread (verifying, system CAs).
asio::ssl::context* TlsFor(const core::DecisionWebhookConfig& hook) {
    if (!hook.tls) return nullptr;
    thread_local std::unordered_map<std::string, std::unique_ptr<asio::ssl::context>> contexts;
    auto& ctx = contexts[hook.host];
    if (!ctx) {
        ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
        ctx->set_default_verify_paths();
        ctx->set_verify_mode(asio::ssl::verify_peer);
    }
    return ctx.get();
}

Task<std::optional<std::string>> AskOnce(const core::DecisionWebhookConfig& hook, std::string_view body) {
    auto ex = co_await asio::this_coro::executor;
    core::ProviderConfig target;
    target.host = hook.host;
    target.port = hook.port;
    target.tls = hook.tls;
    target.tls_verify = true;
    Resolver resolver(ex);
    auto [rec, results] = co_await resolver.async_resolve(hook.host, hook.port, kNoThrow);
    if (rec) co_return std::nullopt;
    const std::vector<tcp::endpoint> endpoints(results.begin(), results.end());
    auto conn = std::make_shared<upstream::UpstreamConnection>(ex, TlsFor(hook));
    error_code ec = co_await conn->Connect(endpoints, target, hook.timeout);
    std::string head = "POST " + hook.path + " HTTP/1.1\r\n";
    wire::AppendHeader(head, "Host", hook.host_header);
    wire::AppendHeader(head, "Content-Type", "application/json");
    wire::AppendHeader(head, "Content-Length", std::to_string(body.size()));
    head += "Connection: close\r\n\r\n";
    if (!ec) ec = co_await conn->Write({asio::buffer(head), asio::buffer(body.data(), body.size())}, hook.timeout);
    upstream::ResponseParser parser;
    parser.body_limit(kMaxAnswer);
    if (!ec) ec = co_await conn->ReadHeader(parser, hook.timeout);
    std::string answer;
    while (!ec) {
        for (auto piece : parser.get().body().pieces) answer.append(piece);
        parser.get().body().clear();
        if (parser.is_done() || answer.size() > kMaxAnswer) break;
        ec = co_await conn->ReadSome(parser, hook.timeout);
    }
    conn->Close();
    if (ec || parser.get().result_int() / 100 != 2 || answer.size() > kMaxAnswer) co_return std::nullopt;
    co_return answer;
}

boost::json::object RequestJson(RequestContext& ctx) {
    const script::RequestView r = ViewOf(ctx);
    boost::json::object o{
        {"id", r.id},           {"method", r.method},   {"path", r.path},         {"client_ip", r.client_ip},
        {"api_key", r.api_key}, {"user_id", r.user_id}, {"key_name", r.key_name}, {"model", r.model}};
    boost::json::object headers;
    for (const auto& f : ctx.request()) {
        const std::string name = script::CanonicalHeaderName({f.name_string().data(), f.name_string().size()});
        if (name == "Authorization" || name == "X-Api-Key" || name == "Api-Key") continue;  // secrets stay here
        if (!headers.contains(name)) headers[name] = std::string_view(f.value().data(), f.value().size());
    }
    o["headers"] = std::move(headers);
    if (r.body.size() <= kMaxBodyPosted && ctx.routed.json) {
        boost::system::error_code ec;
        auto body = boost::json::parse(r.body, ec);
        if (!ec) o["body"] = std::move(body);
    }
    return o;
}

// The service failed: use_default and ignore go on, reject refuses.
bool OnFailure(RequestContext& ctx, const core::DecisionWebhookConfig& hook, std::string_view which) {
    if (hook.on_failure == "use_default") {
        spdlog::warn("request {}: {} webhook failed or timed out; using the gateway's own decision", ctx.request_id,
                     which);
    }
    if (hook.on_failure != "reject") return true;
    ctx.Refuse(core::LocalReply{503,
                                "server_error",
                                "decision_unavailable",
                                std::string("The ") + std::string(which) + " service did not answer; retry later.",
                                {},
                                {}});
    return false;
}

Task<std::optional<boost::json::object>> Ask(const core::DecisionWebhookConfig& hook, boost::json::object input) {
    const std::string body = boost::json::serialize(input);
    auto answer = co_await AskDecision(hook, body);
    if (!answer) co_return std::nullopt;
    boost::system::error_code ec;
    auto doc = boost::json::parse(*answer, ec);
    if (ec || !doc.is_object()) co_return std::nullopt;
    co_return std::move(doc.as_object());
}

// The coroutines below only await: the JSON and replies are built in these plain functions
// (GCC 12 cannot keep brace-initialised string literals in a coroutine frame).
boost::json::object AuthInput(RequestContext& ctx) {
    boost::json::object input{{"request", RequestJson(ctx)}};
    if (ctx.key) {
        const auto& k = ctx.key->config;
        input["key_info"] = {{"key", k.key_hint},
                             {"name", k.name},
                             {"user_id", k.user_id},
                             {"status", k.active ? "active" : "disabled"},
                             {"total_quota", k.total_quota},
                             {"expires_at", k.expires_at}};
    }
    input["standard_checks"] = {
        {"key_valid", true}, {"status_active", true}, {"not_expired", true}, {"ip_allowed", true}};
    return input;
}

bool ApplyAuthAnswer(RequestContext& ctx, const boost::json::object& answer) {
    const auto* allow = answer.if_contains("allow");
    if (!allow || !allow->is_bool() || allow->as_bool()) return true;
    const auto* reason = answer.if_contains("reason");
    const auto* status = answer.if_contains("status_code");
    const int code = status && status->is_int64() && status->as_int64() >= 400 && status->as_int64() <= 599
                         ? static_cast<int>(status->as_int64())
                         : 403;
    ctx.Refuse(core::LocalReply{code,
                                "permission_error",
                                "decision_refused",
                                reason && reason->is_string() ? std::string(reason->as_string())
                                                              : "The request was refused by the auth decision service.",
                                {},
                                {}});
    return false;
}

boost::json::object RoutingInput(RequestContext& ctx) {
    boost::json::object backends;
    for (const auto& b : BackendsOf(ctx)) {
        backends[b.name] = {{"url", b.url},
                            {"healthy", b.healthy},
                            {"weight", b.weight},
                            {"latency_ms", b.latency_ms},
                            {"active_connections", b.active_connections}};
    }
    return {{"request", RequestJson(ctx)}, {"backends", std::move(backends)}};
}

// {use_default: true}, or a backend by name (backend | provider) or by URL (backend_url).
bool ApplyRoutingAnswer(RequestContext& ctx, const boost::json::object& answer) {
    if (const auto* d = answer.if_contains("use_default"); d && d->is_bool() && d->as_bool()) return true;
    const auto& providers = ctx.config().providers;
    for (const char* field : {"backend", "provider", "backend_url"}) {
        const auto* v = answer.if_contains(field);
        if (!v || !v->is_string()) continue;
        const std::string_view want = v->as_string();
        for (std::size_t p = 0; p < providers.size(); ++p) {
            if (providers[p].name == want || providers[p].base_url == want) {
                ctx.routed.preferred_provider = p;
                return true;
            }
        }
    }
    return OnFailure(ctx, ctx.config().hooks.routing_decision, "routing_decision");  // names no backend we know
}

}  // namespace

Task<std::optional<std::string>> AskDecision(const core::DecisionWebhookConfig& hook, std::string body) {
    for (int attempt = 0; attempt <= hook.retry; ++attempt) {
        if (auto answer = co_await AskOnce(hook, body)) co_return answer;
    }
    co_return std::nullopt;
}

Task<bool> DecisionStage::Auth(RequestContext& ctx, Runtime& rt) {
    const auto& hook = ctx.config().hooks.auth_decision;
    auto answer = co_await Ask(hook, AuthInput(ctx));
    co_return answer ? ApplyAuthAnswer(ctx, *answer) : OnFailure(ctx, hook, "auth_decision");
}

Task<bool> DecisionStage::Routing(RequestContext& ctx, Runtime& rt) {
    const auto& hook = ctx.config().hooks.routing_decision;
    auto answer = co_await Ask(hook, RoutingInput(ctx));
    co_return answer ? ApplyRoutingAnswer(ctx, *answer) : OnFailure(ctx, hook, "routing_decision");
}

}  // namespace llmproxy::stages
