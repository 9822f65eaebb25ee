#include "providers/translate/bodies.hpp"

#include <ctime>

#include "core/error_reply.hpp"
#include "providers/translate/common.hpp"

namespace llmproxy::providers::translate {
namespace {

// Anthropic usage from an OpenAI one: input_tokens excludes cache reads (they add up).
json::object AnthropicUsage(const json::object* usage) {
    std::int64_t prompt = 0, completion = 0, cached = 0;
    if (usage) {
        prompt = IntOf(*usage, "prompt_tokens");
        completion = IntOf(*usage, "completion_tokens");
        if (const json::object* d = ObjectOf(*usage, "prompt_tokens_details")) cached = IntOf(*d, "cached_tokens");
        if (cached == 0) cached = IntOf(*usage, "prompt_cache_hit_tokens");  // DeepSeek
    }
    return {{"input_tokens", std::max<std::int64_t>(0, prompt - cached)},
            {"output_tokens", completion},
            {"cache_creation_input_tokens", 0},
            {"cache_read_input_tokens", cached}};
}

// OpenAI usage from an Anthropic one: prompt_tokens is all input, cached or not.
json::object OpenAIUsage(const json::object* usage) {
    std::int64_t input = 0, output = 0, read = 0, created = 0;
    if (usage) {
        input = IntOf(*usage, "input_tokens");
        output = IntOf(*usage, "output_tokens");
        read = IntOf(*usage, "cache_read_input_tokens");
        created = IntOf(*usage, "cache_creation_input_tokens");
    }
    const std::int64_t prompt = input + read + created;
    return {{"prompt_tokens", prompt},
            {"completion_tokens", output},
            {"total_tokens", prompt + output},
            {"prompt_tokens_details", {{"cached_tokens", read}}},
            {"cache_creation_input_tokens", created}};
}

std::string OpenAIType(std::string_view anthropic_type, unsigned status) {
    if (anthropic_type == "authentication_error") return "authentication_error";
    if (anthropic_type == "permission_error") return "permission_error";
    if (anthropic_type == "not_found_error") return "not_found_error";
    if (anthropic_type == "rate_limit_error") return "rate_limit_error";
    if (anthropic_type == "invalid_request_error" || anthropic_type == "request_too_large")
        return "invalid_request_error";
    return status >= 500 ? "server_error" : "invalid_request_error";
}

// The error's message and type, whichever dialect wrote it.
struct ErrorInfo {
    std::string message;
    std::string type;
};

ErrorInfo ReadError(std::string_view body, unsigned status) {
    ErrorInfo info;
    json::value v = ParseOrNull(body);
    if (v.is_object()) {
        const json::object& o = v.get_object();
        if (const json::object* e = ObjectOf(o, "error")) {
            info.message = StringOf(*e, "message");
            info.type = StringOf(*e, "type");
        } else if (auto message = StringOf(o, "error"); !message.empty()) {
            info.message = message;  // Ollama
        } else if (auto detail = StringOf(o, "message"); !detail.empty()) {
            info.message = detail;
        }
    }
    if (info.message.empty()) {
        info.message = "upstream answered " + std::to_string(status);
        if (!body.empty() && body.size() <= 512) info.message += ": " + std::string(body);
    }
    return info;
}

}  // namespace

std::string ErrorToAnthropic(std::string_view body, unsigned status) {
    const ErrorInfo info = ReadError(body, status);
    return json::serialize(json::object{
        {"type", "error"},
        {"error", {{"type", core::AnthropicErrorType(static_cast<int>(status))}, {"message", info.message}}}});
}

std::string ErrorToOpenAI(std::string_view body, unsigned status) {
    const ErrorInfo info = ReadError(body, status);
    return json::serialize(
        json::object{{"error",
                      {{"message", info.message},
                       {"type", OpenAIType(info.type, status)},
                       {"param", nullptr},
                       {"code", info.type.empty() ? json::value(nullptr) : json::value(info.type)}}}});
}

std::string ChatToMessageBody(std::string_view body, std::string_view model) {
    json::value v = ParseOrNull(body);
    const json::object* chat = v.is_object() ? &v.get_object() : nullptr;
    const json::array* choices = chat ? ArrayOf(*chat, "choices") : nullptr;
    if (!choices || choices->empty() || !(*choices)[0].is_object())
        return ErrorToAnthropic("{\"error\":{\"message\":\"the upstream's answer has no choices\"}}", 502);
    const json::object& choice = (*choices)[0].get_object();
    json::array content;
    bool tool_call = false;
    if (const json::object* message = ObjectOf(choice, "message")) {
        auto reasoning = StringOf(*message, "reasoning_content");
        if (reasoning.empty()) reasoning = StringOf(*message, "reasoning");
        if (!reasoning.empty()) content.push_back({{"type", "thinking"}, {"thinking", reasoning}, {"signature", ""}});
        if (auto text = StringOf(*message, "content"); !text.empty())
            content.push_back({{"type", "text"}, {"text", text}});
        if (const json::array* calls = ArrayOf(*message, "tool_calls")) {
            for (const auto& c : *calls) {
                const json::object* function = c.is_object() ? ObjectOf(c.get_object(), "function") : nullptr;
                if (!function) continue;
                json::value input = ParseOrNull(StringOf(*function, "arguments"));
                if (!input.is_object()) input = json::object();
                content.push_back({{"type", "tool_use"},
                                   {"id", NormalizeToolId(StringOf(c.get_object(), "id"), content.size())},
                                   {"name", StringOf(*function, "name")},
                                   {"input", std::move(input)}});
                tool_call = true;
            }
        }
    }
    return json::serialize(json::object{{"id", "msg_" + NormalizeToolId(StringOf(*chat, "id"), 0)},
                                        {"type", "message"},
                                        {"role", "assistant"},
                                        {"model", model},
                                        {"content", std::move(content)},
                                        {"stop_reason", StopReasonOf(StringOf(choice, "finish_reason"), tool_call)},
                                        {"stop_sequence", nullptr},
                                        {"usage", AnthropicUsage(ObjectOf(*chat, "usage"))}});
}

std::string MessageToChatBody(std::string_view body, std::string_view model, bool& ok) {
    json::value v = ParseOrNull(body);
    const json::object* message = v.is_object() ? &v.get_object() : nullptr;
    ok = message && ArrayOf(*message, "content");
    if (!ok) return ErrorToOpenAI("{\"error\":{\"message\":\"the upstream's answer has no content\"}}", 502);
    std::string text, reasoning;
    json::array calls;
    for (const auto& b : *ArrayOf(*message, "content")) {
        if (!b.is_object()) continue;
        const auto& block = b.get_object();
        const auto type = StringOf(block, "type");
        if (type == "text") {
            text += StringOf(block, "text");
        } else if (type == "thinking") {
            reasoning += StringOf(block, "thinking");
        } else if (type == "tool_use") {
            const json::value* input = block.if_contains("input");
            calls.push_back({{"id", StringOf(block, "id")},
                             {"type", "function"},
                             {"function",
                              {{"name", StringOf(block, "name")},
                               {"arguments", input ? json::serialize(*input) : std::string("{}")}}}});
        }
    }
    json::object reply{{"role", "assistant"},
                       {"content", text.empty() && !calls.empty() ? json::value(nullptr) : json::value(text)}};
    if (!reasoning.empty()) reply["reasoning_content"] = reasoning;
    if (!calls.empty()) reply["tool_calls"] = std::move(calls);
    return json::serialize(
        json::object{{"id", "chatcmpl-" + std::string(StringOf(*message, "id"))},
                     {"object", "chat.completion"},
                     {"created", static_cast<std::int64_t>(std::time(nullptr))},
                     {"model", model},
                     {"choices", json::array{{{"index", 0},
                                              {"message", std::move(reply)},
                                              {"logprobs", nullptr},
                                              {"finish_reason", FinishReasonOf(StringOf(*message, "stop_reason"))}}}},
                     {"usage", OpenAIUsage(ObjectOf(*message, "usage"))}});
}

}  // namespace llmproxy::providers::translate
