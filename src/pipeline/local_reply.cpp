#include "pipeline/local_reply.hpp"

#include "http/wire.hpp"
#include "http/write_all.hpp"

namespace llmproxy::pipeline {

Task<bool> WriteLocal(TcpStream& client, unsigned status, std::string_view body, std::string_view request_id,
                      bool keep_alive, std::string_view extra_headers, std::string_view content_type) {
    std::string head;
    head.reserve(256);
    wire::AppendStatusLine(head, status);
    wire::AppendHeader(head, "Content-Type", content_type);
    wire::AppendHeader(head, "Content-Length", std::to_string(body.size()));
    wire::AppendHeader(head, "x-request-id", request_id);
    head.append(extra_headers);
    if (!keep_alive) head.append("Connection: close\r\n");
    head.append(wire::kCrlf);
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(body)};
    client.expires_after(std::chrono::seconds(30));
    const error_code ec = co_await WriteAll(client, bufs);
    client.expires_never();
    co_return !ec && keep_alive;
}

Task<bool> WriteError(TcpStream& client, const core::LocalReply& reply, std::string_view request_id, bool keep_alive,
                      std::string_view extra_headers, core::Dialect dialect) {
    std::string extra(extra_headers);
    if (!reply.allow.empty()) wire::AppendHeader(extra, "Allow", reply.allow);
    const std::string body = core::ErrorBody(reply, request_id, dialect);
    const std::string_view extra_view = extra;
    co_return co_await WriteLocal(client, reply.status, body, request_id, keep_alive, extra_view);
}

}  // namespace llmproxy::pipeline
