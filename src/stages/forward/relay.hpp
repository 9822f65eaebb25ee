#pragma once
// The relay: sends one request to one upstream and relays the response to the client as it
// arrives (SSE event by event, other bodies piece by piece), never buffering a stream. What the
// gateway learns from the response (usage, token counts, captures) and how it is rewritten
// (translation between dialects) is up to the response chain's observers; a non-stream body an
// observer rewrites is the one thing read whole, up to a cap.
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "core/dialect.hpp"
#include "core/error_reply.hpp"
#include "http/asio_types.hpp"
#include "http/delayed_starts.hpp"
#include "http/upstream_pool.hpp"
#include "providers/adapter.hpp"
#include "providers/response_chain.hpp"

namespace llmproxy::stages {

using providers::ResponseHead;
using providers::ResponseObserver;

struct ForwardInput {
    const core::ProviderConfig& provider;
    const providers::ProviderAdapter& adapter;
    const ClientRequest& request;      // the client's head (method, headers)
    std::string_view body;             // what to send (model possibly spliced)
    std::string_view upstream_target;  // path + query on the upstream
    std::string_view request_id;
    core::Millis client_write_timeout;
    std::chrono::steady_clock::time_point deadline;  // the request's own limit (x-llm-proxy-timeout)
    std::span<const int> hold_statuses;              // answers not to relay because another attempt will follow
    std::string_view extra_response_headers;         // "Name: value\r\n" lines added to the client head
    std::string_view traceparent;                    // W3C trace context sent upstream (the client's or ours)
    const providers::ResponseChain& chain;           // the observers, in order
    std::string* sent_body_storage = nullptr;        // owns `body` when edited: freed once an answer came
    std::size_t max_response_head = 16u << 10;  // the upstream's head, as server.max_header_bytes bounds the client's
    core::Dialect client_dialect = core::Dialect::kOpenAIChat;  // of the in-band error event
    std::size_t max_whole_body = 16u << 20;                     // a body an observer rewrites, read whole
    // Header lines scripts set for the upstream (hooks, request_transform): they replace the
    // client's of the same name; credentials, framing and provider-configured headers stay ours.
    std::span<const std::pair<std::string, std::string>> script_headers;
    DelayedStarts* delayed_starts = nullptr;  // the worker's: the client watch starts late (null: at once)
};

struct ForwardOutcome {
    bool response_started = false;     // some bytes already reached the client
    bool keep_client = false;          // the client connection may serve another request
    bool client_aborted = false;       // the client went away; the upstream was cancelled
    bool upstream_failed = false;      // the upstream broke after the response started
    std::string_view cut;              // why a started response ended early (static string), else empty
    unsigned status = 0;               // upstream status relayed (0 if none)
    unsigned held_status = 0;          // a hold_statuses answer that was not relayed
    bool timed_out = false;            // the error was a timeout (connect or first byte)
    bool connect_failed = false;       // no connection could be made (or TLS failed)
    bool pool_exhausted = false;       // the gateway's own connection cap: not the provider's fault
    std::int64_t retry_after_ms = -1;  // from a 429's Retry-After
    double ttfb_ms = 0;                // request written -> response head read
    std::optional<std::chrono::steady_clock::time_point> first_event_at;  // SSE: first event written
    std::optional<core::LocalReply> error;  // set when nothing was sent: the gateway answers
};

/// `client_buffer` is the session's read buffer: while the exchange runs, a pending read on the
/// client notices a hang-up (and keeps any pipelined bytes in that buffer).
Task<ForwardOutcome> Forward(TcpStream& client, beast::flat_buffer& client_buffer, const ForwardInput& in,
                             upstream::UpstreamPool& pool);

}  // namespace llmproxy::stages
