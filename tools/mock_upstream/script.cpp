// The mock's scripted behaviour, shared by its dialects: a tool call asked for in the prompt.
#include "mock.hpp"

namespace mock {
namespace {

std::string TextOf(const json::value& content) {
    if (content.is_string()) return std::string(content.get_string());
    std::string text;
    if (!content.is_array()) return text;
    for (const auto& p : content.get_array()) {
        if (!p.is_object()) continue;
        const auto& part = p.get_object();
        if (auto* t = part.if_contains("text"); t && t->is_string()) text += std::string(t->get_string()) + "\n";
        if (auto* c = part.if_contains("content"); c && part.contains("tool_use_id")) text += TextOf(*c);
    }
    return text;
}

// The last turn: of `messages` (chat, Anthropic) or of `input` (Responses).
const json::object* LastMessage(const json::object& body) {
    auto* messages = body.if_contains("messages");
    if (!messages) messages = body.if_contains("input");
    if (!messages || !messages->is_array() || messages->get_array().empty()) return nullptr;
    const auto& last = messages->get_array().back();
    return last.is_object() ? &last.get_object() : nullptr;
}

bool HasToolResult(const json::value& content) {
    if (!content.is_array()) return false;
    for (const auto& p : content.get_array()) {
        if (p.is_object() && p.get_object().contains("tool_use_id")) return true;
    }
    return false;
}

}  // namespace

std::optional<std::string> LastToolResult(const json::object& body) {
    const json::object* last = LastMessage(body);
    if (!last) return std::nullopt;
    if (auto* type = last->if_contains("type"); type && type->is_string() && type->get_string().ends_with("_output")) {
        auto* output = last->if_contains("output");  // Responses: function_call_output, custom_tool_call_output
        return output ? TextOf(*output) : std::string();
    }
    if (!last->contains("content")) return std::nullopt;
    const auto& content = last->at("content");
    auto* role = last->if_contains("role");
    const bool tool_role = role && role->is_string() && role->get_string() == "tool";
    if (!tool_role && !HasToolResult(content)) return std::nullopt;
    return TextOf(content);
}

std::optional<ToolCall> WantedToolCall(const json::object& body) {
    if (LastToolResult(body)) return std::nullopt;
    const json::object* last = LastMessage(body);
    if (!last || !last->contains("content")) return std::nullopt;
    const std::string text = TextOf(last->at("content"));
    const auto open = text.find("[[tool:");
    if (open == std::string::npos) return std::nullopt;
    const auto close = text.find("]]", open);
    const auto space = text.find(' ', open);
    if (close == std::string::npos || space == std::string::npos || space > close) return std::nullopt;
    return ToolCall{text.substr(open + 7, space - open - 7), text.substr(space + 1, close - space - 1)};
}

}  // namespace mock
