#pragma once
// Active health checks, off the request path: one loop per provider (with health_check
// enabled) on the control thread's io_context, sending GET <path> every interval and flipping
// the provider's shared health after healthy_threshold / unhealthy_threshold results in a row.
#include <memory>
#include <string>

#include <chrono>
#include <vector>

#include "http/asio_types.hpp"
#include "proxy/health_report.hpp"

namespace llmproxy {
struct Snapshot;
}

namespace llmproxy::proxy {

class HealthChecker {
public:
    HealthChecker(asio::io_context& ioc, std::shared_ptr<const Snapshot> snapshot);
    void Start();

    /// One check now; true when the provider answered 2xx within its timeout.
    static Task<bool> CheckOnce(const Snapshot& snapshot, std::size_t provider, std::string& why);

    /// GET /health/detailed?probe=true: checks every provider now, at most kProbeConcurrency at
    /// a time, and gives up on stragglers after kProbeBudget.
    static Task<std::vector<ProbeResult>> ProbeAll(std::shared_ptr<const Snapshot> snapshot);
    static constexpr std::size_t kProbeConcurrency = 8;
    static constexpr std::chrono::milliseconds kProbeBudget{5000};

private:
    Task<void> Loop(std::size_t provider);

    asio::io_context& ioc_;
    std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace llmproxy::proxy
