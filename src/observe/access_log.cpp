#include "observe/access_log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/fast_format.hpp"
#include "core/json_escape.hpp"

namespace llmproxy::observe {
namespace {

using core::AppendJsonField;

void Number(std::string& out, const char* name, double value) {
    out += ",\"";
    out += name;
    out += "\":";
    core::AppendMillis3(out, value);
}

void Integer(std::string& out, const char* name, std::optional<std::int64_t> value) {
    out += ",\"";
    out += name;
    out += "\":";
    out += value ? std::to_string(*value) : "null";
}

}  // namespace

std::string AccessLog::Format(const AccessRecord& r) {
    std::string out;
    AppendLine(out, r);
    return out;
}

void AccessLog::AppendLine(std::string& out, const AccessRecord& r) {
    out += "{\"ts\":\"";
    core::AppendUtcTimestamp(
        out, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                 .count());
    out += '"';
    AppendJsonField(out, "request_id", r.request_id);
    AppendJsonField(out, "method", r.method);
    AppendJsonField(out, "path", r.path);
    AppendJsonField(out, "model", r.model);
    AppendJsonField(out, "provider", r.provider);
    out += ",\"status\":" + std::to_string(r.status);
    Number(out, "latency_ms", r.latency_ms);
    if (r.ttft_ms >= 0) Number(out, "ttft_ms", r.ttft_ms);
    out += r.stream ? ",\"stream\":true" : ",\"stream\":false";
    Integer(out, "prompt_tokens", r.prompt_tokens);
    Integer(out, "completion_tokens", r.completion_tokens);
    Integer(out, "total_tokens", r.total_tokens);
    if (r.cached_tokens) Integer(out, "cached_tokens", r.cached_tokens);
    if (r.reasoning_tokens) Integer(out, "reasoning_tokens", r.reasoning_tokens);
    if (r.tokens_counted_locally) out += ",\"usage_source\":\"gateway\"";
    AppendJsonField(out, "attempts", r.attempts);
    AppendJsonField(out, "client_ip", r.client_ip);
    if (!r.trace_id.empty()) AppendJsonField(out, "trace_id", r.trace_id);
    if (!r.cut.empty()) AppendJsonField(out, "cut", r.cut);
    if (!r.custom_fields.empty()) {
        out += ",\"custom\":{";
        out += r.custom_fields;
        out += '}';
    }
    if (!r.key_name.empty()) {
        AppendJsonField(out, "key_name", r.key_name);
        AppendJsonField(out, "user_id", r.user_id);
        AppendJsonField(out, "api_key", r.api_key);
    }
    out += '}';
}

std::unique_ptr<AccessLog> AccessLog::Open(const std::string& target, std::size_t workers) {
    if (target.empty() || target == "off") return nullptr;
    if (target == "stdout") return std::make_unique<AccessLog>(1, false, workers);
    if (target == "stderr") return std::make_unique<AccessLog>(2, false, workers);
    int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0) throw std::runtime_error(std::strerror(errno));
    return std::make_unique<AccessLog>(fd, true, workers);
}

AccessLog::AccessLog(int fd, bool owns_fd, std::size_t workers) : fd_(fd), owns_fd_(owns_fd) {
    for (std::size_t i = 0; i < workers; ++i) {
        queues_.push_back(std::make_unique<boost::lockfree::spsc_queue<char>>(kRingBytes));
        lines_.emplace_back().text.reserve(1024);
    }
    thread_ = std::thread([this] { Run(); });
}

AccessLog::~AccessLog() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    Flush();
    if (owns_fd_) ::close(fd_);
}

void AccessLog::Write(std::size_t worker, const AccessRecord& r) {
    std::string& line = lines_[worker].text;
    line.clear();
    AppendLine(line, r);
    line += '\n';
    // Whole lines only: the writer never sees half of one (a push publishes its bytes at once).
    auto& ring = *queues_[worker];
    if (ring.write_available() < line.size() || ring.push(line.data(), line.size()) != line.size())
        dropped_.fetch_add(1, std::memory_order_relaxed);
}

bool AccessLog::Flush() {
    batch_.clear();
    for (auto& ring : queues_) {
        const std::size_t n = ring->read_available();
        if (n == 0) continue;
        const std::size_t at = batch_.size();
        batch_.resize(at + n);
        batch_.resize(at + ring->pop(batch_.data() + at, n));
    }
    std::size_t done = 0;
    while (done < batch_.size()) {
        ssize_t n = ::write(fd_, batch_.data() + done, batch_.size() - done);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            break;  // a full disk or closed stdout: the lines are lost, the gateway goes on
        }
        done += static_cast<std::size_t>(n);
    }
    return !batch_.empty();
}

void AccessLog::Run() {
    // One write per 10 ms at most: under load that is hundreds of lines per syscall.
    while (!stopping_.load()) {
        Flush();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

}  // namespace llmproxy::observe
