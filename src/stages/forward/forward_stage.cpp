// The forward stage: sends a routed request upstream, attempt after attempt — target selection
// (fallbacks, strategy, health), retries with backoff within the retry budget, model-level
// fallbacks. Retries happen only while nothing was sent to the client; the body is replayed
// from memory. The decisions are proxy::AttemptPolicy's (tested without sockets); one attempt
// is RunAttempt (attempt.cpp).
#include <random>
#include <spdlog/spdlog.h>

#include "http/wire.hpp"
#include "proxy/attempt_policy.hpp"
#include "proxy/auth.hpp"
#include "proxy/target_selector.hpp"
#include "stages/forward/attempt.hpp"

namespace llmproxy::stages {
namespace {

using Clock = std::chrono::steady_clock;
using proxy::SteadyNowMs;

// The models a request may be served by: its own, then its fallback_models (read in place: no
// copy per request). A fallback is a model like any other: the key must be allowed it.
struct ModelChain {
    ModelChain(const RequestContext& ctx)
        : ctx(ctx), fallbacks(ctx.snap().routes.FallbackModels(ctx.routed.public_model)), last(fallbacks.size()) {
        while (last > 0 && !Usable(last)) --last;
    }
    bool Usable(std::size_t i) const {
        return i == 0 || !ctx.key || proxy::ModelAllowed(ctx.key->config, fallbacks[i - 1]);
    }
    const std::string& Model(std::size_t i) const { return i == 0 ? ctx.routed.public_model : fallbacks[i - 1]; }
    const proxy::Route* RouteOf(std::size_t i) const {
        return i == 0 ? ctx.routed.route : ctx.snap().routes.Resolve(fallbacks[i - 1]).route;
    }

    const RequestContext& ctx;
    const std::vector<std::string>& fallbacks;
    std::size_t last;  // the last one the key may use
};

// The targets of one model tried so far.
struct ModelAttempts {
    explicit ModelAttempts(std::size_t providers) : tried(providers, false) {}
    proxy::TriedProviders tried;
    std::size_t last_failed = SIZE_MAX;
    bool last_was_429 = false;
};

core::LocalReply NoProvider(const std::string& model) {
    return {503, "upstream_error", "no_available_provider", "No provider is available for model '" + model + "'", {},
            {}};
}

}  // namespace

Task<void> ForwardStage::Run(RequestContext& ctx, TcpStream& client, beast::flat_buffer& buffer, Runtime& rt) {
    const auto& snap = ctx.snap();
    const auto& config = ctx.config();
    const proxy::TargetSelector selector(snap.routes, proxy::HealthTable(snap.health));
    rt.retry_budget->OnRequest(SteadyNowMs());
    proxy::AttemptPolicy policy(config.routing.retry, *rt.retry_budget, ctx.routed.deadline);
    RequestForward fwd{ctx, client, buffer, rt};
    fwd.tokenizer = rt.tokenizers ? rt.tokenizers->ForModel(ctx.routed.public_model) : nullptr;
    const auto& rlog = config.logging.request_log;
    if (script::ScriptSet* scripts = ctx.scripts();
        scripts && (scripts->Has(script::Point::kResponseTransform) || scripts->Has(script::Point::kOnChunk) ||
                    scripts->Has(script::Point::kErrorHandler) || scripts->Has(script::Point::kOnError))) {
        ctx.response_chain.AddForRequest(fwd.response_script.emplace(ctx, ctx.config().scripts.on_chunk.rewrite));
    }
    // The response as relayed, kept (capped) for the request log or for scripts that read it.
    const bool log_wants = rt.sinks.request_log && rlog.include_bodies;
    const bool scripts_want = ctx.scripts() && ctx.scripts()->ReadsResponseBody();
    if (log_wants || scripts_want) {
        const std::size_t cap = log_wants ? std::max<std::size_t>(rlog.max_body_bytes * 4, 1u << 20) : 0;
        ctx.response_chain.AddForRequest(
            fwd.capture.emplace(std::max(cap, scripts_want ? script::kMaxResponseBodyForScripts : 0)));
    }

    const ModelChain models(ctx);
    std::optional<core::LocalReply> last_error;
    int attempt = 0;
    bool gave_up = false;
    for (std::size_t mi = 0; mi <= models.last && !gave_up; ++mi) {
        const proxy::Route* route = models.Usable(mi) ? models.RouteOf(mi) : nullptr;
        if (route == nullptr) continue;
        ModelAttempts state(config.providers.size());
        for (;;) {
            auto& balancer = *ctx.upstreams->balancers[route->id];
            const std::size_t preferred = mi == 0 ? ctx.routed.preferred_provider : SIZE_MAX;
            auto sel = selector.Select(*route, balancer, state.tried, state.last_failed, SteadyNowMs(), preferred);
            if (!sel && policy.MayRevisit(attempt, state.last_was_429, mi == models.last)) {
                // Nothing untried is left but retries are (e.g. a single target): round again.
                state = ModelAttempts(config.providers.size());
                sel = selector.Select(*route, balancer, state.tried, state.last_failed, SteadyNowMs());
            }
            if (!sel) break;
            const std::size_t p = sel->provider;
            state.tried[p] = true;
            ++attempt;
            const bool more = proxy::MoreTargets(snap.routes, *route, state.tried, p, mi < models.last);
            const AttemptTarget target{p, models.Model(mi), attempt, policy.Holds(attempt, more, Clock::now())};
            AttemptEnd end = co_await RunAttempt(fwd, target);
            if (end.final) co_return;

            state.last_was_429 = end.held_status == 429;
            last_error = std::move(end.error);
            const auto next = policy.Decide(end.kind, end.held_status, attempt, SteadyNowMs(), Clock::now(),
                                            std::uniform_real_distribution<double>(0, 1)(*rt.rng));
            spdlog::info("request {}: attempt {} on '{}' failed: {}{}{}", ctx.request_id, attempt,
                         config.providers[p].name, last_error ? last_error->message : "?",
                         next.retry ? "" : "; not retried: ", next.why_not);
            if (!next.retry) {
                gave_up = true;
                break;
            }
            rt.metrics->CountRetry(snap.metric_slot[p]);
            Timer timer(client.get_executor(), Clock::now() + next.wait);
            co_await timer.async_wait(kNoThrow);
            state.last_failed = p;
        }
    }
    core::LocalReply reply = last_error ? std::move(*last_error) : NoProvider(ctx.routed.public_model);
    std::string extra;
    if (reply.status == 429) wire::AppendHeader(extra, "Retry-After", "1");
    ctx.Refuse(std::move(reply), std::move(extra));  // the pipeline writes it
}

}  // namespace llmproxy::stages
