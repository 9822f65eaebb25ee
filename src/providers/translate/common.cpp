#include "providers/translate/common.hpp"
#include "providers/translate/requests.hpp"
#include "providers/translate/streams.hpp"

namespace llmproxy::providers::translate {

std::string NormalizeToolId(std::string_view id, std::size_t ordinal) {
    std::string out;
    out.reserve(id.size());
    for (char c : id) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        out.push_back(ok ? c : '_');
    }
    if (out.empty()) out = "toolu_" + std::to_string(ordinal);
    return out;
}

std::string_view StopReasonOf(std::string_view finish_reason, bool saw_tool_call) {
    if (finish_reason == "length") return "max_tokens";
    if (finish_reason == "tool_calls" || finish_reason == "function_call") return "tool_use";
    if (finish_reason == "content_filter") return "refusal";
    // Gemini's OpenAI endpoint ends tool calls with "stop".
    return saw_tool_call ? "tool_use" : "end_turn";
}

std::string_view FinishReasonOf(std::string_view stop_reason) {
    if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded" || stop_reason == "compaction")
        return "length";
    if (stop_reason == "tool_use") return "tool_calls";
    if (stop_reason == "refusal") return "content_filter";
    return "stop";  // end_turn, stop_sequence, pause_turn
}

json::value ParseOrNull(std::string_view text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) return nullptr;
    return v;
}

bool ParseRequestBody(std::string_view body, json::value& parsed, RequestTranslation& result) {
    parsed = ParseOrNull(body);
    if (parsed.is_object()) return true;
    result.error = core::BadRequest("The request body is not a JSON object", "invalid_json");
    return false;
}

void CopyStreamFlag(const json::object& in, bool stream_usage, json::object& out) {
    if (!IsBool(in, "stream", true)) return;
    out["stream"] = true;
    if (stream_usage) out["stream_options"] = {{"include_usage", true}};
}

void ReadChatUsage(const json::object& usage, StreamTokens& t) {
    t.prompt = IntOf(usage, "prompt_tokens", t.prompt);
    t.completion = IntOf(usage, "completion_tokens", t.completion);
    if (const json::object* d = ObjectOf(usage, "prompt_tokens_details"))
        t.cached = IntOf(*d, "cached_tokens", t.cached);
    t.cached = IntOf(usage, "prompt_cache_hit_tokens", t.cached);  // DeepSeek
    if (const json::object* d = ObjectOf(usage, "completion_tokens_details"))
        t.reasoning = IntOf(*d, "reasoning_tokens", t.reasoning);
}

json::array NonBlankStrings(const json::array& values) {
    json::array kept;
    for (const auto& v : values) {
        if (v.is_string() && v.get_string().find_first_not_of(" \t\r\n") != json::string::npos) kept.push_back(v);
    }
    return kept;
}

}  // namespace llmproxy::providers::translate
