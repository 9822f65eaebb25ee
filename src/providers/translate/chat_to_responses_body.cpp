// OpenAI chat.completion -> a Responses API response object (non-stream responses.create).
#include "providers/translate/bodies.hpp"
#include "providers/translate/common.hpp"
#include "providers/translate/responses_shapes.hpp"

namespace llmproxy::providers::translate {
namespace {

StreamTokens TokensOf(const json::object* usage) {
    StreamTokens t;
    if (usage) ReadChatUsage(*usage, t);
    return t;
}

// The message's reasoning, text and tool calls as output items, comma-joined.
std::string OutputItems(const json::object& message, std::string_view base, const ResponsesStreamOptions& options) {
    std::string items;
    int n = 0;
    auto add = [&](std::string item) {
        if (!items.empty()) items += ',';
        items += item;
        ++n;
    };
    auto id = [&](std::string_view prefix) {
        return std::string(prefix) + std::string(base) + "_" + std::to_string(n);
    };
    auto reasoning = StringOf(message, "reasoning_content");
    if (reasoning.empty()) reasoning = StringOf(message, "reasoning");
    if (!reasoning.empty()) add(responses::ReasoningItem(id("rs_"), reasoning));
    if (auto text = StringOf(message, "content"); !text.empty()) add(responses::MessageItem(id("msg_"), text));
    if (const json::array* calls = ArrayOf(message, "tool_calls")) {
        for (const auto& c : *calls) {
            const json::object* function = c.is_object() ? ObjectOf(c.get_object(), "function") : nullptr;
            if (!function) continue;
            const auto name = StringOf(*function, "name");
            std::string call_id(StringOf(c.get_object(), "id"));
            if (call_id.empty()) call_id = "call_" + std::to_string(n);
            std::string arguments(StringOf(*function, "arguments"));
            if (arguments.empty()) arguments = "{}";
            const bool custom =
                std::find(options.custom_tools.begin(), options.custom_tools.end(), name) != options.custom_tools.end();
            add(custom ? responses::CustomCallItem(id("ctc_"), call_id, name, responses::CustomInput(arguments))
                       : responses::FunctionCallItem(id("fc_"), call_id, name, arguments));
        }
    }
    return items;
}

}  // namespace

std::string ChatToResponseBody(std::string_view body, const ResponsesStreamOptions& options) {
    json::value v = ParseOrNull(body);
    const json::object* chat = v.is_object() ? &v.get_object() : nullptr;
    const json::array* choices = chat ? ArrayOf(*chat, "choices") : nullptr;
    if (!choices || choices->empty() || !(*choices)[0].is_object())
        return ErrorToOpenAI(R"({"error":{"message":"the upstream's answer has no choices"}})", 502);
    const json::object& choice = (*choices)[0].get_object();
    const std::string id = responses::NewResponseId();
    const json::object* message = ObjectOf(choice, "message");
    const std::string output = message ? OutputItems(*message, std::string_view(id).substr(5), options) : "";
    const auto finish = StringOf(choice, "finish_reason");
    responses::ResponseState state;
    state.id = id;
    state.model = options.model;
    state.created_at = IntOf(*chat, "created");
    state.status = responses::StatusOf(finish);
    state.incomplete_reason = responses::IncompleteReasonOf(finish);
    return responses::ResponseJson(state, output, responses::UsageJson(TokensOf(ObjectOf(*chat, "usage"))));
}

}  // namespace llmproxy::providers::translate
