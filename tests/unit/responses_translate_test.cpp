// Golden tests of the Responses API bridge (providers/translate, stages/socket): Responses
// requests to chat completions, chat answers and streams to Responses objects and events
// (text, function tools, Codex's custom tools, reasoning, incomplete, failed), and the
// WebSocket connection's history that answers previous_response_id. Fixtures follow
// ../shared/research/providers.md section 4 and what Codex CLI 0.171 sends.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include <boost/json.hpp>

#include "core/error_reply.hpp"
#include "providers/translate/bodies.hpp"
#include "providers/translate/requests.hpp"
#include "providers/translate/responses_shapes.hpp"
#include "providers/translate/streams.hpp"
#include "providers/translate/translator.hpp"
#include "stages/socket/responses_history.hpp"

using namespace llmproxy;
using namespace llmproxy::providers::translate;
namespace json = boost::json;

namespace {

json::object Parse(const std::string& s) {
    return json::parse(s).as_object();
}

struct Event {
    std::string name;
    json::object data;
};

std::vector<Event> Events(const std::string& stream) {
    std::vector<Event> out;
    for (std::size_t at = stream.find("event: "); at != std::string::npos; at = stream.find("event: ", at + 1)) {
        const std::string name = stream.substr(at + 7, stream.find('\n', at) - at - 7);
        const std::size_t d = stream.find("data: ", at) + 6;
        out.push_back({name, json::parse(stream.substr(d, stream.find('\n', d) - d)).as_object()});
    }
    return out;
}

std::vector<std::string> Names(const std::vector<Event>& events) {
    std::vector<std::string> names;
    for (const auto& e : events) names.push_back(e.name);
    return names;
}

std::string Chunk(const std::string& json_text) {
    return "data: " + json_text + "\n\n";
}

// Feeds a chat stream through the Responses translator, event by event, then its end.
std::string Translate(ChatToResponsesStream& stream, const std::vector<std::string>& chunks, bool finish = true) {
    std::string out;
    for (const auto& c : chunks) stream.OnData(c, out);
    if (finish) stream.Finish(out);
    return out;
}

}  // namespace

TEST(ResponsesToChatRequest, MapsACodexTurn) {
    const std::string in = R"({
      "model":"qwen3-coder","instructions":"You are Codex.","stream":true,"store":false,
      "include":["reasoning.encrypted_content"],"prompt_cache_key":"thread-1","parallel_tool_calls":false,
      "reasoning":{"effort":"high","summary":"auto"},"max_output_tokens":9000,
      "text":{"format":{"type":"json_schema","name":"out","schema":{"type":"object"},"strict":true}},
      "tools":[{"type":"function","name":"shell","description":"run","parameters":{"type":"object"},"strict":false},
               {"type":"custom","name":"apply_patch","description":"Edit files.",
                "format":{"type":"grammar","syntax":"lark","definition":"start: begin_patch"}},
               {"type":"web_search"}],
      "tool_choice":"auto",
      "input":[
        {"type":"message","role":"developer","content":[{"type":"input_text","text":"Sandbox: read-only."}]},
        {"type":"message","role":"user","content":[{"type":"input_text","text":"fix it"},
          {"type":"input_image","image_url":"data:image/png;base64,AA","detail":"low"}]},
        {"type":"reasoning","id":"rs_1","summary":[{"type":"summary_text","text":"thinking"}],"encrypted_content":"x"},
        {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Looking."}]},
        {"type":"function_call","call_id":"call_1","name":"shell","arguments":"{\"cmd\":\"ls\"}"},
        {"type":"custom_tool_call","call_id":"call_2","name":"apply_patch","input":"*** Begin Patch\n*** End Patch"},
        {"type":"function_call_output","call_id":"call_1","output":"a.txt"},
        {"type":"custom_tool_call_output","call_id":"call_2","output":[{"type":"input_text","text":"Done"}]},
        {"type":"web_search_call","id":"ws_1"}
      ]})";
    const RequestTranslation t =
        ResponsesToChatRequest(in, {.upstream_model = "Qwen/Qwen3-Coder", .max_tokens_cap = 8192});
    ASSERT_FALSE(t.error) << t.error->message;
    const json::object out = Parse(t.body);
    EXPECT_EQ(out.at("model"), "Qwen/Qwen3-Coder");
    EXPECT_EQ(out.at("max_tokens"), 8192);  // clamped to what the provider serves
    EXPECT_EQ(out.at("reasoning_effort"), "high");
    EXPECT_EQ(out.at("parallel_tool_calls"), false);
    EXPECT_EQ(out.at("stream_options").at("include_usage"), true);
    EXPECT_EQ(out.at("response_format").at("json_schema").at("name"), "out");
    for (const char* dropped : {"include", "store", "prompt_cache_key", "instructions", "input", "reasoning", "text"})
        EXPECT_FALSE(out.contains(dropped)) << dropped;
    const json::array& m = out.at("messages").as_array();
    ASSERT_EQ(m.size(), 5u);
    // instructions and the developer message: one leading system message
    EXPECT_EQ(m[0].at("role"), "system");
    EXPECT_EQ(m[0].at("content"), "You are Codex.\n\nSandbox: read-only.");
    EXPECT_EQ(m[1].at("content").as_array()[1].at("type"), "image_url");
    // the assistant's text and both calls: one assistant turn; the reasoning item is dropped
    EXPECT_EQ(m[2].at("content"), "Looking.");
    const json::array& calls = m[2].at("tool_calls").as_array();
    ASSERT_EQ(calls.size(), 2u);
    EXPECT_EQ(calls[0].at("function").at("arguments"), "{\"cmd\":\"ls\"}");
    EXPECT_EQ(Parse(std::string(calls[1].at("function").at("arguments").as_string())).at("input"),
              "*** Begin Patch\n*** End Patch");
    EXPECT_EQ(m[3].at("role"), "tool");
    EXPECT_EQ(m[3].at("tool_call_id"), "call_1");
    EXPECT_EQ(m[4].at("tool_call_id"), "call_2");
    EXPECT_EQ(m[4].at("content"), "Done");
    // tools: flat -> nested; custom -> one string parameter with its grammar; built-in dropped
    const json::array& tools = out.at("tools").as_array();
    ASSERT_EQ(tools.size(), 2u);
    EXPECT_EQ(tools[0].at("function").at("name"), "shell");
    EXPECT_EQ(tools[1].at("function").at("parameters").at("required").as_array()[0], "input");
    EXPECT_NE(std::string(tools[1].at("function").at("description").as_string()).find("start: begin_patch"),
              std::string::npos);
    ASSERT_EQ(t.custom_tools, std::vector<std::string>{"apply_patch"});
}

TEST(ResponsesToChatRequest, RefusesWhatAStatelessBridgeCannotHonour) {
    auto t = ResponsesToChatRequest(R"({"model":"m","input":"hi","previous_response_id":"resp_1"})", {});
    ASSERT_TRUE(t.error);
    EXPECT_EQ(t.error->status, 400);
    EXPECT_EQ(t.error->code, "previous_response_not_found");
    t = ResponsesToChatRequest(R"({"model":"m","input":[{"type":"item_reference","id":"msg_1"}]})", {});
    ASSERT_TRUE(t.error);
    t = ResponsesToChatRequest(R"({"model":"m"})", {});
    ASSERT_TRUE(t.error);
    EXPECT_EQ(t.error->param, "input");
    t = ResponsesToChatRequest("[1,2]", {});
    ASSERT_TRUE(t.error);
    // A string input and tool_choice naming a function.
    t = ResponsesToChatRequest(
        R"({"model":"m","input":"hi","previous_response_id":null,"tools":[{"type":"function","name":"f"}],"tool_choice":{"type":"function","name":"f"}})",
        {.upstream_model = "u", .stream_usage = false});
    ASSERT_FALSE(t.error);
    const json::object out = Parse(t.body);
    EXPECT_EQ(out.at("messages").as_array()[0].at("content"), "hi");
    EXPECT_EQ(out.at("tool_choice").at("function").at("name"), "f");
    EXPECT_FALSE(out.contains("max_tokens"));
}

TEST(ChatToResponseBody, ReasoningTextAndBothKindsOfCall) {
    const std::string chat =
        R"({"id":"chatcmpl-1","created":1700000000,"choices":[{"index":0,"finish_reason":"tool_calls",
      "message":{"role":"assistant","reasoning_content":"hmm","content":"Patching.","tool_calls":[
        {"id":"call_a","type":"function","function":{"name":"shell","arguments":"{\"cmd\":\"ls\"}"}},
        {"id":"call_b","type":"function","function":{"name":"apply_patch","arguments":"{\"input\":\"*** Begin Patch\"}"}}]}}],
      "usage":{"prompt_tokens":100,"completion_tokens":20,"prompt_tokens_details":{"cached_tokens":60},
               "completion_tokens_details":{"reasoning_tokens":7}}})";
    const json::object r = Parse(ChatToResponseBody(chat, {.model = "coder", .custom_tools = {"apply_patch"}}));
    EXPECT_EQ(r.at("object"), "response");
    EXPECT_EQ(r.at("status"), "completed");
    EXPECT_EQ(r.at("model"), "coder");
    const json::array& output = r.at("output").as_array();
    ASSERT_EQ(output.size(), 4u);
    EXPECT_EQ(output[0].at("type"), "reasoning");
    EXPECT_EQ(output[0].at("summary").as_array()[0].at("text"), "hmm");
    EXPECT_EQ(output[1].at("content").as_array()[0].at("text"), "Patching.");
    EXPECT_EQ(output[2].at("type"), "function_call");
    EXPECT_EQ(output[2].at("call_id"), "call_a");
    EXPECT_EQ(output[3].at("type"), "custom_tool_call");
    EXPECT_EQ(output[3].at("input"), "*** Begin Patch");
    const json::object& usage = r.at("usage").as_object();
    EXPECT_EQ(usage.at("input_tokens"), 100);
    EXPECT_EQ(usage.at("input_tokens_details").at("cached_tokens"), 60);
    EXPECT_EQ(usage.at("output_tokens_details").at("reasoning_tokens"), 7);
    EXPECT_EQ(usage.at("total_tokens"), 120);

    const json::object cut = Parse(
        ChatToResponseBody(R"({"choices":[{"finish_reason":"length","message":{"content":"abc"}}]})", {.model = "m"}));
    EXPECT_EQ(cut.at("status"), "incomplete");
    EXPECT_EQ(cut.at("incomplete_details").at("reason"), "max_output_tokens");
    const json::object bad = Parse(ChatToResponseBody("not json", {.model = "m"}));
    EXPECT_TRUE(bad.contains("error"));
}

TEST(ResponsesShapes, CustomInputToleratesWrappers) {
    EXPECT_EQ(responses::CustomInput(R"({"input":"*** Begin Patch"})"), "*** Begin Patch");
    EXPECT_EQ(responses::CustomInput(R"({"patch":"raw"})"), "raw");
    EXPECT_EQ(responses::CustomInput(R"("quoted")"), "quoted");
    EXPECT_EQ(responses::CustomInput("*** Begin Patch\n*** End Patch"), "*** Begin Patch\n*** End Patch");
    EXPECT_EQ(responses::CustomInput("```diff\n*** Begin Patch\n```"), "*** Begin Patch\n");
    EXPECT_EQ(responses::CustomInput(R"({"input":"a","other":1})"), "a");
}

TEST(ChatToResponsesStream, TextEventsInOrderWithSequenceAndUsage) {
    ChatToResponsesStream stream({.model = "coder"});
    const std::string out = Translate(
        stream,
        {R"({"id":"c","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"}}]})", "",
         R"({"id":"c","choices":[{"index":0,"delta":{"content":"lo"}}]})",
         R"({"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})",
         R"({"id":"c","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":4}}})",
         "[DONE]"});
    const auto events = Events(out);
    EXPECT_EQ(Names(events), (std::vector<std::string>{"response.created", "response.in_progress",
                                                       "response.output_item.added", "response.content_part.added",
                                                       "response.output_text.delta", "response.output_text.delta",
                                                       "response.output_text.done", "response.content_part.done",
                                                       "response.output_item.done", "response.completed"}));
    for (std::size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].data.at("sequence_number"), static_cast<std::int64_t>(i));
        EXPECT_EQ(events[i].data.at("type"), json::value(events[i].name));
    }
    EXPECT_EQ(events[6].data.at("text"), "Hello");
    EXPECT_EQ(events[8].data.at("item").at("content").as_array()[0].at("text"), "Hello");
    const json::object& done = events.back().data.at("response").as_object();
    EXPECT_EQ(done.at("status"), "completed");
    EXPECT_EQ(done.at("id"), events[0].data.at("response").at("id"));
    EXPECT_EQ(done.at("output").as_array().size(), 1u);
    EXPECT_EQ(done.at("usage").at("input_tokens_details").at("cached_tokens"), 4);
    EXPECT_EQ(done.at("usage").at("output_tokens"), 2);
}

TEST(ChatToResponsesStream, ReasoningThenFunctionAndCustomCallsWithoutIndex) {
    ChatToResponsesStream stream({.model = "coder", .custom_tools = {"apply_patch"}});
    const std::string out = Translate(
        stream,
        {R"({"choices":[{"delta":{"reasoning_content":"think"}}]})",
         R"({"choices":[{"delta":{"tool_calls":[{"id":"call_1","function":{"name":"shell","arguments":"{\"cmd\""}}]}}]})",
         R"({"choices":[{"delta":{"tool_calls":[{"function":{"arguments":":\"ls\"}"}}]}}]})",
         R"({"choices":[{"delta":{"tool_calls":[{"id":"call_2","function":{"name":"apply_patch","arguments":"{\"input\":"}}]}}]})",
         R"({"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"\"*** Begin Patch\"}"}}]}}]})",
         R"({"choices":[{"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":3}})"},
        /*finish=*/true);  // no [DONE]: the end of the stream closes it
    const auto events = Events(out);
    std::vector<std::string> names = Names(events);
    auto count = [&](const std::string& n) { return std::count(names.begin(), names.end(), n); };
    EXPECT_EQ(count("response.reasoning_summary_text.delta"), 1);
    EXPECT_EQ(count("response.function_call_arguments.delta"), 2);
    EXPECT_EQ(count("response.function_call_arguments.done"), 1);
    EXPECT_EQ(count("response.custom_tool_call_input.done"), 1);
    EXPECT_EQ(count("response.output_item.done"), 3);
    EXPECT_EQ(names.back(), "response.completed");
    const json::array& output = events.back().data.at("response").at("output").as_array();
    ASSERT_EQ(output.size(), 3u);
    EXPECT_EQ(output[0].at("type"), "reasoning");
    EXPECT_EQ(output[1].at("type"), "function_call");
    EXPECT_EQ(output[1].at("arguments"), "{\"cmd\":\"ls\"}");
    EXPECT_EQ(output[2].at("type"), "custom_tool_call");
    EXPECT_EQ(output[2].at("input"), "*** Begin Patch");
    EXPECT_EQ(output[2].at("call_id"), "call_2");
    // Each item kept its own output_index in its events.
    std::set<std::int64_t> indexes;
    for (const auto& e : events)
        if (e.name == "response.output_item.added") indexes.insert(e.data.at("output_index").as_int64());
    EXPECT_EQ(indexes, (std::set<std::int64_t>{0, 1, 2}));
}

TEST(ChatToResponsesStream, LengthIsIncompleteAndErrorsFail) {
    ChatToResponsesStream cut({.model = "m"});
    auto events =
        Events(Translate(cut, {R"({"choices":[{"delta":{"content":"a"},"finish_reason":"length"}]})", "[DONE]"}));
    EXPECT_EQ(events.back().name, "response.incomplete");
    EXPECT_EQ(events.back().data.at("response").at("incomplete_details").at("reason"), "max_output_tokens");

    ChatToResponsesStream broken({.model = "m"});
    events = Events(
        Translate(broken, {R"({"choices":[{"delta":{"content":"a"}}]})", R"({"error":{"message":"model crashed"}})",
                           R"({"choices":[{"delta":{"content":"never"}}]})", "[DONE]"}));
    EXPECT_EQ(events.back().name, "response.failed");
    EXPECT_EQ(events.back().data.at("response").at("error").at("message"), "model crashed");
    for (const auto& e : events) EXPECT_NE(e.name, "response.completed");

    // A cut after the start (the relay's OnCut): response.failed with the stream's own id.
    ChatToResponsesStream reset({.model = "m"});
    std::string out;
    reset.OnData(R"({"choices":[{"delta":{"content":"a"}}]})", out);
    reset.Fail("upstream_reset", "the upstream connection broke", out);
    reset.Finish(out);
    events = Events(out);
    EXPECT_EQ(events.back().name, "response.failed");
    EXPECT_EQ(events.back().data.at("response").at("id"), events.front().data.at("response").at("id"));
    EXPECT_EQ(events.back().data.at("response").at("error").at("code"), "upstream_reset");
}

TEST(ChatToResponsesStream, KeepsNoMoreThanItsCap) {
    ChatToResponsesStream stream({.model = "m", .max_output_bytes = 10});
    const auto events = Events(Translate(stream, {R"({"choices":[{"delta":{"content":"0123456789abc"}}]})", "[DONE]"}));
    EXPECT_EQ(events.back().name, "response.failed");
    EXPECT_EQ(events.back().data.at("response").at("error").at("code"), "response_too_large");
}

TEST(Translator, ResponsesClientOnAnAnthropicUpstreamGoesThroughChat) {
    auto translator = MakeTranslator(core::Dialect::kAnthropic, core::Dialect::kOpenAIResponses, {.model = "claude"});
    ASSERT_TRUE(translator);
    providers::ResponseHead head{.status = 200, .sse = true};
    translator->OnHead(head);
    std::string out(translator->OnEvents(
        "event: message_start\ndata: "
        "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"usage\":{\"input_tokens\":7,\"output_tokens\":1}}}"
        "\n\n"
        "event: content_block_start\ndata: "
        "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: content_block_delta\ndata: "
        "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"));
    out += translator->OnLastEvents(
        "event: message_delta\ndata: "
        "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    const auto events = Events(out);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.front().name, "response.created");
    EXPECT_EQ(events.back().name, "response.completed");
    const json::object& response = events.back().data.at("response").as_object();
    EXPECT_EQ(response.at("output").as_array()[0].at("content").as_array()[0].at("text"), "Hi");
    EXPECT_EQ(response.at("usage").at("input_tokens"), 7);
    EXPECT_EQ(response.at("usage").at("output_tokens"), 3);
}

TEST(ResponsesHistory, PreviousResponseIdRebuildsTheWholeInput) {
    stages::ResponsesHistory history(1 << 20);
    auto turn = history.Prepare(R"({"type":"response.create","model":"m","input":"first","stream":false})");
    ASSERT_FALSE(turn.error);
    json::object body = Parse(turn.body);
    EXPECT_FALSE(body.contains("type"));
    EXPECT_EQ(body.at("stream"), true);
    EXPECT_EQ(body.at("input").as_array()[0].at("content"), "first");
    history.OnEvent(
        R"({"type":"response.output_item.done","item":{"type":"function_call","call_id":"c1","name":"f","arguments":"{}"}})");
    EXPECT_TRUE(history.OnEvent(R"({"type":"response.completed","response":{"id":"resp_A"}})"));
    EXPECT_EQ(history.last_id(), "resp_A");

    turn = history.Prepare(
        R"({"type":"response.create","model":"m","previous_response_id":"resp_A","input":[{"type":"function_call_output","call_id":"c1","output":"ok"}]})");
    ASSERT_FALSE(turn.error);
    body = Parse(turn.body);
    EXPECT_FALSE(body.contains("previous_response_id"));
    const json::array& input = body.at("input").as_array();
    ASSERT_EQ(input.size(), 3u);
    EXPECT_EQ(input[0].at("content"), "first");
    EXPECT_EQ(input[1].at("type"), "function_call");
    EXPECT_EQ(input[2].at("type"), "function_call_output");

    // A failed turn leaves nothing to continue from; an unknown id passes on untouched.
    EXPECT_TRUE(history.OnEvent(R"({"type":"response.failed","response":{"id":"resp_B"}})"));
    turn = history.Prepare(R"({"type":"response.create","model":"m","previous_response_id":"resp_B","input":[]})");
    ASSERT_FALSE(turn.error);
    EXPECT_EQ(Parse(turn.body).at("previous_response_id"), "resp_B");
}

TEST(ResponsesHistory, FramesItCannotServeAndItsCap) {
    stages::ResponsesHistory history(64);
    EXPECT_TRUE(history.Prepare("{").error);
    EXPECT_EQ(history.Prepare(R"({"type":"session.update"})").error->code, "unsupported_event_type");
    EXPECT_TRUE(history.Prepare(R"({"type":"response.processed","response_id":"r"})").ignore);
    // Over the cap: the turn is served but not remembered.
    const std::string big(100, 'x');
    auto turn = history.Prepare(R"({"type":"response.create","model":"m","input":")" + big + R"("})");
    ASSERT_FALSE(turn.error);
    history.OnEvent(R"({"type":"response.completed","response":{"id":"resp_big"}})");
    EXPECT_EQ(history.last_id(), "");
    // A warm-up is answered locally and can be continued from.
    turn = history.Prepare(R"({"type":"response.create","model":"m","input":"hi","generate":false})");
    EXPECT_FALSE(turn.generate);
    auto [created, completed] = history.Warmup("m");
    EXPECT_EQ(Parse(created).at("type"), "response.created");
    EXPECT_EQ(Parse(completed).at("response").at("id"), json::value(history.last_id()));
    EXPECT_FALSE(history.last_id().empty());
}

TEST(ErrorReply, ResponsesClientsGetResponseFailed) {
    const core::LocalReply r{502, "upstream_error", "upstream_stream_interrupted", "the upstream broke", {}, {}};
    const std::string event = core::StreamErrorEvent(r, "req_9", core::Dialect::kOpenAIResponses);
    ASSERT_TRUE(event.starts_with("event: response.failed\ndata: "));
    ASSERT_TRUE(event.ends_with("\n\n"));
    const json::object data = Parse(event.substr(event.find("data: ") + 6, event.size() - event.find("data: ") - 8));
    EXPECT_EQ(data.at("type"), "response.failed");
    EXPECT_EQ(data.at("response").at("status"), "failed");
    EXPECT_EQ(data.at("response").at("id"), "resp_req_9");
    EXPECT_EQ(data.at("response").at("error").at("code"), "upstream_stream_interrupted");
}
