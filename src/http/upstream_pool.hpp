#pragma once
// Per-worker keep-alive pool of connections to one provider, capped at `max_open`. At the cap a
// request waits (up to the provider's pool_timeout) for a connection to come back, then fails
// with PoolExhausted(). Used only from its worker's thread: no locks.
#include <atomic>
#include <deque>
#include <memory>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "http/pool_gauges.hpp"
#include "http/upstream_connection.hpp"

namespace llmproxy::upstream {

/// Error of Acquire when the cap was reached and no connection came back within pool_timeout.
error_code PoolExhausted();

/// The default cap on upstream connections per instance (max_connections: 0): what the process's
/// file descriptor limit leaves room for, each relayed request holding a client connection too.
int DefaultMaxConnections();

class UpstreamPool {
public:
    /// `provider` belongs to `config`, which the pool keeps alive (a pool outlives the snapshot
    /// it was made for when a reload carries it over).
    UpstreamPool(Executor ex, std::shared_ptr<const core::Config> config, const core::ProviderConfig& provider,
                 std::shared_ptr<asio::ssl::context> tls, int max_open, PoolGauges* gauges = nullptr);
    ~UpstreamPool();
    UpstreamPool(const UpstreamPool&) = delete;
    UpstreamPool& operator=(const UpstreamPool&) = delete;

    struct Lease {
        std::shared_ptr<UpstreamConnection> conn;
        error_code ec;  // set when no connection could be had
    };

    /// An idle connection, or a new one. Waits (up to the connect timeout) when the pool is at
    /// its cap. `fresh` skips idle connections (used to retry after a stale keep-alive).
    Task<Lease> Acquire(bool fresh);
    /// Acquire's common case without a coroutine: the most recently idle connection, when it
    /// is fresh and clean and not under an idle watch. Null otherwise (then Acquire).
    std::shared_ptr<UpstreamConnection> TakeIdle();

    /// Returns a connection after an exchange; `reusable` = the response was read completely
    /// and both sides allow keep-alive.
    void Release(std::shared_ptr<UpstreamConnection> conn, bool reusable);

    /// An idle connection is watched for the upstream's close once it has been idle this long.
    /// Not at once: under load a connection comes back and goes out again within microseconds,
    /// and a watch would cost each request a read that fails (EAGAIN) and its cancellation. A
    /// connection the upstream closed within this window is found out when it is reused, and
    /// that exchange is sent once more on a new connection (IsStaleKeepAliveError).
    static constexpr std::chrono::milliseconds kWatchAfter{100};

    std::size_t idle_count() const { return idle_.size(); }
    int open_count() const { return open_; }
    int max_open() const { return max_open_; }

private:
    Task<error_code> ResolveIfNeeded();
    /// Closes idle connections older than keepalive_idle, and those the upstream closed (a scan
    /// of them all: for the sweep, not for every request).
    void DropStaleIdle(std::chrono::steady_clock::time_point now);
    /// While connections sit idle: watches those idle for kWatchAfter, and closes those idle for
    /// keepalive_idle, so a pool nobody uses does not keep them (or count them) forever. It
    /// sleeps until the next of those moments. `alive` is false once the pool is gone.
    Task<void> SweepIdle(std::shared_ptr<bool> alive);
    /// Starts the watch of connections idle for kWatchAfter; the moment the sweep is next due.
    std::chrono::steady_clock::time_point WatchIdle(std::chrono::steady_clock::time_point now);

    Executor ex_;
    std::shared_ptr<const core::Config> config_;
    const core::ProviderConfig& provider_;
    std::shared_ptr<asio::ssl::context> tls_;
    int max_open_;
    int open_ = 0;
    PoolGauges* gauges_;
    void SetOpen(int open);
    std::vector<std::shared_ptr<UpstreamConnection>> idle_;  // LIFO: the warmest first
    std::deque<Timer*> waiters_;
    std::vector<tcp::endpoint> endpoints_;
    std::chrono::steady_clock::time_point resolved_at_{};
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    Timer sweep_timer_;  // destroyed with the pool: a pending sweep wakes, sees !alive, ends
    bool sweeping_ = false;
    std::chrono::steady_clock::time_point sweep_due_{};
};

}  // namespace llmproxy::upstream
