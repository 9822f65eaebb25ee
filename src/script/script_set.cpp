#include "script/script_set.hpp"

#include <spdlog/spdlog.h>

#include <lua.hpp>

namespace llmproxy::script {
namespace {

// Every configured script with its point, in Point order (auth pipeline steps apart).
std::array<const core::ScriptConfig*, static_cast<std::size_t>(Point::kAuthPipeline)> ConfiguredScripts(
    const core::ScriptsConfig& s, const core::HooksConfig& h) {
    return {&s.routing,  &s.auth,          &s.request_transform, &s.response_transform, &s.rate_limit,
            &s.usage,    &s.error_handler, &s.on_chunk,          &h.on_request,         &h.on_auth,
            &h.on_route, &h.on_response,   &h.on_error,          &h.on_complete};
}

}  // namespace

std::size_t LargestCap(const core::ScriptsConfig& scripts, const core::HooksConfig& hooks,
                       const std::vector<core::AuthPipelineEntry>& steps) {
    std::size_t cap = 0;
    for (const auto* config : ConfiguredScripts(scripts, hooks)) {
        if (config->enabled) cap = std::max(cap, config->max_memory);
    }
    for (const auto& step : steps) {
        if (step.lua()) cap = std::max(cap, step.script.max_memory);
    }
    return cap ? cap : core::ScriptConfig{}.max_memory;
}

std::size_t StateMemoryCap(const core::Config& config) {
    return LargestCap(config.scripts, config.hooks, config.auth.pipeline);
}

bool AnyScript(const core::Config& config) {
    for (const auto* script : ConfiguredScripts(config.scripts, config.hooks)) {
        if (script->enabled) return true;
    }
    for (const auto& step : config.auth.pipeline) {
        if (step.lua()) return true;
    }
    return false;
}

std::shared_ptr<ScriptSet> MakeScriptSet(const core::Config& config) {
    return std::make_shared<ScriptSet>(config.scripts, config.hooks, config.auth.pipeline);
}

ScriptSet::ScriptSet(const core::ScriptsConfig& scripts, const core::HooksConfig& hooks,
                     const std::vector<core::AuthPipelineEntry>& auth_pipeline)
    : vm_(VmLimits{LargestCap(scripts, hooks, auth_pipeline)}) {
    const auto configs = ConfiguredScripts(scripts, hooks);
    for (std::size_t i = 0; i < configs.size(); ++i) {
        if (configs[i]->enabled) slots_[i] = Compile(*configs[i]);
    }
    auth_steps_.resize(auth_pipeline.size());
    for (std::size_t i = 0; i < auth_pipeline.size(); ++i) {
        if (auth_pipeline[i].lua()) auth_steps_[i] = Compile(auth_pipeline[i].script);
    }
}

ScriptSet::Slot ScriptSet::Compile(const core::ScriptConfig& config) {
    std::string error;
    auto chunk = vm_.Load(config.code, config.name, error);
    if (!chunk) throw std::runtime_error(config.name + ": " + error);
    return Slot{*chunk, config.name, std::chrono::duration_cast<std::chrono::microseconds>(config.timeout),
                config.fail_open, config.code.find("backends") != std::string::npos};
}

std::optional<ScriptFailure> ScriptSet::Call(Point point, const Slot& slot, std::string_view request_id,
                                             const Step& set_globals, const Step& read) {
    vm_.request_id = request_id;
    const CallResult result = vm_.Run(
        [&](lua_State* L) {
            vm_.Push(slot.chunk.environment);
            set_globals(L);
            lua_pop(L, 1);
            vm_.Push(slot.chunk.function);
            lua_call(L, 0, 1);
            read(L);
        },
        slot.budget);
    vm_.request_id = {};
    if (result.ok()) return std::nullopt;
    spdlog::warn("{} failed ({}): {} [request {}]", slot.name, ReasonOf(result.outcome), result.message,
                 request_id.empty() ? "-" : request_id);
    if (metrics_) metrics_->CountScriptError(Index(point), static_cast<std::size_t>(result.outcome) - 1);
    return ScriptFailure{result.message, slot.fail_open};
}

std::vector<std::string> CheckScripts(const core::Config& config) {
    if (!AnyScript(config)) return {};
    try {
        ScriptSet check(config.scripts, config.hooks, config.auth.pipeline);
    } catch (const std::exception& e) {
        return {e.what()};
    }
    return {};
}

}  // namespace llmproxy::script
