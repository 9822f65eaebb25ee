#include "usage/usage_event.hpp"

#include <cstdio>
#include <ctime>

#include "core/fast_format.hpp"
#include "core/json_escape.hpp"

namespace llmproxy::usage {
using core::AppendJsonField;

std::string ToJson(const UsageEvent& e) {
    std::string out;
    AppendJson(e, out);
    return out;
}

void AppendJson(const UsageEvent& e, std::string& out) {
    out.reserve(out.size() + 1024 + (e.request_body ? e.request_body->size() + e.request_body->size() / 8 : 0));
    out += "{\"request_id\":";
    core::AppendJsonString(out, e.request_id);
    if (!e.event_id.empty()) AppendJsonField(out, "event_id", e.event_id);
    AppendJsonField(out, "user_id", e.user_id);
    AppendJsonField(out, "key_name", e.key_name);
    AppendJsonField(out, "api_key", e.api_key);
    AppendJsonField(out, "model", e.model);
    AppendJsonField(out, "upstream_model", e.upstream_model);
    AppendJsonField(out, "provider", e.provider);
    AppendJsonField(out, "backend_url", e.backend_url);
    AppendJsonField(out, "endpoint", e.endpoint);
    out += e.is_stream ? ",\"is_stream\":true" : ",\"is_stream\":false";
    if (e.usage) {
        const Usage& u = *e.usage;
        const std::pair<const char*, std::int64_t> counts[] = {{",\"usage\":{\"prompt_tokens\":", u.prompt_tokens},
                                                               {",\"completion_tokens\":", u.completion_tokens},
                                                               {",\"total_tokens\":", u.total_tokens},
                                                               {",\"cached_tokens\":", u.cached_tokens},
                                                               {",\"cache_creation_tokens\":", u.cache_creation_tokens},
                                                               {",\"reasoning_tokens\":", u.reasoning_tokens}};
        for (const auto& [name, value] : counts) {
            out += name;
            core::AppendInt(out, value);
        }
        out += '}';
        // "upstream": reported by the provider; "gateway": counted with our tokenizer.
        out += e.usage->estimated ? ",\"usage_source\":\"gateway\"" : ",\"usage_source\":\"upstream\"";
    } else {
        out += ",\"usage\":null";
    }
    out += ",\"latency_ms\":";
    core::AppendMillis3(out, e.latency_ms);
    out += ",\"status_code\":";
    core::AppendInt(out, e.status_code);
    if (e.ttft_ms >= 0) {
        out += ",\"ttft_ms\":";
        core::AppendMillis3(out, e.ttft_ms);
    }
    out += ",\"timestamp\":\"";
    core::AppendUtcTimestamp(out, e.timestamp_ms);
    out += "\",\"timestamp_ms\":";
    core::AppendInt(out, e.timestamp_ms);
    if (!e.custom_fields.empty()) {  // a usage script's fields (JSON members, made by the gateway)
        out += ",\"custom\":{";
        out += e.custom_fields;
        out += '}';
    }
    if (e.request_body) {
        out += ",\"request_body\":";
        core::AppendJsonString(out, *e.request_body);
    }
    out += '}';
}

}  // namespace llmproxy::usage
