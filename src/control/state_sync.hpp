#pragma once
// The control-plane thread that keeps workers' shared state current without ever blocking
// them: it reloads API keys when the store's key version changes (publishing a new KeySet),
// tells the config manager when the store's config version changes, and writes each key's
// quota consumption to the quota backend, reading back the total of all instances. On
// PostgreSQL it LISTENs for the store's change notifications, so another instance's write is
// seen in milliseconds; the version poll (database.poll_interval) is the fallback. Stops with
// a final quota flush.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/config.hpp"
#include "proxy/key_set.hpp"
#include "store/change_feed.hpp"
#include "store/quota_backend.hpp"
#include "store/store.hpp"
#include "store/store_quota_backend.hpp"

namespace llmproxy::control {

class StateSync {
public:
    /// `store`, `quotas` and `feed` may be null (no database / memory-only quotas / SQLite).
    StateSync(std::shared_ptr<const core::Config> config, store::Store* store, store::QuotaBackend* quotas,
              proxy::KeyDirectory& keys, std::unique_ptr<store::ChangeFeed> feed = nullptr);
    ~StateSync();

    /// Loads the keys and quota totals once, synchronously: call before serving so that a
    /// restarted gateway knows what was already used. Throws when the store cannot be read.
    void Initialize();
    /// `on_config_changed` runs on the sync thread when the store's providers or routes changed
    /// (by any instance, or by hand); it should hand the reload to the control thread.
    void Start(std::function<void()> on_config_changed = {});
    void Stop();  // joins; flushes quota counters one last time
    /// A new configuration was published: rebuild the key set from its keys (and the store's)
    /// now, on the calling thread. Counters of unchanged keys carry over.
    void UseConfig(std::shared_ptr<const core::Config> config);
    /// Reads the store's keys and publishes them now, on the calling thread (after an admin
    /// write, so that its answer comes when the change serves). Throws on a store error.
    void ReloadKeysNow();

private:
    void Run();
    /// Sleeps until `deadline`, a change notification or Stop(); true when notified.
    bool Wait(std::chrono::steady_clock::time_point deadline);
    void ReloadKeysIfChanged(bool force);
    void CheckConfigVersion();
    void SyncQuotas();

    std::shared_ptr<const core::Config> Config();

    std::mutex config_mu_;  // config_ is replaced by UseConfig (control thread), read by the sync thread
    std::shared_ptr<const core::Config> config_;
    // One user of the store's connection at a time (sync thread, or the control thread's
    // UseConfig / ReloadKeysNow), and one key-set rebuild at a time.
    std::mutex store_mu_;
    store::Store* store_;
    store::QuotaBackend* quotas_;
    proxy::KeyDirectory& keys_;
    std::unique_ptr<store::ChangeFeed> feed_;
    std::function<void()> on_config_changed_;
    std::int64_t keys_version_ = -1;
    std::int64_t config_version_ = -1;
    int wake_fd_ = -1;  // eventfd: Stop() wakes the sleeping thread
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace llmproxy::control
