#pragma once
#include "http/asio_types.hpp"

namespace llmproxy {
class Worker;
}

namespace llmproxy::proxy {

/// Answers one parsed request (locally or through an upstream). Returns whether the client
/// connection may be kept alive. The caller owns `client` and `request` and co_awaits at once.
Task<bool> HandleRequest(TcpStream& client, beast::flat_buffer& buffer,
                         http::request<http::string_body>& request, Worker& worker, std::string_view client_ip);

/// Writes a complete local response (JSON) in one write.
Task<bool> WriteLocal(TcpStream& client, unsigned status, std::string_view body,
                      std::string_view request_id, bool keep_alive, std::string_view extra_headers = {},
                      std::string_view content_type = "application/json");

}  // namespace llmproxy::proxy
