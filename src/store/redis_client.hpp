#pragma once
// An asynchronous Redis client for one worker: one connection on the worker's own io_context,
// commands pipelined (every command queued while a write is in flight goes out in the next
// write; replies are matched in order). A call waits at most `timeout`; while the connection
// is down, calls fail at once (no waiting behind a dead server) and a background loop
// reconnects with backoff. A server that is connected but frozen (SIGSTOP, a long fork, a
// stalled VM) would cost every call the full timeout; after kTripAfter timeouts in a row a
// breaker fails calls at once for kOpenFor, then lets one probe call through. Any reply closes
// it. Single-threaded: only the worker's thread touches it.
#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "http/asio_types.hpp"
#include "store/redis_protocol.hpp"

namespace llmproxy::store {

class RedisClient {
public:
    /// `scripts` are loaded (SCRIPT LOAD) on every (re)connect so EVALSHA finds them.
    RedisClient(Executor ex, const core::RedisConfig& config, std::vector<std::string> scripts);
    ~RedisClient();

    void Start();  // spawns the connect/read loop
    bool connected() const { return connected_; }
    bool breaker_open() const { return consecutive_timeouts_ >= kTripAfter; }

    static constexpr int kTripAfter = 3;
    static constexpr std::chrono::milliseconds kOpenFor{1000};

    /// Sends a command and waits for its reply (an error reply when not connected or timed out).
    Task<RedisReply> Call(std::vector<std::string> args);
    /// Sends a command and does not wait for (or look at) its reply. While disconnected it is
    /// kept (bounded) and sent after the reconnect: a concurrency slot's release must not be
    /// lost to a connection blip, or the slot would stay taken until its lease runs out.
    void Send(const std::vector<std::string>& args);

private:
    struct Waiter;
    Task<void> ConnectionLoop();
    Task<void> WriteLoop();
    void Enqueue(const std::vector<std::string>& args, std::shared_ptr<Waiter> waiter);
    void FailAll(const std::string& why);
    void EndConnectAttempt(bool connected);

    Executor ex_;
    core::RedisConfig config_;
    std::vector<std::string> scripts_;
    Socket socket_;
    Timer write_signal_;  // wakes the write loop when output is queued
    bool connected_ = false;
    bool connecting_ = false;  // a connect attempt is under way: calls wait for it (bounded)
    bool stopped_ = false;
    std::vector<Timer*> connect_waiters_;  // cancelled when the attempt ends
    bool writing_ = false;
    std::string out_;                              // commands not yet written
    std::deque<std::shared_ptr<Waiter>> pending_;  // one per command sent, in order (null: no one waits)
    std::string deferred_;                         // fire-and-forget commands issued while disconnected
    std::size_t deferred_count_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    int consecutive_timeouts_ = 0;
    std::chrono::steady_clock::time_point open_until_{};
    bool probing_ = false;  // the one call let through while the breaker is open
};

}  // namespace llmproxy::store
