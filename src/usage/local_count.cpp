#include "usage/local_count.hpp"

#include <unordered_map>

#include <boost/json.hpp>

#include "http/sse_framer.hpp"
#include "usage/usage.hpp"

namespace llmproxy::usage {
namespace {

namespace json = boost::json;

// Counts of recently seen long strings, per thread: system prompts and conversation history
// repeat from request to request, and TPM admission counts every prompt of a TPM-limited key.
// Keyed by tokenizer, length and a 64-bit hash; cleared when full rather than evicted.
std::size_t CachedCount(const Tokenizer& t, std::string_view text) {
    if (text.size() < 64) return t.Count(text);
    struct Entry {
        const Tokenizer* tokenizer;
        std::size_t length;
        std::size_t count;
    };
    thread_local std::unordered_map<std::size_t, Entry> cache;
    const std::size_t key = std::hash<std::string_view>{}(text);
    if (auto it = cache.find(key);
        it != cache.end() && it->second.tokenizer == &t && it->second.length == text.size()) {
        return it->second.count;
    }
    if (cache.size() >= 4096) cache.clear();
    const std::size_t n = t.Count(text);
    cache[key] = Entry{&t, text.size(), n};
    return n;
}

void AppendString(std::string& out, const json::value* v) {
    if (v && v->is_string()) out.append(v->as_string().data(), v->as_string().size());
}

// Message content: a string, or parts [{"type":"text","text":...}] (images are not counted).
void AppendContent(std::string& out, const json::value* content) {
    if (!content) return;
    if (content->is_string()) {
        AppendString(out, content);
    } else if (content->is_array()) {
        for (const auto& part : content->as_array()) {
            if (!part.is_object()) {
                if (part.is_string()) AppendString(out, &part);
                continue;
            }
            const auto& block = part.as_object();
            AppendString(out, block.if_contains("text"));
            // Anthropic's tool_result blocks carry their text in "content"; tool_use in "input".
            if (const auto* nested = block.if_contains("content")) AppendContent(out, nested);
            if (const auto* input = block.if_contains("input"); input && input->is_object())
                out += json::serialize(*input);
        }
    }
}

// The generated text of one choice / message / output item.
void AppendGenerated(std::string& out, const json::object& o) {
    AppendContent(out, o.if_contains("content"));
    AppendString(out, o.if_contains("reasoning_content"));
    AppendString(out, o.if_contains("refusal"));
    AppendString(out, o.if_contains("text"));
    if (const auto* calls = o.if_contains("tool_calls"); calls && calls->is_array()) {
        for (const auto& c : calls->as_array()) {
            if (!c.is_object()) continue;
            if (const auto* f = c.as_object().if_contains("function"); f && f->is_object()) {
                AppendString(out, f->as_object().if_contains("name"));
                AppendString(out, f->as_object().if_contains("arguments"));
            }
        }
    }
}

void AppendResponseText(std::string& out, const json::value& doc) {
    if (!doc.is_object()) return;
    const auto& o = doc.as_object();
    if (const auto* choices = o.if_contains("choices"); choices && choices->is_array()) {
        for (const auto& c : choices->as_array()) {
            if (!c.is_object()) continue;
            const auto& choice = c.as_object();
            AppendString(out, choice.if_contains("text"));  // completions
            for (const char* part : {"delta", "message"}) {
                if (const auto* m = choice.if_contains(part); m && m->is_object()) AppendGenerated(out, m->as_object());
            }
        }
    }
    // Responses API: stream deltas ("type":"response.output_text.delta","delta":"...") and
    // whole responses (output[].content[].text).
    if (const auto* type = o.if_contains("type"); type && type->is_string() && type->as_string().ends_with(".delta")) {
        AppendString(out, o.if_contains("delta"));
    }
    if (const auto* output = o.if_contains("output"); output && output->is_array()) {
        for (const auto& item : output->as_array()) {
            if (item.is_object()) AppendContent(out, item.as_object().if_contains("content"));
        }
    }
}

}  // namespace

std::int64_t CountPromptTokens(const Tokenizer& t, std::string_view request_json) {
    boost::system::error_code ec;
    auto doc = json::parse(request_json, ec);
    if (ec || !doc.is_object()) return -1;
    const auto& o = doc.as_object();
    // Each value is counted on its own, as OpenAI's counting recipe does.
    std::int64_t total = 0;
    std::string text;
    auto count = [&](auto&& append) {
        text.clear();
        append(text);
        total += static_cast<std::int64_t>(CachedCount(t, text));
    };
    if (const auto* messages = o.if_contains("messages"); messages && messages->is_array()) {
        for (const auto& m : messages->as_array()) {
            if (!m.is_object()) continue;
            total += 3;  // <|start|>role ... <|end|> framing
            const auto& msg = m.as_object();
            count([&](std::string& out) { AppendString(out, msg.if_contains("role")); });
            count([&](std::string& out) { AppendContent(out, msg.if_contains("content")); });
            if (msg.if_contains("name")) {
                count([&](std::string& out) { AppendString(out, msg.if_contains("name")); });
                total += 1;
            }
        }
        total += 3;  // every reply is primed with <|start|>assistant<|message|>
    }
    // Anthropic's system prompt: a string or text blocks, beside the messages.
    if (const auto* system = o.if_contains("system")) count([&](std::string& out) { AppendContent(out, system); });
    for (const char* field : {"prompt", "input", "instructions"}) {
        const auto* v = o.if_contains(field);
        if (!v) continue;
        if (v->is_array()) {
            for (const auto& item : v->as_array()) {
                if (item.is_object()) {
                    count([&](std::string& out) { AppendContent(out, item.as_object().if_contains("content")); });
                } else {
                    count([&](std::string& out) { AppendString(out, &item); });
                }
            }
        } else {
            count([&](std::string& out) { AppendString(out, v); });
        }
    }
    return total;
}

std::int64_t CountCompletionTokens(const Tokenizer& t, std::string_view relayed, bool sse) {
    std::string text;
    if (sse) {
        sse::ForEachEvent(relayed, [&](std::string_view event) {
            const std::string data = SseData(event);
            if (data.empty() || data == "[DONE]") return;
            boost::system::error_code ec;
            auto doc = json::parse(data, ec);
            if (!ec) AppendResponseText(text, doc);
        });
    } else {
        boost::system::error_code ec;
        auto doc = json::parse(relayed, ec);
        if (!ec) AppendResponseText(text, doc);
    }
    return static_cast<std::int64_t>(t.Count(text));
}

}  // namespace llmproxy::usage
