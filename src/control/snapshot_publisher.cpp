#include "control/snapshot_publisher.hpp"

namespace llmproxy::control {

SnapshotPublisher::SnapshotPublisher(std::shared_ptr<const core::Config> config) {
    current_ = std::make_shared<const Snapshot>(std::move(config), nullptr, 1, &slots_);
    version_.store(1, std::memory_order_release);
}

std::shared_ptr<const Snapshot> SnapshotPublisher::Publish(std::shared_ptr<core::Config> config,
                                                           std::vector<std::string>* notes) {
    auto previous = Load();
    const auto& running = previous->config->server;
    auto& next = config->server;
    if (next.listen != running.listen || next.workers != running.workers) {
        if (notes) notes->push_back("server.listen and server.workers take effect at the next start");
        next.listen = running.listen;
        next.listen_host = running.listen_host;
        next.listen_port = running.listen_port;
        next.workers = running.workers;
    }
    const std::uint64_t version = previous->version + 1;
    auto snapshot = std::make_shared<const Snapshot>(std::move(config), previous.get(), version, &slots_);
    {
        std::lock_guard lock(mu_);
        current_ = snapshot;
    }
    version_.store(version, std::memory_order_release);
    for (const auto& listener : listeners_) listener(snapshot);
    return snapshot;
}

}  // namespace llmproxy::control
