#pragma once
// What the relay shows the rest of the gateway: the response head (which an observer may
// rewrite: status, content type, "give me the whole body"), each block of whole SSE events
// (which an observer may rewrite), the pieces of any other body or the whole body when one
// asked for it (rewritable too), and the end. The relay itself only moves bytes; usage reading,
// local token counting, capture for the request log, translation between API dialects and
// (later) Lua are observers, chained on the request (providers/response_chain.hpp).
// Observers never hold a stream: what they keep must not grow with its length.
#include <string_view>

#include "core/error_reply.hpp"

namespace llmproxy::providers {

struct ResponseHead {
    unsigned status = 0;  // an observer may change what the client is told
    bool sse = false;     // text/event-stream
    bool json = false;    // a JSON body
    // Set by an observer that rewrites a non-stream body: the relay reads it whole (up to its
    // cap), passes it to OnWholeBody and sends the result with its own Content-Length.
    bool whole_body = false;
    // Set by an observer that turns the body into another dialect: an upstream that compressed
    // it anyway (we ask for identity) cannot be relayed, only refused.
    bool translated = false;
    std::string_view content_type;  // replaces the upstream's Content-Type when set (static string)
};

class ResponseObserver {
public:
    virtual ~ResponseObserver() = default;
    virtual void OnHead(ResponseHead& head) { (void)head; }
    /// Whole SSE events about to go to the client. Returns what to relay instead: `events`
    /// itself when unchanged, or a view of the observer's own buffer (valid until its next call).
    virtual std::string_view OnEvents(std::string_view events) { return events; }
    /// The stream ended cleanly with these events (possibly none): a translator adds what
    /// closes the stream in its dialect.
    virtual std::string_view OnLastEvents(std::string_view events) {
        return events.empty() ? events : OnEvents(events);
    }
    /// The stream broke after it started. `event` is the gateway's in-band error in the client's
    /// dialect; an observer that owns the stream's shape (a translator) returns its own ending
    /// instead (Responses: response.failed with the stream's id and sequence).
    virtual std::string_view OnCut(const core::LocalReply& error, std::string_view event) {
        (void)error;
        return event;
    }
    /// A piece of a non-SSE body, as relayed.
    virtual void OnBody(std::string_view piece) { (void)piece; }
    /// The whole non-SSE body (only when an observer set whole_body). Returns what to send.
    virtual std::string_view OnWholeBody(std::string_view body) {
        OnBody(body);
        return body;
    }
    /// The response ended: `complete` when the upstream finished it and it all reached the client.
    virtual void OnEnd(bool complete) { (void)complete; }
};

}  // namespace llmproxy::providers
