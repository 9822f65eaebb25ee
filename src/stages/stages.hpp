#pragma once
// The pipeline's stages, in the order pipeline.cpp runs them. Each one looks at the request
// context and either lets the request go on (returns true) or answers it (sets the context's
// answer and returns false). Stages use nothing but the context and the Runtime they are given.
#include "http/asio_types.hpp"
#include "pipeline/request_context.hpp"
#include "pipeline/runtime.hpp"
#include "providers/adapter.hpp"
#include "proxy/auth.hpp"

namespace llmproxy::stages {

using pipeline::RequestContext;
using pipeline::Runtime;

/// Endpoint and method: 404 for unknown paths, 405 with Allow for methods a path does not take.
struct EndpointStage {
    static bool Run(RequestContext& ctx, const pipeline::EndpointTable& table = pipeline::BuiltinEndpoints());
};

/// The record of the presented key in Redis, for an auth.pipeline redis step (from the
/// worker's cache while it is fresh): fills ctx.stored_key for the auth stage.
struct StoredKeyStage {
    /// Done without waiting (no redis step, the key decided before it, or the cache knows):
    /// true. False: Read must run.
    static bool FromCache(RequestContext& ctx, Runtime& rt);
    static Task<void> Read(RequestContext& ctx, Runtime& rt);
};

/// The credentials of the request's head (Authorization, x-api-key, api-key).
proxy::Credentials CredentialsOf(const ClientRequest& req);

/// Who is calling (key by SHA-256, status, expiry, allowed IPs; X-Forwarded-For from trusted
/// proxies). Runs on the request's head, before its body is read.
struct AuthStage {
    static bool Run(RequestContext& ctx, std::int64_t now_s);
    /// The admin key (Authorization: Bearer), compared as SHA-256 in constant time: 403 when
    /// none is configured (the admin API is never open), 401 when it is missing or wrong.
    static bool Admin(RequestContext& ctx);
};

/// Reads the body, within the worker's body memory budget (503 server_busy beyond it).
struct BodyStage {
    static Task<bool> Run(RequestContext& ctx, TcpStream& client, beast::flat_buffer& buffer, Runtime& rt);
    /// Run's first step, without waiting: what the buffer holds. nullopt: ReadRest must follow.
    static std::optional<bool> FromBuffer(RequestContext& ctx, beast::flat_buffer& buffer, Runtime& rt);
    static Task<bool> ReadRest(RequestContext& ctx, TcpStream& client, beast::flat_buffer& buffer, Runtime& rt);
};

/// Scans the JSON body for the few fields the gateway needs (never a DOM parse of what is only
/// forwarded) and checks the endpoint's required fields.
struct ParseStage {
    static bool Run(RequestContext& ctx);
};

/// Public model -> route (strip_prefix, default_model, globs); the key's allowed models; the
/// client's x-llm-proxy-timeout.
struct RouteStage {
    static bool Run(RequestContext& ctx);
};

/// Global and per-key limits held in this process (and the quota), estimated TPM included.
struct LimitsStage {
    static bool Run(RequestContext& ctx, Runtime& rt, std::int64_t now_ns, std::int64_t now_s);
};

/// Per-key limits shared through Redis (rate_limit.storage: redis).
struct SharedLimitsStage {
    static Task<bool> Run(RequestContext& ctx, Runtime& rt);
};

/// The Lua script points and lifecycle hooks on the request path (each a no-op when its script
/// is not configured). A failing script refuses the request with 500 script_error, or lets it
/// pass when its on_error is fail_open.
struct ScriptStage {
    /// After the body is parsed: scripts.auth, hooks.on_auth, hooks.on_request (403 on continue=false).
    static bool BeforeRoute(RequestContext& ctx, Runtime& rt);
    /// scripts.routing (a provider preferred by target selection), then hooks.on_route.
    static bool AfterRoute(RequestContext& ctx, Runtime& rt);
    /// scripts.rate_limit, after the standard limits passed (429 with Retry-After).
    static bool AfterLimits(RequestContext& ctx, Runtime& rt);
    /// Per attempt, on what goes to this provider: scripts.request_transform. A body it returns
    /// is scanned again and charged to the body budget again. `headers` gets the header lines
    /// for the upstream (the hooks' and the transform's). False: refused (ctx has the answer).
    static bool TransformRequest(RequestContext& ctx, Runtime& rt, const core::ProviderConfig& provider,
                                 providers::PreparedRequest& prepared,
                                 std::vector<std::pair<std::string, std::string>>& headers);
    /// On the local error answer every refusal and failed forward ends in: hooks.on_error sees
    /// it, scripts.error_handler may replace its status and body.
    static void OnError(RequestContext& ctx);
    /// Once the answer is written: scripts.usage (its fields join the usage event and the
    /// access log), hooks.on_response and hooks.on_complete (observe only).
    static void OnFinish(RequestContext& ctx, double latency_ms);
};

/// The attempt loop: target selection, retries and fallbacks, each attempt through the
/// provider's adapter and the relay. Always answers (relayed or local).
struct ForwardStage {
    static Task<void> Run(RequestContext& ctx, TcpStream& client, beast::flat_buffer& buffer, Runtime& rt);
};

}  // namespace llmproxy::stages
