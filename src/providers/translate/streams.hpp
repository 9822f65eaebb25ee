#pragma once
// Streams from one dialect to the other, event by event. Each keeps a few counters and the
// ids of the open blocks, never the stream: memory per stream stays flat however long it runs.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace boost::json {
class object;
}

namespace llmproxy::providers::translate {

namespace responses {
struct ResponseState;
}

/// Token counts as the translators carry them (OpenAI meaning: prompt includes cached).
struct StreamTokens {
    std::int64_t prompt = 0;
    std::int64_t completion = 0;
    std::int64_t cached = 0;
    std::int64_t cache_creation = 0;
    std::int64_t reasoning = 0;  // of completion
};

/// OpenAI chat.completion.chunk events -> Anthropic's exact event sequence: message_start,
/// content_block_start/delta/stop per text, thinking or tool_use block, message_delta (held
/// until usage is known: it comes after the finish chunk) and message_stop.
class ChatToMessagesStream {
public:
    explicit ChatToMessagesStream(std::string model) : model_(std::move(model)) {}
    /// One event's data (a chunk's JSON, [DONE], or empty for a comment: a keep-alive, sent on as
    /// a ping); the translated events are appended to `out`.
    void OnData(std::string_view data, std::string& out);
    /// The upstream ended its stream cleanly: closes the message if [DONE] did not.
    void Finish(std::string& out);

private:
    enum class Block { kNone, kText, kThinking, kTool };
    void Start(std::string_view upstream_id, std::string& out);
    void Open(Block kind, std::string& out, std::string_view tool_id = {}, std::string_view tool_name = {});
    void Close(std::string& out);
    void Delta(std::string_view type, std::string_view field, std::string_view text, int index, std::string& out);
    void ToolDelta(const boost::json::object& call, std::string& out);
    void Stop(std::string& out);

    std::string model_;
    bool started_ = false;
    bool stopped_ = false;
    Block open_ = Block::kNone;
    int open_index_ = -1;
    int next_index_ = 0;
    std::vector<std::pair<std::int64_t, int>> tools_;  // the upstream's tool index -> our block index
    std::string current_tool_id_;
    std::string finish_reason_;
    StreamTokens tokens_;
};

/// Reads an OpenAI chat usage object into `t` (fields it lacks keep their values): prompt,
/// completion, cached (OpenAI's details or DeepSeek's prompt_cache_hit_tokens), reasoning.
void ReadChatUsage(const boost::json::object& usage, StreamTokens& t);

struct ResponsesStreamOptions {
    std::string model;                         // the model name the client asked for
    std::vector<std::string> custom_tools;     // tools offered as functions that were `custom` tools
    std::size_t max_output_bytes = 16u << 20;  // the output items kept for the done events
};

/// OpenAI chat.completion.chunk events -> the Responses API's event sequence: response.created
/// and .in_progress, then per output item (reasoning, message, function_call or
/// custom_tool_call) its added / delta / done events, and last response.completed (or
/// .incomplete, or .failed on an error). Unlike the other streams, Responses' done events repeat
/// each item whole, so the open items' text is kept, up to `max_output_bytes`.
class ChatToResponsesStream {
public:
    explicit ChatToResponsesStream(ResponsesStreamOptions options);
    void OnData(std::string_view data, std::string& out);
    void Finish(std::string& out);
    /// The stream broke after it started: response.failed with this error, then nothing more.
    void Fail(std::string_view code, std::string_view message, std::string& out);

private:
    enum class Kind { kMessage, kReasoning, kFunction, kCustom };
    struct Item {
        Kind kind;
        int output_index;
        std::int64_t upstream_index;  // the chat tool call's index (tools only)
        std::string id, call_id, name, text;
    };
    void Emit(std::string_view type, std::string_view fields, std::string& out);
    void Start(std::string& out);
    Item Open(Kind kind, std::string& out, std::int64_t upstream_index = -1, std::string_view call_id = {},
              std::string_view name = {});
    void Close(Item& item, std::string& out);
    void CloseText(std::string& out);
    void Append(Item& item, std::string_view delta, std::string& out);
    void ToolDelta(const boost::json::object& call, std::string& out);
    void Stop(std::string& out);
    bool OverCap(std::size_t more);
    std::string ItemRef(const Item& item) const;
    responses::ResponseState State(std::string_view status) const;

    ResponsesStreamOptions options_;
    std::string id_;
    std::int64_t created_ = 0;
    std::int64_t sequence_ = 0;
    bool started_ = false;
    bool stopped_ = false;
    Item text_{};  // the open message or reasoning item
    bool text_open_ = false;
    std::vector<Item> tools_;  // the open tool calls (closed together at the end)
    int next_output_ = 0;
    std::string done_;  // the completed items' JSON, comma-joined, for the terminal event
    std::size_t kept_ = 0;
    std::string finish_reason_;
    StreamTokens tokens_;
};

/// Anthropic Messages events -> OpenAI chat.completion.chunk events, ending with a usage chunk
/// (when the client asked for one) and data: [DONE].
class MessagesToChatStream {
public:
    MessagesToChatStream(std::string model, bool include_usage)
        : model_(std::move(model)), include_usage_(include_usage) {}
    void OnEvent(std::string_view data, std::string& out);
    void Finish(std::string& out);

private:
    void Chunk(std::string_view delta_json, std::string_view finish_reason, std::string& out);
    void BlockStart(const boost::json::object& event, std::string& out);
    void BlockDelta(const boost::json::object& event, std::string& out);
    void Done(std::string& out);

    std::string model_;
    bool include_usage_;
    std::string id_ = "chatcmpl-llmproxy";
    std::int64_t created_ = 0;
    bool done_ = false;
    bool finished_ = false;                            // the finish_reason chunk was sent
    std::vector<std::pair<std::int64_t, int>> tools_;  // Anthropic block index -> OpenAI tool index
    int next_tool_ = 0;
    StreamTokens tokens_;
    std::int64_t uncached_input_ = 0;
};

}  // namespace llmproxy::providers::translate
