#include "observe/access_log.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/json_escape.hpp"

namespace llmproxy::observe {
namespace {

void Field(std::string& out, const char* name, std::string_view value) {
    out += ",\"";
    out += name;
    out += "\":";
    core::AppendJsonString(out, value);
}

void Number(std::string& out, const char* name, double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, ",\"%s\":%.3f", name, value);
    out += buf;
}

void Integer(std::string& out, const char* name, std::optional<std::int64_t> value) {
    out += ",\"";
    out += name;
    out += "\":";
    out += value ? std::to_string(*value) : "null";
}

std::string Timestamp() {
    auto now = std::chrono::system_clock::now();
    auto secs = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}

}  // namespace

std::string AccessLog::Format(const AccessRecord& r) {
    std::string out;
    out.reserve(384);
    out += "{\"ts\":\"" + Timestamp() + "\"";
    Field(out, "request_id", r.request_id);
    Field(out, "method", r.method);
    Field(out, "path", r.path);
    Field(out, "model", r.model);
    Field(out, "provider", r.provider);
    out += ",\"status\":" + std::to_string(r.status);
    Number(out, "latency_ms", r.latency_ms);
    if (r.ttft_ms >= 0) Number(out, "ttft_ms", r.ttft_ms);
    out += r.stream ? ",\"stream\":true" : ",\"stream\":false";
    Integer(out, "prompt_tokens", r.prompt_tokens);
    Integer(out, "completion_tokens", r.completion_tokens);
    Integer(out, "total_tokens", r.total_tokens);
    Field(out, "attempts", r.attempts);
    Field(out, "client_ip", r.client_ip);
    if (!r.trace_id.empty()) Field(out, "trace_id", r.trace_id);
    if (!r.key_name.empty()) {
        Field(out, "key_name", r.key_name);
        Field(out, "user_id", r.user_id);
        Field(out, "api_key", r.api_key);
    }
    out += '}';
    return out;
}

std::unique_ptr<AccessLog> AccessLog::Open(const std::string& target) {
    if (target.empty() || target == "off") return nullptr;
    static std::once_flag pool_once;
    std::call_once(pool_once, [] { spdlog::init_thread_pool(8192, 1); });
    auto log = std::make_unique<AccessLog>();
    if (target == "stdout") {
        log->logger_ = spdlog::create_async_nb<spdlog::sinks::stdout_sink_mt>("access");
    } else if (target == "stderr") {
        log->logger_ = spdlog::create_async_nb<spdlog::sinks::stderr_sink_mt>("access");
    } else {
        log->logger_ = spdlog::create_async_nb<spdlog::sinks::basic_file_sink_mt>("access", target);
    }
    log->logger_->set_pattern("%v");
    log->logger_->set_level(spdlog::level::info);
    log->logger_->flush_on(spdlog::level::info);
    return log;
}

void AccessLog::Write(const AccessRecord& r) { logger_->info(Format(r)); }

}  // namespace llmproxy::observe
