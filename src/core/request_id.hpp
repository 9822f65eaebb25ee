#pragma once
#include <string>
#include <string_view>

namespace llmproxy::core {

/// Returns the client's X-Request-ID when it is safe to echo (1..128 printable ASCII, no
/// spaces), otherwise a new id "req_<16 hex>" unique within and across process runs.
std::string MakeRequestId(std::string_view client_value);

/// A new id "evt_<32 hex>" for a usage event: the gateway's own, never the client's, so a
/// receiver can de-duplicate redelivered events by it.
std::string MakeEventId();

/// W3C trace context: the client's `traceparent` when well-formed, else a new sampled one
/// ("00-<32 hex trace id>-<16 hex parent id>-01").
std::string MakeTraceparent(std::string_view client_value);

/// The trace id part of a traceparent made by MakeTraceparent.
inline std::string_view TraceId(std::string_view traceparent) {
    return traceparent.substr(3, 32);
}

}  // namespace llmproxy::core
