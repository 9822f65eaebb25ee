#include "script/script_set.hpp"

#include <spdlog/spdlog.h>

#include <lua.hpp>

namespace llmproxy::script {
namespace {

// Every configured script with its point, in Point order.
std::array<const core::ScriptConfig*, static_cast<std::size_t>(Point::kCount)> ConfiguredScripts(
    const core::ScriptsConfig& s, const core::HooksConfig& h) {
    return {&s.routing,       &s.auth,       &s.request_transform, &s.response_transform, &s.rate_limit,
            &s.usage,         &s.error_handler, &s.on_chunk,       &h.on_request,         &h.on_auth,
            &h.on_route,      &h.on_response, &h.on_error,         &h.on_complete};
}

}  // namespace

std::size_t StateMemoryCap(const core::ScriptsConfig& scripts, const core::HooksConfig& hooks) {
    std::size_t cap = 0;
    for (const auto* config : ConfiguredScripts(scripts, hooks)) {
        if (config->enabled) cap = std::max(cap, config->max_memory);
    }
    return cap ? cap : core::ScriptConfig{}.max_memory;
}

bool AnyScript(const core::ScriptsConfig& scripts, const core::HooksConfig& hooks) {
    for (const auto* config : ConfiguredScripts(scripts, hooks)) {
        if (config->enabled) return true;
    }
    return false;
}

ScriptSet::ScriptSet(const core::ScriptsConfig& scripts, const core::HooksConfig& hooks)
    : vm_(VmLimits{StateMemoryCap(scripts, hooks)}) {
    const auto configs = ConfiguredScripts(scripts, hooks);
    for (std::size_t i = 0; i < configs.size(); ++i) {
        const core::ScriptConfig& config = *configs[i];
        if (!config.enabled) continue;
        std::string error;
        auto chunk = vm_.Load(config.code, config.name, error);
        if (!chunk) throw std::runtime_error(config.name + ": " + error);
        slots_[i] = Slot{*chunk, config.name, std::chrono::duration_cast<std::chrono::microseconds>(config.timeout),
                         config.fail_open};
    }
}

std::optional<ScriptFailure> ScriptSet::Call(Point point, std::string_view request_id, const Step& set_globals,
                                             const Step& read) {
    const Slot& slot = slots_[Index(point)];
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
    if (!AnyScript(config.scripts, config.hooks)) return {};
    try {
        ScriptSet check(config.scripts, config.hooks);
    } catch (const std::exception& e) {
        return {e.what()};
    }
    return {};
}

}  // namespace llmproxy::script
