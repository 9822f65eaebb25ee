#include "providers/translate/responses_shapes.hpp"

#include "core/json_escape.hpp"
#include "core/request_id.hpp"
#include "providers/translate/common.hpp"

namespace llmproxy::providers::translate::responses {
namespace {

void Field(std::string& out, std::string_view key, std::string_view value) {
    out += ",\"";
    out += key;
    out += "\":";
    core::AppendJsonString(out, value);
}

std::string ItemHead(std::string_view type, std::string_view id, std::string_view status) {
    std::string out = R"({"id":)";
    core::AppendJsonString(out, id);
    Field(out, "type", type);
    if (!status.empty()) Field(out, "status", status);
    return out;
}

// A Markdown fence (```lang ... ```) around the whole text, removed.
std::string_view Unfenced(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos || text.substr(first, 3) != "```") return text;
    const auto body = text.find('\n', first);
    const auto close = text.rfind("```");
    if (body == std::string_view::npos || close <= body) return text;
    return text.substr(body + 1, close - body - 1);
}

}  // namespace

std::string MessageItem(std::string_view id, std::string_view text, std::string_view status) {
    std::string out = ItemHead("message", id, status);
    out += R"(,"role":"assistant","content":[{"type":"output_text","text":)";
    core::AppendJsonString(out, text);
    out += R"(,"annotations":[],"logprobs":[]}]})";
    return out;
}

std::string ReasoningItem(std::string_view id, std::string_view text) {
    std::string out = ItemHead("reasoning", id, {});
    out += R"(,"summary":[{"type":"summary_text","text":)";
    core::AppendJsonString(out, text);
    out += "}]}";
    return out;
}

std::string FunctionCallItem(std::string_view id, std::string_view call_id, std::string_view name,
                             std::string_view arguments, std::string_view status) {
    std::string out = ItemHead("function_call", id, status);
    Field(out, "call_id", call_id);
    Field(out, "name", name);
    Field(out, "arguments", arguments);
    out += "}";
    return out;
}

std::string CustomCallItem(std::string_view id, std::string_view call_id, std::string_view name, std::string_view input,
                           std::string_view status) {
    std::string out = ItemHead("custom_tool_call", id, status);
    Field(out, "call_id", call_id);
    Field(out, "name", name);
    Field(out, "input", input);
    out += "}";
    return out;
}

std::string UsageJson(const StreamTokens& t) {
    return R"({"input_tokens":)" + std::to_string(t.prompt) + R"(,"input_tokens_details":{"cached_tokens":)" +
           std::to_string(t.cached) + R"(},"output_tokens":)" + std::to_string(t.completion) +
           R"(,"output_tokens_details":{"reasoning_tokens":)" + std::to_string(t.reasoning) + R"(},"total_tokens":)" +
           std::to_string(t.prompt + t.completion) + "}";
}

std::string ResponseJson(const ResponseState& s, std::string_view output, std::string_view usage) {
    std::string out = R"({"id":)";
    core::AppendJsonString(out, s.id);
    out += R"(,"object":"response","created_at":)";
    out += std::to_string(s.created_at);
    Field(out, "status", s.status);
    Field(out, "model", s.model);
    out += R"(,"output":[)";
    out += output;
    out += R"(],"error":)";
    if (s.status == "failed") {
        out += R"({"code":)";
        core::AppendJsonString(out, s.error_code);
        Field(out, "message", s.error_message);
        out += "}";
    } else {
        out += "null";
    }
    out += R"(,"incomplete_details":)";
    if (s.status == "incomplete") {
        out += R"({"reason":)";
        core::AppendJsonString(out, s.incomplete_reason);
        out += "}";
    } else {
        out += "null";
    }
    out += R"(,"instructions":null,"metadata":{},"parallel_tool_calls":true,"temperature":null,"top_p":null,)"
           R"("tool_choice":"auto","tools":[],"store":false,"text":{"format":{"type":"text"}},"usage":)";
    out += usage.empty() ? std::string_view("null") : usage;
    out += "}";
    return out;
}

std::string_view StatusOf(std::string_view finish_reason) {
    return IncompleteReasonOf(finish_reason).empty() ? "completed" : "incomplete";
}

std::string_view IncompleteReasonOf(std::string_view finish_reason) {
    if (finish_reason == "length") return "max_output_tokens";
    if (finish_reason == "content_filter" || finish_reason == "sensitive") return "content_filter";
    return {};
}

std::string CustomInput(std::string_view arguments) {
    const json::value v = ParseOrNull(arguments);
    std::string_view text = arguments;
    if (v.is_string()) {
        text = v.get_string();
    } else if (v.is_object()) {
        const json::object& o = v.get_object();
        if (const json::value* input = o.if_contains("input"); input && input->is_string()) {
            text = input->get_string();
        } else if (o.size() == 1 && o.begin()->value().is_string()) {
            text = o.begin()->value().get_string();
        }
    }
    return std::string(Unfenced(text));
}

std::string NewResponseId() {
    std::string id(core::MakeEventId().view());  // "evt_<32 hex>"
    id.replace(0, 4, "resp_");
    return id;
}

}  // namespace llmproxy::providers::translate::responses
