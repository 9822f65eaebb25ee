#pragma once
// One attempt of the forward stage: the provider's adapter prepares what goes upstream and
// supplies the attempt's observers, the relay exchanges it, and the outcome is recorded (the
// request's record, the provider's health). The loop around attempts is forward_stage.cpp.
#include <optional>
#include <span>
#include <string>

#include "core/error_reply.hpp"
#include "core/string_pool.hpp"
#include "proxy/retry_policy.hpp"
#include "stages/forward/observers.hpp"
#include "stages/forward/response_script.hpp"
#include "stages/stages.hpp"

namespace llmproxy::stages {

/// What every attempt of one request shares.
struct RequestForward {
    RequestForward(RequestContext& c, TcpStream& cl, beast::flat_buffer& b, Runtime& r)
        : ctx(c), client(cl), buffer(b), rt(r), extra_headers(core::TakeString(128)) {}
    RequestForward(const RequestForward&) = delete;
    RequestForward& operator=(const RequestForward&) = delete;
    ~RequestForward() { core::GiveBack(std::move(extra_headers)); }
    RequestContext& ctx;
    TcpStream& client;
    beast::flat_buffer& buffer;
    Runtime& rt;
    const usage::Tokenizer* tokenizer = nullptr;            // local counting (null: none for this model)
    std::optional<CaptureObserver> capture;                 // the response as relayed, for the request log
    std::optional<ResponseScriptObserver> response_script;  // scripts.response_transform
    std::string extra_headers;                              // the attempt's x-llm-proxy-* response headers
};

struct AttemptTarget {
    std::size_t provider;
    const std::string& model;   // the public model this attempt serves (the route's or a fallback)
    int number;                 // 1 = the request's first attempt
    std::span<const int> hold;  // statuses to hold back (another attempt will follow)
};

/// How an attempt ended, for the loop.
struct AttemptEnd {
    bool final = false;  // the answer reached the client (or the client left): no more attempts
    proxy::FailureKind kind = proxy::FailureKind::kConnect;
    unsigned held_status = 0;
    std::optional<core::LocalReply> error;  // what the client gets if nothing else is tried
};

Task<AttemptEnd> RunAttempt(RequestForward& fwd, const AttemptTarget& target);

}  // namespace llmproxy::stages
