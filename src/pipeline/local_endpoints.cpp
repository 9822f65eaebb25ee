#include "pipeline/local_endpoints.hpp"

#include <boost/json.hpp>

#include "core/json_escape.hpp"
#include "core/secret_hash.hpp"
#include "observe/prometheus_text.hpp"
#include "proxy/auth.hpp"
#include "pipeline/provider_probe.hpp"
#include "proxy/health_report.hpp"
#include "stages/stages.hpp"
#include "usage/local_count.hpp"

namespace llmproxy::pipeline {
namespace {

constexpr std::string_view kVersion = "0.1.0";

// A model in the client's dialect: OpenAI's {"id","object":"model",...} or Anthropic's
// {"type":"model","id","display_name","created_at"} (Claude Code's gateway model discovery
// reads only the latter).
std::string ModelObject(std::string_view id, core::Dialect dialect) {
    std::string out;
    if (dialect == core::Dialect::kAnthropic) {
        out = R"({"type":"model","id":)";
        core::AppendJsonString(out, id);
        out += R"(,"display_name":)";
        core::AppendJsonString(out, id);
        out += R"(,"created_at":"1970-01-01T00:00:00Z"})";
        return out;
    }
    out = R"({"id":)";
    core::AppendJsonString(out, id);
    out += R"(,"object":"model","created":0,"owned_by":"llm-proxy"})";
    return out;
}

std::string ModelList(const proxy::RouteTable& routes, const core::ApiKeyConfig* key, core::Dialect dialect) {
    const bool anthropic = dialect == core::Dialect::kAnthropic;
    std::string out = anthropic ? R"({"data":[)" : R"({"object":"list","data":[)";
    std::string_view first_id, last_id;
    for (const auto& id : routes.ListedModels()) {
        if (key && !proxy::ModelAllowed(*key, id)) continue;  // a key sees only what it may use
        if (!first_id.empty()) out.push_back(',');
        if (first_id.empty()) first_id = id;
        last_id = id;
        out += ModelObject(id, dialect);
    }
    out += "]";
    if (anthropic) {  // one page: the whole list
        out += R"(,"has_more":false,"first_id":)";
        core::AppendJsonStringOrNull(out, first_id);
        out += R"(,"last_id":)";
        core::AppendJsonStringOrNull(out, last_id);
    }
    out += "}";
    return out;
}

void Model(RequestContext& ctx) {
    const std::string id(ctx.path_param);
    if (ctx.snap().routes.Resolve(id).route == nullptr || (ctx.key && !proxy::ModelAllowed(ctx.key->config, id))) {
        ctx.Refuse(core::NotFound("The model '" + id + "' does not exist", "model_not_found"));
    } else {
        ctx.Answer(200, ModelObject(id, ctx.dialect));
    }
}

void Metrics(RequestContext& ctx, Runtime& rt) {
    static_assert(observe::MetricsShard::kLimitReasons == static_cast<std::size_t>(proxy::LimitReason::kCount));
    observe::ScrapeInput scrape;
    scrape.shards = *rt.metric_shards;
    scrape.version = kVersion;
    const auto now = proxy::SteadyNowMs();
    const Snapshot& snap = ctx.snap();
    for (std::size_t i = 0; i < snap.config->providers.size(); ++i) {
        scrape.providers.push_back({snap.config->providers[i].name, snap.health[i]->Available(now),
                                    snap.health[i]->in_flight(), snap.metric_slot[i]});
    }
    for (std::size_t r = 0; r < observe::MetricsShard::kLimitReasons; ++r) {
        scrape.limit_reasons.push_back(proxy::LimitReasonName(static_cast<proxy::LimitReason>(r)));
    }
    if (const auto* hook = rt.sinks.webhook) {
        scrape.webhook = {true,          hook->delivered(),     hook->failed(),       hook->spooled(), hook->dropped(),
                          hook->depth(), hook->spool_failing(), hook->dead_lettered()};
    }
    scrape.config_version = ctx.snap().version;
    scrape.reloads = rt.reload_stats;
    scrape.llmproxy_compat = snap.config->metrics.llmproxy_compat;
    ctx.Answer(200, observe::RenderPrometheus(scrape));
    ctx.content_type = "text/plain; version=0.0.4; charset=utf-8";
}

// POST /v1/tokenize (our extension): {"model" or "encoding", "input" (string or strings) or
// "messages"/"prompt"} -> {"object":"tokenize","model","encoding","count","tokens"}. Token ids
// are listed for a plain string input.
void Tokenize(RequestContext& ctx, Runtime& rt) {
    std::string& body = ctx.request().body();
    proxy::BodyInfo info = proxy::ScanBody(body);
    if (!info.valid) {
        ctx.Refuse(core::BadRequest("We could not parse the JSON body of your request: " + info.error, "invalid_json"));
        return;
    }
    const auto* tokenizers = rt.tokenizers;
    boost::system::error_code ec;
    auto doc = boost::json::parse(body, ec);
    const auto* obj = !ec && doc.is_object() ? &doc.as_object() : nullptr;
    std::string encoding;
    if (const auto* e = obj ? obj->if_contains("encoding") : nullptr; e && e->is_string()) {
        encoding = std::string(e->as_string());
    } else if (info.has_model && tokenizers) {
        encoding = std::string(tokenizers->EncodingOf(info.model));
    } else {
        ctx.Refuse(core::BadRequest("Missing required parameter: 'model' (or 'encoding').",
                                    "missing_required_parameter", "model"));
        return;
    }
    const usage::Tokenizer* t = tokenizers ? tokenizers->ByName(encoding) : nullptr;
    if (!t) {
        ctx.Refuse(core::LocalReply{encoding == "cl100k_base" || encoding == "o200k_base" ? 503u : 400u,
                                    "invalid_request_error",
                                    "tokenizer_unavailable",
                                    "The tokenizer '" + encoding + "' is not available.",
                                    "encoding",
                                    {}});
        return;
    }
    std::string out = R"({"object":"tokenize","model":)";
    core::AppendJsonString(out, info.has_model ? std::string_view(info.model) : std::string_view());
    out += R"(,"encoding":)";
    core::AppendJsonString(out, encoding);
    const auto* input = obj ? obj->if_contains("input") : nullptr;
    if (input && input->is_string()) {
        const auto ids = t->Encode(std::string_view(input->as_string().data(), input->as_string().size()));
        out += R"(,"count":)" + std::to_string(ids.size()) + R"(,"tokens":[)";
        for (std::size_t i = 0; i < ids.size(); ++i) {
            if (i) out.push_back(',');
            out += std::to_string(ids[i]);
        }
        out += "]}";
    } else {
        const std::int64_t n = usage::CountPromptTokens(*t, body);
        out += R"(,"count":)" + std::to_string(std::max<std::int64_t>(0, n)) + "}";
    }
    ctx.Answer(200, std::move(out));
}

// One probe round per worker at a time, its result reused for a second: 200 callers cost one
// round, not 200 (each round sends a request with every provider's key).
Task<void> ProbeShared(RequestContext& ctx, ProbeCache& cache) {
    const std::int64_t now = proxy::SteadyNowMs();
    const bool fresh = cache.at_ms >= 0 && now - cache.at_ms < ProbeCache::kProbeCacheMs &&
                       cache.snapshot_version == ctx.snap().version;
    if (fresh) co_return;
    if (cache.running) {
        Timer wait(co_await asio::this_coro::executor);
        wait.expires_after(kProbeBudget + std::chrono::seconds(1));
        cache.waiters.push_back(&wait);
        co_await wait.async_wait(kNoThrow);
        std::erase(cache.waiters, &wait);
        co_return;
    }
    cache.running = true;
    // The snapshot is held by shared_ptr: probes that overrun the budget may outlive us.
    std::shared_ptr<const Snapshot> pinned = ctx.snapshot;
    std::vector<proxy::ProbeResult> results = co_await ProbeAllProviders(pinned);
    cache.results = std::move(results);
    cache.at_ms = proxy::SteadyNowMs();
    cache.snapshot_version = ctx.snap().version;
    cache.running = false;
    for (Timer* t : cache.waiters) t->cancel();
}

}  // namespace

Task<void> AnswerHealth(RequestContext& ctx, Runtime& rt) {
    // Still 200 (the gateway serves), but a sink that may lose data says so.
    if (rt.sinks.webhook && rt.sinks.webhook->spool_failing()) {
        ctx.Answer(
            200,
            R"({"status":"degraded","problems":["usage webhook: the spool cannot be written; events wait in memory"]})");
    } else {
        ctx.Answer(200, R"({"status":"ok"})");
    }
    co_return;
}

Task<void> AnswerHealthDetailed(RequestContext& ctx, Runtime& rt) {
    auto& req = ctx.request();
    const std::string_view target(req.target().data(), req.target().size());
    if (target.find("probe=true") == std::string_view::npos) {
        ctx.Answer(200, proxy::DetailedHealthJson(ctx.config(), ctx.snap().health, proxy::SteadyNowMs()));
        co_return;
    }
    // On-demand probes send requests with the providers' keys: only the admin may ask for them.
    if (!stages::AuthStage::Admin(ctx)) co_return;
    co_await ProbeShared(ctx, rt.probes);
    const bool same = rt.probes.snapshot_version == ctx.snap().version;  // a reload may have raced
    ctx.Answer(200, proxy::DetailedHealthJson(ctx.config(), ctx.snap().health, proxy::SteadyNowMs(),
                                              same ? &rt.probes.results : nullptr));
}

Task<void> AnswerMetrics(RequestContext& ctx, Runtime& rt) {
    Metrics(ctx, rt);
    co_return;
}

Task<void> AnswerModels(RequestContext& ctx, Runtime&) {
    ctx.Answer(200, ModelList(ctx.snap().routes, ctx.key ? &ctx.key->config : nullptr, ctx.dialect));
    co_return;
}

Task<void> AnswerModel(RequestContext& ctx, Runtime&) {
    Model(ctx);
    co_return;
}

Task<void> AnswerTokenize(RequestContext& ctx, Runtime& rt) {
    Tokenize(ctx, rt);
    co_return;
}

}  // namespace llmproxy::pipeline
