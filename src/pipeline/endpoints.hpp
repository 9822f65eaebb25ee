#pragma once
// The endpoint table: path -> allowed methods, who may call it (anyone, a key, the admin),
// who answers (the proxied pipeline, or a local handler) and a one-line summary. Everything
// about an endpoint is on its row: the OpenAPI document is generated from the rows
// (pipeline/openapi), so the two cannot drift. The built-in rows are here; the admin API adds
// its own (admin/admin_endpoints) when the process starts.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dialect.hpp"
#include "http/asio_types.hpp"

namespace llmproxy::pipeline {

struct RequestContext;
struct Runtime;

enum class Endpoint {
    kChat,
    kCompletions,
    kEmbeddings,
    kResponses,
    kMessages,     // /v1/messages (Anthropic)
    kCountTokens,  // /v1/messages/count_tokens (Anthropic)
    kModels,
    kModel,
    kTokenize,
    kOtherV1,
    kHealth,
    kHealthDetailed,
    kMetrics,
    kDocs,   // /openapi.json, /docs, /redoc
    kAdmin,  // /admin/v1/... and the /config aliases
    kUnknown
};

/// Who may call an endpoint.
enum class Access : std::uint8_t {
    kOpen,   // health, metrics, docs: probes and Prometheus carry no key
    kKey,    // an API key, when auth is on
    kAdmin,  // the admin key (server.admin_key), always
};

enum class Match : std::uint8_t {
    kExact,
    kPrefix,   // path is a prefix ("/v1/" + anything)
    kPattern,  // segments in braces match one path segment ("/admin/v1/keys/{name}")
};

/// Answers a request locally (null on a row: the request is proxied).
using LocalHandler = Task<void> (*)(RequestContext&, Runtime&);

enum Method : std::uint8_t { kGet = 1, kHead = 2, kPost = 4, kDelete = 8, kPut = 16, kPatch = 32 };

struct EndpointSpec {
    std::string_view path;
    Match match;
    Endpoint endpoint;
    std::string_view methods;  // the Allow header: exactly what `accepts` lets through
    std::uint8_t accepts;      // bit set of Method
    Access access;
    LocalHandler handler;                                // null: body scan -> route -> limits -> forward
    bool needs_body;                                     // a local handler that reads the body (it is read first)
    std::string_view label;                              // the metrics' endpoint label
    std::string_view summary;                            // for the OpenAPI document
    core::Dialect dialect = core::Dialect::kOpenAIChat;  // the client's, for every answer the gateway writes
};

/// The client's dialect for a request to `row`: the row's, except on paths both dialects share
/// (the model list, pass-through, unknown paths), where Anthropic clients are known by their
/// anthropic-version header.
core::Dialect ClientDialect(const EndpointSpec& row, bool anthropic_version_header);

/// The row for a request, and the path parameter its pattern captured.
struct EndpointMatch {
    const EndpointSpec* row = nullptr;  // a kUnknown row when no path matches
    std::string_view param;             // the {…} segment of a kPattern row
    std::string allow;                  // set when the path matches but no row takes the method
};

/// The built-in rows followed by extension groups (searched in that order). Built once
/// before workers start; read-only after.
class EndpointTable {
public:
    EndpointTable();  // built-in rows only
    void Add(std::span<const EndpointSpec> rows);

    EndpointMatch Lookup(std::string_view path, http::verb method) const;
    /// Every row, in order (for the OpenAPI document).
    std::vector<const EndpointSpec*> Rows() const;

private:
    std::vector<std::span<const EndpointSpec>> groups_;
};

/// The built-in table (the process's table unless the admin API added rows).
const EndpointTable& BuiltinEndpoints();
/// Whether `path` matches a kPattern row's path; `param` gets the braced segment.
bool MatchPattern(std::string_view pattern, std::string_view path, std::string_view& param);

}  // namespace llmproxy::pipeline
