#include "usage/usage.hpp"

#include <algorithm>

#include <simdjson.h>

namespace llmproxy::usage {
namespace {
namespace od = simdjson::ondemand;

// A token count within [0, 2^53]: sums of an upstream's absurd counts must not overflow.
std::int64_t IntOr0(od::value v) {
    std::int64_t n = 0;
    if (v.get_int64().get(n) != simdjson::SUCCESS) return 0;
    return std::clamp<std::int64_t>(n, 0, std::int64_t{1} << 53);
}

// The members of one usage object, and the *_details objects inside it.
simdjson::error_code ReadUsageObject(od::object usage, UsageReport& r) {
    for (auto field : usage) {
        std::string_view k;
        if (auto e = field.unescaped_key().get(k)) return e;
        od::value v;
        if (auto e = field.value().get(v)) return e;
        if (k == "prompt_tokens") {
            r.prompt = IntOr0(v);
        } else if (k == "input_tokens") {
            r.input = IntOr0(v);
        } else if (k == "completion_tokens" || k == "output_tokens") {
            r.completion = IntOr0(v);
        } else if (k == "total_tokens") {
            r.total = IntOr0(v);
        } else if (k == "cache_read_input_tokens") {
            r.cached = IntOr0(v);
            r.anthropic = true;
        } else if (k == "cache_creation_input_tokens") {
            r.cache_creation = IntOr0(v);
            r.anthropic = true;
        } else if (k == "prompt_cache_hit_tokens") {  // DeepSeek
            r.cached = IntOr0(v);
        } else if (k == "cached_tokens") {  // Moonshot puts it at the top of usage
            r.cached = IntOr0(v);
        } else if (k == "prompt_tokens_details" || k == "input_tokens_details" || k == "completion_tokens_details" ||
                   k == "output_tokens_details") {
            od::object details;
            if (v.get_object().get(details)) continue;  // null
            for (auto d : details) {
                std::string_view dk;
                if (auto e = d.unescaped_key().get(dk)) return e;
                od::value dv;
                if (auto e = d.value().get(dv)) return e;
                if (dk == "cached_tokens")
                    r.cached = IntOr0(dv);
                else if (dk == "reasoning_tokens" || dk == "thinking_tokens")
                    r.reasoning = IntOr0(dv);
            }
        }
    }
    return simdjson::SUCCESS;
}

// `json` with simdjson's padding, in a per-thread buffer (a padded_string allocates per call).
// Valid until the next call on this thread; a buffer a large answer grew past 64 KiB is let go
// at the next call for a small one.
simdjson::padded_string_view PaddedCopy(std::string_view json) {
    thread_local std::string buffer;
    if (buffer.capacity() > 64 * 1024 && json.size() < 64 * 1024) std::string().swap(buffer);
    buffer.assign(json);
    buffer.append(simdjson::SIMDJSON_PADDING, '\0');
    return simdjson::padded_string_view(buffer.data(), json.size(), buffer.size());
}

// The "usage" member of an object, when it is one ("usage": null in ordinary chunks).
simdjson::error_code ReadNestedUsage(od::value v, UsageReport& r, bool& found) {
    od::object obj;
    if (v.get_object().get(obj)) return simdjson::SUCCESS;
    for (auto field : obj) {
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return e;
        if (key != "usage") continue;
        od::value u;
        if (auto e = field.value().get(u)) return e;
        od::object usage;
        if (u.get_object().get(usage)) return simdjson::SUCCESS;
        found = true;
        return ReadUsageObject(usage, r);
    }
    return simdjson::SUCCESS;
}

}  // namespace

void Usage::Merge(const UsageReport& r) {
    additive = additive || r.anthropic;
    if (r.prompt >= 0) prompt_tokens = r.prompt;
    if (r.input >= 0) {
        if (additive)
            uncached_input = r.input;
        else
            prompt_tokens = r.input;
    }
    if (r.completion >= 0) completion_tokens = r.completion;
    if (r.cached >= 0) cached_tokens = r.cached;
    if (r.cache_creation >= 0) cache_creation_tokens = r.cache_creation;
    if (r.reasoning >= 0) reasoning_tokens = r.reasoning;
    if (additive) prompt_tokens = uncached_input + cached_tokens + cache_creation_tokens;
    total_tokens = r.total >= 0 && !additive ? r.total : prompt_tokens + completion_tokens;
}

std::optional<UsageReport> ParseUsageReport(std::string_view json) {
    if (json.find("usage") == std::string_view::npos && json.find("eval_count") == std::string_view::npos) {
        return std::nullopt;  // cheap pre-check: most stream chunks carry no usage
    }
    thread_local od::parser parser;
    od::document doc;
    if (parser.iterate(PaddedCopy(json)).get(doc)) return std::nullopt;
    od::object obj;
    if (doc.get_object().get(obj)) return std::nullopt;
    UsageReport r;
    bool found = false;
    for (auto field : obj) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return std::nullopt;
        od::value v;
        if (field.value().get(v)) return std::nullopt;
        if (key == "usage") {
            od::object usage;
            if (v.get_object().get(usage)) continue;  // "usage": null in ordinary chunks
            if (ReadUsageObject(usage, r)) return std::nullopt;
            found = true;
        } else if (key == "message" || key == "response") {  // message_start, response.completed
            if (ReadNestedUsage(v, r, found)) return std::nullopt;
        } else if (key == "choices") {  // Moonshot: usage inside the finish chunk's choice
            od::array choices;
            if (v.get_array().get(choices)) continue;
            for (auto choice : choices) {
                od::value first;
                if (choice.get(first)) return std::nullopt;
                if (ReadNestedUsage(first, r, found)) return std::nullopt;
                break;
            }
        } else if (key == "prompt_eval_count") {  // Ollama native API
            r.prompt = IntOr0(v);
            found = true;
        } else if (key == "eval_count") {
            r.completion = IntOr0(v);
            found = true;
        }
    }
    if (!found) return std::nullopt;
    return r;
}

std::optional<Usage> ParseUsage(std::string_view json) {
    auto report = ParseUsageReport(json);
    if (!report) return std::nullopt;
    Usage u;
    u.Merge(*report);
    return u;
}

std::string SseData(std::string_view event) {
    std::string data;
    bool first = true;
    while (!event.empty()) {
        auto eol = event.find_first_of("\r\n");
        std::string_view line = event.substr(0, eol);
        if (line.starts_with("data:")) {
            line.remove_prefix(5);
            if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
            if (!first) data.push_back('\n');
            data.append(line);
            first = false;
        }
        if (eol == std::string_view::npos) break;
        event.remove_prefix(eol + 1);
    }
    return data;
}

std::string_view SseDataView(std::string_view event, std::string& scratch) {
    const auto first = event.starts_with("data:") ? 0 : event.find("\ndata:");
    if (first == std::string_view::npos) return {};
    const std::size_t begin = first == 0 ? 0 : first + 1;
    if (event.find("\ndata:", begin + 5) != std::string_view::npos || event.find("\rdata:") != std::string_view::npos) {
        scratch = SseData(event);  // several data lines: joined by newlines
        return scratch;
    }
    std::string_view line = event.substr(begin + 5);
    line = line.substr(0, line.find_first_of("\r\n"));
    if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    return line;
}

bool IsUsageOnlyChunk(std::string_view json) {
    if (json.find("\"usage\"") == std::string_view::npos) return false;
    thread_local od::parser parser;
    od::document doc;
    if (parser.iterate(PaddedCopy(json)).get(doc)) return false;
    od::object obj;
    if (doc.get_object().get(obj)) return false;
    bool empty_choices = false, has_usage = false;
    for (auto field : obj) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return false;
        od::value v;
        if (field.value().get(v)) return false;
        if (key == "choices") {
            od::array arr;
            if (v.get_array().get(arr)) return false;
            std::size_t n = 0;
            if (arr.count_elements().get(n)) return false;
            empty_choices = n == 0;
        } else if (key == "usage") {
            od::json_type t;
            has_usage = v.type().get(t) == simdjson::SUCCESS && t == od::json_type::object;
        }
    }
    return empty_choices && has_usage;
}

}  // namespace llmproxy::usage
