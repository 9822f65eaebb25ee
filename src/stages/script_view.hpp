#pragma once
// What the script points share: the script's view of a request, of its route's backends, and
// the one rule for a script that failed (500 script_error unless its on_error is fail_open).
#include <optional>
#include <string_view>
#include <vector>

#include "script/script_set.hpp"
#include "stages/stages.hpp"

namespace llmproxy::stages {

/// Views into the context: valid while it is not changed.
script::RequestView ViewOf(RequestContext& ctx);
/// The route's providers with their live health, weight, latency and in-flight count.
std::vector<script::BackendView> BackendsOf(const RequestContext& ctx);
std::int64_t UnixSecondsAtStart(const RequestContext& ctx);
/// A routing script's provider, by name: tried first by target selection. An unknown name is
/// the script's failure.
bool PreferProvider(RequestContext& ctx, std::string_view name);
/// True when the request was refused for it (the failure was not fail_open).
bool ScriptFailed(RequestContext& ctx, const std::optional<script::ScriptFailure>& failure);

/// The error path's scripts on one error (local, relayed or in-band): hooks.on_error sees it,
/// scripts.error_handler may give it a new status (set in `reply`) and body (returned).
std::optional<std::string> RunErrorScripts(RequestContext& ctx, core::LocalReply& reply);
/// The message of an upstream's error body (OpenAI, Anthropic and plain shapes), for scripts.
std::string ErrorMessageOf(std::string_view body);

}  // namespace llmproxy::stages
