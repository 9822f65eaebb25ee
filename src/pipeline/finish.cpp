#include "pipeline/finish.hpp"

#include <ctime>

#include "core/request_id.hpp"
#include "observe/request_log.hpp"
#include "stages/stages.hpp"

#include <limits>
#include "usage/usage_event.hpp"

namespace llmproxy::pipeline {
namespace {

std::int64_t UnixMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void SendUsageEvent(RequestContext& ctx, Runtime& rt, double duration_s, double ttft_s) {
    auto* hook = rt.sinks.webhook;
    auto* ledger = rt.sinks.ledger;
    const auto& record = ctx.record;
    if ((!hook && !ledger) || record.attempts == 0) return;
    const auto& cfg = ctx.config();
    usage::UsageEvent e;
    const core::EventId event_id = core::MakeEventId();
    e.event_id = event_id;
    e.request_id = ctx.request_id;
    if (ctx.key) {
        e.user_id = ctx.key->config.user_id;
        e.key_name = ctx.key->config.name;
        e.api_key = ctx.key->config.key_hint;
    }
    e.model = ctx.routed.public_model;
    e.upstream_model = record.upstream_model;
    e.provider = record.provider;
    if (record.provider_index < cfg.providers.size()) e.backend_url = cfg.providers[record.provider_index].base_url;
    e.endpoint = ctx.endpoint->label;
    e.is_stream = ctx.routed.body.stream;
    e.usage = record.usage;
    e.latency_ms = duration_s * 1000.0;
    e.ttft_ms = ttft_s >= 0 ? ttft_s * 1000.0 : -1.0;
    e.status_code = record.status;
    e.timestamp_ms = UnixMs();
    e.custom_fields = ctx.script_usage_fields;
    const std::size_t worker = rt.worker_index;
    if (!hook) {
        ledger->Enqueue(worker, usage::ToJson(e));
        return;
    }
    const bool with_body = cfg.usage_hook.include_request_body;
    // The same redaction as the request log: key material and the configured fields never
    // leave in a usage event (nor reach the spool).
    std::string redacted;
    if (with_body) {
        redacted = observe::Redact(ctx.request().body(), cfg.logging.request_log.redact_fields,
                                   std::numeric_limits<std::size_t>::max());
        e.request_body = std::string_view(redacted);
    }
    std::unique_ptr<std::string> json = hook->EventBuffer(worker);
    usage::AppendJson(e, *json);
    if (ledger) {
        e.request_body.reset();
        ledger->Enqueue(worker, with_body ? usage::ToJson(e) : *json);
    }
    hook->Enqueue(worker, std::move(json));
}

void WriteRequestLog(RequestContext& ctx, Runtime& rt, double duration_s) {
    auto* rlog = rt.sinks.request_log;
    if (!rlog) return;
    const auto& rcfg = ctx.config().logging.request_log;
    observe::RequestLogEntry entry;
    entry.request_id = ctx.request_id;
    if (ctx.key) entry.key_name = ctx.key->config.name;
    entry.model = ctx.routed.public_model;
    entry.provider = std::string(ctx.record.provider);
    entry.status = ctx.record.status;
    entry.latency_ms = duration_s * 1000.0;
    entry.ts_ms = UnixMs();
    if (rcfg.include_bodies) {
        // Raw bytes only (bounded); the writer thread redacts and caps them.
        const std::size_t keep = std::max<std::size_t>(rcfg.max_body_bytes * 4, 1u << 20);
        entry.request_body = ctx.request().body().substr(0, keep);
        entry.response_body = std::move(ctx.record.response_body);
    }
    rlog->Enqueue(rt.worker_index, std::move(entry));
}

}  // namespace

void Finish(RequestContext& ctx, Runtime& rt) {
    const auto& record = ctx.record;
    const auto now = Clock::now();
    const double duration = std::chrono::duration<double>(now - ctx.started).count();
    const double ttft =
        record.first_event_at ? std::chrono::duration<double>(*record.first_event_at - ctx.started).count() : -1.0;
    const auto method = ctx.request().method_string();
    const std::string_view endpoint_label = ctx.endpoint ? ctx.endpoint->label : "unknown";
    // Labels are bounded by the metrics shard (methods and model names folded).
    observe::RequestLabels labels{std::string_view(method.data(), method.size()),
                                  endpoint_label,
                                  ctx.routed.public_model,
                                  record.provider,
                                  record.status,
                                  ctx.routed.body.stream};
    rt.metrics->RecordRequest(labels, duration, ttft);
    if (record.usage) {
        ctx.admission.SetActualTokens(record.usage->total_tokens, std::time(nullptr));
        ctx.shared_limits.SetActualTokens(record.usage->total_tokens);
        const auto& u = *record.usage;
        rt.metrics->CountTokens(
            ctx.routed.public_model, record.provider,
            {u.prompt_tokens, u.completion_tokens, u.cached_tokens, u.cache_creation_tokens, u.reasoning_tokens});
    }
    if (ctx.scripts()) stages::ScriptStage::OnFinish(ctx, duration * 1000.0);
    if (ctx.endpoint) {
        SendUsageEvent(ctx, rt, duration, ttft);
        WriteRequestLog(ctx, rt, duration);
    }
    if (auto* log = rt.sinks.access_log) {
        const auto target = ctx.request().target();
        observe::AccessRecord a;  // fields set one by one: no aggregate left half-initialised
        a.request_id = ctx.request_id;
        a.method = labels.method;
        a.path = std::string_view(target.data(), target.size());
        a.model = ctx.routed.public_model;
        a.provider = record.provider;
        a.attempts = record.attempt_log;
        a.client_ip = ctx.client_ip;
        a.status = record.status;
        a.latency_ms = duration * 1000.0;
        a.ttft_ms = ttft >= 0 ? ttft * 1000.0 : -1.0;
        a.stream = ctx.routed.body.stream;
        if (!ctx.routed.traceparent.empty()) a.trace_id = core::TraceId(ctx.routed.traceparent);
        a.cut = record.cut;
        a.custom_fields = ctx.script_usage_fields;
        if (ctx.key) {
            a.key_name = ctx.key->config.name;
            a.user_id = ctx.key->config.user_id;
            a.api_key = ctx.key->config.key_hint;
        }
        if (record.usage) {
            a.prompt_tokens = record.usage->prompt_tokens;
            a.completion_tokens = record.usage->completion_tokens;
            a.total_tokens = record.usage->total_tokens;
            a.cached_tokens = record.usage->cached_tokens;
            a.reasoning_tokens = record.usage->reasoning_tokens;
            a.tokens_counted_locally = record.usage->estimated;
        }
        log->Write(rt.worker_index, a);
    }
}

}  // namespace llmproxy::pipeline
