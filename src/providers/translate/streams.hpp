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

/// Token counts as the translators carry them (OpenAI meaning: prompt includes cached).
struct StreamTokens {
    std::int64_t prompt = 0;
    std::int64_t completion = 0;
    std::int64_t cached = 0;
    std::int64_t cache_creation = 0;
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
