#include <ctime>

#include "core/json_escape.hpp"
#include "providers/translate/common.hpp"
#include "providers/translate/streams.hpp"

namespace llmproxy::providers::translate {
namespace {

void ReadTokens(const json::object& usage, StreamTokens& t, std::int64_t& uncached_input) {
    uncached_input = IntOf(usage, "input_tokens", uncached_input);
    t.completion = IntOf(usage, "output_tokens", t.completion);
    t.cached = IntOf(usage, "cache_read_input_tokens", t.cached);
    t.cache_creation = IntOf(usage, "cache_creation_input_tokens", t.cache_creation);
    t.prompt = uncached_input + t.cached + t.cache_creation;
}

}  // namespace

void MessagesToChatStream::Chunk(std::string_view delta_json, std::string_view finish_reason, std::string& out) {
    out += R"(data: {"id":)";
    core::AppendJsonString(out, id_);
    out += R"(,"object":"chat.completion.chunk","created":)";
    out += std::to_string(created_);
    out += R"(,"model":)";
    core::AppendJsonString(out, model_);
    out += R"(,"choices":[{"index":0,"delta":)";
    out += delta_json;
    out += R"(,"finish_reason":)";
    core::AppendJsonStringOrNull(out, finish_reason);
    out += "}]}\n\n";
}

void MessagesToChatStream::Done(std::string& out) {
    if (done_) return;
    if (!finished_) Chunk("{}", "stop", out);
    if (include_usage_) {
        out += R"(data: {"id":)";
        core::AppendJsonString(out, id_);
        out += R"(,"object":"chat.completion.chunk","created":)" + std::to_string(created_) + R"(,"model":)";
        core::AppendJsonString(out, model_);
        out += R"(,"choices":[],"usage":{"prompt_tokens":)" + std::to_string(tokens_.prompt) +
               R"(,"completion_tokens":)" + std::to_string(tokens_.completion) + R"(,"total_tokens":)" +
               std::to_string(tokens_.prompt + tokens_.completion) + R"(,"prompt_tokens_details":{"cached_tokens":)" +
               std::to_string(tokens_.cached) + R"(},"cache_creation_input_tokens":)" +
               std::to_string(tokens_.cache_creation) + "}}\n\n";
    }
    out += "data: [DONE]\n\n";
    done_ = true;
}

void MessagesToChatStream::OnEvent(std::string_view data, std::string& out) {
    if (done_ || data.empty()) return;
    unsigned char scratch[4096];  // most events parse without touching the heap
    json::monotonic_resource memory(scratch, sizeof scratch);
    boost::system::error_code ec;
    json::value v = json::parse(data, ec, &memory);
    if (ec || !v.is_object()) return;
    const json::object& event = v.get_object();
    const auto type = StringOf(event, "type");
    if (type == "message_start") {
        created_ = std::time(nullptr);
        if (const json::object* message = ObjectOf(event, "message")) {
            if (auto id = StringOf(*message, "id"); !id.empty()) id_ = "chatcmpl-" + std::string(id);
            if (const json::object* usage = ObjectOf(*message, "usage")) ReadTokens(*usage, tokens_, uncached_input_);
        }
        Chunk(R"({"role":"assistant","content":""})", {}, out);
    } else if (type == "content_block_start") {
        BlockStart(event, out);
    } else if (type == "content_block_delta") {
        BlockDelta(event, out);
    } else if (type == "message_delta") {
        if (const json::object* usage = ObjectOf(event, "usage")) ReadTokens(*usage, tokens_, uncached_input_);
        const json::object* d = ObjectOf(event, "delta");
        Chunk("{}", FinishReasonOf(d ? StringOf(*d, "stop_reason") : std::string_view()), out);
        finished_ = true;
    } else if (type == "message_stop") {
        Done(out);
    } else if (type == "error") {
        const json::object* error = ObjectOf(event, "error");
        out += R"(data: {"error":{"message":)";
        core::AppendJsonString(out, error ? StringOf(*error, "message") : std::string_view("upstream error"));
        out += R"(,"type":)";
        core::AppendJsonString(out, error ? StringOf(*error, "type") : std::string_view("api_error"));
        out += "}}\n\n";
        done_ = true;
    }
}

// A tool_use block opens a tool call; its index is the ordinal among tool calls, not the block's.
void MessagesToChatStream::BlockStart(const json::object& event, std::string& out) {
    const json::object* block = ObjectOf(event, "content_block");
    if (!block || StringOf(*block, "type") != "tool_use") return;
    const int k = next_tool_++;
    tools_.emplace_back(IntOf(event, "index"), k);
    std::string delta = R"({"tool_calls":[{"index":)" + std::to_string(k) + R"(,"id":)";
    core::AppendJsonString(delta, StringOf(*block, "id"));
    delta += R"(,"type":"function","function":{"name":)";
    core::AppendJsonString(delta, StringOf(*block, "name"));
    delta += R"(,"arguments":""}}]})";
    Chunk(delta, {}, out);
}

void MessagesToChatStream::BlockDelta(const json::object& event, std::string& out) {
    const json::object* d = ObjectOf(event, "delta");
    if (!d) return;
    const auto kind = StringOf(*d, "type");
    std::string delta;
    if (kind == "text_delta") {
        delta = R"({"content":)";
        core::AppendJsonString(delta, StringOf(*d, "text"));
    } else if (kind == "thinking_delta") {
        delta = R"({"reasoning_content":)";
        core::AppendJsonString(delta, StringOf(*d, "thinking"));
    } else if (kind == "input_json_delta") {
        const std::int64_t index = IntOf(event, "index");
        int k = -1;
        for (const auto& [block, tool] : tools_)
            if (block == index) k = tool;
        if (k < 0 || StringOf(*d, "partial_json").empty()) return;
        delta = R"({"tool_calls":[{"index":)" + std::to_string(k) + R"(,"function":{"arguments":)";
        core::AppendJsonString(delta, StringOf(*d, "partial_json"));
        delta += "}}]";
    } else {
        return;  // signature_delta, citations_delta: nothing in chat's dialect
    }
    delta += "}";
    Chunk(delta, {}, out);
}

void MessagesToChatStream::Finish(std::string& out) {
    Done(out);
}

}  // namespace llmproxy::providers::translate
