// The request path, in order. Each step may answer the request itself (a LocalReply);
// otherwise the request goes on to the next one and finally to the forwarder.
//
//   request id -> endpoint (method/path) -> body scan -> required fields -> model route
//   -> balance -> model splice -> forward (relay) -> local error if nothing was sent
//
// Later stages (auth, limits, hooks, retries) slot in between "body scan" and "forward".
#include "proxy/request_handler.hpp"

#include <ctime>
#include <spdlog/spdlog.h>

#include "core/json_escape.hpp"
#include "core/openai_error.hpp"
#include "core/request_id.hpp"
#include "http/request_body.hpp"
#include "http/wire.hpp"
#include "http/worker.hpp"
#include "proxy/body_scan.hpp"
#include "core/units.hpp"
#include "proxy/auth.hpp"
#include "usage/usage_event.hpp"
#include <ctime>
#include "proxy/attempt_loop.hpp"
#include "observe/prometheus_text.hpp"
#include "proxy/health_checker.hpp"
#include "proxy/health_report.hpp"
#include "proxy/shared_limits.hpp"
#include "usage/local_count.hpp"

#include <boost/json.hpp>

namespace llmproxy::proxy {
namespace {

constexpr std::string_view kVersion = "0.1.0";

enum class Endpoint {
    kChat, kCompletions, kEmbeddings, kResponses, kModels, kModel, kTokenize, kOtherV1, kHealth, kHealthDetailed,
    kMetrics, kUnknown
};

// The endpoint label of the metrics: bounded, whatever the client sends.
std::string_view EndpointLabel(Endpoint e) {
    switch (e) {
        case Endpoint::kChat: return "/v1/chat/completions";
        case Endpoint::kCompletions: return "/v1/completions";
        case Endpoint::kEmbeddings: return "/v1/embeddings";
        case Endpoint::kResponses: return "/v1/responses";
        case Endpoint::kModels:
        case Endpoint::kModel: return "/v1/models";
        case Endpoint::kOtherV1: return "/v1/other";
        case Endpoint::kTokenize: return "/v1/tokenize";
        case Endpoint::kHealth:
        case Endpoint::kHealthDetailed: return "/health";
        case Endpoint::kMetrics: return "/metrics";
        case Endpoint::kUnknown: return "unknown";
    }
    return "unknown";
}

struct EndpointInfo {
    Endpoint kind = Endpoint::kUnknown;
    std::string_view model_id;  // for GET /v1/models/{id}
};

EndpointInfo Classify(std::string_view path) {
    if (path == "/v1/chat/completions") return {Endpoint::kChat};
    if (path == "/v1/completions") return {Endpoint::kCompletions};
    if (path == "/v1/embeddings") return {Endpoint::kEmbeddings};
    if (path == "/v1/responses") return {Endpoint::kResponses};
    if (path == "/v1/models") return {Endpoint::kModels};
    if (path.starts_with("/v1/models/")) return {Endpoint::kModel, path.substr(11)};
    if (path == "/v1/tokenize") return {Endpoint::kTokenize};
    if (path.starts_with("/v1/")) return {Endpoint::kOtherV1};
    if (path == "/health" || path == "/healthz") return {Endpoint::kHealth};
    if (path == "/health/detailed") return {Endpoint::kHealthDetailed};
    if (path == "/metrics") return {Endpoint::kMetrics};
    return {};
}

// Which methods each endpoint accepts; anything else is 405 with an Allow header.
std::string_view AllowedMethods(Endpoint e) {
    switch (e) {
        case Endpoint::kChat:
        case Endpoint::kCompletions:
        case Endpoint::kEmbeddings:
        case Endpoint::kTokenize: return "POST";
        case Endpoint::kResponses: return "GET, POST, DELETE";  // /v1/responses itself: POST
        case Endpoint::kModels:
        case Endpoint::kModel:
        case Endpoint::kHealth:
        case Endpoint::kHealthDetailed:
        case Endpoint::kMetrics: return "GET, HEAD";
        case Endpoint::kOtherV1: return "GET, POST, DELETE";
        case Endpoint::kUnknown: return "";
    }
    return "";
}

bool MethodAllowed(Endpoint e, http::verb m) {
    switch (e) {
        case Endpoint::kChat:
        case Endpoint::kCompletions:
        case Endpoint::kEmbeddings:
        case Endpoint::kTokenize:
        case Endpoint::kResponses: return m == http::verb::post;
        case Endpoint::kModels:
        case Endpoint::kModel:
        case Endpoint::kHealth:
        case Endpoint::kHealthDetailed:
        case Endpoint::kMetrics: return m == http::verb::get || m == http::verb::head;
        case Endpoint::kOtherV1: return m == http::verb::get || m == http::verb::post || m == http::verb::delete_;
        case Endpoint::kUnknown: return true;
    }
    return false;
}

// Body fields an endpoint cannot do without (OpenAI answers 400 for these too).
std::optional<core::LocalReply> CheckRequired(Endpoint e, const BodyInfo& body) {
    if (e == Endpoint::kChat && !body.has_messages) {
        return core::BadRequest("Missing required parameter: 'messages'.", "missing_required_parameter", "messages");
    }
    if (e == Endpoint::kEmbeddings && !body.has_input) {
        return core::BadRequest("Missing required parameter: 'input'.", "missing_required_parameter", "input");
    }
    if (e == Endpoint::kResponses && !body.has_input) {
        return core::BadRequest("Missing required parameter: 'input'.", "missing_required_parameter", "input");
    }
    if (e == Endpoint::kCompletions && !body.has_prompt) {
        return core::BadRequest("Missing required parameter: 'prompt'.", "missing_required_parameter", "prompt");
    }
    return std::nullopt;
}

// The OpenAI JSON endpoints are scanned whatever the Content-Type says (curl -d sends
// x-www-form-urlencoded); other /v1 paths only when the body says it is JSON (multipart
// uploads are forwarded untouched).
bool IsJsonBody(const http::request<http::string_body>& req, bool json_endpoint) {
    auto ct = req[http::field::content_type];
    std::string_view v(ct.data(), ct.size());
    if (v.find("multipart/") != std::string_view::npos) return false;
    if (json_endpoint || v.find("json") != std::string_view::npos) return true;
    auto first = req.body().find_first_not_of(" \t\r\n");
    return first != std::string::npos && req.body()[first] == '{';
}

std::string ModelObject(const std::string& id) {
    std::string out = R"({"id":)";
    core::AppendJsonString(out, id);
    out += R"(,"object":"model","created":0,"owned_by":"llm-proxy"})";
    return out;
}


Task<bool> Reply(TcpStream& client, const core::LocalReply& r, std::string_view request_id, bool keep_alive,
                 std::string_view more_headers = {}) {
    std::string extra(more_headers);
    if (!r.allow.empty()) wire::AppendHeader(extra, "Allow", r.allow);
    const std::string body = core::ErrorBody(r, request_id);
    co_return co_await WriteLocal(client, r.status, body, request_id, keep_alive, extra);
}

}  // namespace

Task<bool> WriteLocal(TcpStream& client, unsigned status, std::string_view body,
                      std::string_view request_id, bool keep_alive, std::string_view extra_headers,
                      std::string_view content_type) {
    std::string head;
    head.reserve(256);
    wire::AppendStatusLine(head, status);
    wire::AppendHeader(head, "Content-Type", content_type);
    wire::AppendHeader(head, "Content-Length", std::to_string(body.size()));
    wire::AppendHeader(head, "x-request-id", request_id);
    head.append(extra_headers);
    if (!keep_alive) head.append("Connection: close\r\n");
    head.append(wire::kCrlf);
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
    client.expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await asio::async_write(client, bufs, kNoThrow);
    client.expires_never();
    co_return !ec && keep_alive;
}

namespace {

// What to do with a request, decided without I/O: answer locally or forward. Keeping the
// decision synchronous keeps temporaries out of co_await expressions (GCC 12 coroutine
// code has bugs with those) and makes each step plain code.
struct Plan {
    Endpoint endpoint = Endpoint::kUnknown;
    // The key set is held for the whole request: `key` and the admission's counters live in it
    // (declared first, destroyed last).
    std::shared_ptr<const KeySet> keys;
    const KeyEntry* key = nullptr;  // the caller's key (null when auth is off)
    Admission admission;            // holds concurrency slots until the request ends
    std::string error_headers;      // extra headers for `error` (e.g. Retry-After)
    std::optional<core::LocalReply> error;
    std::string_view content_type = "application/json";
    unsigned local_status = 0;  // > 0: answer locally with local_body
    std::string local_body;
    bool probe = false;  // /health/detailed?probe=true
    double estimated_tokens = 0;  // for TPM admission
    bool needs_body = false;      // passed the head checks; DecideOnBody decides the rest
    bool client_gone = false;     // left while sending the request: nobody to answer
    RoutedRequest routed;
};

// x-llm-proxy-timeout: "30", "30s", "1500ms" — the client's own limit, capped by config.
std::optional<core::Millis> RequestTimeout(const http::request<http::string_body>& req, core::Millis cap) {
    auto it = req.find("x-llm-proxy-timeout");
    if (it == req.end()) return std::nullopt;
    auto d = core::ParseDuration(std::string_view(it->value().data(), it->value().size()));
    if (!d || d->count() <= 0) return std::nullopt;
    return std::min(*d, cap);
}

std::string_view Header(const http::request<http::string_body>& req, std::string_view name) {
    auto v = req[beast::string_view(name.data(), name.size())];
    return {v.data(), v.size()};
}

std::string ModelList(const RouteTable& routes, const core::ApiKeyConfig* key) {
    std::string out = R"({"object":"list","data":[)";
    bool first = true;
    for (const auto& id : routes.ListedModels()) {
        if (key && !ModelAllowed(*key, id)) continue;  // a key sees only what it may use
        if (!first) out.push_back(',');
        first = false;
        out += ModelObject(id);
    }
    out += "]}";
    return out;
}

// POST /v1/tokenize (our extension): {"model" or "encoding", "input" (string or strings) or
// "messages"/"prompt"} -> {"object":"tokenize","model","encoding","count","tokens"}. Token ids
// are listed for a plain string input.
void TokenizePlan(std::string& body, Worker& worker, Plan& plan) {
    BodyInfo info = ScanBody(body);
    if (!info.valid) {
        plan.error = core::BadRequest("We could not parse the JSON body of your request: " + info.error, "invalid_json");
        return;
    }
    const auto* tokenizers = worker.shared().tokenizers;
    boost::system::error_code ec;
    auto doc = boost::json::parse(body, ec);
    const auto* obj = !ec && doc.is_object() ? &doc.as_object() : nullptr;
    std::string encoding;
    if (const auto* e = obj ? obj->if_contains("encoding") : nullptr; e && e->is_string()) {
        encoding = std::string(e->as_string());
    } else if (info.has_model && tokenizers) {
        encoding = std::string(tokenizers->EncodingOf(info.model));
    } else {
        plan.error = core::BadRequest("Missing required parameter: 'model' (or 'encoding').", "missing_required_parameter",
                                      "model");
        return;
    }
    const usage::Tokenizer* t = tokenizers ? tokenizers->ByName(encoding) : nullptr;
    if (!t) {
        plan.error = core::LocalReply{encoding == "cl100k_base" || encoding == "o200k_base" ? 503 : 400,
                                      "invalid_request_error", "tokenizer_unavailable",
                                      "The tokenizer '" + encoding + "' is not available.", "encoding", {}};
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
    plan.local_status = 200;
    plan.local_body = std::move(out);
}

// TPM admission charges the prompt's tokens (plus max_tokens). Counting them with the model's
// tokenizer costs a parse and a BPE pass (~1 µs for a repeated 1 KB prompt, ~3 µs for a new
// one), so only keys with a TPM limit pay it, and not for bodies over 256 KiB (milliseconds of
// work for an estimate the real usage corrects anyway); everyone else gets bytes/4.
double EstimatePromptTokens(const std::string& body, const KeyEntry* key, std::string_view model, Worker& worker) {
    const double rough = static_cast<double>(body.size()) / 4.0;
    if (!key || key->config.limits.tokens_per_minute <= 0 || !worker.shared().tokenizers) return rough;
    if (body.size() > (256u << 10)) return rough;
    const usage::Tokenizer* t = worker.shared().tokenizers->ForModel(model);
    if (!t) return rough;
    const std::int64_t n = usage::CountPromptTokens(*t, body);
    return n < 0 ? rough : static_cast<double>(n);
}

// No usage from the upstream (a provider that never reports it, or a stream cut by the client
// or the upstream): count what was asked and what reached the client, so it is still metered.
std::optional<usage::Usage> CountLocally(const http::request<http::string_body>& req, const Plan& plan,
                                         const RequestRecord& record, Worker& worker) {
    const bool produced = (record.status >= 200 && record.status < 300) || record.status == 499;
    if (!produced || record.relayed.empty() || !plan.routed.json || !worker.shared().tokenizers) return std::nullopt;
    const usage::Tokenizer* t = worker.shared().tokenizers->ForModel(plan.routed.public_model);
    if (!t) return std::nullopt;
    usage::Usage u;
    u.prompt_tokens = std::max<std::int64_t>(0, usage::CountPromptTokens(*t, req.body()));
    if (plan.endpoint != Endpoint::kEmbeddings) {
        u.completion_tokens = usage::CountCompletionTokens(*t, record.relayed, plan.routed.body.stream);
    }
    u.total_tokens = u.prompt_tokens + u.completion_tokens;
    u.estimated = true;
    return u;
}

// The checks that need only the request's head: endpoint, method, the local endpoints that take
// no body, and auth. They run before the body is read, so a request without a valid key costs
// no body memory (a keyless 30 MiB upload is refused after its head).
Plan DecideOnHead(http::request<http::string_body>& req, Worker& worker, std::string_view peer_ip) {
    Plan plan;
    const Snapshot& snap = worker.snapshot();
    const auto& config = *snap.config;

    // Endpoint and method.
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    const EndpointInfo ep = Classify(path);
    plan.endpoint = ep.kind;
    if (ep.kind == Endpoint::kUnknown) {
        plan.error = core::NotFound("Unknown path: " + std::string(path), "unknown_url");
        return plan;
    }
    if (!MethodAllowed(ep.kind, req.method())) {
        plan.error = core::LocalReply{405, "invalid_request_error", "method_not_allowed",
                                      std::string(req.method_string()) + " is not allowed on " + std::string(path), {},
                                      std::string(AllowedMethods(ep.kind))};
        return plan;
    }
    if (ep.kind == Endpoint::kHealth) {
        plan.local_status = 200;
        plan.local_body = R"({"status":"ok"})";
        return plan;
    }
    if (ep.kind == Endpoint::kHealthDetailed) {
        plan.local_status = 200;
        if (target.find("probe=true") != std::string_view::npos) {
            plan.probe = true;  // answered after the probes ran (HandleRequest)
        } else {
            plan.local_body = DetailedHealthJson(config, snap.health, SteadyNowMs());
        }
        return plan;
    }
    if (ep.kind == Endpoint::kMetrics) {
        observe::ScrapeInput scrape{worker.shared().metric_shards, &config, &snap.health, kVersion, {}};
        if (const auto* hook = worker.shared().webhook) {
            scrape.webhook = {true, hook->delivered(), hook->failed(), hook->spooled(), hook->dropped(), hook->depth()};
        }
        plan.local_status = 200;
        plan.local_body = observe::RenderPrometheus(scrape);
        plan.content_type = "text/plain; version=0.0.4; charset=utf-8";
        return plan;
    }
    // Auth: everything below needs a key (when auth is on). Health and metrics stay open for
    // load balancers and Prometheus.
    const auto peer = core::IpAddress::Parse(peer_ip).value_or(core::IpAddress{});
    const auto client = ClientAddress(peer, Header(req, "x-forwarded-for"), snap.trusted_proxies);
    const Credentials creds{Header(req, "authorization"), Header(req, "x-api-key"), Header(req, "api-key")};
    plan.keys = worker.keys();
    const std::int64_t now_s = std::time(nullptr);
    AuthResult auth = Authenticate(*plan.keys, creds, client, now_s);
    if (auth.error) {
        plan.error = std::move(auth.error);
        return plan;
    }
    plan.key = auth.key;
    if (ep.kind == Endpoint::kModels) {
        plan.local_status = 200;
        plan.local_body = ModelList(snap.routes, plan.key ? &plan.key->config : nullptr);
        return plan;
    }
    if (ep.kind == Endpoint::kModel) {
        auto id = std::string(ep.model_id);
        if (snap.routes.Resolve(id).route == nullptr || (plan.key && !ModelAllowed(plan.key->config, id))) {
            plan.error = core::NotFound("The model '" + id + "' does not exist", "model_not_found");
        } else {
            plan.local_status = 200;
            plan.local_body = ModelObject(id);
        }
        return plan;
    }

    plan.needs_body = true;
    return plan;
}

// The rest, once the body is read: body scan, route, limits.
void DecideOnBody(http::request<http::string_body>& req, Worker& worker, Plan& plan) {
    const Snapshot& snap = worker.snapshot();
    const auto& config = *snap.config;
    std::string_view target(req.target().data(), req.target().size());
    const std::int64_t now_s = std::time(nullptr);
    const EndpointInfo ep{plan.endpoint};
    if (ep.kind == Endpoint::kTokenize) {
        TokenizePlan(req.body(), worker, plan);
        return;
    }

    // Body scan: only the fields routing needs; the bytes are forwarded as they are.
    RoutedRequest& routed = plan.routed;
    routed.json = req.method() == http::verb::post && IsJsonBody(req, ep.kind != Endpoint::kOtherV1);
    if (routed.json) {
        routed.body = ScanBody(req.body());
        if (!routed.body.valid) {
            plan.error =
                core::BadRequest("We could not parse the JSON body of your request: " + routed.body.error, "invalid_json");
            return;
        }
        if ((plan.error = CheckRequired(ep.kind, routed.body))) return;
    }

    // Model route: strip_prefix, default_model, then the providers serving it.
    Resolution res =
        snap.routes.Resolve(routed.body.has_model ? std::string_view(routed.body.model) : std::string_view());
    if (res.public_model.empty()) {
        plan.error = core::BadRequest("Missing required parameter: 'model'.", "missing_required_parameter", "model");
        return;
    }
    if (res.route == nullptr) {
        plan.error = core::NotFound(
            "The model '" + res.public_model + "' does not exist or is not served by this gateway", "model_not_found");
        return;
    }
    if (plan.key && !ModelAllowed(plan.key->config, res.public_model)) {
        plan.error = core::LocalReply{403, "permission_error", "model_not_allowed",
                                      "The API key '" + plan.key->config.name + "' may not use the model '" +
                                          res.public_model + "'.",
                                      "model", {}};
        return;
    }
    // Limits: after auth (limits are per key) and the body scan (TPM needs the estimate).
    const double estimated_tokens = EstimatePromptTokens(req.body(), plan.key, res.public_model, worker) +
                                    static_cast<double>(routed.body.max_tokens.value_or(0));
    const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now().time_since_epoch()).count();
    plan.estimated_tokens = estimated_tokens;
    plan.admission = snap.limiter->Admit(plan.key ? plan.key->counters.get() : nullptr, estimated_tokens, now_ns, now_s,
                                         worker.redis() != nullptr);
    if (plan.admission.denied()) {
        worker.metrics().CountRateLimited(static_cast<std::size_t>(plan.admission.reason));
        plan.error = plan.admission.reply;
        plan.error_headers = plan.admission.headers;
        return;
    }
    routed.public_model = std::move(res.public_model);
    routed.route = res.route;
    routed.path_suffix = std::string(target.substr(3));  // after "/v1"
    auto traceparent = req["traceparent"];
    routed.traceparent = core::MakeTraceparent(std::string_view(traceparent.data(), traceparent.size()));
    if (auto timeout = RequestTimeout(req, config.routing.max_request_timeout)) {
        routed.deadline = std::chrono::steady_clock::now() + *timeout;
    }
    return;
}

// What a request holds in the shared (Redis) limits until it ends.
struct SharedSlot {
    bool admitted = false;
    std::string member;  // its concurrency slot
    double tpm_charged = 0;
};

// The request is refused by `denied` (releasing what the local limiter took for it).
void Refuse(Plan& plan, Admission denied) {
    plan.admission = std::move(denied);
    plan.error = plan.admission.reply;
    plan.error_headers = plan.admission.headers;
}

// The shared limits (storage: redis): one script call, pipelined with the other requests of
// this worker. Fast path: while an earlier answer from Redis said "no requests until T" for
// this key, refuse locally without asking (Redis would say the same).
Task<void> AdmitShared(Plan& plan, Worker& worker, SharedSlot& slot) {
    KeyCounters& counters = *plan.key->counters;
    const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::steady_clock::now().time_since_epoch()).count();
    const std::int64_t until = counters.shared_denied_until_ns.load(std::memory_order_relaxed);
    if (now_ns < until) {
        const auto reason = static_cast<LimitReason>(counters.shared_denied_reason.load(std::memory_order_relaxed));
        const auto& l = plan.key->config.limits;
        const double limit = reason == LimitReason::kKeyRps ? l.requests_per_second : l.requests_per_minute;
        Admission denied;
        DenyAdmission(denied, reason, until - now_ns, "requests", static_cast<std::int64_t>(limit), 0, until - now_ns);
        worker.metrics().CountRateLimited(static_cast<std::size_t>(reason));
        Refuse(plan, std::move(denied));
        co_return;
    }
    const auto& config = *worker.snapshot().config;
    if (plan.key->config.limits.max_concurrent > 0) slot.member = worker.NextSlotName();
    const std::int64_t slot_lease_ms = config.routing.max_request_timeout.count() + 60'000;
    const double lease_window_s = std::chrono::duration<double>(config.rate_limit.redis_lease_window).count();
    SharedAdmitCall call = BuildSharedAdmit(worker.admit_sha(), *plan.key, plan.estimated_tokens, slot.member,
                                            slot_lease_ms, lease_window_s, now_ns);
    slot.tpm_charged = call.tpm_charged;
    if (call.command.empty()) {  // no shared limits, or all of them served from this instance's leases
        slot.admitted = true;
        co_return;
    }
    std::vector<std::string> command = std::move(call.command);
    store::RedisReply reply = co_await worker.redis()->Call(std::move(command));
    Admission verdict;
    if (reply.kind == store::RedisReply::Kind::kArray &&
        ApplySharedAdmitReply(reply.integers, call, verdict, now_ns)) {
        if (!verdict.denied()) {
            slot.admitted = true;
            co_return;
        }
        if (verdict.reason == LimitReason::kKeyRps || verdict.reason == LimitReason::kKeyRpm) {
            counters.shared_denied_reason.store(static_cast<int>(verdict.reason), std::memory_order_relaxed);
            counters.shared_denied_until_ns.store(now_ns + reply.integers[2] * 1000, std::memory_order_relaxed);
        }
        worker.metrics().CountRateLimited(static_cast<std::size_t>(verdict.reason));
        Refuse(plan, std::move(verdict));
        co_return;
    }
    // Redis is down, slow or answered nonsense: never hang, do as configured. Admitted anyway
    // (fail_open), the request still frees its slot (a late-processed call may have taken it)
    // and charges its real tokens when it ends.
    const bool open = config.rate_limit.fail_open;
    slot.admitted = open;
    slot.tpm_charged = 0;
    worker.metrics().CountLimitStoreError(open);
    if (worker.ShouldLog(worker.last_redis_warning, std::chrono::seconds(5))) {
        spdlog::warn("shared rate limits unavailable ({}): {}", open ? "admitting, fail_open" : "refusing, fail_closed",
                     reply.kind == store::RedisReply::Kind::kError ? reply.text : "unexpected reply");
    }
    if (!open) {
        // The script may still run (Redis frozen, not gone): its slot must not outlive the
        // request it was taken for. The ZREM goes out on the same connection after the script,
        // so it runs after it whenever that happens (or is a no-op if it never does).
        if (reply.outcome_unknown && !slot.member.empty()) {
            for (const auto& command : BuildSharedRelease(*plan.key, slot.member, 0, -1)) worker.redis()->Send(command);
        }
        AbandonSharedAdmit(call);
        Admission refused;
        DenyAdmission(refused, LimitReason::kStoreUnavailable, 1'000'000'000, nullptr, 0, 0, 0);
        Refuse(plan, std::move(refused));
    }
}

// A body this small that nobody needs (a refused request, a GET with a body) is read and
// dropped to keep the connection; a larger one is refused with the connection closed.
constexpr std::uint64_t kDiscardableBody = 64u << 10;

bool NeedsLingeringAnswer(const RequestParser& parser) {
    if (parser.is_done()) return false;
    const auto length = parser.content_length();
    return !length || *length > kDiscardableBody;
}

}  // namespace

Task<bool> HandleRequest(TcpStream& client, beast::flat_buffer& buffer, RequestParser& parser, Worker& worker,
                         std::string_view client_ip) {
    auto& req = parser.get();
    const auto started = std::chrono::steady_clock::now();
    worker.metrics().RequestStarted();
    // Request id first: every answer, errors included, carries it.
    auto client_id = req["x-request-id"];
    const std::string request_id = core::MakeRequestId(std::string_view(client_id.data(), client_id.size()));
    bool keep_alive = req.keep_alive() && !worker.shared().draining.load(std::memory_order_relaxed);

    Plan plan = DecideOnHead(req, worker, client_ip);
    BodyHold body_hold;  // the body's share of the worker's budget, until the request ends
    if (!plan.needs_body && NeedsLingeringAnswer(parser)) keep_alive = false;  // answered without the body
    if (plan.needs_body || !parser.is_done() && keep_alive) {
        const auto& server = worker.snapshot().config->server;
        const error_code ec =
            co_await ReadRequestBody(client, buffer, parser, server, worker.body_budget(), body_hold);
        if (ec) {
            plan.needs_body = false;
            keep_alive = false;
            if (auto reply = ReadErrorReply(ec, server)) {
                plan.error = std::move(reply);
                if (ec == BodyBudgetExhausted()) plan.error_headers = "Retry-After: 1\r\n";
            } else {
                plan.error = core::LocalReply{499, "invalid_request_error", "client_closed_request",
                                              "The client closed the connection while sending the request", {}, {}};
                plan.client_gone = true;
            }
        }
    }
    if (plan.needs_body) DecideOnBody(req, worker, plan);
    SharedSlot shared;
    if (!plan.error && !plan.local_status && plan.key && worker.redis()) {
        co_await AdmitShared(plan, worker, shared);
    }
    RequestRecord record;
    bool keep = false;
    if (plan.error) {
        const core::LocalReply& reply = *plan.error;
        record.status = reply.status;
        const std::string_view more = plan.error_headers;
        if (!plan.client_gone) keep = co_await Reply(client, reply, request_id, keep_alive, more);
    } else if (plan.local_status) {
        if (plan.probe) {
            // The snapshot is held by shared_ptr: probes that overrun the budget may outlive us.
            std::vector<ProbeResult> probes = co_await HealthChecker::ProbeAll(worker.snapshot_ptr());
            plan.local_body =
                DetailedHealthJson(*worker.snapshot().config, worker.snapshot().health, SteadyNowMs(), &probes);
        }
        record.status = plan.local_status;
        const std::string_view body = plan.local_body;
        keep = co_await WriteLocal(client, plan.local_status, body, request_id, keep_alive, {}, plan.content_type);
    } else {
        keep = co_await ForwardWithRetries(client, buffer, req, worker, plan.routed, request_id, keep_alive, record);
    }

    if (!record.usage) record.usage = CountLocally(req, plan, record, worker);

    // Metrics: labels are bounded (endpoint from our table, model capped per worker).
    const auto now = std::chrono::steady_clock::now();
    const double duration = std::chrono::duration<double>(now - started).count();
    const double ttft =
        record.first_event_at ? std::chrono::duration<double>(*record.first_event_at - started).count() : -1.0;
    const auto method = req.method_string();
    observe::RequestLabels labels{std::string_view(method.data(), method.size()), EndpointLabel(plan.endpoint),
                                  plan.routed.public_model, record.provider, record.status};
    worker.metrics().RecordRequest(labels, duration, ttft);
    if (record.usage) plan.admission.SetActualTokens(record.usage->total_tokens, std::time(nullptr));
    if (shared.admitted) {
        auto release = BuildSharedRelease(*plan.key, shared.member, shared.tpm_charged,
                                          record.usage ? record.usage->total_tokens : -1);
        for (const auto& command : release) worker.redis()->Send(command);  // pipelined; nobody waits
    }
    if (record.usage) {
        worker.metrics().CountTokens(plan.routed.public_model, record.provider, record.usage->prompt_tokens,
                                     record.usage->completion_tokens);
    }
    worker.metrics().RequestFinished();
    auto* hook = worker.shared().webhook;
    auto* ledger = worker.shared().ledger;
    if ((hook || ledger) && record.attempts > 0) {
        const auto& cfg = *worker.snapshot().config;
        usage::UsageEvent e;
        e.request_id = request_id;
        if (plan.key) {
            e.user_id = plan.key->config.user_id;
            e.key_name = plan.key->config.name;
            e.api_key = plan.key->config.key_hint;
        }
        e.model = plan.routed.public_model;
        e.upstream_model = record.upstream_model;
        e.provider = record.provider;
        if (record.provider_index < cfg.providers.size()) e.backend_url = cfg.providers[record.provider_index].base_url;
        e.endpoint = EndpointLabel(plan.endpoint);
        e.is_stream = plan.routed.body.stream;
        e.usage = record.usage;
        e.latency_ms = duration * 1000.0;
        e.ttft_ms = ttft >= 0 ? ttft * 1000.0 : -1.0;
        e.status_code = record.status;
        e.timestamp_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
        if (hook) {
            if (cfg.usage_hook.include_request_body) e.request_body = std::string_view(req.body());
            std::string json = usage::ToJson(e);
            if (ledger) {
                e.request_body.reset();
                ledger->Enqueue(static_cast<std::size_t>(worker.index()),
                                cfg.usage_hook.include_request_body ? usage::ToJson(e) : json);
            }
            hook->Enqueue(static_cast<std::size_t>(worker.index()), std::move(json));
        } else {
            ledger->Enqueue(static_cast<std::size_t>(worker.index()), usage::ToJson(e));
        }
    }
    if (auto* rlog = worker.shared().request_log) {
        const auto& rcfg = worker.snapshot().config->logging.request_log;
        observe::RequestLogEntry entry;
        entry.request_id = request_id;
        if (plan.key) entry.key_name = plan.key->config.name;
        entry.model = plan.routed.public_model;
        entry.provider = std::string(record.provider);
        entry.status = record.status;
        entry.latency_ms = duration * 1000.0;
        entry.ts_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
        if (rcfg.include_bodies) {
            // Raw bytes only (bounded); the writer thread redacts and caps them.
            const std::size_t keep = std::max<std::size_t>(rcfg.max_body_bytes * 4, 1u << 20);
            entry.request_body = req.body().substr(0, keep);
            entry.response_body = std::move(record.relayed);
            if (entry.response_body.size() > keep) entry.response_body.resize(keep);
        }
        rlog->Enqueue(static_cast<std::size_t>(worker.index()), std::move(entry));
    }
    if (auto* log = worker.shared().access_log) {
        const auto target = req.target();
        observe::AccessRecord a{request_id,
                                labels.method,
                                std::string_view(target.data(), target.size()),
                                plan.routed.public_model,
                                record.provider,
                                record.attempt_log,
                                client_ip,
                                record.status,
                                duration * 1000.0,
                                ttft >= 0 ? ttft * 1000.0 : -1.0,
                                plan.routed.body.stream};
        if (!plan.routed.traceparent.empty()) a.trace_id = core::TraceId(plan.routed.traceparent);
        if (plan.key) {
            a.key_name = plan.key->config.name;
            a.user_id = plan.key->config.user_id;
            a.api_key = plan.key->config.key_hint;
        }
        if (record.usage) {
            a.prompt_tokens = record.usage->prompt_tokens;
            a.completion_tokens = record.usage->completion_tokens;
            a.total_tokens = record.usage->total_tokens;
            a.tokens_counted_locally = record.usage->estimated;
        }
        log->Write(static_cast<std::size_t>(worker.index()), a);
    }
    co_return keep;
}

}  // namespace llmproxy::proxy
