#pragma once
// Structured access log: one JSON line per finished request. Workers only push the line into
// their own lock-free queue (no lock, no syscall on the request path); a writer thread drains
// all queues every few milliseconds and writes them with one write() per batch. A full queue
// drops the line and counts it rather than block a worker.
// TODO(issue 5): a request log with bodies and redaction.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <atomic>
#include <thread>
#include <vector>

#include <boost/lockfree/spsc_queue.hpp>

namespace llmproxy::observe {

struct AccessRecord {
    std::string_view request_id, method, path, model, provider, attempts, client_ip;
    unsigned status = 0;
    double latency_ms = 0;
    double ttft_ms = -1;  // streams only
    bool stream = false;
    std::optional<std::int64_t> prompt_tokens, completion_tokens, total_tokens;
    std::int64_t cached_tokens = 0, reasoning_tokens = 0;  // written when not zero
    bool tokens_counted_locally = false;                   // no usage from upstream: our tokenizer counted them
    std::string_view trace_id;                             // from the W3C traceparent sent upstream
    std::string_view custom_fields;                        // a usage script's fields as JSON members, or empty
    std::string_view cut;                         // why a response that had started ended early (request_timeout, ...)
    std::string_view key_name, user_id, api_key;  // api_key is masked ("sk-...abcd")
};

class AccessLog {
public:
    /// target: "stdout", "stderr", "off" (returns null), or a file path (appended to).
    /// Throws when the file cannot be opened.
    static std::unique_ptr<AccessLog> Open(const std::string& target, std::size_t workers);
    AccessLog(int fd, bool owns_fd, std::size_t workers);
    ~AccessLog();  // writes what is still queued

    /// From worker `worker` only (single producer per queue).
    void Write(std::size_t worker, const AccessRecord& r);
    static std::string Format(const AccessRecord& r);  // the JSON line (tested)
    static void AppendLine(std::string& out, const AccessRecord& r);
    std::uint64_t dropped() const { return dropped_.load(); }

private:
    void Run();
    bool Flush();  // true when something was written

    int fd_;
    bool owns_fd_;
    // Per worker: a ring of bytes (whole lines, each ending in '\n') and the line being made,
    // reused. A line costs no allocation; a full ring drops the line and counts it.
    static constexpr std::size_t kRingBytes = 2u << 20;
    std::vector<std::unique_ptr<boost::lockfree::spsc_queue<char>>> queues_;
    struct alignas(64) Line {  // a cache line each: workers write their own
        std::string text;
    };
    std::vector<Line> lines_;
    std::atomic<bool> stopping_{false};
    std::atomic<std::uint64_t> dropped_{0};
    std::string batch_;
    std::thread thread_;
};

}  // namespace llmproxy::observe
