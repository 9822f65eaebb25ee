// The mock in Anthropic's dialect: POST /v1/messages (whole or streamed with event: lines, text,
// a thinking block on request, a tool_use block when the prompt asks for one, usage with cache
// tokens) and /v1/messages/count_tokens; faults as Anthropic error bodies.
#include <vector>

#include <boost/asio/write.hpp>

#include "mock.hpp"

namespace mock {
namespace {

std::string AnthropicError(std::string_view type, std::string_view message) {
    return json::serialize(json::object{{"type", "error"}, {"error", {{"type", type}, {"message", message}}}});
}

std::string Event(std::string_view type, const json::object& data) {
    return "event: " + std::string(type) + "\ndata: " + json::serialize(data) + "\n\n";
}

json::object UsageOf(const http::request<http::string_body>& req, const json::object& body, int output) {
    return {{"input_tokens", PromptTokens(body)},
            {"cache_creation_input_tokens", HeaderInt(req, "x-mock-cache-write", 0)},
            {"cache_read_input_tokens", HeaderInt(req, "x-mock-cache-read", 0)},
            {"output_tokens", output}};
}

std::string ModelOf(const json::object& body) {
    auto* m = body.if_contains("model");
    return m && m->is_string() ? std::string(m->get_string()) : "";
}

// The answer's text: the tool's result echoed, or the usual words.
std::string ReplyText(const json::object& body, int words) {
    if (auto result = LastToolResult(body)) return "Tool result: " + result->substr(0, 200);
    std::string text;
    for (int i = 0; i < words; ++i) text += Word(i);
    return text;
}

asio::awaitable<bool> Whole(tcp::socket& s, const http::request<http::string_body>& req, const json::object& body) {
    json::array content;
    if (HeaderInt(req, "x-mock-thinking", 0) == 1)
        content.push_back({{"type", "thinking"}, {"thinking", "Let me think."}, {"signature", "sig-mock"}});
    auto tool = WantedToolCall(body);
    if (tool) {
        content.push_back({{"type", "text"}, {"text", "Calling the tool."}});
        content.push_back({{"type", "tool_use"},
                           {"id", "toolu_mock_1"},
                           {"name", tool->name},
                           {"input", json::parse(tool->arguments)}});
    } else {
        content.push_back({{"type", "text"}, {"text", ReplyText(body, 4)}});
    }
    const std::string b = json::serialize(json::object{{"id", "msg_mock"},
                                                       {"type", "message"},
                                                       {"role", "assistant"},
                                                       {"model", ModelOf(body)},
                                                       {"content", std::move(content)},
                                                       {"stop_reason", tool ? "tool_use" : "end_turn"},
                                                       {"stop_sequence", nullptr},
                                                       {"usage", UsageOf(req, body, 4)}});
    co_return co_await Send(s, Head(200, "OK", "application/json", "request-id: req_mock\r\n", b.size(), false) + b);
}

json::object BlockDelta(int index, std::string_view type, std::string_view field, std::string_view value) {
    return {{"type", "content_block_delta"}, {"index", index}, {"delta", {{"type", type}, {field, value}}}};
}

asio::awaitable<bool> Streamed(tcp::socket& s, const http::request<http::string_body>& req, const json::object& body) {
    const int chunks = HeaderInt(req, "x-mock-chunks", 5);
    const int delay = HeaderInt(req, "x-mock-chunk-delay-ms", g_opt.chunk_delay_ms);
    const bool reset_mid = Header(req, "x-mock-fault", g_opt.fault) == "reset_mid_stream";
    g_stats.streams_started++;
    if (!co_await Send(s, Head(200, "OK", "text/event-stream", "request-id: req_mock\r\n", 0, true))) co_return false;
    json::object usage = UsageOf(req, body, 1);
    std::string out = Event("message_start", {{"type", "message_start"},
                                              {"message",
                                               {{"id", "msg_mock"},
                                                {"type", "message"},
                                                {"role", "assistant"},
                                                {"model", ModelOf(body)},
                                                {"content", json::array()},
                                                {"stop_reason", nullptr},
                                                {"stop_sequence", nullptr},
                                                {"usage", usage}}}});
    int index = 0;
    if (HeaderInt(req, "x-mock-thinking", 0) == 1) {
        out += Event("content_block_start", {{"type", "content_block_start"},
                                             {"index", index},
                                             {"content_block", {{"type", "thinking"}, {"thinking", ""}}}});
        out += Event("content_block_delta", BlockDelta(index, "thinking_delta", "thinking", "Let me think."));
        out += Event("content_block_delta", BlockDelta(index, "signature_delta", "signature", "sig-mock"));
        out += Event("content_block_stop", {{"type", "content_block_stop"}, {"index", index++}});
    }
    out +=
        Event("content_block_start",
              {{"type", "content_block_start"}, {"index", index}, {"content_block", {{"type", "text"}, {"text", ""}}}});
    out += Event("ping", {{"type", "ping"}});
    if (!co_await Send(s, Chunk(out))) co_return false;
    auto tool = WantedToolCall(body);
    std::vector<std::string> pieces;
    if (tool)
        pieces.push_back("Calling the tool.");
    else if (auto result = LastToolResult(body))
        pieces.push_back("Tool result: " + result->substr(0, 200));
    else
        for (int i = 0; i < chunks; ++i) pieces.push_back(Word(i));
    for (std::size_t i = 0; i < pieces.size(); ++i) {
        if (i > 0) co_await Sleep(delay);
        if (reset_mid && i == 2) {
            Reset(s);
            co_return false;
        }
        if (!co_await Send(s, Chunk(Event("content_block_delta", BlockDelta(index, "text_delta", "text", pieces[i])))))
            co_return false;
    }
    out = Event("content_block_stop", {{"type", "content_block_stop"}, {"index", index++}});
    if (tool) {
        out +=
            Event("content_block_start",
                  {{"type", "content_block_start"},
                   {"index", index},
                   {"content_block",
                    {{"type", "tool_use"}, {"id", "toolu_mock_1"}, {"name", tool->name}, {"input", json::object()}}}});
        const std::size_t half = tool->arguments.size() / 2;
        out += Event("content_block_delta", BlockDelta(index, "input_json_delta", "partial_json", ""));
        out += Event("content_block_delta",
                     BlockDelta(index, "input_json_delta", "partial_json", tool->arguments.substr(0, half)));
        out += Event("content_block_delta",
                     BlockDelta(index, "input_json_delta", "partial_json", tool->arguments.substr(half)));
        out += Event("content_block_stop", {{"type", "content_block_stop"}, {"index", index}});
    }
    usage["output_tokens"] = chunks;
    out += Event("message_delta",
                 {{"type", "message_delta"},
                  {"delta", {{"stop_reason", tool ? "tool_use" : "end_turn"}, {"stop_sequence", nullptr}}},
                  {"usage", usage}});
    out += Event("message_stop", {{"type", "message_stop"}});
    const bool ok = co_await Send(s, Chunk(out) + "0\r\n\r\n");
    if (ok) g_stats.streams_completed++;
    co_return ok;
}

}  // namespace

asio::awaitable<bool> HandleMessages(tcp::socket& s, const http::request<http::string_body>& req,
                                     const json::object& body, bool count_tokens) {
    const std::string fault = Header(req, "x-mock-fault", g_opt.fault);
    if (fault == "500" || fault == "529" || fault == "429" || fault == "400") {
        const int status = std::stoi(fault);
        const char* type = status == 429   ? "rate_limit_error"
                           : status == 529 ? "overloaded_error"
                           : status == 400 ? "invalid_request_error"
                                           : "api_error";
        const std::string b = AnthropicError(type, "mock fault " + fault);
        const std::string extra = status == 429 ? "retry-after: 1\r\n" : "";
        co_return co_await Send(s, Head(status, "Error", "application/json", extra, b.size(), false) + b);
    }
    if (count_tokens) {
        const std::string b = json::serialize(json::object{{"input_tokens", PromptTokens(body)}});
        co_return co_await Send(s, Head(200, "OK", "application/json", "", b.size(), false) + b);
    }
    const bool stream = body.contains("stream") && body.at("stream").is_bool() && body.at("stream").as_bool();
    if (stream) co_return co_await Streamed(s, req, body);
    co_return co_await Whole(s, req, body);
}

}  // namespace mock
