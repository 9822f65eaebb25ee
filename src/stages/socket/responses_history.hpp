#pragma once
// What one Responses WebSocket connection remembers so that a turn can name the previous one
// (previous_response_id) and send only its new input items, as Codex does over WebSocket:
// the last response's input and output items, as JSON text. The gateway keeps no response
// store, and chat-only upstreams have none: the connection's own history is what makes the
// chain work, on any provider. Bounded: past `cap` bytes the history is dropped, and a turn
// naming it gets previous_response_not_found (clients then resend the whole context).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/error_reply.hpp"

namespace llmproxy::stages {

class ResponsesHistory {
public:
    explicit ResponsesHistory(std::size_t cap) : cap_(cap) {}

    /// A client frame, turned into what is sent as POST /v1/responses.
    struct Turn {
        std::string body;                       // the Responses request (stream: true)
        bool generate = true;                   // false: a warm-up, answered without a model
        std::optional<core::LocalReply> error;  // the frame cannot be served (in-band error)
        bool ignore = false;                    // an acknowledgement (response.processed): no answer
    };
    /// Parses one text frame: `response.create` with its request fields beside `type`.
    Turn Prepare(std::string_view frame);

    /// Each event of the answer as it goes to the client: output items and the response id
    /// are remembered. Returns true for the terminal event (completed, incomplete, failed).
    bool OnEvent(std::string_view data);

    /// A warm-up (generate: false): its input is remembered under a new id, and the two events
    /// that answer it are returned (response.created, response.completed).
    std::pair<std::string, std::string> Warmup(std::string_view model);

    const std::string& last_id() const { return id_; }

private:
    void Commit(std::string id);

    std::size_t cap_;
    std::string id_;         // the last response this connection produced
    std::string items_;      // its input and output items, comma-joined JSON
    std::string pending_;    // the turn in flight: its whole input, comma-joined
    std::string output_;     // ... and the output items seen so far
    bool overflow_ = false;  // the turn in flight is too large to remember
};

}  // namespace llmproxy::stages
