#include "proxy/body_scan.hpp"

#include <cmath>

#include <simdjson.h>

namespace llmproxy::proxy {
namespace {

namespace od = simdjson::ondemand;

std::string_view TrimRight(std::string_view v) {
    while (!v.empty() && (v.back() == ' ' || v.back() == '\n' || v.back() == '\r' || v.back() == '\t')) {
        v.remove_suffix(1);
    }
    return v;
}

// Walks a value we do not otherwise need so that malformed JSON anywhere in the body is caught
// here (400) rather than by the upstream. Strings are not unescaped: the structural pass has
// already checked their quotes and UTF-8.
simdjson::error_code SkipValue(od::value value, int depth = 0) {
    if (depth > 128) return simdjson::DEPTH_ERROR;
    od::json_type type;
    if (auto e = value.type().get(type)) return e;
    switch (type) {
        case od::json_type::object: {
            od::object obj;
            if (auto e = value.get_object().get(obj)) return e;
            for (auto field : obj) {
                od::raw_json_string key;
                if (auto e = field.key().get(key)) return e;
                od::value v;
                if (auto e = field.value().get(v)) return e;
                if (auto e = SkipValue(v, depth + 1)) return e;
            }
            return simdjson::SUCCESS;
        }
        case od::json_type::array: {
            od::array arr;
            if (auto e = value.get_array().get(arr)) return e;
            for (auto element : arr) {
                od::value v;
                if (auto e = element.get(v)) return e;
                if (auto e = SkipValue(v, depth + 1)) return e;
            }
            return simdjson::SUCCESS;
        }
        case od::json_type::number: {
            od::number n;
            return value.get_number().get(n);
        }
        case od::json_type::string: {
            od::raw_json_string s;
            return value.get_raw_json_string().get(s);
        }
        case od::json_type::boolean: {
            bool b;
            return value.get_bool().get(b);
        }
        case od::json_type::null: {
            bool is_null = false;
            if (auto e = value.is_null().get(is_null)) return e;
            return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
        }
    }
    return simdjson::TAPE_ERROR;
}

simdjson::error_code ScanField(std::string_view key, od::value value, const char* base, BodyInfo& info) {
    if (key == "model") {
        od::json_type type;
        if (auto e = value.type().get(type)) return e;
        if (type != od::json_type::string) {
            info.error = "'model' must be a string";
            return simdjson::INCORRECT_TYPE;
        }
        std::string_view raw = TrimRight(value.raw_json_token());
        std::string_view text;
        if (auto e = value.get_string().get(text)) return e;
        info.has_model = true;
        info.model.assign(text);
        info.model_begin = static_cast<std::size_t>(raw.data() - base);
        info.model_end = info.model_begin + raw.size();
        return simdjson::SUCCESS;
    }
    if (key == "stream") {
        od::json_type type;
        if (auto e = value.type().get(type)) return e;
        if (type == od::json_type::boolean) return value.get_bool().get(info.stream);
        if (type == od::json_type::null) return SkipValue(value);
        info.error = "'stream' must be a boolean";
        return simdjson::INCORRECT_TYPE;
    }
    if (key == "stream_options") {
        info.has_stream_options = true;
        od::json_type type;
        if (auto e = value.type().get(type)) return e;
        if (type != od::json_type::object) return SkipValue(value);
        od::object obj;
        if (auto e = value.get_object().get(obj)) return e;
        for (auto field : obj) {
            std::string_view k;
            if (auto e = field.unescaped_key().get(k)) return e;
            od::value v;
            if (auto e = field.value().get(v)) return e;
            if (k == "include_usage") {
                od::json_type t;
                if (auto e = v.type().get(t)) return e;
                if (t != od::json_type::boolean) {
                    if (auto e = SkipValue(v)) return e;
                    continue;
                }
                if (auto e = v.get_bool().get(info.include_usage)) return e;
            } else if (auto e = SkipValue(v)) {
                return e;
            }
        }
        return simdjson::SUCCESS;
    }
    if (key == "max_tokens" || key == "max_completion_tokens" || key == "max_output_tokens") {
        od::json_type type;
        if (auto e = value.type().get(type)) return e;
        if (type != od::json_type::number) return SkipValue(value);  // the upstream rejects it
        od::number num;
        if (auto e = value.get_number().get(num)) return e;
        // 1024.0 is an integer; 1e11, -1 and 2.5 are not acceptable token counts.
        const double d = num.as_double();
        if (num.is_int64()) {
            info.max_tokens = num.get_int64();
        } else if (num.is_double() && d == std::floor(d) && d >= 0 && d <= static_cast<double>(kMaxTokensLimit)) {
            info.max_tokens = static_cast<std::int64_t>(d);
        } else {
            info.max_tokens_invalid = true;
            return simdjson::SUCCESS;
        }
        if (*info.max_tokens < 0 || *info.max_tokens > kMaxTokensLimit) {
            info.max_tokens.reset();
            info.max_tokens_invalid = true;
        }
        return simdjson::SUCCESS;
    }
    if (key == "user") {
        od::json_type type;
        if (auto e = value.type().get(type)) return e;
        if (type != od::json_type::string) return SkipValue(value);
        std::string_view s;
        if (auto e = value.get_string().get(s)) return e;
        info.user.assign(s);
        return simdjson::SUCCESS;
    }
    if (key == "messages") info.has_messages = true;
    if (key == "input") info.has_input = true;
    if (key == "prompt") info.has_prompt = true;
    return SkipValue(value);
}

}  // namespace

BodyInfo ScanBody(std::string& body) {
    BodyInfo info;
    thread_local od::parser parser;
    if (body.capacity() < body.size() + simdjson::SIMDJSON_PADDING) {
        body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
    }
    od::document doc;
    auto fail = [&](simdjson::error_code e) {
        if (info.error.empty()) info.error = std::string("invalid JSON: ") + simdjson::error_message(e);
        info.valid = false;
        return info;
    };
    if (auto e = parser.iterate(body.data(), body.size(), body.capacity()).get(doc)) return fail(e);
    od::object obj;
    if (auto e = doc.get_object().get(obj)) {
        if (e == simdjson::INCORRECT_TYPE) info.error = "request body must be a JSON object";
        return fail(e);
    }
    const char* base = body.data();
    for (auto field : obj) {
        std::string_view key;
        if (auto e = field.unescaped_key().get(key)) return fail(e);
        od::value value;
        if (auto e = field.value().get(value)) return fail(e);
        if (auto e = ScanField(key, value, base, info)) return fail(e);
    }
    const char* trailing = nullptr;
    if (doc.current_location().get(trailing) == simdjson::SUCCESS) {
        info.error = "invalid JSON: unexpected content after the top-level object";
        return fail(simdjson::TRAILING_CONTENT);
    }
    info.valid = true;
    return info;
}

}  // namespace llmproxy::proxy
