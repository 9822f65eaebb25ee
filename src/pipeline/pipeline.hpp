#pragma once
#include <memory>

#include "http/asio_types.hpp"
#include "http/request_body.hpp"
#include "pipeline/runtime.hpp"
#include "pipeline/upstreams.hpp"
#include "proxy/key_set.hpp"

namespace llmproxy::pipeline {

/// Serves one request whose head `parser` has read, through the pipeline (see pipeline.cpp).
/// Returns whether the client connection may be kept alive. The caller owns `client` and
/// `parser` and co_awaits at once. `upstreams` and `keys` are the snapshots the request is
/// pinned to for its whole life (a snapshot published meanwhile serves the next one).
Task<bool> HandleRequest(TcpStream& client, beast::flat_buffer& buffer, RequestParser& parser,
                         std::shared_ptr<const Upstreams> upstreams, std::shared_ptr<const proxy::KeySet> keys,
                         Runtime& rt, std::string_view client_ip);

}  // namespace llmproxy::pipeline
