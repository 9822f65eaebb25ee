#pragma once
// Incremental SSE event framing (WHATWG "text/event-stream"): tells where complete events end
// so that the relay forwards whole events only. A partial event is held until its blank line
// arrives; it is useless to a client anyway, and holding it lets the gateway end a broken
// stream with a clean error event instead of a half-written one.
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace llmproxy::sse {

class SseFramer {
public:
    SseFramer() = default;
    SseFramer(SseFramer&&) = default;
    SseFramer& operator=(SseFramer&&) = default;
    ~SseFramer();  // gives its buffers back for the thread's next stream (core/string_pool)

    /// Feeds `data` (the next bytes of the stream). Returns the bytes of every event completed
    /// by this call, in order and byte-exact (terminating blank line included); the view stays
    /// valid until the next call to Feed/TakeRemainder. Bytes of an unfinished event are kept.
    std::string_view Feed(std::string_view data);

    /// The bytes of an unfinished event (e.g. when the stream ended without a blank line).
    std::string TakeRemainder();

    std::size_t pending_bytes() const { return pending_.size(); }

    /// Events larger than this are flushed as they are, without waiting for their end.
    static constexpr std::size_t kMaxHeldBytes = 4u << 20;

private:
    // Scans `data` and returns the offset just past the last event boundary (0 if none).
    std::size_t Scan(std::string_view data);

    std::string pending_;  // unfinished event bytes from previous calls
    std::string held_;     // storage for the returned view when it spans old + new bytes
    bool pending_view_ = false;
    std::size_t line_len_ = 0;  // bytes in the current line so far
    bool cr_pending_ = false;   // last byte seen was '\r' (maybe the first half of "\r\n")
};

/// The data of one SSE event: its data: lines joined by '\n' (empty for a comment). A view of
/// `event` when there is one line (nearly always); `joined` holds the rest.
std::string_view EventData(std::string_view event, std::string& joined);

/// Splits a block of complete events (as returned by Feed) into single events, each with its
/// terminating blank line, byte-exact.
template <class Fn>
void ForEachEvent(std::string_view block, Fn&& fn) {
    std::size_t start = 0, line_len = 0;
    if (block.empty()) return;  // (memchr must not see the null of an empty view)
    if (std::memchr(block.data(), '\r', block.size()) == nullptr) {
        // No CR (the usual case): jump from line end to line end.
        for (std::size_t pos = 0; pos < block.size();) {
            const void* nl = std::memchr(block.data() + pos, '\n', block.size() - pos);
            if (!nl) break;
            const std::size_t i = static_cast<std::size_t>(static_cast<const char*>(nl) - block.data());
            if (i == pos) {  // blank line: the event ends here
                fn(block.substr(start, i + 1 - start));
                start = i + 1;
            }
            pos = i + 1;
        }
        if (start < block.size()) fn(block.substr(start));
        return;
    }
    for (std::size_t i = 0; i < block.size(); ++i) {
        char c = block[i];
        if (c != '\r' && c != '\n') {
            ++line_len;
            continue;
        }
        std::size_t end = i + 1;
        if (c == '\r' && end < block.size() && block[end] == '\n') {
            ++i;
            ++end;
        }
        if (line_len == 0) {  // blank line: the event ends here
            fn(block.substr(start, end - start));
            start = end;
        }
        line_len = 0;
    }
    if (start < block.size()) fn(block.substr(start));  // trailing bytes (only after TakeRemainder)
}

}  // namespace llmproxy::sse
