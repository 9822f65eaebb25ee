#pragma once
// One client connection: the HTTP/1.1 keep-alive loop with header limits and timeouts. What a
// request means is its host's business (the worker hands it to the pipeline): this layer knows
// HTTP, not the gateway.
#include <memory>
#include <memory_resource>
#include <string_view>

#include <boost/intrusive/list.hpp>

#include "core/config.hpp"
#include "http/asio_types.hpp"
#include "http/request_body.hpp"

namespace llmproxy {

/// Registered by each live client session. While the session waits for a request (a new
/// connection before its first byte, or keep-alive between requests) the host keeps it on an
/// idle list, oldest first, so that a drain or a connection cap can close idle ones first.
struct SessionHandle : boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
    TcpStream* stream = nullptr;
    bool idle() const { return is_linked(); }
};
using IdleSessions = boost::intrusive::list<SessionHandle, boost::intrusive::constant_time_size<false>>;

class SessionHost {
public:
    virtual ~SessionHost() = default;
    /// Where the session's request arenas take their blocks (see RequestArena): the host's,
    /// so that a block given back by one connection serves the next request on another.
    virtual std::pmr::memory_resource& ArenaBlocks() = 0;
    /// The configuration the next request is read with (limits, timeouts).
    virtual std::shared_ptr<const core::Config> CurrentConfig() = 0;
    virtual bool draining() const = 0;
    virtual void AddSession(SessionHandle& handle) = 0;
    virtual void RemoveSession(SessionHandle& handle) = 0;
    /// The session waits for a request (it may be closed to make room); `SessionBusy` when one
    /// starts to arrive.
    virtual void SessionIdle(SessionHandle& handle) = 0;
    static void SessionBusy(SessionHandle& handle) { handle.unlink(); }
    /// Answers a request whose head `parser` has read (the body is the host's to read). Returns
    /// whether the connection may serve another request.
    virtual Task<bool> Serve(TcpStream& client, beast::flat_buffer& buffer, RequestParser& parser,
                             std::string_view client_ip) = 0;
    /// A request the session refused on its head (431, 400 malformed or invalid path, 501
    /// transfer coding, 408): counted and access-logged like any other answer.
    struct RefusedHead {
        std::string_view request_id, method, target, client_ip;
        unsigned status = 0;
        double latency_ms = 0;
    };
    virtual void RecordRefusedHead(const RefusedHead& refused) = 0;
};

/// Runs on the host's thread; `host` outlives it. `client_ip`: the peer's address, or for an
/// internal session (an in-process socket pair) the address of the client it serves.
Task<void> RunSession(Socket socket, SessionHost& host, std::string client_ip = {});

/// A connection over the cap: 503 server_busy (Retry-After: 1) without reading a request, then a
/// lingering close of at most a second.
Task<void> RefuseSession(Socket socket);

}  // namespace llmproxy
