#pragma once
// Builds, validates and publishes configuration snapshots. Workers check version() (one atomic
// load per request) and pick up a new snapshot with Load(); requests in flight keep the one they
// started with. Health, TLS contexts, pools and balancers are carried over by provider name
// (see Snapshot and BuildUpstreams). Used from the control thread; Load/version from any.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "pipeline/snapshot.hpp"

namespace llmproxy::control {

class SnapshotPublisher {
public:
    /// Publishes the first snapshot (throws as Snapshot does).
    explicit SnapshotPublisher(std::shared_ptr<const core::Config> config);

    std::shared_ptr<const Snapshot> Load() const {
        std::lock_guard lock(mu_);
        return current_;
    }
    std::uint64_t version() const { return version_.load(std::memory_order_acquire); }

    /// Builds a snapshot of `config` and publishes it. Settings a running process cannot change
    /// (listen address, workers) are kept from the running config, with a warning in `notes`.
    /// Throws (and publishes nothing) when the snapshot cannot be built.
    std::shared_ptr<const Snapshot> Publish(std::shared_ptr<core::Config> config, std::vector<std::string>* notes);

    /// Called (on the publishing thread) after each publish, e.g. to restart health checks.
    void OnPublish(std::function<void(const std::shared_ptr<const Snapshot>&)> listener) {
        listeners_.push_back(std::move(listener));
    }

private:
    mutable std::mutex mu_;
    std::shared_ptr<const Snapshot> current_;
    std::atomic<std::uint64_t> version_{0};
    ProviderSlots slots_;
    std::vector<std::function<void(const std::shared_ptr<const Snapshot>&)>> listeners_;
};

}  // namespace llmproxy::control
