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

namespace llmproxy::store {

class StateSync {
public:
    /// `store` and `quotas` may be null (no database / memory-only quotas).
    StateSync(std::shared_ptr<const core::Config> config, Store* store, QuotaBackend* quotas,
              proxy::KeyDirectory& keys);
    ~StateSync();

    /// Loads the keys and quota totals once, synchronously: call before serving so that a
    /// restarted gateway knows what was already used. Throws when the store cannot be read.
    void Initialize();
    void Start();
    void Stop();  // joins; flushes quota counters one last time

private:
    void Run();
    void ReloadKeysIfChanged();
    void SyncQuotas();

    std::shared_ptr<const core::Config> config_;
    Store* store_;
    QuotaBackend* quotas_;
    proxy::KeyDirectory& keys_;
    std::int64_t keys_version_ = -1;
    std::mutex mu_;
    std::condition_variable wake_;
    bool stop_ = false;
    std::thread thread_;
};

/// Quota counters in the SQL store.
class StoreQuotaBackend final : public QuotaBackend {
public:
    explicit StoreQuotaBackend(Store& store) : store_(store) {}
    std::int64_t Add(const std::string& key_id, std::int64_t period_start, std::int64_t, std::int64_t delta) override {
        return store_.AddQuotaUsage(key_id, period_start, delta);
    }

private:
    Store& store_;
};

}  // namespace llmproxy::store
