#pragma once
// Watches the client connection while the upstream works: a client that hangs up cancels the
// upstream request at once, so the model server frees the slot. It is a read kept pending on
// the client socket (not async_wait, which costs an epoll_ctl per request): EOF means the
// client left; bytes are the next pipelined request and are kept for the session. The read's
// handler owns only this shared state, and Forward waits for it before returning, so it never
// touches the session's buffer after Forward is done.
#include <memory>

#include "http/asio_types.hpp"
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

}  // namespace llmproxy::stages
