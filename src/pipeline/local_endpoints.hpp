#pragma once
// The endpoints the gateway answers itself: /health, /health/detailed, /metrics, /v1/models,
// /v1/models/{id}, /v1/tokenize. Each fills the context's answer.
#include "http/asio_types.hpp"
#include "pipeline/request_context.hpp"
#include "pipeline/runtime.hpp"

namespace llmproxy::pipeline {

Task<void> AnswerLocally(RequestContext& ctx, Runtime& rt);

}  // namespace llmproxy::pipeline
