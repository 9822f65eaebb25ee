#pragma once
#include "pipeline/request_context.hpp"
#include "pipeline/runtime.hpp"

namespace llmproxy::stages {

/// GET /v1/responses: the Responses API over WebSocket, each turn through the pipeline
/// (responses_socket.cpp); 426 where it is off, so clients fall back to HTTP at once.
struct ResponsesSocketStage {
    static Task<void> Run(pipeline::RequestContext& ctx, TcpStream& client, pipeline::Runtime& rt);
};

}  // namespace llmproxy::stages
