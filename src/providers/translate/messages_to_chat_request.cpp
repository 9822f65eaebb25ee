// Anthropic Messages request -> OpenAI chat completions (Claude Code and the Anthropic SDK over
// vLLM, Ollama, OpenAI and any OpenAI-compatible vendor). Dropped on purpose: top_k (OpenAI
// rejects it), thinking blocks in the history (unsigned for these upstreams), server tools
// (web_search_*, bash_*, ... run by Anthropic only), cache_control markers, context_management,
// service_tier, container.
#include "providers/translate/common.hpp"
#include "providers/translate/requests.hpp"

namespace llmproxy::providers::translate {
namespace {

// Text of a string or of the text blocks of a block array.
std::string TextOf(const json::value& content) {
    if (content.is_string()) return std::string(content.get_string());
    std::string text;
    if (!content.is_array()) return text;
    for (const auto& b : content.get_array()) {
        if (!b.is_object() || StringOf(b.get_object(), "type") != "text") continue;
        if (!text.empty()) text += "\n";
        text += StringOf(b.get_object(), "text");
    }
    return text;
}

// An image or document block as a chat content part (null: nothing the upstream can take).
json::value MediaPart(const json::object& block) {
    const json::object* source = ObjectOf(block, "source");
    if (!source) return nullptr;
    const auto kind = StringOf(*source, "type");
    const bool image = StringOf(block, "type") == "image";
    if (kind == "url") return json::object{{"type", "image_url"}, {"image_url", {{"url", StringOf(*source, "url")}}}};
    if (kind == "text") return json::object{{"type", "text"}, {"text", StringOf(*source, "data")}};
    if (kind != "base64") return nullptr;
    std::string url = "data:" + std::string(StringOf(*source, "media_type")) + ";base64,";
    url += StringOf(*source, "data");
    if (image) return json::object{{"type", "image_url"}, {"image_url", {{"url", url}}}};
    return json::object{{"type", "file"}, {"file", {{"filename", "document.pdf"}, {"file_data", url}}}};
}

// A user turn: its tool results become role:"tool" messages first (they must follow the
// assistant's tool calls), then the rest of its content as one user message.
void AddUserTurn(const json::value& content, json::array& out) {
    if (content.is_string()) {
        out.push_back(json::object{{"role", "user"}, {"content", content}});
        return;
    }
    if (!content.is_array()) return;
    json::array parts;
    for (const auto& b : content.get_array()) {
        if (!b.is_object()) continue;
        const auto& block = b.get_object();
        const auto type = StringOf(block, "type");
        if (type == "tool_result") {
            const json::value* c = block.if_contains("content");
            std::string text = c ? TextOf(*c) : std::string();
            if (IsBool(block, "is_error", true)) text = "Error: " + text;
            out.push_back(json::object{{"role", "tool"},
                                       {"tool_call_id", NormalizeToolId(StringOf(block, "tool_use_id"), 0)},
                                       {"content", std::move(text)}});
        } else if (type == "text") {
            if (!StringOf(block, "text").empty()) parts.push_back({{"type", "text"}, {"text", block.at("text")}});
        } else if (type == "image" || type == "document") {
            if (auto part = MediaPart(block); !part.is_null()) parts.push_back(std::move(part));
        }
    }
    if (parts.empty()) return;
    // One text part is sent as a plain string: some chat templates take nothing else.
    if (parts.size() == 1 && IsString(parts[0].at("type"), "text")) {
        out.push_back(json::object{{"role", "user"}, {"content", parts[0].at("text")}});
    } else {
        out.push_back(json::object{{"role", "user"}, {"content", std::move(parts)}});
    }
}

void AddAssistantTurn(const json::value& content, json::array& out) {
    json::object message{{"role", "assistant"}};
    if (content.is_string()) {
        message["content"] = content;
        out.push_back(std::move(message));
        return;
    }
    std::string text;
    json::array calls;
    if (content.is_array()) {
        for (const auto& b : content.get_array()) {
            if (!b.is_object()) continue;
            const auto& block = b.get_object();
            const auto type = StringOf(block, "type");
            if (type == "text") {
                text += StringOf(block, "text");
            } else if (type == "tool_use") {
                const json::value* input = block.if_contains("input");
                calls.push_back({{"id", NormalizeToolId(StringOf(block, "id"), calls.size())},
                                 {"type", "function"},
                                 {"function",
                                  {{"name", StringOf(block, "name")},
                                   {"arguments", input ? json::serialize(*input) : std::string("{}")}}}});
            }
        }
    }
    message["content"] = text.empty() ? json::value(nullptr) : json::value(text);
    if (!calls.empty()) message["tool_calls"] = std::move(calls);
    if (text.empty() && calls.empty()) return;  // a turn of thinking only: nothing to replay
    out.push_back(std::move(message));
}

json::array Tools(const json::array& tools) {
    json::array out;
    for (const auto& t : tools) {
        if (!t.is_object()) continue;
        const auto& tool = t.get_object();
        const auto type = StringOf(tool, "type");
        if (!type.empty() && type != "custom") continue;  // a server tool: Anthropic runs those
        json::object function{{"name", StringOf(tool, "name")}};
        if (tool.contains("description")) function["description"] = tool.at("description");
        const json::value* schema = tool.if_contains("input_schema");
        function["parameters"] = schema ? *schema : json::value(json::object{{"type", "object"}, {"properties", {}}});
        out.push_back({{"type", "function"}, {"function", std::move(function)}});
    }
    return out;
}

void ToolChoice(const json::object& choice, json::object& out) {
    const auto type = StringOf(choice, "type");
    if (type == "any")
        out["tool_choice"] = "required";
    else if (type == "none")
        out["tool_choice"] = "none";
    else if (type == "tool")
        out["tool_choice"] = {{"type", "function"}, {"function", {{"name", StringOf(choice, "name")}}}};
    else
        out["tool_choice"] = "auto";
    if (IsBool(choice, "disable_parallel_tool_use", true)) out["parallel_tool_calls"] = false;
}

// Sampling, limits and output options.
void Options(const json::object& in, const RequestOptions& options, json::object& out) {
    std::int64_t max_tokens = IntOf(in, "max_tokens", options.default_max_tokens);
    if (options.max_tokens_cap > 0) max_tokens = std::min(max_tokens, options.max_tokens_cap);
    out["max_tokens"] = max_tokens;
    for (const char* key : {"temperature", "top_p"}) {
        if (const json::value* v = in.if_contains(key)) out[key] = *v;
    }
    if (const json::array* stops = ArrayOf(in, "stop_sequences")) {
        if (json::array kept = NonBlankStrings(*stops); !kept.empty()) out["stop"] = std::move(kept);
    }
    if (const json::object* meta = ObjectOf(in, "metadata")) {
        if (auto user = StringOf(*meta, "user_id"); !user.empty() && user.size() <= 256) out["user"] = user;
    }
    if (const json::object* thinking = ObjectOf(in, "thinking");
        thinking && StringOf(*thinking, "type") != "disabled") {
        const std::int64_t budget = IntOf(*thinking, "budget_tokens", 4096);
        out["reasoning_effort"] = budget < 2048 ? "low" : budget < 8192 ? "medium" : "high";
    }
    const json::object* config = ObjectOf(in, "output_config");
    const json::object* format = config ? ObjectOf(*config, "format") : ObjectOf(in, "output_format");
    if (format && StringOf(*format, "type") == "json_schema" && format->contains("schema")) {
        out["response_format"] = {
            {"type", "json_schema"},
            {"json_schema", {{"name", "structured_output"}, {"schema", format->at("schema")}, {"strict", true}}}};
    }
}

}  // namespace

RequestTranslation MessagesToChatRequest(std::string_view body, const RequestOptions& options) {
    RequestTranslation result;
    json::value parsed;
    if (!ParseRequestBody(body, parsed, result)) return result;
    const json::object& in = parsed.get_object();
    json::array messages;
    if (const json::value* system = in.if_contains("system")) {
        if (std::string text = TextOf(*system); !text.empty())
            messages.push_back(json::object{{"role", "system"}, {"content", std::move(text)}});
    }
    const json::array* turns = ArrayOf(in, "messages");
    if (!turns) {
        result.error = core::BadRequest("messages: Field required", "missing_required_parameter", "messages");
        return result;
    }
    for (const auto& t : *turns) {
        if (!t.is_object() || !t.get_object().contains("content")) continue;
        const auto& turn = t.get_object();
        if (StringOf(turn, "role") == "assistant")
            AddAssistantTurn(turn.at("content"), messages);
        else
            AddUserTurn(turn.at("content"), messages);
    }
    json::object out{{"model", options.upstream_model}, {"messages", std::move(messages)}};
    Options(in, options, out);
    if (const json::array* tools = ArrayOf(in, "tools")) {
        if (json::array translated = Tools(*tools); !translated.empty()) out["tools"] = std::move(translated);
    }
    if (const json::object* choice = ObjectOf(in, "tool_choice"); choice && out.contains("tools"))
        ToolChoice(*choice, out);
    CopyStreamFlag(in, options.stream_usage, out);
    result.body = json::serialize(out);
    return result;
}

}  // namespace llmproxy::providers::translate
