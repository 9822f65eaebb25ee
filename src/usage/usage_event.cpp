#include "usage/usage_event.hpp"

#include <cstdio>
#include <ctime>

#include "core/json_escape.hpp"

namespace llmproxy::usage {
namespace {
void Str(std::string& out, const char* key, std::string_view v) {
    out += ",\"";
    out += key;
    out += "\":";
    core::AppendJsonString(out, v);
}
}  // namespace

std::string ToJson(const UsageEvent& e) {
    std::string out;
    out.reserve(512 + (e.request_body ? e.request_body->size() : 0));
    out += "{\"request_id\":";
    core::AppendJsonString(out, e.request_id);
    Str(out, "user_id", e.user_id);
    Str(out, "key_name", e.key_name);
    Str(out, "api_key", e.api_key);
    Str(out, "model", e.model);
    Str(out, "upstream_model", e.upstream_model);
    Str(out, "provider", e.provider);
    Str(out, "backend_url", e.backend_url);
    Str(out, "endpoint", e.endpoint);
    out += e.is_stream ? ",\"is_stream\":true" : ",\"is_stream\":false";
    if (e.usage) {
        out += ",\"usage\":{\"prompt_tokens\":" + std::to_string(e.usage->prompt_tokens) +
               ",\"completion_tokens\":" + std::to_string(e.usage->completion_tokens) +
               ",\"total_tokens\":" + std::to_string(e.usage->total_tokens) + "}";
    } else {
        out += ",\"usage\":null";
    }
    char buf[160];
    std::snprintf(buf, sizeof buf, ",\"latency_ms\":%.3f,\"status_code\":%u", e.latency_ms, e.status_code);
    out += buf;
    if (e.ttft_ms >= 0) {
        std::snprintf(buf, sizeof buf, ",\"ttft_ms\":%.3f", e.ttft_ms);
        out += buf;
    }
    std::time_t secs = static_cast<std::time_t>(e.timestamp_ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::snprintf(buf, sizeof buf, ",\"timestamp\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\"", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(e.timestamp_ms % 1000));
    out += buf;
    if (e.request_body) {
        out += ",\"request_body\":";
        core::AppendJsonString(out, *e.request_body);
    }
    out += '}';
    return out;
}

}  // namespace llmproxy::usage
