#include "pipeline/endpoints.hpp"

namespace llmproxy::pipeline {
namespace {

// Exact paths first, then prefixes, longest first; the last row is the catch-all.
constexpr EndpointSpec kTable[] = {
    {"/v1/chat/completions", false, Endpoint::kChat, "POST", kPost, true, Handler::kProxy, "/v1/chat/completions"},
    {"/v1/completions", false, Endpoint::kCompletions, "POST", kPost, true, Handler::kProxy, "/v1/completions"},
    {"/v1/embeddings", false, Endpoint::kEmbeddings, "POST", kPost, true, Handler::kProxy, "/v1/embeddings"},
    {"/v1/responses", false, Endpoint::kResponses, "POST", kPost, true, Handler::kProxy, "/v1/responses"},
    {"/v1/models", false, Endpoint::kModels, "GET, HEAD", kGet | kHead, true, Handler::kModels, "/v1/models"},
    {"/v1/tokenize", false, Endpoint::kTokenize, "POST", kPost, true, Handler::kTokenize, "/v1/tokenize"},
    {"/health", false, Endpoint::kHealth, "GET, HEAD", kGet | kHead, false, Handler::kHealth, "/health"},
    {"/healthz", false, Endpoint::kHealth, "GET, HEAD", kGet | kHead, false, Handler::kHealth, "/health"},
    {"/health/detailed", false, Endpoint::kHealthDetailed, "GET, HEAD", kGet | kHead, false, Handler::kHealthDetailed,
     "/health"},
    {"/metrics", false, Endpoint::kMetrics, "GET, HEAD", kGet | kHead, false, Handler::kMetrics, "/metrics"},
    {"/v1/models/", true, Endpoint::kModel, "GET, HEAD", kGet | kHead, true, Handler::kModel, "/v1/models"},
    // Other OpenAI paths (files, batches, /v1/responses/{id}, ...) pass through.
    {"/v1/", true, Endpoint::kOtherV1, "GET, POST, DELETE", kGet | kPost | kDelete, true, Handler::kProxy, "/v1/other"},
};
constexpr EndpointSpec kUnknownRow{"", true, Endpoint::kUnknown, "", 0, false, Handler::kProxy, "unknown"};

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
        default:
            return 0;
    }
}

}  // namespace

const EndpointSpec& LookupEndpoint(std::string_view path) {
    for (const auto& row : kTable) {
        if (row.prefix ? path.starts_with(row.path) : path == row.path) return row;
    }
    return kUnknownRow;
}

bool Accepts(const EndpointSpec& spec, http::verb method) {
    return (spec.accepts & MethodBit(method)) != 0;
}

std::string_view ModelIdOf(const EndpointSpec& spec, std::string_view path) {
    return spec.endpoint == Endpoint::kModel ? path.substr(spec.path.size()) : std::string_view();
}

}  // namespace llmproxy::pipeline
