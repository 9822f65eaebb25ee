#pragma once
// Active health checks, off the request path: one loop per provider (with health_check
// enabled) on the control thread's io_context, sending GET <path> every interval and flipping
// the provider's shared health after healthy_threshold / unhealthy_threshold results in a row.
// Use() again with each new snapshot: the old loops stop, the new ones start (health itself is
// carried over by the snapshot).
#include <cstdint>
#include <memory>

#include "http/asio_types.hpp"
#include "pipeline/snapshot.hpp"

namespace llmproxy::control {

class HealthChecker {
public:
    explicit HealthChecker(asio::io_context& ioc);
    void Use(std::shared_ptr<const Snapshot> snapshot);

private:
    Task<void> Loop(std::shared_ptr<const Snapshot> snapshot, std::size_t provider, std::uint64_t generation);

    asio::io_context& ioc_;
    std::uint64_t generation_ = 0;
};

}  // namespace llmproxy::control
