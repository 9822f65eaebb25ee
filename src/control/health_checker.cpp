#include "control/health_checker.hpp"

#include <spdlog/spdlog.h>

#include "http/log_on_exception.hpp"
#include "pipeline/provider_probe.hpp"

namespace llmproxy::control {

using proxy::ProviderHealth;

HealthChecker::HealthChecker(asio::io_context& ioc) : ioc_(ioc) {}

void HealthChecker::Use(std::shared_ptr<const Snapshot> snapshot) {
    // The loops of the previous snapshot end at their next wake-up (they see a newer generation).
    ++generation_;
    const auto& providers = snapshot->config->providers;
    for (std::size_t i = 0; i < providers.size(); ++i) {
        if (!providers[i].health_check.enabled) continue;
        asio::co_spawn(ioc_.get_executor(), Loop(snapshot, i, generation_), LogOnException{"health check loop"});
    }
}

Task<void> HealthChecker::Loop(std::shared_ptr<const Snapshot> snapshot, std::size_t provider,
                               std::uint64_t generation) {
    const auto& p = snapshot->config->providers[provider];
    const auto& hc = p.health_check;
    ProviderHealth& health = *snapshot->health[provider];
    Timer timer(ioc_.get_executor());
    // The verdict carried over a reload (the snapshot resets it when the check changed): a
    // provider unhealthy before needs healthy_threshold passes now, as it would have before.
    bool healthy = health.active_healthy();
    int successes = 0, failures = 0;
    while (generation == generation_) {
        std::string why;
        bool ok = co_await pipeline::CheckProvider(*snapshot, provider, why);
        if (generation != generation_) break;
        if (ok) {
            failures = 0;
            ++successes;
            if (!healthy && successes >= hc.healthy_threshold) {
                healthy = true;
                spdlog::info("provider '{}' is healthy again", p.name);
                health.SetActiveHealthy(true);
            } else if (healthy) {
                health.OnActiveCheckPassed();
            }
        } else {
            successes = 0;
            ++failures;
            if (healthy && failures >= hc.unhealthy_threshold) {
                healthy = false;
                spdlog::warn("provider '{}' is unhealthy: {}", p.name, why);
                health.SetActiveHealthy(false, why);
            }
        }
        timer.expires_after(hc.interval);
        co_await timer.async_wait(kNoThrow);
    }
}

}  // namespace llmproxy::control
