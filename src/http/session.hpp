#pragma once
// One client connection: the HTTP/1.1 keep-alive loop with header limits and timeouts. What a
// request means is its host's business (the worker hands it to the pipeline): this layer knows
// HTTP, not the gateway.
#include <memory>
#include <string_view>

#include "core/config.hpp"
#include "http/asio_types.hpp"
#include "http/request_body.hpp"

namespace llmproxy {

/// Registered by each live client session so that a drain can close idle keep-alive ones.
struct SessionHandle {
    TcpStream* stream = nullptr;
    bool busy = false;
};

class SessionHost {
public:
    virtual ~SessionHost() = default;
    /// The configuration the next request is read with (limits, timeouts).
    virtual std::shared_ptr<const core::Config> CurrentConfig() = 0;
    virtual bool draining() const = 0;
    virtual void AddSession(SessionHandle* handle) = 0;
    virtual void RemoveSession(SessionHandle* handle) = 0;
    /// Answers a request whose head `parser` has read (the body is the host's to read). Returns
    /// whether the connection may serve another request.
    virtual Task<bool> Serve(TcpStream& client, beast::flat_buffer& buffer, RequestParser& parser,
                             std::string_view client_ip) = 0;
};

/// Runs on the host's thread; `host` outlives it.
Task<void> RunSession(Socket socket, SessionHost& host);

}  // namespace llmproxy
