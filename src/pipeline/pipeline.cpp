// The request path, top to bottom. Each stage lets the request go on or answers it; the first
// answer ends the list. docs/life_of_a_request.md walks through it.
#include "pipeline/pipeline.hpp"

#include <ctime>

#include "core/request_id.hpp"
#include "http/wire.hpp"
#include "pipeline/finish.hpp"
#include "pipeline/local_reply.hpp"
#include "stages/decision_webhook.hpp"
#include "stages/socket/responses_socket.hpp"
#include "stages/stages.hpp"

namespace llmproxy::pipeline {
namespace {

using namespace stages;

std::int64_t SteadyNs() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// A body this small that nobody needs (a refused request, a GET with a body) is read and
// dropped to keep the connection; a larger one is refused with the connection closed.
constexpr std::uint64_t kDiscardableBody = 64u << 10;

bool BodyTooBigToDiscard(const RequestParser& parser) {
    if (parser.is_done()) return false;
    const auto length = parser.content_length();
    return !length || *length > kDiscardableBody;
}

// The stages. On the head: endpoint, auth (no body memory is spent on a request that fails
// them); a local endpoint's handler then answers (after its body, if it reads one). For
// proxied requests: body, parse, route, limits, shared limits, forward, with the Lua script
// points between them (auth and on_request hooks once the body is known, routing after the
// route, rate_limit after the standard limits; request_transform runs per attempt).
Task<void> RunStages(RequestContext& ctx, TcpStream& client, beast::flat_buffer& buffer, Runtime& rt) {
    const std::int64_t now_s = std::time(nullptr);
    if (!EndpointStage::Run(ctx, rt.endpoints ? *rt.endpoints : BuiltinEndpoints())) co_return;
    if (!ctx.config().auth.pipeline.empty() && !StoredKeyStage::FromCache(ctx, rt)) {
        co_await StoredKeyStage::Read(ctx, rt);  // an auth.pipeline redis step's record
    }
    if (!AuthStage::Run(ctx, now_s)) co_return;
    if (ctx.endpoint->endpoint == Endpoint::kResponses && ctx.request().method() == http::verb::get) {
        co_await ResponsesSocketStage::Run(ctx, client, rt);
        co_return;
    }
    if (const LocalHandler handler = ctx.endpoint->handler) {
        if (ctx.endpoint->needs_body && !co_await BodyStage::Run(ctx, client, buffer, rt)) co_return;
        co_await handler(ctx, rt);
        co_return;
    }
    // A body that came with its head (most do) is taken without a coroutine.
    std::optional<bool> body_read = BodyStage::FromBuffer(ctx, buffer, rt);
    if (!body_read) body_read = co_await BodyStage::ReadRest(ctx, client, buffer, rt);
    if (!*body_read) co_return;
    if (!ParseStage::Run(ctx)) co_return;
    const core::HooksConfig& hooks = ctx.config().hooks;
    if (!ScriptStage::BeforeRoute(ctx, rt)) co_return;  // the script points: one branch each without scripts
    if (hooks.auth_decision.enabled && !co_await DecisionStage::Auth(ctx, rt)) co_return;
    if (!RouteStage::Run(ctx)) co_return;
    if (!ScriptStage::AfterRoute(ctx, rt)) co_return;
    if (hooks.routing_decision.enabled && !co_await DecisionStage::Routing(ctx, rt)) co_return;
    if (!LimitsStage::Run(ctx, rt, SteadyNs(), now_s)) co_return;
    if (rt.redis && ctx.key && !co_await SharedLimitsStage::Run(ctx, rt)) co_return;  // only with storage: redis
    if (!ScriptStage::AfterLimits(ctx, rt)) co_return;
    co_await ForwardStage::Run(ctx, client, buffer, rt);
}

// Whether a stage's answer is left to write: the forward stage wrote its own unless it failed
// before a byte reached the client.
bool HasAnswerToWrite(const RequestContext& ctx) {
    return !ctx.client_gone && (ctx.error || ctx.local_status);
}

// Writes the answer a stage gave (when HasAnswerToWrite).
Task<void> WriteAnswer(RequestContext& ctx, TcpStream& client, beast::flat_buffer& buffer, Runtime& rt) {
    // Answered without its body: keep the connection only if the body is small enough to drop.
    if (!ctx.parser.is_done()) {
        // A client waiting for 100 Continue is refused without it (reading its body would
        // first invite it), then the connection closes: it may still send the body.
        if (BodyTooBigToDiscard(ctx.parser) || beast::iequals(ctx.request()[http::field::expect], "100-continue")) {
            ctx.keep_alive = false;
        } else {
            BodyHold discard;
            const error_code ec =
                co_await ReadRequestBody(client, buffer, ctx.parser, ctx.config().server, *rt.body_budget, discard);
            if (ec) ctx.keep_alive = false;
        }
    }
    if (ctx.error && ctx.scripts()) ScriptStage::OnError(ctx);
    // HTTP/1.0 closes by default: a connection kept alive must be announced.
    if (ctx.keep_alive && ctx.request().version() < 11) ctx.answer_headers += "Connection: keep-alive\r\n";
    if (ctx.error) {
        ctx.record.status = ctx.error->status;
        const std::string_view headers = ctx.answer_headers;
        ctx.keep_alive = co_await WriteError(client, *ctx.error, ctx.request_id, ctx.keep_alive, headers, ctx.dialect);
    } else {
        ctx.record.status = ctx.local_status;
        const std::string_view body = ctx.local_body;
        ctx.keep_alive = co_await WriteLocal(client, ctx.local_status, body, ctx.request_id, ctx.keep_alive,
                                             ctx.answer_headers, ctx.content_type);
    }
}

// Counts the request as active for its whole life (llm_proxy_active_requests).
struct ActiveRequest {
    explicit ActiveRequest(observe::MetricsShard& m) : metrics(m) { metrics.RequestStarted(); }
    ~ActiveRequest() { metrics.RequestFinished(); }
    observe::MetricsShard& metrics;
};

}  // namespace

Task<bool> HandleRequest(TcpStream& client, beast::flat_buffer& buffer, RequestParser& parser,
                         std::shared_ptr<const Upstreams> upstreams, std::shared_ptr<const proxy::KeySet> keys,
                         Runtime& rt, std::string_view client_ip) {
    ActiveRequest active(*rt.metrics);
    RequestContext ctx(std::move(upstreams), parser, client_ip);
    ctx.keys = std::move(keys);
    auto& req = ctx.request();
    // Request id first: every answer, errors included, carries it.
    ctx.request_id = core::MakeRequestId(wire::FindUnknownField(req, "x-request-id"));
    ctx.keep_alive = req.keep_alive() && !rt.draining->load(std::memory_order_relaxed);

    co_await RunStages(ctx, client, buffer, rt);
    if (HasAnswerToWrite(ctx)) co_await WriteAnswer(ctx, client, buffer, rt);  // (no coroutine when relayed)
    Finish(ctx, rt);
    co_return ctx.keep_alive;
}

}  // namespace llmproxy::pipeline
