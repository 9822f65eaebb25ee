#pragma once
// Answers the gateway writes itself: a complete response in one write.
#include <string_view>

#include "core/error_reply.hpp"
#include "http/asio_types.hpp"

namespace llmproxy::pipeline {

/// Writes a complete local response; returns whether the connection may be kept alive.
Task<bool> WriteLocal(TcpStream& client, unsigned status, std::string_view body, std::string_view request_id,
                      bool keep_alive, std::string_view extra_headers = {},
                      std::string_view content_type = "application/json");

/// An error in the client's dialect with the request id (and Allow for a 405).
Task<bool> WriteError(TcpStream& client, const core::LocalReply& reply, std::string_view request_id, bool keep_alive,
                      std::string_view extra_headers = {}, core::Dialect dialect = core::Dialect::kOpenAIChat);

}  // namespace llmproxy::pipeline
