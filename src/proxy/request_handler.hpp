#pragma once
#include "http/asio_types.hpp"
#include "http/request_body.hpp"

namespace llmproxy {
class Worker;
}

namespace llmproxy::proxy {

/// Answers one request whose head `parser` has read (locally or through an upstream); reads its
/// body only once the head passed the checks that need no body (endpoint, auth). Returns
/// whether the client connection may be kept alive. The caller owns `client` and `parser`.
Task<bool> HandleRequest(TcpStream& client, beast::flat_buffer& buffer, RequestParser& parser, Worker& worker,
                         std::string_view client_ip);

/// Writes a complete local response (JSON) in one write.
Task<bool> WriteLocal(TcpStream& client, unsigned status, std::string_view body,
                      std::string_view request_id, bool keep_alive, std::string_view extra_headers = {},
                      std::string_view content_type = "application/json");

}  // namespace llmproxy::proxy
