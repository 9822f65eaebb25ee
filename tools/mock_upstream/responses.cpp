// The mock in OpenAI's Responses dialect, as a server that serves /v1/responses itself (OpenAI,
// OpenRouter): the answer whole or as the Responses event sequence, a function call when the
// prompt asks for one, usage with cached and reasoning tokens, and a field no client knows
// ("x_mock_extra") so that pass-through can be shown byte-exact.
#include "mock.hpp"

namespace mock {
namespace {

std::string Event(std::string_view type, json::object data, int& sequence) {
    data["type"] = type;
    data["sequence_number"] = sequence++;
    return "event: " + std::string(type) + "\ndata: " + json::serialize(data) + "\n\n";
}

json::object UsageOf(const http::request<http::string_body>& req, const json::object& body, int output) {
    const int input = PromptTokens(body);
    return {{"input_tokens", input},
            {"input_tokens_details", {{"cached_tokens", HeaderInt(req, "x-mock-cache-read", 0)}}},
            {"output_tokens", output},
            {"output_tokens_details", {{"reasoning_tokens", HeaderInt(req, "x-mock-thinking", 0) == 1 ? 2 : 0}}},
            {"total_tokens", input + output}};
}

json::object Response(const json::object& body, std::string_view status, json::array output, json::value usage) {
    auto* model = body.if_contains("model");
    return {{"id", "resp_mock_1"},
            {"object", "response"},
            {"created_at", 1700000000},
            {"status", status},
            {"model", model ? *model : json::value("")},
            {"output", std::move(output)},
            {"usage", std::move(usage)},
            {"x_mock_extra", {{"kept", true}}}};
}

json::array Output(const json::object& body, const std::string& text) {
    if (auto tool = WantedToolCall(body)) {
        return {json::object{{"type", "function_call"},
                             {"id", "fc_mock_1"},
                             {"call_id", "call_mock_1"},
                             {"name", tool->name},
                             {"arguments", tool->arguments},
                             {"status", "completed"}}};
    }
    return {json::object{
        {"type", "message"},
        {"id", "msg_mock_1"},
        {"role", "assistant"},
        {"status", "completed"},
        {"content", json::array{{{"type", "output_text"}, {"text", text}, {"annotations", json::array()}}}}}};
}

}  // namespace

asio::awaitable<bool> HandleResponses(tcp::socket& s, const http::request<http::string_body>& req,
                                      const json::object& body) {
    const bool stream = body.contains("stream") && body.at("stream") == true;
    const int words = HeaderInt(req, "x-mock-chunks", 5);
    std::string text;
    if (auto result = LastToolResult(body)) {
        text = "Tool result: " + result->substr(0, 200);
    } else {
        for (int i = 0; i < words; ++i) text += Word(i);
    }
    json::array output = Output(body, text);
    if (!stream) {
        const std::string b = json::serialize(Response(body, "completed", output, UsageOf(req, body, words)));
        co_return co_await Send(s, Head(200, "OK", "application/json", "", b.size(), false) + b);
    }
    if (!co_await Send(s, Head(200, "OK", "text/event-stream", "Cache-Control: no-cache\r\n", 0, true)))
        co_return false;
    int sequence = 0;
    std::string events =
        Event("response.created", {{"response", Response(body, "in_progress", {}, nullptr)}}, sequence);
    const json::object& item = output[0].get_object();
    events += Event("response.output_item.added", {{"output_index", 0}, {"item", item}}, sequence);
    if (item.at("type") == "message") {
        for (int i = 0; i < words; ++i) {
            events += Event("response.output_text.delta",
                            {{"item_id", "msg_mock_1"}, {"output_index", 0}, {"content_index", 0}, {"delta", Word(i)}},
                            sequence);
        }
    }
    events += Event("response.output_item.done", {{"output_index", 0}, {"item", item}}, sequence);
    events += Event("response.completed",
                    {{"response", Response(body, "completed", output, UsageOf(req, body, words))}}, sequence);
    co_return co_await Send(s, Chunk(events) + "0\r\n\r\n");
}

}  // namespace mock
