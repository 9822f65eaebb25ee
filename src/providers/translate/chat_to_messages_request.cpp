// OpenAI chat completions request -> Anthropic Messages (OpenAI-SDK applications on Claude
// models). Dropped on purpose: n (one choice only: refused when > 1), logprobs, top_logprobs,
// logit_bias, seed, presence/frequency penalties, stream_options (Anthropic always streams
// usage), response_format json_object (no equivalent), audio and other modalities,
// reasoning_content in the history (unsigned: Anthropic refuses it).
#include "providers/translate/common.hpp"
#include "providers/translate/requests.hpp"

namespace llmproxy::providers::translate {
namespace {

// Chat content (string or parts) as Anthropic content blocks. Empty text is never sent
// (Anthropic refuses empty text blocks).
json::array Blocks(const json::value& content) {
    json::array blocks;
    if (content.is_string()) {
        if (!content.get_string().empty()) blocks.push_back({{"type", "text"}, {"text", content}});
        return blocks;
    }
    if (!content.is_array()) return blocks;
    for (const auto& p : content.get_array()) {
        if (!p.is_object()) continue;
        const auto& part = p.get_object();
        const auto type = StringOf(part, "type");
        if (type == "text" && !StringOf(part, "text").empty()) {
            json::object block{{"type", "text"}, {"text", part.at("text")}};
            if (part.contains("cache_control")) block["cache_control"] = part.at("cache_control");
            blocks.push_back(std::move(block));
        } else if (type == "image_url") {
            const json::object* image = ObjectOf(part, "image_url");
            const std::string_view url = image ? StringOf(*image, "url") : StringOf(part, "image_url");
            if (url.starts_with("data:") && url.find(";base64,") != std::string_view::npos) {
                const auto comma = url.find(";base64,");
                blocks.push_back({{"type", "image"},
                                  {"source",
                                   {{"type", "base64"},
                                    {"media_type", url.substr(5, comma - 5)},
                                    {"data", url.substr(comma + 8)}}}});
            } else if (!url.empty()) {
                blocks.push_back({{"type", "image"}, {"source", {{"type", "url"}, {"url", url}}}});
            }
        } else if (type == "file") {
            const json::object* file = ObjectOf(part, "file");
            const std::string_view data = file ? StringOf(*file, "file_data") : std::string_view();
            if (const auto comma = data.find(";base64,");
                data.starts_with("data:") && comma != std::string_view::npos) {
                blocks.push_back({{"type", "document"},
                                  {"source",
                                   {{"type", "base64"},
                                    {"media_type", data.substr(5, comma - 5)},
                                    {"data", data.substr(comma + 8)}}}});
            }
        }
    }
    return blocks;
}

json::array AssistantBlocks(const json::object& message) {
    json::array blocks = message.contains("content") ? Blocks(message.at("content")) : json::array();
    if (const json::array* calls = ArrayOf(message, "tool_calls")) {
        for (const auto& c : *calls) {
            if (!c.is_object()) continue;
            const json::object* function = ObjectOf(c.get_object(), "function");
            if (!function) continue;
            json::value input = ParseOrNull(StringOf(*function, "arguments"));
            if (!input.is_object()) input = json::object();  // input must be an object
            blocks.push_back({{"type", "tool_use"},
                              {"id", NormalizeToolId(StringOf(c.get_object(), "id"), blocks.size())},
                              {"name", StringOf(*function, "name")},
                              {"input", std::move(input)}});
        }
    }
    return blocks;
}

// Adds blocks as a turn of `role`, merged into the previous turn when it has the same role
// (consecutive tool results and the user text after them are one user turn).
void AddTurn(json::array& turns, std::string_view role, json::array blocks) {
    if (blocks.empty()) return;
    if (!turns.empty() && IsString(turns.back().at("role"), role)) {
        auto& content = turns.back().at("content").get_array();
        for (auto& b : blocks) content.push_back(std::move(b));
        return;
    }
    turns.push_back({{"role", role}, {"content", std::move(blocks)}});
}

struct Conversation {
    json::array system;
    json::array turns;
};

Conversation ReadMessages(const json::array& messages) {
    Conversation c;
    for (const auto& m : messages) {
        if (!m.is_object()) continue;
        const auto& message = m.get_object();
        const auto role = StringOf(message, "role");
        const json::value* content = message.if_contains("content");
        if (role == "system" || role == "developer") {
            if (content)
                for (auto& b : Blocks(*content)) c.system.push_back(std::move(b));
        } else if (role == "assistant") {
            AddTurn(c.turns, "assistant", AssistantBlocks(message));
        } else if (role == "tool") {
            json::object result{{"type", "tool_result"},
                                {"tool_use_id", NormalizeToolId(StringOf(message, "tool_call_id"), 0)}};
            if (content && content->is_string())
                result["content"] = *content;
            else if (content)
                result["content"] = Blocks(*content);
            AddTurn(c.turns, "user", json::array{std::move(result)});
        } else {
            if (content) AddTurn(c.turns, "user", Blocks(*content));
        }
    }
    return c;
}

json::array Tools(const json::array& tools) {
    json::array out;
    for (const auto& t : tools) {
        if (!t.is_object()) continue;
        const json::object* function = ObjectOf(t.get_object(), "function");
        if (!function) continue;
        json::object tool{{"name", StringOf(*function, "name")}};
        if (function->contains("description")) tool["description"] = function->at("description");
        const json::value* schema = function->if_contains("parameters");
        tool["input_schema"] =
            schema && schema->is_object() ? *schema : json::value(json::object{{"type", "object"}, {"properties", {}}});
        out.push_back(std::move(tool));
    }
    return out;
}

void ToolChoice(const json::object& in, json::object& out) {
    json::object choice{{"type", "auto"}};
    if (const json::value* c = in.if_contains("tool_choice")) {
        if (IsString(*c, "required"))
            choice["type"] = "any";
        else if (IsString(*c, "none"))
            choice["type"] = "none";
        else if (c->is_object())
            if (const json::object* f = ObjectOf(c->get_object(), "function"))
                choice = {{"type", "tool"}, {"name", StringOf(*f, "name")}};
    }
    if (IsBool(in, "parallel_tool_calls", false) && !IsString(choice["type"], "none"))
        choice["disable_parallel_tool_use"] = true;
    out["tool_choice"] = std::move(choice);
}

void Sampling(const json::object& in, const RequestOptions& options, json::object& out) {
    std::int64_t max_tokens = IntOf(in, "max_completion_tokens", IntOf(in, "max_tokens", options.default_max_tokens));
    if (options.max_tokens_cap > 0) max_tokens = std::min(max_tokens, options.max_tokens_cap);
    for (const char* key : {"temperature", "top_p"}) {
        const json::value* v = in.if_contains(key);
        if (!v || !v->is_number()) continue;
        out[key] = std::clamp(v->to_number<double>(), 0.0, 1.0);  // OpenAI's range is 0-2, Anthropic's 0-1
    }
    json::array stops;
    if (const json::value* stop = in.if_contains("stop")) {
        if (stop->is_string()) stops.push_back(*stop);
        if (stop->is_array()) stops = stop->get_array();
    }
    if (json::array kept = NonBlankStrings(stops); !kept.empty()) out["stop_sequences"] = std::move(kept);
    if (auto user = StringOf(in, "user"); !user.empty()) out["metadata"] = {{"user_id", user}};
    if (auto effort = StringOf(in, "reasoning_effort"); !effort.empty() && effort != "none") {
        const std::int64_t budget = effort == "low" || effort == "minimal" ? 1024 : effort == "medium" ? 2048 : 4096;
        out["thinking"] = {{"type", "enabled"}, {"budget_tokens", budget}};
        max_tokens = std::max(max_tokens, budget + 1024);  // the budget must stay under max_tokens
    }
    out["max_tokens"] = max_tokens;
    if (const json::object* format = ObjectOf(in, "response_format");
        format && StringOf(*format, "type") == "json_schema") {
        if (const json::object* spec = ObjectOf(*format, "json_schema"); spec && spec->contains("schema"))
            out["output_config"] = {{"format", {{"type", "json_schema"}, {"schema", spec->at("schema")}}}};
    }
}

}  // namespace

RequestTranslation ChatToMessagesRequest(std::string_view body, const RequestOptions& options) {
    RequestTranslation result;
    json::value parsed;
    if (!ParseRequestBody(body, parsed, result)) return result;
    const json::object& in = parsed.get_object();
    if (IntOf(in, "n", 1) > 1) {
        result.error = core::BadRequest("'n' greater than 1 is not supported by this model's provider (Anthropic)",
                                        "unsupported_parameter", "n");
        return result;
    }
    const json::array* messages = ArrayOf(in, "messages");
    if (!messages) {
        result.error =
            core::BadRequest("Missing required parameter: 'messages'.", "missing_required_parameter", "messages");
        return result;
    }
    Conversation conversation = ReadMessages(*messages);
    json::object out{{"model", options.upstream_model}, {"messages", std::move(conversation.turns)}};
    if (!conversation.system.empty()) out["system"] = std::move(conversation.system);
    Sampling(in, options, out);
    if (const json::array* tools = ArrayOf(in, "tools")) {
        if (json::array translated = Tools(*tools); !translated.empty()) {
            out["tools"] = std::move(translated);
            ToolChoice(in, out);
        }
    }
    if (IsBool(in, "stream", true)) out["stream"] = true;
    result.body = json::serialize(out);
    return result;
}

}  // namespace llmproxy::providers::translate
