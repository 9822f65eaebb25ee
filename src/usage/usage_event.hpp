#pragma once
// The usage event of one finished request, in the LLMProxy webhook format.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "usage/usage.hpp"

namespace llmproxy::usage {

struct UsageEvent {
    std::string_view event_id;  // the gateway's, unique: what receivers de-duplicate by
    std::string_view request_id, user_id, key_name, api_key /* masked */, model, upstream_model, provider, backend_url,
        endpoint;
    bool is_stream = false;
    std::optional<Usage> usage;  // null when the upstream reported none
    double latency_ms = 0;
    double ttft_ms = -1;
    unsigned status_code = 0;
    std::int64_t timestamp_ms = 0;  // unix
    std::optional<std::string_view> request_body;
    std::string_view custom_fields;  // a usage script's fields as JSON members ("a":1,"b":"x"), or empty
};

std::string ToJson(const UsageEvent& e);
/// The same JSON appended to `out` (a reused buffer: no allocation once it has grown).
void AppendJson(const UsageEvent& e, std::string& out);

}  // namespace llmproxy::usage
