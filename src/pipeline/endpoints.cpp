#include "pipeline/endpoints.hpp"

#include <iterator>

#include "pipeline/local_endpoints.hpp"

namespace llmproxy::pipeline {
namespace {

constexpr auto kExact = Match::kExact;
constexpr auto kOpen = Access::kOpen;
constexpr auto kKey = Access::kKey;

// Exact paths first, then patterns; the catch-all prefix last (rows added by other modules go
// before it).
constexpr EndpointSpec kTable[] = {
    {"/v1/chat/completions", kExact, Endpoint::kChat, "POST", kPost, kKey, nullptr, false, "/v1/chat/completions",
     "Chat completion (OpenAI), streamed with stream: true"},
    {"/v1/completions", kExact, Endpoint::kCompletions, "POST", kPost, kKey, nullptr, false, "/v1/completions",
     "Text completion (OpenAI legacy)"},
    {"/v1/embeddings", kExact, Endpoint::kEmbeddings, "POST", kPost, kKey, nullptr, false, "/v1/embeddings",
     "Embeddings (OpenAI)"},
    {"/v1/responses", kExact, Endpoint::kResponses, "GET, POST", kGet | kPost, kKey, nullptr, false, "/v1/responses",
     "Responses API (OpenAI): passed to providers that serve it, translated to chat completions for the rest; GET "
     "with Upgrade: websocket serves it over WebSocket",
     core::Dialect::kOpenAIResponses},
    {"/v1/messages", kExact, Endpoint::kMessages, "POST", kPost, kKey, nullptr, false, "/v1/messages",
     "Messages (Anthropic), over any provider: passed through or translated to chat completions",
     core::Dialect::kAnthropic},
    {"/v1/messages/count_tokens", kExact, Endpoint::kCountTokens, "POST", kPost, kKey, nullptr, false,
     "/v1/messages/count_tokens", "Exact input token count (Anthropic), from providers that have one; else 404",
     core::Dialect::kAnthropic},
    {"/v1/models", kExact, Endpoint::kModels, "GET, HEAD", kGet | kHead, kKey, &AnswerModels, false, "/v1/models",
     "Models this key may use"},
    {"/v1/tokenize", kExact, Endpoint::kTokenize, "POST", kPost, kKey, &AnswerTokenize, true, "/v1/tokenize",
     "Count tokens locally (llm-proxy extension)"},
    {"/health", kExact, Endpoint::kHealth, "GET, HEAD", kGet | kHead, kOpen, &AnswerHealth, false, "/health",
     "Liveness: 200 while the gateway serves"},
    {"/healthz", kExact, Endpoint::kHealth, "GET, HEAD", kGet | kHead, kOpen, &AnswerHealth, false, "/health",
     "Liveness (alias of /health)"},
    {"/health/detailed", kExact, Endpoint::kHealthDetailed, "GET, HEAD", kGet | kHead, kOpen, &AnswerHealthDetailed,
     false, "/health", "Every provider's health; ?probe=true probes them now (admin key)"},
    {"/metrics", kExact, Endpoint::kMetrics, "GET, HEAD", kGet | kHead, kOpen, &AnswerMetrics, false, "/metrics",
     "Prometheus metrics"},
    {"/openapi.json", kExact, Endpoint::kDocs, "GET, HEAD", kGet | kHead, kOpen, &AnswerOpenApi, false, "/docs",
     "This document (OpenAPI 3.1)"},
    {"/docs", kExact, Endpoint::kDocs, "GET, HEAD", kGet | kHead, kOpen, &AnswerDocs, false, "/docs",
     "API reference in the browser (Swagger UI, embedded)"},
    {"/redoc", kExact, Endpoint::kDocs, "GET, HEAD", kGet | kHead, kOpen, &AnswerRedoc, false, "/docs",
     "API reference in the browser (ReDoc, embedded)"},
    {"/docs/assets/{file}", Match::kPattern, Endpoint::kDocs, "GET, HEAD", kGet | kHead, kOpen, &AnswerDocsAsset, false,
     "/docs", "The viewers' scripts and styles"},
    // Model ids may hold slashes ("meta-llama/Llama-3"): {model*} takes the rest of the path.
    {"/v1/models/{model*}", Match::kPattern, Endpoint::kModel, "GET, HEAD", kGet | kHead, kKey, &AnswerModel, false,
     "/v1/models", "One model, if this key may use it"},
    // (kFirstCatchAll) Other OpenAI paths (files, batches, /v1/responses/{id}, ...) pass through.
    {"/v1/", Match::kPrefix, Endpoint::kOtherV1, "GET, POST, DELETE", kGet | kPost | kDelete, kKey, nullptr, false,
     "/v1/other", "Any other OpenAI path, passed through (per-key allowed_endpoints)"},
};
constexpr std::size_t kFirstCatchAll = std::size(kTable) - 1;
constexpr EndpointSpec kUnknownRow{"", Match::kPrefix, Endpoint::kUnknown, "", 0, kOpen, nullptr, false, "unknown", ""};

std::uint8_t MethodBit(http::verb m) {
    switch (m) {
        case http::verb::get:
            return kGet;
        case http::verb::head:
            return kHead;
        case http::verb::post:
            return kPost;
        case http::verb::delete_:
            return kDelete;
        case http::verb::put:
            return kPut;
        case http::verb::patch:
            return kPatch;
        default:
            return 0;
    }
}

bool PathMatches(const EndpointSpec& row, std::string_view path, std::string_view& param) {
    switch (row.match) {
        case Match::kExact:
            return path == row.path;
        case Match::kPrefix:
            return path.starts_with(row.path);
        case Match::kPattern:
            return MatchPattern(row.path, path, param);
    }
    return false;
}

void AppendAllow(std::string& allow, std::string_view methods) {
    // "GET, HEAD" + "PUT" -> "GET, HEAD, PUT"
    while (!methods.empty()) {
        const auto comma = methods.find(',');
        std::string_view m = methods.substr(0, comma);
        while (!m.empty() && m.front() == ' ') m.remove_prefix(1);
        if (!m.empty() && (", " + allow + ",").find(", " + std::string(m) + ",") == std::string::npos) {
            if (!allow.empty()) allow += ", ";
            allow += m;
        }
        methods = comma == std::string_view::npos ? std::string_view() : methods.substr(comma + 1);
    }
}

}  // namespace

bool MatchPattern(std::string_view pattern, std::string_view path, std::string_view& param) {
    while (!pattern.empty()) {
        if (pattern.front() == '{') {
            const auto close = pattern.find('}');
            const bool rest = close != std::string_view::npos && close > 0 && pattern[close - 1] == '*';
            const std::string_view segment = rest ? path : path.substr(0, path.find('/'));
            if (segment.empty() || close == std::string_view::npos) return false;
            param = segment;
            pattern.remove_prefix(close + 1);
            path.remove_prefix(segment.size());
            continue;
        }
        if (path.empty() || path.front() != pattern.front()) return false;
        pattern.remove_prefix(1);
        path.remove_prefix(1);
    }
    return path.empty();
}

EndpointTable::EndpointTable() {
    const std::span<const EndpointSpec> all(kTable);
    groups_.push_back(all.first(kFirstCatchAll));
    groups_.push_back(all.subspan(kFirstCatchAll));
}

void EndpointTable::Add(std::span<const EndpointSpec> rows) {
    groups_.insert(groups_.end() - 1, rows);  // before the catch-all: an added row is more specific
}

EndpointMatch EndpointTable::Lookup(std::string_view path, http::verb method) const {
    EndpointMatch found;
    const std::uint8_t bit = MethodBit(method);
    for (const auto& group : groups_) {
        for (const auto& row : group) {
            std::string_view param;
            // After the first row for this path, only its siblings (the same path, other
            // methods) count: a catch-all further down must not take a method the path refuses.
            if (found.row && row.path != found.row->path) continue;
            if (!PathMatches(row, path, param)) continue;
            if (row.accepts & bit) {
                found.row = &row;
                found.param = param;
                found.allow.clear();
                return found;
            }
            if (!found.row) found.row = &row;  // the path's first row, for a 405
            AppendAllow(found.allow, row.methods);
        }
    }
    if (!found.row) found.row = &kUnknownRow;
    return found;
}

std::vector<const EndpointSpec*> EndpointTable::Rows() const {
    std::vector<const EndpointSpec*> rows;
    for (const auto& group : groups_) {
        for (const auto& row : group) rows.push_back(&row);
    }
    return rows;
}

const EndpointTable& BuiltinEndpoints() {
    static const EndpointTable table;
    return table;
}

core::Dialect ClientDialect(const EndpointSpec& row, bool anthropic_version_header) {
    switch (row.endpoint) {
        case Endpoint::kModels:
        case Endpoint::kModel:
        case Endpoint::kOtherV1:
        case Endpoint::kUnknown:
            return anthropic_version_header ? core::Dialect::kAnthropic : row.dialect;
        default:
            return row.dialect;
    }
}

}  // namespace llmproxy::pipeline
