#include "observe/request_log.hpp"

#include <cctype>
#include <cstdio>

#include <fcntl.h>
#include <unistd.h>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/fast_format.hpp"
#include "core/json_escape.hpp"
#include "core/private_file.hpp"
#include "core/secret_hash.hpp"

namespace llmproxy::observe {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

// End of the JSON string starting at `open` (the quote), or npos when it is cut off.
std::size_t StringEnd(std::string_view s, std::size_t open) {
    for (std::size_t i = open + 1; i < s.size(); ++i) {
        if (s[i] == '\\')
            ++i;
        else if (s[i] == '"')
            return i;
    }
    return std::string_view::npos;
}

bool KeyChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// "sk-abc...xyz" (and sk-proj-..., sk-ant-...) and "Bearer <token>" -> masked.
std::string MaskSecrets(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const bool sk = s.compare(i, 3, "sk-") == 0 && (i == 0 || !KeyChar(s[i - 1]));
        const bool bearer = s.compare(i, 7, "Bearer ") == 0;
        if (sk || bearer) {
            std::size_t start = bearer ? i + 7 : i, end = start;
            while (end < s.size() && KeyChar(s[end])) ++end;
            if (end - start >= 12) {
                if (bearer) out += "Bearer ";
                out += core::MaskKey(s.substr(start, end - start));
                i = end;
                continue;
            }
        }
        out.push_back(s[i++]);
    }
    return out;
}

}  // namespace

std::string Redact(std::string_view body, const std::vector<std::string>& fields, std::size_t cap) {
    std::string out;
    out.reserve(std::min(body.size(), cap) + 32);
    std::size_t i = 0;
    while (i < body.size()) {
        if (body[i] != '"') {
            out.push_back(body[i++]);
            continue;
        }
        const std::size_t end = StringEnd(body, i);
        if (end == std::string_view::npos) {  // cut off: the rest is one unterminated string
            out.append(body.substr(i));
            break;
        }
        const std::string_view token = body.substr(i + 1, end - i - 1);
        out.append(body.substr(i, end - i + 1));
        i = end + 1;
        // A key: whitespace, ':', whitespace, then a string value to hide.
        std::size_t j = i;
        while (j < body.size() && std::isspace(static_cast<unsigned char>(body[j]))) ++j;
        if (j >= body.size() || body[j] != ':') continue;
        bool listed = false;
        for (const auto& f : fields) listed = listed || EqualsIgnoreCase(f, token);
        if (!listed) continue;
        ++j;
        while (j < body.size() && std::isspace(static_cast<unsigned char>(body[j]))) ++j;
        if (j < body.size() && body[j] == '"') {
            const std::size_t value_end = StringEnd(body, j);
            out.append(body.substr(i, j - i));
            out += "\"[REDACTED]\"";
            i = value_end == std::string_view::npos ? body.size() : value_end + 1;
        }
    }
    out = MaskSecrets(out);
    if (out.size() > cap) {
        const std::size_t cut = out.size() - cap;
        out.resize(cap);
        out += "...[truncated " + std::to_string(cut) + " bytes]";
    }
    return out;
}

std::unique_ptr<RequestLog> OpenRequestLogFile(const core::RequestLogConfig& config, std::size_t workers) {
    const auto fields = config.redact_fields;
    const std::size_t cap = config.max_body_bytes;
    auto redact = [fields, cap](const std::string& body) { return body.empty() ? body : Redact(body, fields, cap); };
    // Prompts and completions: readable by the owner only (0600); an existing file loses what
    // it granted to other users.
    const core::PrivateFile opened = core::OpenPrivateAppend(config.output, 0600);
    if (opened.tightened) {
        spdlog::warn("request log {} was readable by other users; removed their permissions", config.output);
    }
    std::shared_ptr<std::FILE> file(opened.fd >= 0 ? ::fdopen(opened.fd, "a") : nullptr, [](std::FILE* f) {
        if (f) std::fclose(f);
    });
    if (!file) throw std::runtime_error("cannot open request log " + config.output);
    return std::make_unique<RequestLog>(
        "request log", workers, 16384, std::chrono::milliseconds(100),
        [file, redact](const std::vector<RequestLogEntry>& batch) {
            std::string out;
            for (const auto& e : batch) {
                out += "{\"ts\":\"";
                core::AppendUtcTimestamp(out, e.ts_ms);
                out += '"';
                core::AppendJsonField(out, "request_id", e.request_id);
                core::AppendJsonField(out, "key_name", e.key_name);
                core::AppendJsonField(out, "model", e.model);
                core::AppendJsonField(out, "provider", e.provider);
                out += ",\"status\":" + std::to_string(e.status);
                out += ",\"latency_ms\":";
                core::AppendMillis3(out, e.latency_ms);
                if (!e.request_body.empty()) core::AppendJsonField(out, "request_body", redact(e.request_body));
                if (!e.response_body.empty()) core::AppendJsonField(out, "response_body", redact(e.response_body));
                out += "}\n";
            }
            if (std::fwrite(out.data(), 1, out.size(), file.get()) != out.size() || std::fflush(file.get()) != 0) {
                throw std::runtime_error("write failed");
            }
        });
}

}  // namespace llmproxy::observe
