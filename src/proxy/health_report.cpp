#include "proxy/health_report.hpp"

#include <cstdio>

#include "core/json_escape.hpp"

namespace llmproxy::proxy {
namespace {
const char* StateName(BreakerState s) {
    switch (s) {
        case BreakerState::kClosed:
            return "closed";
        case BreakerState::kOpen:
            return "open";
        case BreakerState::kHalfOpen:
            return "half_open";
    }
    return "?";
}
}  // namespace

std::string DetailedHealthJson(const core::Config& config, const std::vector<std::shared_ptr<ProviderHealth>>& health,
                               std::int64_t now_ms, const std::vector<ProbeResult>* probes) {
    std::string out = R"({"status":")";
    bool any_available = false;
    for (const auto& h : health) any_available = any_available || h->Available(now_ms);
    out += any_available ? "ok" : "degraded";
    out += R"(","providers":[)";
    for (std::size_t i = 0; i < config.providers.size(); ++i) {
        const auto& p = config.providers[i];
        const HealthView v = health[i]->Describe(now_ms);
        if (i) out += ',';
        out += R"({"name":)";
        core::AppendJsonString(out, p.name);
        char buf[512];
        std::snprintf(buf, sizeof buf,
                      R"(,"available":%s,"healthy":%s,"health_check":%s,"breaker":"%s","ejected_for_ms":%lld,)"
                      R"("cooldown_ms":%lld,"consecutive_failures":%d,"ejections":%d,"in_flight":%d,)"
                      R"("ewma_ttfb_ms":%.3f,"weight":%d,"last_error":)",
                      health[i]->Available(now_ms) ? "true" : "false", v.active_healthy ? "true" : "false",
                      p.health_check.enabled ? "true" : "false", StateName(v.state),
                      static_cast<long long>(v.ejected_for_ms), static_cast<long long>(v.cooled_for_ms),
                      v.consecutive_failures, v.ejections, v.in_flight, v.ewma_ttfb_ms, p.weight);
        out += buf;
        if (v.last_error.empty())
            out += "null";
        else
            core::AppendJsonString(out, v.last_error);
        if (probes) {
            const ProbeResult& r = (*probes)[i];
            std::snprintf(buf, sizeof buf, R"(,"probe":{"ok":%s,"latency_ms":%.3f,"error":)", r.ok ? "true" : "false",
                          r.latency_ms);
            out += buf;
            if (r.ok)
                out += "null";
            else
                core::AppendJsonString(out, r.done ? r.error : "probe did not finish in time");
            out += '}';
        }
        out += '}';
    }
    out += "]}";
    return out;
}

}  // namespace llmproxy::proxy
