#pragma once
// Active health checks, off the request path: one loop per provider (with health_check
// enabled) on the control thread's io_context, sending GET <path> every interval and flipping
// the provider's shared health after healthy_threshold / unhealthy_threshold results in a row.
#include <memory>
#include <string>

#include "http/asio_types.hpp"

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

private:
    Task<void> Loop(std::size_t provider);

    asio::io_context& ioc_;
    std::shared_ptr<const Snapshot> snapshot_;
};

}  // namespace llmproxy::proxy
