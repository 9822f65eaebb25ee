#pragma once
// Sends a routed request upstream, attempt after attempt: target selection (fallbacks, strategy,
// health), retries with backoff within the retry budget, model-level fallbacks, and the health
// bookkeeping of every outcome. Retries happen only while nothing was sent to the client; the
// body is replayed from memory.
#include <chrono>
#include <optional>
#include <string>

#include "http/asio_types.hpp"
#include "proxy/body_scan.hpp"
#include "proxy/route_table.hpp"
#include "usage/usage.hpp"

namespace llmproxy {
class Worker;
}

namespace llmproxy::proxy {

struct RoutedRequest {
    std::string public_model;
    const Route* route = nullptr;
    bool json = false;
    BodyInfo body;
    std::string path_suffix;  // client target after "/v1" (path + query)
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    std::string traceparent;
};

/// What the metrics and logs need to know about how a request ended.
struct RequestRecord {
    unsigned status = 0;
    std::string_view provider = "none";  // the provider that served it (config-owned string)
    std::size_t provider_index = SIZE_MAX;
    std::optional<std::chrono::steady_clock::time_point> first_event_at;  // streams only
    std::optional<usage::Usage> usage;  // as reported by the upstream that served it
    std::string relayed;                // what reached the client, for local counting (see Forward)
    std::string_view upstream_model;    // the model name sent upstream (config- or request-owned)
    int attempts = 0;
    std::string attempt_log;  // "a:502,b:200": every attempt's provider and outcome
};

/// Returns whether the client connection may be kept alive.
Task<bool> ForwardWithRetries(TcpStream& client, beast::flat_buffer& buffer, http::request<http::string_body>& req,
                              Worker& worker, const RoutedRequest& routed, std::string_view request_id,
                              bool keep_alive, RequestRecord& record);

}  // namespace llmproxy::proxy
