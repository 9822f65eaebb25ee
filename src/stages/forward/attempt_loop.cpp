// The forward stage: sends a routed request upstream, attempt after attempt — target selection
// (fallbacks, strategy, health), retries with backoff within the retry budget, model-level
// fallbacks, and the health bookkeeping of every outcome. Retries happen only while nothing was
// sent to the client; the body is replayed from memory. Each attempt goes through the
// provider's adapter (what to send, how to read the answer) and the relay.
#include <random>
#include <spdlog/spdlog.h>

#include "core/openai_error.hpp"
#include "http/wire.hpp"
#include "pipeline/local_reply.hpp"
#include "proxy/auth.hpp"
#include "proxy/retry_policy.hpp"
#include "proxy/target_selector.hpp"
#include "stages/forward/observers.hpp"
#include "stages/forward/relay.hpp"
#include "stages/stages.hpp"
#include "usage/local_count.hpp"

namespace llmproxy::stages {
namespace {

using proxy::FailureKind;
using proxy::ProviderHealth;
using proxy::Route;
using proxy::RouteTable;
using proxy::SteadyNowMs;

using Clock = std::chrono::steady_clock;

// Records what one attempt tells about its provider's health.
void RecordRelayed(ProviderHealth& h, const ForwardOutcome& out, std::int64_t now) {
    if (out.upstream_failed || out.status >= 500) {
        h.OnFailure(now, out.upstream_failed ? "broke mid-response" : "answered " + std::to_string(out.status));
    } else if (out.status == 429) {
        h.OnRateLimited(now, out.retry_after_ms < 0 ? 1000 : out.retry_after_ms);
    } else {
        h.OnSuccess(now, out.ttfb_ms);
    }
}

core::LocalReply HeldStatusReply(unsigned status, const std::string& provider) {
    core::LocalReply r;
    r.status = status;
    r.type = status == 429 ? "rate_limit_error" : "upstream_error";
    r.code = status == 429 ? "rate_limit_exceeded" : "upstream_error";
    r.message =
        "upstream provider '" + provider + "' answered " + std::to_string(status) + " and no retry was possible";
    return r;
}

// Anything left to try after a failure at `provider`, without repeating it?
bool MoreTargets(const RouteTable& routes, const Route& route, const std::vector<bool>& tried, std::size_t provider,
                 bool more_models) {
    if (more_models) return true;
    for (const auto& c : route.candidates) {
        if (!tried[c.provider] && c.provider != provider && c.weight > 0) return true;
    }
    for (std::size_t f : routes.FallbacksOf(provider)) {
        if (!tried[f] && f != provider) return true;
    }
    return false;
}

// The observers of one attempt: the adapter's usage reader first (it may rewrite events: the
// others see what the client sees), then local token counting, then capture for the request log.
struct AttemptObservers {
    std::unique_ptr<providers::UsageReader> usage;
    std::optional<TokenCountObserver> counter;
    std::optional<CaptureObserver> capture;
    std::array<ResponseObserver*, 3> list{};
    std::size_t size = 0;

    AttemptObservers(const providers::ProviderAdapter& adapter, const providers::PreparedRequest& prepared,
                     const usage::Tokenizer* tokenizer, std::size_t capture_cap)
        : usage(adapter.MakeUsageReader(prepared)) {
        list[size++] = &usage->observer();
        if (tokenizer) list[size++] = &counter.emplace(*tokenizer);
        if (capture_cap) list[size++] = &capture.emplace(capture_cap);
    }
    std::span<ResponseObserver* const> span() const { return {list.data(), size}; }
};

// The usage of an attempt that produced a response: the upstream's, else counted here from the
// request and what reached the client (a provider that reports none, a stream cut by either
// side: what was produced is still metered).
std::optional<usage::Usage> AttemptUsage(RequestContext& ctx, AttemptObservers& obs, const usage::Tokenizer* t,
                                         unsigned status) {
    if (obs.usage->usage()) return obs.usage->usage();
    const bool produced = (status >= 200 && status < 300) || status == 499;
    if (!produced || !t || !ctx.routed.json) return std::nullopt;
    usage::Usage u;
    if (ctx.endpoint->endpoint != pipeline::Endpoint::kEmbeddings) {
        if (obs.counter && obs.counter->saw_stream())
            u.completion_tokens = obs.counter->completion_tokens();
        else if (!obs.usage->body().empty())
            u.completion_tokens = usage::CountCompletionTokens(*t, obs.usage->body(), false);
        else
            return std::nullopt;
    }
    u.prompt_tokens = std::max<std::int64_t>(0, usage::CountPromptTokens(*t, ctx.request().body()));
    u.total_tokens = u.prompt_tokens + u.completion_tokens;
    u.estimated = true;
    return u;
}

}  // namespace

Task<void> ForwardStage::Run(RequestContext& ctx, TcpStream& client, beast::flat_buffer& buffer, Runtime& rt) {
    const Snapshot& snap = ctx.snap();
    const auto& config = ctx.config();
    const auto& routed = ctx.routed;
    auto& record = ctx.record;
    const auto& req = ctx.request();
    const auto& retry = config.routing.retry;
    const proxy::HealthTable health(snap.health);
    const proxy::TargetSelector selector(snap.routes, health);
    proxy::RetryBudget& budget = *rt.retry_budget;
    budget.OnRequest(SteadyNowMs());
    const usage::Tokenizer* tokenizer = rt.tokenizers ? rt.tokenizers->ForModel(routed.public_model) : nullptr;
    const auto& rlog = config.logging.request_log;
    const std::size_t capture_cap =
        rt.sinks.request_log && rlog.include_bodies ? std::max<std::size_t>(rlog.max_body_bytes * 4, 1u << 20) : 0;

    // The model, then its fallback_models (read in place: no copy per request).
    const auto& fallback_models = snap.routes.FallbackModels(routed.public_model);
    // A fallback is a model like any other: the key must be allowed it. `last_model` is the
    // last one it may use.
    auto model_usable = [&](std::size_t i) {
        return i == 0 || !ctx.key || proxy::ModelAllowed(ctx.key->config, fallback_models[i - 1]);
    };
    std::size_t last_model = fallback_models.size();
    while (last_model > 0 && !model_usable(last_model)) --last_model;

    std::optional<core::LocalReply> last_error;
    std::string extra_headers;
    int attempt = 0;
    bool out_of_retries = false;
    for (std::size_t mi = 0; mi <= last_model && !out_of_retries; ++mi) {
        if (!model_usable(mi)) continue;
        const std::string& model = mi == 0 ? routed.public_model : fallback_models[mi - 1];
        const Route* route = mi == 0 ? routed.route : snap.routes.Resolve(model).route;
        if (route == nullptr) continue;
        std::vector<bool> tried(config.providers.size(), false);
        std::size_t last_failed = SIZE_MAX;
        bool last_was_429 = false;
        for (;;) {
            auto& balancer = *ctx.upstreams->balancers[route->id];
            auto sel = selector.Select(*route, balancer, tried, last_failed, SteadyNowMs());
            if (!sel && attempt > 0 && attempt <= retry.max_retries && !last_was_429 && mi == last_model) {
                // Nothing untried is left but retries are (e.g. a single target): go round the
                // same targets again. Not after a 429: its Retry-After asked us to stay away.
                std::fill(tried.begin(), tried.end(), false);
                last_failed = SIZE_MAX;
                sel = selector.Select(*route, balancer, tried, last_failed, SteadyNowMs());
            }
            if (!sel) break;
            const std::size_t p = sel->provider;
            const auto& provider = config.providers[p];
            tried[p] = true;
            ++attempt;

            // May this attempt's answer be held back for another try?
            const bool retries_left =
                attempt <= retry.max_retries && budget.tokens() >= 1 && Clock::now() < routed.deadline;
            const bool more = MoreTargets(snap.routes, *route, tried, p, mi < last_model);
            std::array<int, 16> hold_buffer{};
            std::size_t holds = 0;
            if (retries_left) {
                for (int s : retry.on_status) {
                    // A lone target's 429 is relayed as is.
                    if ((more || s != 429) && holds < hold_buffer.size()) hold_buffer[holds++] = s;
                }
            }
            const std::span<const int> hold(hold_buffer.data(), holds);

            // What goes upstream, as this provider's adapter prepares it.
            const providers::ProviderAdapter& adapter = providers::AdapterFor(provider);
            const std::string& upstream_model = snap.routes.UpstreamModel(p, model);
            record.upstream_model = upstream_model;
            providers::PreparedRequest prepared;
            const providers::AttemptRequest attempt_request{req.body(), routed.json ? &routed.body : nullptr,
                                                            routed.path_suffix, upstream_model};
            adapter.Prepare(provider, attempt_request, prepared);
            AttemptObservers observers(adapter, prepared, routed.json ? tokenizer : nullptr, capture_cap);
            extra_headers.clear();
            wire::AppendHeader(extra_headers, "x-llm-proxy-provider", provider.name);
            if (attempt > 1) wire::AppendHeader(extra_headers, "x-llm-proxy-attempts", std::to_string(attempt));

            ProviderHealth& h = *health[p];
            const ForwardInput in{provider,
                                  adapter,
                                  req,
                                  prepared.body,
                                  prepared.target,
                                  ctx.request_id,
                                  config.server.idle_timeout,
                                  routed.deadline,
                                  hold,
                                  extra_headers,
                                  routed.traceparent,
                                  observers.span(),
                                  &prepared.edited,
                                  config.server.max_header_bytes};
            h.BeginRequest();
            upstream::UpstreamPool& pool = *ctx.upstreams->pools[p];
            ForwardOutcome out = co_await Forward(client, buffer, in, pool);
            h.EndRequest();
            const std::int64_t now = SteadyNowMs();
            if (out.ttfb_ms > 0) rt.metrics->ObserveProviderLatency(snap.metric_slot[p], out.ttfb_ms / 1000.0);
            record.provider = provider.name;
            record.provider_index = p;
            record.attempts = attempt;
            if (!record.attempt_log.empty()) record.attempt_log.push_back(',');
            record.attempt_log += provider.name + ":" +
                                  std::to_string(out.client_aborted     ? 499
                                                 : out.held_status      ? out.held_status
                                                 : out.response_started ? out.status
                                                 : out.error            ? out.error->status
                                                                        : 0);
            if (out.client_aborted || out.response_started) {
                record.status = out.client_aborted ? 499 : out.status;  // 499: nginx's "client closed request"
                record.first_event_at = out.first_event_at;
                record.cut = out.cut;
                record.usage = AttemptUsage(ctx, observers, tokenizer, record.status);
                if (observers.capture) record.response_body = observers.capture->Take();
            }
            if (out.client_aborted) {
                h.ReleaseProbe();
                ctx.keep_alive = false;
                co_return;
            }
            if (out.response_started) {
                RecordRelayed(h, out, now);
                if (attempt > 1) {
                    spdlog::info("request {}: served by '{}' on attempt {}", ctx.request_id, provider.name, attempt);
                }
                ctx.keep_alive = ctx.keep_alive && out.keep_client;
                co_return;
            }

            // Nothing reached the client: classify, record, maybe retry elsewhere.
            FailureKind kind;
            last_was_429 = out.held_status == 429;
            if (out.held_status) {
                kind = FailureKind::kStatus;
                if (out.held_status == 429)
                    h.OnRateLimited(now, out.retry_after_ms < 0 ? 1000 : out.retry_after_ms);
                else
                    h.OnFailure(now, "answered " + std::to_string(out.held_status));
                last_error = HeldStatusReply(out.held_status, provider.name);
            } else {
                kind = out.timed_out ? FailureKind::kTimeout : FailureKind::kConnect;
                if (!out.pool_exhausted) h.OnFailure(now, out.error ? out.error->message : "failed");
                last_error = out.error;
            }
            const bool retryable = proxy::ShouldRetry(retry, kind, out.held_status);
            spdlog::info("request {}: attempt {} on '{}' failed: {}{}", ctx.request_id, attempt, provider.name,
                         last_error ? last_error->message : "?", retryable ? "" : " (not retried)");
            if (!retryable || attempt > retry.max_retries) {
                out_of_retries = true;
                break;
            }
            if (!budget.TryRetry(now)) {
                spdlog::warn("request {}: retry budget exhausted; not retrying", ctx.request_id);
                out_of_retries = true;
                break;
            }
            // Back off (bounded by the request's deadline) before the next attempt.
            auto wait = proxy::BackoffDelay(retry, attempt, std::uniform_real_distribution<double>(0, 1)(*rt.rng));
            auto until = std::min(Clock::now() + wait, routed.deadline);
            if (until >= routed.deadline) {
                out_of_retries = true;
                break;
            }
            rt.metrics->CountRetry(snap.metric_slot[p]);
            Timer timer(client.get_executor(), until);
            co_await timer.async_wait(kNoThrow);
            last_failed = p;
        }
    }
    core::LocalReply reply =
        last_error ? *last_error : core::LocalReply{503,
                                                    "upstream_error",
                                                    "no_available_provider",
                                                    "No provider is available for model '" + routed.public_model + "'",
                                                    {},
                                                    {}};
    std::string extra;
    if (reply.status == 429) wire::AppendHeader(extra, "Retry-After", "1");
    ctx.Refuse(std::move(reply), std::move(extra));  // the pipeline writes it
}

}  // namespace llmproxy::stages
