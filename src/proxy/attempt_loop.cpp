#include "proxy/attempt_loop.hpp"

#include <random>
#include <spdlog/spdlog.h>

#include "core/openai_error.hpp"
#include "http/wire.hpp"
#include "http/worker.hpp"
#include "proxy/body_splice.hpp"
#include "proxy/forwarder.hpp"
#include "proxy/request_handler.hpp"
#include "proxy/retry_policy.hpp"
#include "proxy/target_selector.hpp"

namespace llmproxy::proxy {
namespace {

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
    r.message = "upstream provider '" + provider + "' answered " + std::to_string(status) + " and no retry was possible";
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

}  // namespace

Task<bool> ForwardWithRetries(TcpStream& client, beast::flat_buffer& buffer, http::request<http::string_body>& req,
                              Worker& worker, const RoutedRequest& routed, std::string_view request_id,
                              bool keep_alive, RequestRecord& record) {
    const Snapshot& snap = worker.snapshot();
    const auto& config = *snap.config;
    const auto& retry = config.routing.retry;
    const HealthTable health(snap.health);
    const TargetSelector selector(snap.routes, health);
    RetryBudget& budget = worker.retry_budget();
    budget.OnRequest(SteadyNowMs());

    // The model, then its fallback_models (read in place: no copy per request).
    const auto& fallback_models = snap.routes.FallbackModels(routed.public_model);
    const std::size_t model_count = 1 + fallback_models.size();

    std::optional<core::LocalReply> last_error;
    std::string extra_headers;
    int attempt = 0;
    bool out_of_retries = false;
    for (std::size_t mi = 0; mi < model_count && !out_of_retries; ++mi) {
        const std::string& model = mi == 0 ? routed.public_model : fallback_models[mi - 1];
        const Route* route = mi == 0 ? routed.route : snap.routes.Resolve(model).route;
        if (route == nullptr) continue;
        std::vector<bool> tried(config.providers.size(), false);
        std::size_t last_failed = SIZE_MAX;
        bool last_was_429 = false;
        for (;;) {
            auto sel = selector.Select(*route, worker.BalancerFor(route->id), tried, last_failed, SteadyNowMs());
            if (!sel && attempt > 0 && attempt <= retry.max_retries && !last_was_429 && mi + 1 == model_count) {
                // Nothing untried is left but retries are (e.g. a single target): go round the
                // same targets again. Not after a 429: its Retry-After asked us to stay away.
                std::fill(tried.begin(), tried.end(), false);
                last_failed = SIZE_MAX;
                sel = selector.Select(*route, worker.BalancerFor(route->id), tried, last_failed, SteadyNowMs());
            }
            if (!sel) break;
            const std::size_t p = sel->provider;
            const auto& provider = config.providers[p];
            tried[p] = true;
            ++attempt;

            // May this attempt's answer be held back for another try?
            const bool retries_left = attempt <= retry.max_retries && budget.tokens() >= 1 && Clock::now() < routed.deadline;
            const bool more = MoreTargets(snap.routes, *route, tried, p, mi + 1 < model_count);
            std::vector<int> hold;
            if (retries_left) {
                for (int s : retry.on_status) {
                    if (more || s != 429) hold.push_back(s);  // a lone target's 429 is relayed as is
                }
            }

            // The body for this provider: the model spliced to its upstream name when needed.
            std::string spliced;
            std::string_view send_body = req.body();
            const std::string& upstream_model = snap.routes.UpstreamModel(p, model);
            record.upstream_model = upstream_model;
            if (routed.json && (!routed.body.has_model || upstream_model != routed.body.model)) {
                spliced = SpliceModel(req.body(), routed.body, upstream_model);
                send_body = spliced;
            }
            // Metering needs usage on streams: ask for it, and hide the extra chunk.
            const bool inject_usage = routed.json && routed.body.stream && !routed.body.has_stream_options &&
                                      provider.stream_usage;
            if (inject_usage) {
                spliced = InjectIncludeUsage(send_body);
                send_body = spliced;
            }
            const std::string target = provider.base_path + routed.path_suffix;
            extra_headers.clear();
            wire::AppendHeader(extra_headers, "x-llm-proxy-provider", provider.name);
            if (attempt > 1) wire::AppendHeader(extra_headers, "x-llm-proxy-attempts", std::to_string(attempt));

            ProviderHealth& h = *health[p];
            const ForwardInput in{provider, req, send_body, target, request_id, config.server.idle_timeout,
                                  routed.deadline, hold, extra_headers, inject_usage, routed.traceparent};
            h.BeginRequest();
            ForwardOutcome out = co_await Forward(client, buffer, in, worker.Pool(p));
            h.EndRequest();
            const std::int64_t now = SteadyNowMs();
            if (out.ttfb_ms > 0) worker.metrics().ObserveProviderLatency(p, out.ttfb_ms / 1000.0);
            record.provider = provider.name;
            record.provider_index = p;
            record.attempts = attempt;
            if (!record.attempt_log.empty()) record.attempt_log.push_back(',');
            record.attempt_log += provider.name + ":" +
                                  std::to_string(out.client_aborted       ? 499
                                                 : out.held_status        ? out.held_status
                                                 : out.response_started   ? out.status
                                                 : out.error              ? out.error->status
                                                                          : 0);
            record.usage = out.usage;
            record.relayed = std::move(out.relayed);
            if (out.client_aborted) {
                h.ReleaseProbe();
                record.status = 499;  // nginx's "client closed request"
                record.first_event_at = out.first_event_at;
                co_return false;
            }
            if (out.response_started) {
                RecordRelayed(h, out, now);
                record.status = out.status;
                record.first_event_at = out.first_event_at;
                if (attempt > 1) spdlog::info("request {}: served by '{}' on attempt {}", request_id, provider.name, attempt);
                co_return out.keep_client && keep_alive;
            }

            // Nothing reached the client: classify, record, maybe retry elsewhere.
            FailureKind kind;
            last_was_429 = out.held_status == 429;
            if (out.held_status) {
                kind = FailureKind::kStatus;
                if (out.held_status == 429) h.OnRateLimited(now, out.retry_after_ms < 0 ? 1000 : out.retry_after_ms);
                else h.OnFailure(now, "answered " + std::to_string(out.held_status));
                last_error = HeldStatusReply(out.held_status, provider.name);
            } else {
                kind = out.timed_out ? FailureKind::kTimeout : FailureKind::kConnect;
                h.OnFailure(now, out.error ? out.error->message : "failed");
                last_error = out.error;
            }
            const bool retryable = ShouldRetry(retry, kind, out.held_status);
            spdlog::info("request {}: attempt {} on '{}' failed: {}{}", request_id, attempt, provider.name,
                         last_error ? last_error->message : "?", retryable ? "" : " (not retried)");
            if (!retryable || attempt > retry.max_retries) {
                out_of_retries = true;
                break;
            }
            if (!budget.TryRetry(now)) {
                spdlog::warn("request {}: retry budget exhausted; not retrying", request_id);
                out_of_retries = true;
                break;
            }
            // Back off (bounded by the request's deadline) before the next attempt.
            auto wait = BackoffDelay(retry, attempt, std::uniform_real_distribution<double>(0, 1)(worker.rng()));
            auto until = std::min(Clock::now() + wait, routed.deadline);
            if (until >= routed.deadline) {
                out_of_retries = true;
                break;
            }
            worker.metrics().CountRetry(p);
            Timer timer(client.get_executor(), until);
            co_await timer.async_wait(kNoThrow);
            last_failed = p;
        }
    }
    core::LocalReply reply = last_error ? *last_error
                                        : core::LocalReply{503, "upstream_error", "no_available_provider",
                                                           "No provider is available for model '" +
                                                               routed.public_model + "'",
                                                           {}, {}};
    std::string extra;
    if (reply.status == 429) wire::AppendHeader(extra, "Retry-After", "1");
    record.status = reply.status;
    const std::string body = core::ErrorBody(reply, request_id);
    co_return co_await WriteLocal(client, reply.status, body, request_id, keep_alive, extra);
}

}  // namespace llmproxy::proxy
