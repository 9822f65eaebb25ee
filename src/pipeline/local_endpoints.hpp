#pragma once
// The endpoints the gateway answers itself (each is a row's handler in pipeline/endpoints):
// /health, /health/detailed, /metrics, /v1/models, /v1/models/{id}, /v1/tokenize, and the
// API documents. Each fills the context's answer.
#include "http/asio_types.hpp"
#include "pipeline/request_context.hpp"
#include "pipeline/runtime.hpp"

namespace llmproxy::pipeline {

Task<void> AnswerHealth(RequestContext& ctx, Runtime& rt);
Task<void> AnswerHealthDetailed(RequestContext& ctx, Runtime& rt);
Task<void> AnswerMetrics(RequestContext& ctx, Runtime& rt);
Task<void> AnswerModels(RequestContext& ctx, Runtime& rt);
Task<void> AnswerModel(RequestContext& ctx, Runtime& rt);
Task<void> AnswerTokenize(RequestContext& ctx, Runtime& rt);
// docs_endpoints.cpp
Task<void> AnswerOpenApi(RequestContext& ctx, Runtime& rt);
Task<void> AnswerDocs(RequestContext& ctx, Runtime& rt);
Task<void> AnswerRedoc(RequestContext& ctx, Runtime& rt);
Task<void> AnswerDocsAsset(RequestContext& ctx, Runtime& rt);

}  // namespace llmproxy::pipeline
