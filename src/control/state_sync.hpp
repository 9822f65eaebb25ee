#pragma once
// The control-plane thread that keeps workers' shared state current without ever blocking
// them: it reloads API keys when the store's key version changes (publishing a new KeySet),
// and writes each key's quota consumption to the quota backend, reading back the total of all
// instances. Stops with a final quota flush.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "core/config.hpp"
#include "proxy/key_set.hpp"
#include "store/quota_backend.hpp"
#include "store/store.hpp"
#include "store/store_quota_backend.hpp"

namespace llmproxy::control {

class StateSync {
public:
    /// `store` and `quotas` may be null (no database / memory-only quotas).
    StateSync(std::shared_ptr<const core::Config> config, store::Store* store, store::QuotaBackend* quotas,
              proxy::KeyDirectory& keys);
    ~StateSync();

    /// Loads the keys and quota totals once, synchronously: call before serving so that a
    /// restarted gateway knows what was already used. Throws when the store cannot be read.
    void Initialize();
    void Start();
    void Stop();  // joins; flushes quota counters one last time
    /// A new configuration was published: rebuild the key set from its keys (and the store's)
    /// now, on the calling thread. Counters of unchanged keys carry over.
    void UseConfig(std::shared_ptr<const core::Config> config);

private:
    void Run();
    void ReloadKeysIfChanged();
    void SyncQuotas();

    std::shared_ptr<const core::Config> Config();

    std::mutex config_mu_;  // config_ is replaced by UseConfig (control thread), read by the sync thread
    std::shared_ptr<const core::Config> config_;
    std::mutex rebuild_mu_;  // one key-set rebuild at a time (sync thread or UseConfig)
    store::Store* store_;
    store::QuotaBackend* quotas_;
    proxy::KeyDirectory& keys_;
    std::int64_t keys_version_ = -1;
    std::mutex mu_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

}  // namespace llmproxy::control
