#pragma once
// What the relay shows the rest of the gateway: the response head, each block of whole SSE
// events (which an observer may rewrite), the pieces of any other body, and the end. The relay
// itself only moves bytes; usage reading, local token counting, capture for the request log
// and (later) translation between API dialects, Lua on_chunk and cache fill are observers.
// Observers never hold a stream: what they keep must not grow with its length.
#include <string_view>

namespace llmproxy::providers {

struct ResponseHead {
    unsigned status = 0;
    bool sse = false;   // text/event-stream
    bool json = false;  // a JSON body
};

class ResponseObserver {
public:
    virtual ~ResponseObserver() = default;
    virtual void OnHead(const ResponseHead& head) { (void)head; }
    /// Whole SSE events about to go to the client. Returns what to relay instead: `events`
    /// itself when unchanged, or a view of the observer's own buffer (valid until its next call).
    virtual std::string_view OnEvents(std::string_view events) { return events; }
    /// A piece of a non-SSE body, as relayed.
    virtual void OnBody(std::string_view piece) { (void)piece; }
    /// The response ended: `complete` when the upstream finished it and it all reached the client.
    virtual void OnEnd(bool complete) { (void)complete; }
};

}  // namespace llmproxy::providers
