#include "control/snapshot_publisher.hpp"

namespace llmproxy::control {
namespace {

bool SameUsageHook(const core::UsageHookConfig& a, const core::UsageHookConfig& b) {
    return a.enabled == b.enabled && a.url == b.url && a.timeout == b.timeout && a.retry == b.retry &&
           a.backoff == b.backoff && a.batch_size == b.batch_size && a.concurrency == b.concurrency &&
           a.headers == b.headers && a.secret == b.secret && a.spool_dir == b.spool_dir &&
           a.include_request_body == b.include_request_body && a.queue_size == b.queue_size;
}

// Settings wired once at start (sinks, the store, sockets): a reload keeps the running values
// and says so, rather than showing a config that is not the one in effect.
void KeepStartOnlySettings(const core::Config& running, core::Config& next, std::vector<std::string>* notes) {
    auto note = [&](const char* what) {
        if (notes) notes->push_back(std::string(what) + " takes effect at the next start (the running value is kept)");
    };
    if (next.server.listen != running.server.listen || next.server.workers != running.server.workers) {
        note("server.listen / server.workers");
        next.server.listen = running.server.listen;
        next.server.listen_host = running.server.listen_host;
        next.server.listen_port = running.server.listen_port;
        next.server.workers = running.server.workers;
    }
    if (!SameUsageHook(next.usage_hook, running.usage_hook)) {
        note("usage_hook");
        next.usage_hook = running.usage_hook;
    }
    if (next.logging.access_log != running.logging.access_log) {
        note("logging.access_log");
        next.logging.access_log = running.logging.access_log;
    }
    if (next.logging.request_log.enabled != running.logging.request_log.enabled ||
        next.logging.request_log.output != running.logging.request_log.output) {
        note("logging.request_log.enabled / output");
        next.logging.request_log.enabled = running.logging.request_log.enabled;
        next.logging.request_log.output = running.logging.request_log.output;
    }
    if (next.database.url != running.database.url) {
        note("database.url");
        next.database.url = running.database.url;
    }
}

}  // namespace

SnapshotPublisher::SnapshotPublisher(std::shared_ptr<const core::Config> config) {
    current_ = std::make_shared<const Snapshot>(std::move(config), nullptr, 1, &slots_);
    version_.store(1, std::memory_order_release);
}

std::shared_ptr<const Snapshot> SnapshotPublisher::Publish(std::shared_ptr<core::Config> config,
                                                           std::vector<std::string>* notes) {
    auto previous = Load();
    KeepStartOnlySettings(*previous->config, *config, notes);
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
