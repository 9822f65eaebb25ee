#pragma once
// The last step of every request, however it ended: one completed-request record, from which
// each sink takes what it needs — metrics, the key's TPM correction and quota, the shared-limit
// release, the usage event (webhook and ledger), the request log and the access log. Sinks only
// queue; their own threads format, write and deliver.
#include "pipeline/request_context.hpp"
#include "pipeline/runtime.hpp"

namespace llmproxy::pipeline {

void Finish(RequestContext& ctx, Runtime& rt);

}  // namespace llmproxy::pipeline
