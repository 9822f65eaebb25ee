#include "control/state_sync.hpp"

#include <ctime>

#include <spdlog/spdlog.h>

#include "core/quota_period.hpp"

namespace llmproxy::control {

StateSync::StateSync(std::shared_ptr<const core::Config> config, store::Store* store, store::QuotaBackend* quotas,
                     proxy::KeyDirectory& keys)
    : config_(std::move(config)), store_(store), quotas_(quotas), keys_(keys) {}

StateSync::~StateSync() {
    Stop();
}

void StateSync::Initialize() {
    if (store_) {
        keys_version_ = store_->KeysVersion();
        auto previous = keys_.Load();
        keys_.Publish(proxy::BuildKeySet(*config_, store_->ListKeys(), previous.get()));
    } else {
        keys_.Publish(proxy::BuildKeySet(*config_, {}, nullptr));
    }
    try {
        SyncQuotas();
    } catch (const std::exception& e) {
        // Keys are required to serve; quota totals are retried every sync_interval.
        spdlog::warn("quota counters not loaded yet: {}", e.what());
    }
}

std::shared_ptr<const core::Config> StateSync::Config() {
    std::lock_guard lock(config_mu_);
    return config_;
}

void StateSync::UseConfig(std::shared_ptr<const core::Config> config) {
    {
        std::lock_guard lock(config_mu_);
        config_ = std::move(config);
    }
    try {
        std::lock_guard rebuild(rebuild_mu_);
        std::vector<std::string> warnings;
        auto previous = keys_.Load();
        auto stored = store_ ? store_->ListKeys() : std::vector<core::ApiKeyConfig>{};
        auto next = proxy::BuildKeySet(*Config(), std::move(stored), previous.get(), &warnings);
        for (const auto& w : warnings) spdlog::warn("keys: {}", w);
        keys_.Publish(std::move(next));
    } catch (const std::exception& e) {
        spdlog::error("keys: cannot rebuild for the new configuration ({}); the store's keys stay as they were",
                      e.what());
    }
}

void StateSync::Start() {
    if (!store_ && !quotas_) return;  // nothing to keep in sync
    thread_ = std::thread([this] { Run(); });
}

void StateSync::Stop() {
    {
        std::lock_guard lock(mu_);
        if (stop_) return;
        stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
    try {
        SyncQuotas();  // the last requests' usage must not be lost on shutdown
    } catch (const std::exception& e) {
        spdlog::error("quota flush at shutdown failed: {}", e.what());
    }
}

void StateSync::Run() {
    using clock = std::chrono::steady_clock;
    // Without a store there are no keys to poll (only quotas to sync): never wake for that.
    auto next_poll = store_ ? clock::now() + Config()->database.poll_interval : clock::time_point::max();
    auto next_sync = quotas_ ? clock::now() + Config()->database.sync_interval : clock::time_point::max();
    std::unique_lock lock(mu_);
    while (!stop_) {
        wake_.wait_until(lock, std::min(next_poll, next_sync), [&] { return stop_; });
        if (stop_) break;
        lock.unlock();
        const auto now = clock::now();
        try {
            if (store_ && now >= next_poll) {
                next_poll = now + Config()->database.poll_interval;
                ReloadKeysIfChanged();
            }
            if (quotas_ && now >= next_sync) {
                next_sync = now + Config()->database.sync_interval;
                SyncQuotas();
            }
        } catch (const std::exception& e) {
            // The store is down or busy: workers keep the last keys and local counts.
            spdlog::warn("state sync: {}", e.what());
        }
        lock.lock();
    }
}

void StateSync::ReloadKeysIfChanged() {
    if (store_->ReopenIfReplaced()) keys_version_ = -1;  // another file: its keys, whatever its version
    const std::int64_t version = store_->KeysVersion();
    if (version == keys_version_) return;
    std::lock_guard rebuild(rebuild_mu_);
    std::vector<std::string> warnings;
    auto previous = keys_.Load();
    auto next = proxy::BuildKeySet(*Config(), store_->ListKeys(), previous.get(), &warnings);
    for (const auto& w : warnings) spdlog::warn("keys: {}", w);
    spdlog::info("keys: reloaded from the store ({} keys, version {})", next->entries().size(), version);
    keys_.Publish(std::move(next));
    keys_version_ = version;
}

void StateSync::SyncQuotas() {
    if (!quotas_) return;
    auto keys = keys_.Load();
    if (!keys) return;
    const std::int64_t now = std::time(nullptr);
    for (const auto& entry : keys->entries()) {
        auto& quota = entry.counters->quota;
        if (!quota.enabled()) continue;
        const auto pending = quota.TakeUnsynced(now);
        try {
            const std::int64_t total =
                quotas_->Add(entry.id, pending.period_start, core::PeriodEnd(quota.period(), now), pending.delta);
            quota.SetSyncedTotal(pending.period_start, total);
        } catch (...) {
            quota.ReturnUnsynced(pending);
            throw;
        }
    }
}

}  // namespace llmproxy::control
