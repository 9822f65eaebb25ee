// OpenAI Responses request -> OpenAI chat completions (Codex CLI and the SDKs' responses.create
// over vLLM, Ollama, TGI and the chat-only vendors). Stateless: the client sends the whole
// history (Codex does, with store:false); a previous_response_id cannot be honoured and is
// refused with a clear 400. Codex's `custom` (grammar) tools, such as apply_patch, become
// functions with one string parameter; the stream translator turns their calls back.
// Dropped on purpose: reasoning items in the history (chat servers cannot replay them),
// built-in tools and their items (web_search, file_search, local_shell, ...: OpenAI runs those),
// include, store, prompt_cache_key, truncation, metadata, background, client_metadata.
#include "providers/translate/common.hpp"
#include "providers/translate/requests.hpp"

namespace llmproxy::providers::translate {
namespace {

// A message's content as chat content: a string, or parts when there are images or files.
json::value ContentOf(const json::value& content) {
    if (content.is_string()) return content;
    json::array parts;
    std::string text;
    bool only_text = true;
    if (content.is_array()) {
        for (const auto& p : content.get_array()) {
            if (!p.is_object()) continue;
            const auto& part = p.get_object();
            const auto type = StringOf(part, "type");
            if (type == "input_text" || type == "output_text" || type == "text" || type == "refusal") {
                auto t = StringOf(part, type == "refusal" ? "refusal" : "text");
                if (!text.empty()) text += "\n";
                text += t;
                parts.push_back({{"type", "text"}, {"text", t}});
            } else if (type == "input_image") {
                json::object image{{"url", StringOf(part, "image_url")}};
                if (auto detail = StringOf(part, "detail"); !detail.empty()) image["detail"] = detail;
                if (!StringOf(part, "image_url").empty())
                    parts.push_back({{"type", "image_url"}, {"image_url", image}});
                only_text = false;
            } else if (type == "input_file") {
                json::object file;
                for (const char* key : {"file_id", "file_data", "filename"}) {
                    if (auto v = StringOf(part, key); !v.empty()) file[key] = v;
                }
                if (!file.empty()) parts.push_back({{"type", "file"}, {"file", std::move(file)}});
                only_text = false;
            }
        }
    }
    if (only_text) return json::value(text);
    return parts;
}

// A tool's output (a string, or content parts) as the text of a role:"tool" message.
std::string OutputText(const json::object& item) {
    const json::value* output = item.if_contains("output");
    if (!output) return {};
    if (output->is_string()) return std::string(output->get_string());
    const json::value content = ContentOf(*output);
    return content.is_string() ? std::string(content.get_string()) : json::serialize(*output);
}

// The chat messages being built: system text gathered in front (vLLM's templates reject a
// second or late system message), and consecutive tool calls joined into one assistant turn.
struct History {
    std::string system;
    json::array messages;

    void System(std::string_view text) {
        if (text.empty()) return;
        if (!system.empty()) system += "\n\n";
        system += text;
    }
    json::array& OpenCalls() {
        if (!messages.empty()) {
            auto& last = messages.back().as_object();
            if (IsString(last.at("role"), "assistant")) {
                if (!last.contains("tool_calls")) last["tool_calls"] = json::array();
                return last["tool_calls"].as_array();
            }
        }
        messages.push_back(json::object{{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array()}});
        return messages.back().as_object()["tool_calls"].as_array();
    }
    void Call(std::string_view call_id, std::string_view name, std::string arguments) {
        OpenCalls().push_back({{"id", call_id},
                               {"type", "function"},
                               {"function", {{"name", name}, {"arguments", std::move(arguments)}}}});
    }
};

void AddMessage(const json::object& item, History& history) {
    const auto role = StringOf(item, "role");
    const json::value* content = item.if_contains("content");
    if (!content) return;
    if (role == "system" || role == "developer") {
        const json::value text = ContentOf(*content);
        if (text.is_string()) history.System(text.get_string());
        return;
    }
    json::value chat = ContentOf(*content);
    if (chat.is_string() && chat.get_string().empty()) return;  // nothing said (an empty turn confuses templates)
    history.messages.push_back(json::object{{"role", role == "assistant" ? "assistant" : "user"}, {"content", chat}});
}

// One input item; false with the 400 in `result` for what cannot be honoured.
bool AddItem(const json::object& item, History& history, RequestTranslation& result) {
    auto type = StringOf(item, "type");
    if (type.empty() || type == "message") {
        AddMessage(item, history);
    } else if (type == "function_call") {
        std::string arguments(StringOf(item, "arguments"));
        history.Call(StringOf(item, "call_id"), StringOf(item, "name"), arguments.empty() ? "{}" : arguments);
    } else if (type == "custom_tool_call") {
        history.Call(StringOf(item, "call_id"), StringOf(item, "name"),
                     json::serialize(json::object{{"input", StringOf(item, "input")}}));
    } else if (type == "function_call_output" || type == "custom_tool_call_output") {
        history.messages.push_back(
            json::object{{"role", "tool"}, {"tool_call_id", StringOf(item, "call_id")}, {"content", OutputText(item)}});
    } else if (type == "item_reference") {
        result.error = core::BadRequest("input: item_reference needs a stored response; this gateway keeps none",
                                        "unsupported_parameter", "input");
        return false;
    }
    return true;  // reasoning and built-in tool items: nothing a chat server can replay
}

// A custom tool as a function taking the raw text, its grammar in the description so the
// model knows the format.
json::object CustomTool(const json::object& tool) {
    std::string description(StringOf(tool, "description"));
    if (const json::object* format = ObjectOf(tool, "format"); format && StringOf(*format, "type") == "grammar") {
        description += "\n\nThe input is raw text (not JSON) in this ";
        description += StringOf(*format, "syntax");
        description += " grammar:\n";
        description += StringOf(*format, "definition");
    }
    json::object parameters{
        {"type", "object"},
        {"properties", {{"input", {{"type", "string"}, {"description", "The raw input text for the tool"}}}}},
        {"required", json::array{"input"}}};
    return {{"type", "function"},
            {"function", {{"name", StringOf(tool, "name")}, {"description", description}, {"parameters", parameters}}}};
}

json::array Tools(const json::array& tools, RequestTranslation& result) {
    json::array out;
    for (const auto& t : tools) {
        if (!t.is_object()) continue;
        const auto& tool = t.get_object();
        const auto type = StringOf(tool, "type");
        if (type == "custom") {
            out.push_back(CustomTool(tool));
            result.custom_tools.emplace_back(StringOf(tool, "name"));
            continue;
        }
        if (type != "function") continue;  // built-in tools: OpenAI runs those
        json::object function{{"name", StringOf(tool, "name")}};
        for (const char* key : {"description", "strict"}) {
            if (const json::value* v = tool.if_contains(key); v && !v->is_null()) function[key] = *v;
        }
        const json::value* schema = tool.if_contains("parameters");
        function["parameters"] = schema && schema->is_object()
                                     ? *schema
                                     : json::value(json::object{{"type", "object"}, {"properties", json::object()}});
        out.push_back({{"type", "function"}, {"function", std::move(function)}});
    }
    return out;
}

void ToolChoice(const json::value& choice, json::object& out) {
    if (choice.is_string()) {
        out["tool_choice"] = choice;
        return;
    }
    if (!choice.is_object()) return;
    const auto type = StringOf(choice.get_object(), "type");
    const auto name = StringOf(choice.get_object(), "name");
    if ((type == "function" || type == "custom") && !name.empty())
        out["tool_choice"] = {{"type", "function"}, {"function", {{"name", name}}}};
    else
        out["tool_choice"] = "auto";  // allowed_tools and built-in choices: the model picks
}

// Sampling, limits and output format.
void Options(const json::object& in, const RequestOptions& options, json::object& out) {
    if (in.contains("max_output_tokens") || options.max_tokens_cap > 0) {
        std::int64_t max_tokens = IntOf(in, "max_output_tokens", options.max_tokens_cap);
        if (options.max_tokens_cap > 0) max_tokens = std::min(max_tokens, options.max_tokens_cap);
        out["max_tokens"] = max_tokens;
    }
    for (const char* key : {"temperature", "top_p", "parallel_tool_calls", "service_tier", "top_logprobs", "user"}) {
        if (const json::value* v = in.if_contains(key); v && !v->is_null()) out[key] = *v;
    }
    if (!out.contains("user")) {
        if (auto id = StringOf(in, "safety_identifier"); !id.empty()) out["user"] = id;
    }
    if (const json::object* reasoning = ObjectOf(in, "reasoning")) {
        if (auto effort = StringOf(*reasoning, "effort"); !effort.empty() && effort != "none")
            out["reasoning_effort"] = effort;
    }
    const json::object* text = ObjectOf(in, "text");
    const json::object* format = text ? ObjectOf(*text, "format") : nullptr;
    if (!format) return;
    if (const auto type = StringOf(*format, "type"); type == "json_object") {
        out["response_format"] = {{"type", "json_object"}};
    } else if (type == "json_schema") {
        json::object schema{{"name", StringOf(*format, "name")}};
        for (const char* key : {"schema", "strict", "description"}) {
            if (const json::value* v = format->if_contains(key); v && !v->is_null()) schema[key] = *v;
        }
        out["response_format"] = {{"type", "json_schema"}, {"json_schema", std::move(schema)}};
    }
}

}  // namespace

RequestTranslation ResponsesToChatRequest(std::string_view body, const RequestOptions& options) {
    RequestTranslation result;
    json::value parsed;
    if (!ParseRequestBody(body, parsed, result)) return result;
    const json::object& in = parsed.get_object();
    if (const json::value* previous = in.if_contains("previous_response_id"); previous && !previous->is_null()) {
        result.error = core::BadRequest(
            "previous_response_id needs a stored response and this provider serves no Responses API: send the whole "
            "conversation in input (store: false)",
            "previous_response_not_found", "previous_response_id");
        return result;
    }
    History history;
    history.System(StringOf(in, "instructions"));
    const json::value* input = in.if_contains("input");
    if (input && input->is_string()) {
        history.messages.push_back(json::object{{"role", "user"}, {"content", *input}});
    } else if (input && input->is_array()) {
        for (const auto& item : input->get_array()) {
            if (item.is_object() && !AddItem(item.get_object(), history, result)) return result;
        }
    } else {
        result.error = core::BadRequest("input: Field required", "missing_required_parameter", "input");
        return result;
    }
    json::array messages;
    if (!history.system.empty()) messages.push_back(json::object{{"role", "system"}, {"content", history.system}});
    for (auto& m : history.messages) messages.push_back(std::move(m));
    json::object out{{"model", options.upstream_model}, {"messages", std::move(messages)}};
    Options(in, options, out);
    if (const json::array* tools = ArrayOf(in, "tools")) {
        if (json::array translated = Tools(*tools, result); !translated.empty()) {
            out["tools"] = std::move(translated);
            if (const json::value* choice = in.if_contains("tool_choice")) ToolChoice(*choice, out);
        }
    }
    CopyStreamFlag(in, options.stream_usage, out);
    result.body = json::serialize(out);
    return result;
}

}  // namespace llmproxy::providers::translate
