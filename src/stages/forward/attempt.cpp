#include "stages/forward/attempt.hpp"

#include <spdlog/spdlog.h>

#include "http/wire.hpp"
#include "stages/forward/relay.hpp"
#include "usage/local_count.hpp"

namespace llmproxy::stages {
namespace {

using proxy::FailureKind;
using proxy::ProviderHealth;
using proxy::SteadyNowMs;

// The observers of one attempt, before the request's own (capture): the adapter's usage reader
// and local token counting read the upstream's dialect; its translator, last, turns it into the
// client's.
struct AttemptObservers {
    providers::UsageReaderSlot usage_slot;
    providers::UsageReader& usage;
    std::optional<TokenCountObserver> counter;
    std::unique_ptr<providers::ResponseObserver> translator;

    AttemptObservers(const providers::ProviderAdapter& adapter, const providers::PreparedRequest& prepared,
                     const providers::AttemptRequest& request, const usage::Tokenizer* tokenizer,
                     bool upstream_reports_usage, providers::ResponseChain& chain)
        : usage(adapter.MakeUsageReader(prepared, usage_slot)), translator(adapter.MakeTranslator(prepared, request)) {
        chain.BeginAttempt();
        chain.AddForAttempt(usage.observer());
        // The local count is the only one when the upstream reports none: exact then; else it
        // serves only a stream cut before its usage, and costs next to nothing (sampled).
        using Mode = usage::StreamTokenCounter::Mode;
        if (tokenizer)
            chain.AddForAttempt(counter.emplace(*tokenizer, upstream_reports_usage ? Mode::kSampled : Mode::kExact));
        if (translator) chain.AddForAttempt(*translator);
    }
};

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

// The usage of an attempt that produced a response: the upstream's, else counted here from the
// request and what reached the client (a provider that reports none, a stream cut by either
// side: what was produced is still metered).
std::optional<usage::Usage> AttemptUsage(RequestContext& ctx, AttemptObservers& obs, const usage::Tokenizer* t,
                                         unsigned status) {
    if (obs.usage.usage()) return obs.usage.usage();
    const bool produced = (status >= 200 && status < 300) || status == 499;
    if (!produced || !t || !ctx.routed.json) return std::nullopt;
    if (ctx.endpoint->endpoint == pipeline::Endpoint::kCountTokens) return std::nullopt;  // nothing generated
    usage::Usage u;
    if (ctx.endpoint->endpoint != pipeline::Endpoint::kEmbeddings) {
        if (obs.counter && obs.counter->saw_stream())
            u.completion_tokens = obs.counter->completion_tokens();
        else if (!obs.usage.body().empty())
            u.completion_tokens = usage::CountCompletionTokens(*t, obs.usage.body(), false);
        else
            return std::nullopt;
    }
    u.prompt_tokens = std::max<std::int64_t>(0, usage::CountPromptTokens(*t, ctx.request().body()));
    u.total_tokens = u.prompt_tokens + u.completion_tokens;
    u.estimated = true;
    return u;
}

// The request's record of this attempt: who, how it went, and (when it answered) its usage.
void RecordAttempt(RequestForward& fwd, const AttemptTarget& target, const ForwardOutcome& out,
                   AttemptObservers& observers) {
    auto& record = fwd.ctx.record;
    const auto& provider = fwd.ctx.config().providers[target.provider];
    record.provider = provider.name;
    record.provider_index = target.provider;
    record.attempts = target.number;
    if (!record.attempt_log.empty()) record.attempt_log.push_back(',');
    record.attempt_log += provider.name + ":" +
                          std::to_string(out.client_aborted     ? 499
                                         : out.held_status      ? out.held_status
                                         : out.response_started ? out.status
                                         : out.error            ? out.error->status
                                                                : 0);
    if (!out.client_aborted && !out.response_started) return;
    record.status = out.client_aborted ? 499 : out.status;  // 499: nginx's "client closed request"
    record.first_event_at = out.first_event_at;
    record.cut = out.cut;
    record.usage = AttemptUsage(fwd.ctx, observers, fwd.tokenizer, record.status);
    if (fwd.capture) record.response_body = fwd.capture->Take();
}

// Nothing reached the client: what the failure says about the provider and what to tell the
// client if no other attempt answers.
AttemptEnd Failed(const ForwardOutcome& out, const core::ProviderConfig& provider, ProviderHealth& h,
                  std::int64_t now) {
    AttemptEnd end;
    end.held_status = out.held_status;
    if (out.held_status) {
        end.kind = FailureKind::kStatus;
        if (out.held_status == 429)
            h.OnRateLimited(now, out.retry_after_ms < 0 ? 1000 : out.retry_after_ms);
        else
            h.OnFailure(now, "answered " + std::to_string(out.held_status));
        end.error = HeldStatusReply(out.held_status, provider.name);
    } else {
        end.kind = out.timed_out ? FailureKind::kTimeout : FailureKind::kConnect;
        if (!out.pool_exhausted) h.OnFailure(now, out.error ? out.error->message : "failed");
        end.error = out.error;
    }
    return end;
}

// The provider cannot serve this request (an endpoint it lacks, a body its dialect cannot take):
// nothing was sent, its health is untouched, and the answer is not one to retry.
AttemptEnd Refused(core::LocalReply reply) {
    AttemptEnd end;
    end.kind = FailureKind::kStatus;
    end.error = std::move(reply);
    return end;
}

AttemptEnd Answered() {
    AttemptEnd end;
    end.final = true;
    return end;
}

}  // namespace

Task<AttemptEnd> RunAttempt(RequestForward& fwd, const AttemptTarget& target) {
    RequestContext& ctx = fwd.ctx;
    const auto& snap = ctx.snap();
    const auto& config = ctx.config();
    const auto& routed = ctx.routed;
    const std::size_t p = target.provider;
    const auto& provider = config.providers[p];

    // What goes upstream, as this provider's adapter prepares it.
    const providers::ProviderAdapter& adapter = providers::AdapterFor(provider);
    const std::string& upstream_model = snap.routes.UpstreamModel(p, target.model);
    ctx.record.upstream_model = upstream_model;
    providers::PreparedRequest prepared;
    const providers::AttemptRequest request{
        ctx.request().body(), routed.json ? &routed.body : nullptr, routed.path_suffix, upstream_model, ctx.dialect,
        routed.public_model,  config.server.max_translated_body};
    adapter.Prepare(provider, request, prepared);
    if (prepared.refusal) co_return Refused(std::move(*prepared.refusal));
    std::vector<std::pair<std::string, std::string>> script_headers;
    if (ctx.scripts() && !ScriptStage::TransformRequest(ctx, fwd.rt, provider, prepared, script_headers)) {
        co_return Answered();  // refused: the pipeline writes ctx's answer
    }
    AttemptObservers observers(adapter, prepared, request, routed.json ? fwd.tokenizer : nullptr, provider.stream_usage,
                               ctx.response_chain);
    fwd.extra_headers.clear();
    wire::AppendHeader(fwd.extra_headers, "x-llm-proxy-provider", provider.name);
    if (target.number > 1) wire::AppendHeader(fwd.extra_headers, "x-llm-proxy-attempts", std::to_string(target.number));

    const ForwardInput in{.provider = provider,
                          .adapter = adapter,
                          .request = ctx.request(),
                          .body = prepared.body,
                          .upstream_target = prepared.target,
                          .request_id = ctx.request_id,
                          .client_write_timeout = config.server.idle_timeout,
                          .deadline = routed.deadline,
                          .hold_statuses = target.hold,
                          .extra_response_headers = fwd.extra_headers,
                          .traceparent = routed.traceparent,
                          .chain = ctx.response_chain,
                          .sent_body_storage = &prepared.edited,
                          .max_response_head = config.server.max_header_bytes,
                          .client_dialect = ctx.dialect,
                          .max_whole_body = config.server.max_translated_body,
                          .script_headers = script_headers,
                          .delayed_starts = fwd.rt.delayed_starts};
    ProviderHealth& h = *snap.health[p];
    h.BeginRequest();
    const ForwardOutcome out = co_await Forward(fwd.client, fwd.buffer, in, *ctx.upstreams->pools[p]);
    h.EndRequest();
    const std::int64_t now = SteadyNowMs();
    if (out.ttfb_ms > 0) fwd.rt.metrics->ObserveProviderLatency(snap.metric_slot[p], out.ttfb_ms / 1000.0);
    RecordAttempt(fwd, target, out, observers);
    if (out.client_aborted) {
        h.ReleaseProbe();
        ctx.keep_alive = false;
        co_return Answered();
    }
    if (out.response_started) {
        RecordRelayed(h, out, now);
        if (target.number > 1)
            spdlog::info("request {}: served by '{}' on attempt {}", ctx.request_id, provider.name, target.number);
        ctx.keep_alive = ctx.keep_alive && out.keep_client;
        co_return Answered();
    }
    co_return Failed(out, provider, h, now);
}

}  // namespace llmproxy::stages
