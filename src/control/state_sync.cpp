#include "control/state_sync.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <ctime>

#include <spdlog/spdlog.h>

#include "core/quota_period.hpp"

namespace llmproxy::control {

StateSync::StateSync(std::shared_ptr<const core::Config> config, store::Store* store, store::QuotaBackend* quotas,
                     proxy::KeyDirectory& keys, std::unique_ptr<store::ChangeFeed> feed)
    : config_(std::move(config)),
      store_(store),
      quotas_(quotas),
      keys_(keys),
      feed_(std::move(feed)),
      wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

StateSync::~StateSync() {
    Stop();
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

void StateSync::Initialize() {
    std::lock_guard lock(store_mu_);
    if (store_) {
        keys_version_ = store_->KeysVersion();
        config_version_ = store_->ConfigVersion();
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
        ReloadKeysNow();
    } catch (const std::exception& e) {
        spdlog::error("keys: cannot rebuild for the new configuration ({}); the store's keys stay as they were",
                      e.what());
    }
}

void StateSync::ReloadKeysNow() {
    std::lock_guard lock(store_mu_);
    ReloadKeysIfChanged(true);
}

void StateSync::Start(std::function<void()> on_config_changed) {
    on_config_changed_ = std::move(on_config_changed);
    if (!store_ && !quotas_) return;  // nothing to keep in sync
    thread_ = std::thread([this] { Run(); });
}

void StateSync::Stop() {
    if (stop_.exchange(true)) return;
    if (wake_fd_ >= 0) {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    }
    if (thread_.joinable()) thread_.join();
    try {
        std::lock_guard lock(store_mu_);
        SyncQuotas();  // the last requests' usage must not be lost on shutdown
    } catch (const std::exception& e) {
        spdlog::error("quota flush at shutdown failed: {}", e.what());
    }
}

bool StateSync::Wait(std::chrono::steady_clock::time_point deadline) {
    const auto now = std::chrono::steady_clock::now();
    const auto ms = deadline <= now ? 0
                                    : std::min<std::int64_t>(
                                          60'000, std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {feed_ ? feed_->fd() : -1, POLLIN, 0}};
    const int n = ::poll(fds, fds[1].fd >= 0 ? 2 : 1, static_cast<int>(ms));
    if (n <= 0 || !(fds[1].revents & (POLLIN | POLLHUP | POLLERR))) return false;
    const auto payloads = feed_->Drain();
    return !payloads.empty();
}

void StateSync::Run() {
    using clock = std::chrono::steady_clock;
    // Without a store there are no keys to poll (only quotas to sync): never wake for that.
    auto next_poll = store_ ? clock::now() + Config()->database.poll_interval : clock::time_point::max();
    auto next_sync = quotas_ ? clock::now() + Config()->database.sync_interval : clock::time_point::max();
    auto next_reconnect = clock::now();
    while (!stop_.load()) {
        const bool notified = Wait(std::min(next_poll, next_sync));
        if (stop_.load()) break;
        const auto now = clock::now();
        try {
            if (feed_ && feed_->fd() < 0 && now >= next_reconnect) {
                next_reconnect = now + std::chrono::seconds(1);
                if (feed_->Reconnect()) spdlog::info("store: listening for changes again");
            }
            std::lock_guard lock(store_mu_);
            if (store_ && (notified || now >= next_poll)) {
                next_poll = now + Config()->database.poll_interval;
                ReloadKeysIfChanged(false);
                CheckConfigVersion();
            }
            if (quotas_ && now >= next_sync) {
                next_sync = now + Config()->database.sync_interval;
                SyncQuotas();
            }
        } catch (const std::exception& e) {
            // The store is down or busy: workers keep the last keys and local counts.
            spdlog::warn("state sync: {}", e.what());
        }
    }
}

void StateSync::ReloadKeysIfChanged(bool force) {
    if (!store_) {
        keys_.Publish(proxy::BuildKeySet(*Config(), {}, keys_.Load().get()));
        return;
    }
    if (store_->ReopenIfReplaced()) keys_version_ = -1;  // another file: its keys, whatever its version
    const std::int64_t version = store_->KeysVersion();
    if (version == keys_version_ && !force) return;
    std::vector<std::string> warnings;
    auto previous = keys_.Load();
    auto next = proxy::BuildKeySet(*Config(), store_->ListKeys(), previous.get(), &warnings);
    for (const auto& w : warnings) spdlog::warn("keys: {}", w);
    if (!force) spdlog::info("keys: reloaded from the store ({} keys, version {})", next->entries().size(), version);
    keys_.Publish(std::move(next));
    keys_version_ = version;
}

void StateSync::CheckConfigVersion() {
    const std::int64_t version = store_->ConfigVersion();
    if (version == config_version_) return;
    config_version_ = version;
    if (on_config_changed_) on_config_changed_();
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
