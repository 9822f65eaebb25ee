// Golden tests of the translators between OpenAI chat and Anthropic Messages
// (providers/translate): requests, whole bodies, errors and streams, with fixtures written from
// the vendors' API references (../shared/research/providers.md sections 1-2).
#include <gtest/gtest.h>

#include <algorithm>

#include <boost/json.hpp>

#include "core/error_reply.hpp"
#include "providers/translate/bodies.hpp"
#include "providers/translate/requests.hpp"
#include "providers/translate/streams.hpp"
#include "usage/usage.hpp"

using namespace llmproxy;
using namespace llmproxy::providers::translate;
namespace json = boost::json;

namespace {

json::object Parse(const std::string& s) {
    return json::parse(s).as_object();
}

// The event names of an Anthropic stream, in order.
std::vector<std::string> EventNames(const std::string& stream) {
    std::vector<std::string> names;
    for (std::size_t at = stream.find("event: "); at != std::string::npos; at = stream.find("event: ", at + 1))
        names.push_back(stream.substr(at + 7, stream.find('\n', at) - at - 7));
    return names;
}

// The data of each event of a stream.
std::vector<json::value> EventData(const std::string& stream) {
    std::vector<json::value> data;
    for (std::size_t at = stream.find("data: "); at != std::string::npos; at = stream.find("data: ", at + 1)) {
        const std::string d = stream.substr(at + 6, stream.find('\n', at) - at - 6);
        data.push_back(d == "[DONE]" ? json::value("[DONE]") : json::parse(d));
    }
    return data;
}

}  // namespace

TEST(MessagesToChatRequest, MapsEveryPartOfAClaudeCodeConversation) {
    const std::string in = R"({
      "model":"claude-sonnet-4","max_tokens":32000,"stream":true,"top_k":5,
      "system":[{"type":"text","text":"You are Claude Code.","cache_control":{"type":"ephemeral"}},{"type":"text","text":"Be brief."}],
      "metadata":{"user_id":"user_abc_session_1"},
      "stop_sequences":["END","  "],
      "thinking":{"type":"enabled","budget_tokens":1024},
      "tools":[{"name":"Bash","description":"run","input_schema":{"type":"object","properties":{"command":{"type":"string"}}}},
               {"type":"web_search_20250305","name":"web_search"}],
      "tool_choice":{"type":"any","disable_parallel_tool_use":true},
      "messages":[
        {"role":"user","content":[{"type":"text","text":"look"},{"type":"text","text":""},
          {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}},
          {"type":"image","source":{"type":"url","url":"https://x/y.png"}}]},
        {"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"s"},{"type":"text","text":"Running."},
          {"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"ls"}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"a.txt"}]},
          {"type":"text","text":"and now?"}]}]})";
    auto out = MessagesToChatRequest(in, {.upstream_model = "qwen3", .max_tokens_cap = 8192});
    ASSERT_FALSE(out.error);
    const auto chat = Parse(out.body);
    EXPECT_EQ(chat.at("model"), "qwen3");
    EXPECT_EQ(chat.at("max_tokens"), 8192);  // clamped to what the provider serves
    EXPECT_EQ(chat.at("stream"), true);
    EXPECT_EQ(chat.at("stream_options").at("include_usage"), true);
    EXPECT_FALSE(chat.contains("top_k"));
    EXPECT_EQ(chat.at("stop"), json::array{"END"});  // whitespace-only dropped
    EXPECT_EQ(chat.at("user"), "user_abc_session_1");
    EXPECT_EQ(chat.at("reasoning_effort"), "low");
    EXPECT_EQ(chat.at("tool_choice"), "required");
    EXPECT_EQ(chat.at("parallel_tool_calls"), false);
    ASSERT_EQ(chat.at("tools").as_array().size(), 1u);  // the server tool is Anthropic's own
    EXPECT_EQ(chat.at("tools").at(0).at("function").at("name"), "Bash");
    EXPECT_EQ(chat.at("tools").at(0).at("function").at("parameters").at("type"), "object");

    const auto& m = chat.at("messages").as_array();
    ASSERT_EQ(m.size(), 5u);
    EXPECT_EQ(m[0].at("role"), "system");
    EXPECT_EQ(m[0].at("content"), "You are Claude Code.\nBe brief.");
    EXPECT_EQ(m[1].at("role"), "user");
    const auto& parts = m[1].at("content").as_array();
    ASSERT_EQ(parts.size(), 3u);  // the empty text block is gone
    EXPECT_EQ(parts[1].at("image_url").at("url"), "data:image/png;base64,AAAA");
    EXPECT_EQ(parts[2].at("image_url").at("url"), "https://x/y.png");
    EXPECT_EQ(m[2].at("role"), "assistant");
    EXPECT_EQ(m[2].at("content"), "Running.");  // the thinking block is not replayed
    EXPECT_EQ(m[2].at("tool_calls").at(0).at("id"), "toolu_1");
    EXPECT_EQ(json::parse(m[2].at("tool_calls").at(0).at("function").at("arguments").as_string()),
              json::parse(R"({"command":"ls"})"));
    // The tool's result first (it must follow the call), then the user's text.
    EXPECT_EQ(m[3].at("role"), "tool");
    EXPECT_EQ(m[3].at("tool_call_id"), "toolu_1");
    EXPECT_EQ(m[3].at("content"), "a.txt");
    EXPECT_EQ(m[4].at("role"), "user");
    EXPECT_EQ(m[4].at("content"), "and now?");
}

TEST(MessagesToChatRequest, StructuredOutputAndRefusals) {
    auto out = MessagesToChatRequest(
        R"({"model":"c","max_tokens":10,"messages":[{"role":"user","content":"x"}],"output_config":{"format":{"type":"json_schema","schema":{"type":"object"}}}})",
        {.upstream_model = "u", .stream_usage = false});
    ASSERT_FALSE(out.error);
    const auto chat = Parse(out.body);
    EXPECT_EQ(chat.at("response_format").at("json_schema").at("schema").at("type"), "object");
    EXPECT_FALSE(chat.contains("stream_options"));
    EXPECT_TRUE(MessagesToChatRequest("[1,2]", {.upstream_model = "u"}).error);
    EXPECT_TRUE(MessagesToChatRequest(R"({"model":"c"})", {.upstream_model = "u"}).error);
}

TEST(ChatToMessagesRequest, HoistsSystemMergesToolResultsAndNormalisesIds) {
    const std::string in = R"({
      "model":"gpt","temperature":1.6,"stop":"STOP","user":"u1","parallel_tool_calls":false,
      "logprobs":true,"seed":3,"frequency_penalty":1,
      "tools":[{"type":"function","function":{"name":"get","description":"d"}}],
      "messages":[
        {"role":"system","content":"sys"},
        {"role":"developer","content":[{"type":"text","text":"dev","cache_control":{"type":"ephemeral"}}]},
        {"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,QUJD"}}]},
        {"role":"assistant","content":"","tool_calls":[
          {"id":"functions.get:0","type":"function","function":{"name":"get","arguments":"{\"a\":1}"}},
          {"id":"call_2","type":"function","function":{"name":"get","arguments":"not json"}}]},
        {"role":"tool","tool_call_id":"functions.get:0","content":"one"},
        {"role":"tool","tool_call_id":"call_2","content":"two"},
        {"role":"user","content":"thanks"}]})";
    auto out = ChatToMessagesRequest(in, {.upstream_model = "claude-sonnet-4"});
    ASSERT_FALSE(out.error);
    const auto req = Parse(out.body);
    EXPECT_EQ(req.at("model"), "claude-sonnet-4");
    EXPECT_EQ(req.at("max_tokens"), 4096);  // Anthropic requires one
    EXPECT_EQ(req.at("temperature"), 1.0);  // clamped to Anthropic's range
    EXPECT_EQ(req.at("stop_sequences"), json::array{"STOP"});
    EXPECT_EQ(req.at("metadata").at("user_id"), "u1");
    for (const char* dropped : {"logprobs", "seed", "frequency_penalty", "user", "stop", "parallel_tool_calls"})
        EXPECT_FALSE(req.contains(dropped)) << dropped;
    const auto& system = req.at("system").as_array();
    ASSERT_EQ(system.size(), 2u);
    EXPECT_EQ(system[1].at("cache_control").at("type"), "ephemeral");
    EXPECT_EQ(req.at("tools").at(0).at("input_schema").at("type"), "object");  // a function without parameters
    EXPECT_EQ(req.at("tool_choice").at("disable_parallel_tool_use"), true);

    const auto& m = req.at("messages").as_array();
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[0].at("content").at(1).at("source").at("media_type"), "image/jpeg");
    EXPECT_EQ(m[0].at("content").at(1).at("source").at("data"), "QUJD");
    const auto& calls = m[1].at("content").as_array();
    ASSERT_EQ(calls.size(), 2u);  // the empty text is not sent
    EXPECT_EQ(calls[0].at("id"), "functions_get_0");
    EXPECT_EQ(calls[0].at("input").at("a"), 1);
    EXPECT_EQ(calls[1].at("input"), json::object());  // unparsable arguments: an empty object
    // Both results and the user's text are one user turn, right after the calls.
    const auto& results = m[2].at("content").as_array();
    ASSERT_EQ(results.size(), 3u);
    EXPECT_EQ(results[0].at("tool_use_id"), "functions_get_0");
    EXPECT_EQ(results[1].at("content"), "two");
    EXPECT_EQ(results[2].at("text"), "thanks");
}

TEST(ChatToMessagesRequest, ReasoningFormatAndRefusals) {
    auto out = ChatToMessagesRequest(
        R"({"model":"g","max_tokens":100,"reasoning_effort":"high","messages":[{"role":"user","content":"x"}],
            "response_format":{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"object"}}},"stream":true})",
        {.upstream_model = "c"});
    ASSERT_FALSE(out.error);
    const auto req = Parse(out.body);
    EXPECT_EQ(req.at("thinking").at("budget_tokens"), 4096);
    EXPECT_GT(req.at("max_tokens").as_int64(), 4096);  // the budget must fit under it
    EXPECT_EQ(req.at("output_config").at("format").at("schema").at("type"), "object");
    EXPECT_EQ(req.at("stream"), true);
    auto n = ChatToMessagesRequest(R"({"model":"g","n":2,"messages":[]})", {.upstream_model = "c"});
    ASSERT_TRUE(n.error);
    EXPECT_EQ(n.error->param, "n");
}

TEST(TranslateBodies, ChatCompletionToMessage) {
    const std::string chat =
        R"({"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"finish_reason":"tool_calls",
      "message":{"role":"assistant","content":"ok","reasoning_content":"think","tool_calls":[{"id":"functions.f:0","type":"function","function":{"name":"f","arguments":"{\"x\":2}"}}]}}],
      "usage":{"prompt_tokens":100,"completion_tokens":7,"total_tokens":107,"prompt_tokens_details":{"cached_tokens":60}}})";
    const auto msg = Parse(ChatToMessageBody(chat, "claude-local"));
    EXPECT_EQ(msg.at("type"), "message");
    EXPECT_EQ(msg.at("model"), "claude-local");
    EXPECT_EQ(msg.at("stop_reason"), "tool_use");
    EXPECT_TRUE(msg.at("stop_sequence").is_null());
    const auto& content = msg.at("content").as_array();
    ASSERT_EQ(content.size(), 3u);
    EXPECT_EQ(content[0].at("type"), "thinking");
    EXPECT_EQ(content[1].at("text"), "ok");
    EXPECT_EQ(content[2].at("id"), "functions_f_0");
    EXPECT_EQ(content[2].at("input").at("x"), 2);
    EXPECT_EQ(msg.at("usage").at("input_tokens"), 40);  // uncached input
    EXPECT_EQ(msg.at("usage").at("cache_read_input_tokens"), 60);
    EXPECT_EQ(msg.at("usage").at("output_tokens"), 7);
    // Not a completion: an Anthropic error body, never a crash.
    EXPECT_EQ(Parse(ChatToMessageBody("garbage", "m")).at("type"), "error");
}

TEST(TranslateBodies, MessageToChatCompletion) {
    const std::string message =
        R"({"id":"msg_1","type":"message","role":"assistant","model":"claude","stop_reason":"max_tokens",
      "content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"a"},{"type":"text","text":"b"},
                 {"type":"tool_use","id":"toolu_9","name":"f","input":{"k":[1]}}],
      "usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":30,"cache_creation_input_tokens":4}})";
    bool ok = false;
    const auto chat = Parse(MessageToChatBody(message, "gpt-claude", ok));
    ASSERT_TRUE(ok);
    EXPECT_EQ(chat.at("object"), "chat.completion");
    EXPECT_EQ(chat.at("model"), "gpt-claude");
    const auto& choice = chat.at("choices").at(0);
    EXPECT_EQ(choice.at("finish_reason"), "length");
    EXPECT_EQ(choice.at("message").at("content"), "ab");
    EXPECT_EQ(choice.at("message").at("reasoning_content"), "t");
    EXPECT_EQ(choice.at("message").at("tool_calls").at(0).at("id"), "toolu_9");
    EXPECT_EQ(json::parse(choice.at("message").at("tool_calls").at(0).at("function").at("arguments").as_string()),
              json::parse(R"({"k":[1]})"));
    // prompt_tokens is all input, cache reads and writes included.
    EXPECT_EQ(chat.at("usage").at("prompt_tokens"), 44);
    EXPECT_EQ(chat.at("usage").at("prompt_tokens_details").at("cached_tokens"), 30);
    EXPECT_EQ(chat.at("usage").at("total_tokens"), 49);
}

TEST(TranslateBodies, ErrorsInTheClientsShape) {
    const auto a = Parse(ErrorToAnthropic(R"({"error":{"message":"bad","type":"invalid_request_error"}})", 400));
    EXPECT_EQ(a.at("type"), "error");
    EXPECT_EQ(a.at("error").at("type"), "invalid_request_error");
    EXPECT_EQ(a.at("error").at("message"), "bad");
    EXPECT_EQ(Parse(ErrorToAnthropic(R"({"error":"model not found"})", 404)).at("error").at("message"),
              "model not found");  // Ollama's shape
    EXPECT_EQ(Parse(ErrorToAnthropic("<html>oops</html>", 503)).at("error").at("type"), "overloaded_error");
    const auto o =
        Parse(ErrorToOpenAI(R"({"type":"error","error":{"type":"rate_limit_error","message":"slow"}})", 429));
    EXPECT_EQ(o.at("error").at("type"), "rate_limit_error");
    EXPECT_EQ(o.at("error").at("message"), "slow");
    EXPECT_EQ(Parse(ErrorToOpenAI(R"({"type":"error","error":{"type":"overloaded_error","message":"o"}})", 529))
                  .at("error")
                  .at("type"),
              "server_error");
}

TEST(ChatToMessagesStream, TextThenToolCallThenUsage) {
    ChatToMessagesStream stream("claude-local");
    std::string out;
    for (
        const char* chunk :
        {R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})",
         R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"reasoning_content":"plan"}}]})",
         R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Hi"}}],"usage":null})",
         R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"!"}}]})",
         R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"functions.Bash:0","type":"function","function":{"name":"Bash","arguments":""}}]}}]})",
         R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"c\":"}}]}}]})",
         R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"1}"}}]}}]})",
         R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})",
         R"({"id":"chatcmpl-1","choices":[],"usage":{"prompt_tokens":50,"completion_tokens":9,"prompt_tokens_details":{"cached_tokens":20}}})",
         "[DONE]"})
        stream.OnData(chunk, out);
    EXPECT_EQ(EventNames(out),
              (std::vector<std::string>{"message_start", "ping", "content_block_start", "content_block_delta",
                                        "content_block_stop", "content_block_start", "content_block_delta",
                                        "content_block_delta", "content_block_stop", "content_block_start",
                                        "content_block_delta", "content_block_delta", "content_block_stop",
                                        "message_delta", "message_stop"}));
    const auto data = EventData(out);
    EXPECT_EQ(data[0].at("message").at("model"), "claude-local");
    EXPECT_EQ(data[0].at("message").at("usage").at("input_tokens"), 0);  // a full usage object from the start
    EXPECT_TRUE(data[0].at("message").at("stop_sequence").is_null());
    EXPECT_EQ(data[2].at("content_block").at("type"), "thinking");
    EXPECT_EQ(data[3].at("delta").at("thinking"), "plan");
    EXPECT_EQ(data[5].at("content_block").at("type"), "text");
    EXPECT_EQ(data[5].at("index"), 1);
    EXPECT_EQ(data[9].at("content_block").at("id"), "functions_Bash_0");
    EXPECT_EQ(data[9].at("content_block").at("name"), "Bash");
    EXPECT_EQ(data[10].at("delta").at("partial_json"), "{\"c\":");
    EXPECT_EQ(data[13].at("delta").at("stop_reason"), "tool_use");
    EXPECT_EQ(data[13].at("usage").at("input_tokens"), 30);
    EXPECT_EQ(data[13].at("usage").at("cache_read_input_tokens"), 20);
    EXPECT_EQ(data[13].at("usage").at("output_tokens"), 9);
}

TEST(ChatToMessagesStream, ToolCallsWithoutIndexAndAnEndWithoutDone) {
    ChatToMessagesStream stream("m");
    std::string out;
    // Gemini and older Ollama: no index; a new id is a new call. Then the stream just ends.
    for (const char* chunk :
         {R"({"id":"x","choices":[{"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{}"}}]}}]})",
          R"({"id":"x","choices":[{"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{"}}]}}]})",
          R"({"id":"x","choices":[{"delta":{"tool_calls":[{"function":{"arguments":"}"}}]}}]})",
          R"({"id":"x","choices":[{"delta":{},"finish_reason":"stop"}]})", ": keep-alive", "not json",
          ""})  // an SSE comment's (empty) data: a keep-alive
        stream.OnData(chunk, out);
    stream.Finish(out);
    const auto data = EventData(out);
    const auto names = EventNames(out);
    EXPECT_EQ(names.back(), "message_stop");
    int tool_blocks = 0;
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == "content_block_start") ++tool_blocks;
    EXPECT_EQ(tool_blocks, 2);
    EXPECT_EQ(std::count(names.begin(), names.end(), "ping"), 2);  // after message_start, and the keep-alive
    EXPECT_EQ(data[data.size() - 2].at("delta").at("stop_reason"), "tool_use");  // "stop" after tool calls
    std::string again;
    stream.Finish(again);
    EXPECT_TRUE(again.empty());  // closed once
}

TEST(ChatToMessagesStream, AnUpstreamErrorBecomesAnErrorEvent) {
    ChatToMessagesStream stream("m");
    std::string out;
    stream.OnData(R"({"id":"x","choices":[{"delta":{"content":"a"}}]})", out);
    stream.OnData(R"({"error":{"message":"overloaded","code":503}})", out);
    stream.OnData(R"({"id":"x","choices":[{"delta":{"content":"b"}}]})", out);
    stream.Finish(out);
    const auto names = EventNames(out);
    EXPECT_EQ(names.back(), "error");
    EXPECT_EQ(EventData(out).back().at("error").at("message"), "overloaded");
}

TEST(MessagesToChatStream, AnthropicEventsBecomeChunks) {
    MessagesToChatStream stream("gpt-claude", true);
    std::string out;
    for (
        const char* event :
        {R"({"type":"message_start","message":{"id":"msg_1","usage":{"input_tokens":10,"cache_read_input_tokens":5,"cache_creation_input_tokens":1,"output_tokens":1}}})",
         R"({"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}})",
         R"({"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"t"}})",
         R"({"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"s"}})",
         R"({"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}})", R"({"type":"ping"})",
         R"({"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hello"}})",
         R"({"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}})",
         R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}})",
         R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"a\":1}"}})",
         R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":12}})",
         R"({"type":"message_stop"})"})
        stream.OnEvent(event, out);
    const auto data = EventData(out);
    ASSERT_EQ(data.size(), 8u);
    EXPECT_EQ(data[0].at("id"), "chatcmpl-msg_1");
    EXPECT_EQ(data[0].at("choices").at(0).at("delta").at("role"), "assistant");
    EXPECT_EQ(data[1].at("choices").at(0).at("delta").at("reasoning_content"), "t");
    EXPECT_EQ(data[2].at("choices").at(0).at("delta").at("content"), "Hello");
    const auto& call = data[3].at("choices").at(0).at("delta").at("tool_calls").at(0);
    EXPECT_EQ(call.at("index"), 0);  // the first tool call, though Anthropic's block 2
    EXPECT_EQ(call.at("id"), "toolu_1");
    EXPECT_EQ(data[4].at("choices").at(0).at("delta").at("tool_calls").at(0).at("function").at("arguments"),
              "{\"a\":1}");
    EXPECT_EQ(data[5].at("choices").at(0).at("finish_reason"), "tool_calls");
    EXPECT_TRUE(data[6].at("choices").as_array().empty());
    EXPECT_EQ(data[6].at("usage").at("prompt_tokens"), 16);
    EXPECT_EQ(data[6].at("usage").at("completion_tokens"), 12);
    EXPECT_EQ(data[6].at("usage").at("prompt_tokens_details").at("cached_tokens"), 5);
    EXPECT_EQ(data[7], "[DONE]");
}

TEST(MessagesToChatStream, ErrorEventAndCleanEndWithoutStop) {
    MessagesToChatStream errored("m", false);
    std::string out;
    errored.OnEvent(R"({"type":"message_start","message":{"id":"msg_1"}})", out);
    errored.OnEvent(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", out);
    errored.Finish(out);
    EXPECT_NE(out.find(R"("error":{"message":"Overloaded","type":"overloaded_error"})"), std::string::npos);
    EXPECT_EQ(out.find("[DONE]"), std::string::npos);  // never an invented end after an error

    MessagesToChatStream cut("m", false);
    std::string ended;
    cut.OnEvent(R"({"type":"message_start","message":{"id":"msg_1"}})", ended);
    cut.Finish(ended);
    EXPECT_NE(ended.find(R"("finish_reason":"stop")"), std::string::npos);
    EXPECT_NE(ended.find("data: [DONE]"), std::string::npos);
    EXPECT_EQ(ended.find("usage"), std::string::npos);  // not asked for
}

TEST(UsageMerge, AnAnthropicStreamsReportsAddUp) {
    usage::Usage u;
    auto start = usage::ParseUsageReport(
        R"({"type":"message_start","message":{"usage":{"input_tokens":849,"cache_creation_input_tokens":10,"cache_read_input_tokens":100,"output_tokens":1}}})");
    ASSERT_TRUE(start);
    u.Merge(*start);
    auto delta = usage::ParseUsageReport(R"({"type":"message_delta","usage":{"output_tokens":47}})");
    ASSERT_TRUE(delta);
    u.Merge(*delta);
    EXPECT_EQ(u.prompt_tokens, 959);  // the input of message_start is kept
    EXPECT_EQ(u.completion_tokens, 47);
    EXPECT_EQ(u.cached_tokens, 100);
    EXPECT_EQ(u.cache_creation_tokens, 10);
    EXPECT_EQ(u.total_tokens, 1006);
}

TEST(UsageMerge, OpenAIDetailsDeepSeekAndResponses) {
    auto openai = usage::ParseUsage(
        R"({"usage":{"prompt_tokens":100,"completion_tokens":50,"total_tokens":150,"prompt_tokens_details":{"cached_tokens":80},"completion_tokens_details":{"reasoning_tokens":30}}})");
    ASSERT_TRUE(openai);
    EXPECT_EQ(openai->prompt_tokens, 100);  // cached tokens are part of the prompt
    EXPECT_EQ(openai->cached_tokens, 80);
    EXPECT_EQ(openai->reasoning_tokens, 30);
    EXPECT_EQ(openai->total_tokens, 150);
    auto deepseek =
        usage::ParseUsage(R"({"usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_cache_hit_tokens":6}})");
    EXPECT_EQ(deepseek->cached_tokens, 6);
    auto responses = usage::ParseUsage(
        R"({"type":"response.completed","response":{"usage":{"input_tokens":20,"input_tokens_details":{"cached_tokens":5},"output_tokens":3}}})");
    ASSERT_TRUE(responses);
    EXPECT_EQ(responses->prompt_tokens, 20);  // Responses' input_tokens includes the cached ones
    EXPECT_EQ(responses->cached_tokens, 5);
}

TEST(ErrorReply, AnthropicShapeForAnthropicClients) {
    const core::LocalReply r{401, "invalid_request_error", "invalid_api_key", "bad key", {}, {}};
    const auto body = json::parse(core::ErrorBody(r, "req_1", core::Dialect::kAnthropic)).as_object();
    EXPECT_EQ(body.at("type"), "error");
    EXPECT_EQ(body.at("error").at("type"), "authentication_error");
    EXPECT_EQ(body.at("error").at("message"), "bad key");
    EXPECT_EQ(body.at("request_id"), "req_1");
    EXPECT_EQ(core::AnthropicErrorType(429), "rate_limit_error");
    EXPECT_EQ(core::AnthropicErrorType(413), "request_too_large");
    EXPECT_EQ(core::AnthropicErrorType(503), "overloaded_error");
    const std::string event = core::StreamErrorEvent(r, "req_1", core::Dialect::kAnthropic);
    EXPECT_TRUE(event.starts_with("event: error\ndata: {\"type\":\"error\""));
}

TEST(TranslateStreams, AbsurdTokenCountsAreClampedNotOverflowed) {
    // Found by fuzz.messages_to_chat: a 38-digit input_tokens (a double) cast to int64 was UB.
    MessagesToChatStream stream("m", true);
    std::string out;
    stream.OnEvent(
        R"({"type":"message_start","message":{"id":"m","usage":{"input_tokens":3111111111111111111111111111111111111111,)"
        R"("cache_read_input_tokens":9223372036854775807,"cache_creation_input_tokens":18446744073709551615}}})",
        out);
    stream.OnEvent(R"({"type":"message_stop"})", out);
    const auto data = EventData(out);
    const auto prompt = data[data.size() - 2].at("usage").at("prompt_tokens").as_int64();
    EXPECT_EQ(prompt, 3 * (std::int64_t{1} << 53));
    auto u = usage::ParseUsage(
        R"({"usage":{"input_tokens":9223372036854775807,"cache_read_input_tokens":9223372036854775807}})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->prompt_tokens, 2 * (std::int64_t{1} << 53));
}
