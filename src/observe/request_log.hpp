#pragma once
// The optional request log: one record per request with its metadata and, when include_bodies
// is on, the request and response bodies (capped, with configured JSON fields and anything
// that looks like an API key redacted) — to a JSON-lines file or the store's request_log
// table (store/request_log_table.hpp). Workers only queue the raw bytes; redaction and writing happen on the writer
// thread.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/batched_writer.hpp"

namespace llmproxy::observe {

struct RequestLogEntry {
    std::string request_id, key_name, model, provider, request_body, response_body;
    std::int64_t ts_ms = 0;
    unsigned status = 0;
    double latency_ms = 0;
};

using RequestLog = core::BatchedWriter<RequestLogEntry>;

/// Replaces the string values of `fields` (JSON keys, case-insensitive, at any depth) with
/// "[REDACTED]", masks API-key-like tokens (sk-..., Bearer ...) anywhere, then cuts to `cap`
/// bytes. Works on truncated or invalid JSON too (a scan, not a parse).
std::string Redact(std::string_view body, const std::vector<std::string>& fields, std::size_t cap);

/// The log as a JSON-lines file (config.output is its path). Throws when it cannot be opened.
/// (The database output is store/request_log_table.hpp.)
std::unique_ptr<RequestLog> OpenRequestLogFile(const core::RequestLogConfig& config, std::size_t workers);

}  // namespace llmproxy::observe
