#pragma once
// The one endpoint table: path -> allowed methods, whether a key is needed, and who answers
// (the proxied pipeline, or a local handler). Everything about an endpoint is on its row.
#include <cstdint>
#include <string_view>

#include "http/asio_types.hpp"

namespace llmproxy::pipeline {

enum class Endpoint {
    kChat,
    kCompletions,
    kEmbeddings,
    kResponses,
    kModels,
    kModel,
    kTokenize,
    kOtherV1,
    kHealth,
    kHealthDetailed,
    kMetrics,
    kUnknown
};

/// Who answers a request once it passed the checks its row asks for.
enum class Handler {
    kProxy,           // body scan -> route -> limits -> forward
    kHealth,          // GET /health
    kHealthDetailed,  // GET /health/detailed[?probe=true]
    kMetrics,         // GET /metrics
    kModels,          // GET /v1/models
    kModel,           // GET /v1/models/{id}
    kTokenize,        // POST /v1/tokenize (needs the body)
};

struct EndpointSpec {
    std::string_view path;
    bool prefix;  // path is a prefix ("/v1/models/" + id)
    Endpoint endpoint;
    std::string_view methods;  // the Allow header: exactly what `accepts` lets through
    std::uint8_t accepts;      // bit set of Method
    bool needs_key;            // auth applies (health and metrics stay open for probes and Prometheus)
    Handler handler;
    std::string_view label;  // the metrics' endpoint label
};

enum Method : std::uint8_t { kGet = 1, kHead = 2, kPost = 4, kDelete = 8 };

/// The row for `path` (without its query); a row for kUnknown when nothing matches.
const EndpointSpec& LookupEndpoint(std::string_view path);
bool Accepts(const EndpointSpec& spec, http::verb method);
/// `/v1/models/{id}` -> id.
std::string_view ModelIdOf(const EndpointSpec& spec, std::string_view path);

}  // namespace llmproxy::pipeline
