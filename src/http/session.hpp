#pragma once
#include "http/asio_types.hpp"

namespace llmproxy {
class Worker;

/// Serves one client connection: HTTP/1.1 keep-alive loop with header/body limits and
/// timeouts. Runs on the worker's thread; `worker` outlives it.
Task<void> RunSession(Socket socket, Worker& worker);

}  // namespace llmproxy
