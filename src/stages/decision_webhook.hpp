#pragma once
// Decision webhooks (hooks.auth_decision, hooks.routing_decision, from the Go LLMProxy's
// design): the auth and routing script points' inputs POSTed as JSON to a service, whose answer
// decides. The exchange runs on the worker's event loop (the worker serves other requests
// meanwhile), bounded by the hook's timeout per attempt; when the service fails, on_failure
// says what happens.
#include <optional>
#include <string>
#include <string_view>

#include "core/config.hpp"
#include "http/asio_types.hpp"
#include "stages/stages.hpp"

namespace llmproxy::stages {

/// The answer's body when the service answered 2xx within the timeout (1 + retry attempts);
/// answers over 64 KiB count as failures.
Task<std::optional<std::string>> AskDecision(const core::DecisionWebhookConfig& hook, std::string body);

struct DecisionStage {
    /// After the auth script: {"request", "key_info", "standard_checks"} -> {allow, reason, status_code}.
    static Task<bool> Auth(RequestContext& ctx, Runtime& rt);
    /// After the routing script: {"request", "backends"} -> {backend_url | backend, use_default}.
    static Task<bool> Routing(RequestContext& ctx, Runtime& rt);
};

}  // namespace llmproxy::stages
