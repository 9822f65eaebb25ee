#pragma once
// Workers never wait on a database: a request that needs the store or a config publish (the
// admin API) is handed to the control thread through this channel, and its coroutine resumes
// on its own worker when the reply is ready. The admin module implements it (admin/).
#include <string>

#include "http/asio_types.hpp"
#include "pipeline/endpoints.hpp"

namespace llmproxy::pipeline {

/// What the control thread gets of a request: copies, since it outlives nothing of the worker.
struct ControlRequest {
    const EndpointSpec* row = nullptr;  // which operation (the admin module's own rows)
    http::verb method = http::verb::get;
    std::string param;  // the row's {…} path parameter
    std::string query;  // after '?', undecoded
    std::string body;
    std::string actor;  // who asked, for the audit log: client address (never a key)
    std::string request_id;
};

struct ControlReply {
    unsigned status = 200;
    std::string body;  // JSON
};

class ControlChannel {
public:
    virtual ~ControlChannel() = default;
    /// Runs `request` on the control thread; resumes the caller on its own executor.
    virtual Task<ControlReply> Call(ControlRequest request) = 0;
};

struct RequestContext;
struct Runtime;
/// The handler of every row answered on the control thread: hands the request over through
/// Runtime::control and writes the reply (503 when the process has no control channel).
Task<void> AnswerOnControlThread(RequestContext& ctx, Runtime& rt);

}  // namespace llmproxy::pipeline
