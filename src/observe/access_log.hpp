#pragma once
// Structured access log: one JSON line per finished request, written by spdlog's background
// thread (workers only enqueue). A full queue overwrites the oldest line rather than block a
// worker. TODO(issue 5): spill to disk instead of overwriting, and a request log with bodies.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace llmproxy::observe {

struct AccessRecord {
    std::string_view request_id, method, path, model, provider, attempts, client_ip;
    unsigned status = 0;
    double latency_ms = 0;
    double ttft_ms = -1;  // streams only
    bool stream = false;
    std::optional<std::int64_t> prompt_tokens, completion_tokens, total_tokens;
    std::string_view trace_id;  // from the W3C traceparent sent upstream
    std::string_view key_name, user_id, api_key;  // api_key is masked ("sk-...abcd")
};

class AccessLog {
public:
    /// target: "stdout", "stderr", "off", or a file path.
    static std::unique_ptr<AccessLog> Open(const std::string& target);
    void Write(const AccessRecord& r);
    static std::string Format(const AccessRecord& r);  // the JSON line (tested)

private:
    std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace llmproxy::observe
