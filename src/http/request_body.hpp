#pragma once
// Reading a request's body once the pipeline has decided it wants it (after the head passed
// auth), within a per-worker memory budget; and the answers for requests that could not be
// read.
#include <cstddef>
#include <optional>

#include "core/config.hpp"
#include "core/openai_error.hpp"
#include "http/asio_types.hpp"

namespace llmproxy {

using RequestParser = http::request_parser<http::string_body>;

/// Bytes of request bodies held by one worker's requests at once. Single-threaded (the worker's).
class BodyBudget {
public:
    explicit BodyBudget(std::size_t limit) : limit_(limit) {}
    bool TryTake(std::size_t n) {
        if (n > limit_ - std::min(limit_, used_)) return false;
        used_ += n;
        return true;
    }
    void Give(std::size_t n) { used_ -= std::min(used_, n); }
    std::size_t available() const { return limit_ - std::min(limit_, used_); }
    std::size_t used() const { return used_; }

private:
    std::size_t limit_;
    std::size_t used_ = 0;
};

/// What one request holds of its worker's BodyBudget; given back when the request ends.
class BodyHold {
public:
    BodyHold() = default;
    BodyHold(const BodyHold&) = delete;
    BodyHold& operator=(const BodyHold&) = delete;
    ~BodyHold() {
        if (budget_) budget_->Give(bytes_);
    }
    void Set(BodyBudget& budget, std::size_t bytes) {
        budget_ = &budget;
        bytes_ += bytes;
    }

private:
    BodyBudget* budget_ = nullptr;
    std::size_t bytes_ = 0;
};

/// The worker holds more request bodies than its budget allows (error of ReadRequestBody).
error_code BodyBudgetExhausted();

/// Reads the rest of the request (after its head) into the parser: answers `Expect:
/// 100-continue`, reserves the announced length at once (with room for the JSON scanner's
/// padding), bounds the wait by server.body_timeout, and charges the body to `budget`.
Task<error_code> ReadRequestBody(TcpStream& stream, beast::flat_buffer& buffer, RequestParser& parser,
                                 const core::ServerConfig& server, BodyBudget& budget, BodyHold& hold);

/// The answer for a request that could not be read (nullopt: the client left; just close).
std::optional<core::LocalReply> ReadErrorReply(const error_code& ec, const core::ServerConfig& server);

/// After an answer that leaves unread request bytes: send FIN, then read and discard for a
/// moment, so the client sees the answer rather than a reset caused by our unread data.
Task<void> LingeringClose(TcpStream& stream);

}  // namespace llmproxy
