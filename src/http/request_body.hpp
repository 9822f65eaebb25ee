#pragma once
// Reading a request's body once the pipeline has decided it wants it (after the head passed
// auth), within a per-worker memory budget; and the answers for requests that could not be
// read.
#include <cstddef>
#include <optional>

#include "core/config.hpp"
#include "core/error_reply.hpp"
#include "http/asio_types.hpp"
#include "http/head_memory.hpp"
#include "http/wire.hpp"

namespace llmproxy {

/// Bytes of request bodies held by one worker's requests at once. Single-threaded (the worker's).
/// An eighth of it is kept for small bodies: large uploads cannot take the last of it, so a
/// few of them never lock out ordinary requests.
class BodyBudget {
public:
    /// A request holding at most this much may use the reserve.
    static constexpr std::size_t kSmallBody = 1u << 20;

    explicit BodyBudget(std::size_t limit) : limit_(limit), reserve_(limit / 8) {}
    /// A reload's new server.max_body_memory: bodies held now stay held; new ones see the limit.
    void SetLimit(std::size_t limit) {
        limit_ = limit;
        reserve_ = limit / 8;
    }
    /// Takes `n` more bytes for a request that will then hold `held_after` in all.
    bool TryTake(std::size_t n, std::size_t held_after = 0) {
        const std::size_t usable = held_after > kSmallBody ? limit_ - reserve_ : limit_;
        if (n > usable - std::min(usable, used_)) return false;
        used_ += n;
        return true;
    }
    void Give(std::size_t n) { used_ -= std::min(used_, n); }
    std::size_t available() const { return limit_ - std::min(limit_, used_); }
    std::size_t used() const { return used_; }

private:
    std::size_t limit_;
    std::size_t reserve_;
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
    /// Charges `n` more bytes to `budget`; false (nothing charged) when the budget has no room.
    bool Take(BodyBudget& budget, std::size_t n) {
        if (!budget.TryTake(n, bytes_ + n)) return false;
        budget_ = &budget;
        bytes_ += n;
        return true;
    }
    std::size_t bytes() const { return bytes_; }

private:
    BodyBudget* budget_ = nullptr;
    std::size_t bytes_ = 0;
};

/// The worker holds more request bodies than its budget allows (error of ReadRequestBody).
error_code BodyBudgetExhausted();

/// Reads the rest of the request (after its head) into the parser: answers `Expect:
/// 100-continue`, bounds the wait by server.body_timeout, and charges `budget` with the bytes as
/// they arrive (an announced length that never comes costs nothing). It is the two steps below.
Task<error_code> ReadRequestBody(TcpStream& stream, beast::flat_buffer& buffer, RequestParser& parser,
                                 const core::ServerConfig& server, BodyBudget& budget, BodyHold& hold);

/// ReadRequestBody's first step, without waiting: prepares the body and parses what `buffer`
/// already holds. A value when that settles it (the body is complete, or failed); nullopt when
/// the rest must be read: then ContinueRequestBody, once.
std::optional<error_code> StartRequestBody(beast::flat_buffer& buffer, RequestParser& parser, BodyBudget& budget,
                                           BodyHold& hold);
/// ReadRequestBody's second step, after StartRequestBody returned nullopt.
Task<error_code> ContinueRequestBody(TcpStream& stream, beast::flat_buffer& buffer, RequestParser& parser,
                                     const core::ServerConfig& server, BodyBudget& budget, BodyHold& hold);

/// Sizes the session's read buffer for `server`'s head limit (see wire::BoundReadBuffer).
inline void BoundReadBuffer(beast::flat_buffer& buffer, const core::ServerConfig& server) {
    wire::BoundReadBuffer(buffer, server.max_header_bytes);
}

/// The answer for a request that could not be read (nullopt: the client left; just close).
std::optional<core::LocalReply> ReadErrorReply(const error_code& ec, const core::ServerConfig& server);

/// After an answer that leaves unread request bytes: send FIN, then read and discard for a
/// moment, so the client sees the answer rather than a reset caused by our unread data.
Task<void> LingeringClose(TcpStream& stream);

}  // namespace llmproxy
