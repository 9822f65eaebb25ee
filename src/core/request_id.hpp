#pragma once
#include <string_view>

#include "core/inline_string.hpp"

namespace llmproxy::core {

inline constexpr std::size_t kMaxRequestId = 128;  // a longer client X-Request-ID is replaced
using RequestId = InlineString<kMaxRequestId>;
using EventId = InlineString<36>;
using Traceparent = InlineString<55>;

/// Returns the client's X-Request-ID when it is safe to echo (1..128 printable ASCII, no
/// spaces), otherwise a new id "req_<16 hex>" unique within and across process runs.
RequestId MakeRequestId(std::string_view client_value);

/// A new id "evt_<32 hex>" for a usage event: the gateway's own, never the client's, so a
/// receiver can de-duplicate redelivered events by it.
EventId MakeEventId();

/// W3C trace context: the client's `traceparent` when well-formed, else a new sampled one
/// ("00-<32 hex trace id>-<16 hex parent id>-01").
Traceparent MakeTraceparent(std::string_view client_value);

/// The trace id part of a traceparent made by MakeTraceparent.
inline std::string_view TraceId(std::string_view traceparent) {
    return traceparent.substr(3, 32);
}

}  // namespace llmproxy::core
