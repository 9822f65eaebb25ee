#include <algorithm>

#include "core/json_escape.hpp"
#include "providers/translate/common.hpp"
#include "providers/translate/streams.hpp"

namespace llmproxy::providers::translate {
namespace {

void Emit(std::string& out, std::string_view type, std::string_view data) {
    out += "event: ";
    out += type;
    out += "\ndata: ";
    out += data;
    out += "\n\n";
}

// {"input_tokens":..,...}: Anthropic's full usage object (Claude Code fails on a partial one).
std::string UsageJson(const StreamTokens& t) {
    return R"({"input_tokens":)" + std::to_string(std::max<std::int64_t>(0, t.prompt - t.cached)) +
           R"(,"cache_creation_input_tokens":0,"cache_read_input_tokens":)" + std::to_string(t.cached) +
           R"(,"output_tokens":)" + std::to_string(t.completion) + "}";
}

}  // namespace

void ChatToMessagesStream::Start(std::string_view upstream_id, std::string& out) {
    started_ = true;
    std::string data = R"({"type":"message_start","message":{"id":)";
    core::AppendJsonString(data, "msg_" + NormalizeToolId(upstream_id, 0));
    data += R"(,"type":"message","role":"assistant","model":)";
    core::AppendJsonString(data, model_);
    data += R"(,"content":[],"stop_reason":null,"stop_sequence":null,"usage":)";
    data += UsageJson(tokens_);
    data += "}}";
    Emit(out, "message_start", data);
    Emit(out, "ping", R"({"type":"ping"})");  // as Anthropic's own streams do
}

void ChatToMessagesStream::Open(Block kind, std::string& out, std::string_view tool_id, std::string_view tool_name) {
    Close(out);
    open_ = kind;
    open_index_ = next_index_++;
    std::string data =
        R"({"type":"content_block_start","index":)" + std::to_string(open_index_) + R"(,"content_block":)";
    if (kind == Block::kText) {
        data += R"({"type":"text","text":""})";
    } else if (kind == Block::kThinking) {
        data += R"({"type":"thinking","thinking":"","signature":""})";
    } else {
        data += R"({"type":"tool_use","id":)";
        core::AppendJsonString(data, tool_id);
        data += R"(,"name":)";
        core::AppendJsonString(data, tool_name);
        data += R"(,"input":{}})";
    }
    data += "}";
    Emit(out, "content_block_start", data);
}

void ChatToMessagesStream::Close(std::string& out) {
    if (open_ == Block::kNone) return;
    Emit(out, "content_block_stop", R"({"type":"content_block_stop","index":)" + std::to_string(open_index_) + "}");
    open_ = Block::kNone;
}

void ChatToMessagesStream::Delta(std::string_view type, std::string_view field, std::string_view text, int index,
                                 std::string& out) {
    std::string data = R"({"type":"content_block_delta","index":)" + std::to_string(index) + R"(,"delta":{"type":")";
    data += type;
    data += R"(",")";
    data += field;
    data += R"(":)";
    core::AppendJsonString(data, text);
    data += "}}";
    Emit(out, "content_block_delta", data);
}

// One entry of delta.tool_calls. Upstreams that omit `index` (Gemini, older Ollama) are read by
// id: a new id is a new call.
void ChatToMessagesStream::ToolDelta(const json::object& call, std::string& out) {
    const auto id = StringOf(call, "id");
    std::int64_t index = IntOf(call, "index", -1);
    if (index < 0) {
        const bool new_call = tools_.empty() || (!id.empty() && id != current_tool_id_);
        index = new_call ? static_cast<std::int64_t>(tools_.size()) : tools_.back().first;
    }
    const json::object* function = ObjectOf(call, "function");
    auto found = std::find_if(tools_.begin(), tools_.end(), [&](const auto& t) { return t.first == index; });
    int block;
    if (found == tools_.end()) {
        current_tool_id_ = id;
        const std::string tool_id = id.empty() ? "toolu_" + std::to_string(next_index_) : NormalizeToolId(id, 0);
        Open(Block::kTool, out, tool_id, function ? StringOf(*function, "name") : std::string_view());
        tools_.emplace_back(index, open_index_);
        block = open_index_;
    } else {
        block = found->second;
    }
    if (auto args = function ? StringOf(*function, "arguments") : std::string_view(); !args.empty())
        Delta("input_json_delta", "partial_json", args, block, out);
}

void ChatToMessagesStream::OnData(std::string_view data, std::string& out) {
    if (stopped_) return;
    if (data.empty()) {  // an SSE comment (a keep-alive): Anthropic's keep-alive is a ping
        if (started_) Emit(out, "ping", R"({"type":"ping"})");
        return;
    }
    if (data == "[DONE]") {
        Stop(out);
        return;
    }
    unsigned char scratch[4096];  // most chunks parse without touching the heap
    json::monotonic_resource memory(scratch, sizeof scratch);
    boost::system::error_code ec;
    json::value v = json::parse(data, ec, &memory);
    if (ec || !v.is_object()) return;  // not JSON: nothing a client could use
    const json::object& chunk = v.get_object();
    if (const json::object* error = ObjectOf(chunk, "error")) {  // a mid-stream error (OpenRouter, vLLM)
        std::string e = R"({"type":"error","error":{"type":"api_error","message":)";
        core::AppendJsonString(e, StringOf(*error, "message"));
        e += "}}";
        Emit(out, "error", e);
        stopped_ = true;
        return;
    }
    if (!started_) Start(StringOf(chunk, "id"), out);
    if (const json::object* usage = ObjectOf(chunk, "usage")) ReadChatUsage(*usage, tokens_);
    const json::array* choices = ArrayOf(chunk, "choices");
    if (!choices || choices->empty() || !(*choices)[0].is_object()) return;
    const json::object& choice = (*choices)[0].get_object();
    if (const json::object* usage = ObjectOf(choice, "usage")) ReadChatUsage(*usage, tokens_);  // Moonshot
    if (const json::object* delta = ObjectOf(choice, "delta")) {
        auto reasoning = StringOf(*delta, "reasoning_content");
        if (reasoning.empty()) reasoning = StringOf(*delta, "reasoning");
        if (!reasoning.empty()) {
            if (open_ != Block::kThinking) Open(Block::kThinking, out);
            Delta("thinking_delta", "thinking", reasoning, open_index_, out);
        }
        if (auto text = StringOf(*delta, "content"); !text.empty()) {  // empty strings are skipped
            if (open_ != Block::kText) Open(Block::kText, out);
            Delta("text_delta", "text", text, open_index_, out);
        }
        if (const json::array* calls = ArrayOf(*delta, "tool_calls")) {
            for (const auto& c : *calls) {
                if (c.is_object()) ToolDelta(c.get_object(), out);
            }
        }
    }
    if (auto finish = StringOf(choice, "finish_reason"); !finish.empty()) {
        finish_reason_ = finish;
        Close(out);  // message_delta waits for the usage chunk that follows
    }
}

void ChatToMessagesStream::Stop(std::string& out) {
    if (stopped_) return;
    if (!started_) Start({}, out);
    Close(out);
    std::string data = R"({"type":"message_delta","delta":{"stop_reason":")";
    data += StopReasonOf(finish_reason_, !tools_.empty());
    data += R"(","stop_sequence":null},"usage":)";
    data += UsageJson(tokens_);
    data += "}";
    Emit(out, "message_delta", data);
    Emit(out, "message_stop", R"({"type":"message_stop"})");
    stopped_ = true;
}

void ChatToMessagesStream::Finish(std::string& out) {
    Stop(out);
}

}  // namespace llmproxy::providers::translate
