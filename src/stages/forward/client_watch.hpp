#pragma once
// Watches the client connection while the upstream works: a client that hangs up cancels the
// upstream request at once, so the model server frees the slot. It is a read kept pending on
// the client socket (not async_wait, which costs an epoll_ctl per request): EOF means the
// client left; bytes are the next pipelined request and are kept for the session. The read's
// handler owns only this shared state, and Forward waits for it before returning, so it never
// touches the session's buffer after Forward is done.
//
// The watch starts only once the exchange has lasted ClientWatchSlot::kDelay (a worker's
// DelayedStarts runs it): an exchange that ends sooner needs none, and under load most do. A
// watch costs a read that fails (EAGAIN), its cancellation and a wait for it; a hang-up is
// noticed kDelay later at most.
#include <memory>

#include "http/asio_types.hpp"
#include "http/delayed_starts.hpp"
#include "http/upstream_connection.hpp"

namespace llmproxy::stages {

struct ClientWatch {
    static constexpr std::size_t kWatchBytes = 256;

    explicit ClientWatch(Executor ex) : done(std::move(ex)) { done.expires_at(Timer::time_point::max()); }
    std::weak_ptr<upstream::UpstreamConnection> conn;  // closed when the client leaves
    bool completed = false;
    bool client_gone = false;
    std::size_t pipelined = 0;  // bytes of a pipelined request read into `bytes`
    Timer done;                 // an event: cancelled when the read completes
    char bytes[kWatchBytes];    // its own small buffer: the session's can be given back meanwhile
};

/// Starts the watch: a small read, enough to see EOF or the start of a pipelined request (the
/// rest waits in the socket for the session).
void WatchClient(Socket& socket, const std::shared_ptr<ClientWatch>& watch);

/// One exchange's view of its client watch, started now or (with a DelayedStarts) later.
class ClientWatchSlot : public DelayedStarts::Entry {
public:
    static constexpr std::chrono::milliseconds kDelay{20};

    explicit ClientWatchSlot(Socket& client) : client_(client) {}
    ClientWatchSlot(const ClientWatchSlot&) = delete;
    ClientWatchSlot& operator=(const ClientWatchSlot&) = delete;

    /// Starts the watch after `delayed`'s delay (null: at once).
    void Arm(DelayedStarts* delayed);
    bool client_gone() const { return gone_ || (watch_ && watch_->client_gone); }
    void SetClientGone() { gone_ = true; }
    /// The upstream connection the watch closes when the client leaves.
    void SetConnection(const std::shared_ptr<upstream::UpstreamConnection>& conn);
    /// Not started yet: never will be. True when a watch runs (then Finish it).
    bool Disarm() {
        unlink();
        return watch_ != nullptr;
    }
    /// Ends a started watch (cancels its read and waits for it); the bytes of a pipelined
    /// request it read go to `buffer`.
    Task<void> Finish(beast::flat_buffer& buffer);

private:
    void Start();

    Socket& client_;
    std::shared_ptr<ClientWatch> watch_;  // null until started
    std::weak_ptr<upstream::UpstreamConnection> conn_;
    bool gone_ = false;  // a write to the client failed
};

}  // namespace llmproxy::stages
