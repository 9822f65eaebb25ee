#include "usage/usage.hpp"

#include <simdjson.h>

namespace llmproxy::usage {
namespace {
namespace od = simdjson::ondemand;

std::int64_t IntOr0(od::value v) {
    std::int64_t n = 0;
    if (v.get_int64().get(n) != simdjson::SUCCESS) return 0;
    return n;
}
}  // namespace

std::optional<Usage> ParseUsage(std::string_view json) {
    if (json.find("usage") == std::string_view::npos && json.find("eval_count") == std::string_view::npos) {
        return std::nullopt;  // cheap pre-check: most stream chunks carry no usage
    }
    thread_local od::parser parser;
    simdjson::padded_string padded(json);
    od::document doc;
    if (parser.iterate(padded).get(doc)) return std::nullopt;
    od::object obj;
    if (doc.get_object().get(obj)) return std::nullopt;
    Usage u;
    bool found = false;
    for (auto field : obj) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return std::nullopt;
        od::value v;
        if (field.value().get(v)) return std::nullopt;
        if (key == "usage") {
            od::object usage;
            if (v.get_object().get(usage)) continue;  // "usage": null in ordinary chunks
            for (auto uf : usage) {
                std::string_view k;
                if (uf.unescaped_key().get(k)) return std::nullopt;
                od::value uv;
                if (uf.value().get(uv)) return std::nullopt;
                if (k == "prompt_tokens" || k == "input_tokens")
                    u.prompt_tokens = IntOr0(uv);
                else if (k == "completion_tokens" || k == "output_tokens")
                    u.completion_tokens = IntOr0(uv);
                else if (k == "total_tokens")
                    u.total_tokens = IntOr0(uv);
            }
            found = true;
        } else if (key == "prompt_eval_count") {  // Ollama native API
            u.prompt_tokens = IntOr0(v);
            found = true;
        } else if (key == "eval_count") {
            u.completion_tokens = IntOr0(v);
            found = true;
        }
    }
    if (!found) return std::nullopt;
    if (u.total_tokens == 0) u.total_tokens = u.prompt_tokens + u.completion_tokens;
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

bool IsUsageOnlyChunk(std::string_view json) {
    if (json.find("\"usage\"") == std::string_view::npos) return false;
    thread_local od::parser parser;
    simdjson::padded_string padded(json);
    od::document doc;
    if (parser.iterate(padded).get(doc)) return false;
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
