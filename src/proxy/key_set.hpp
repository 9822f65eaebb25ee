#pragma once
// The API keys the gateway accepts: the config's `auth.keys` plus the persistent store's,
// indexed by SHA-256 hash. A KeySet is immutable; the sync thread builds a new one when the
// store changes and publishes it through the KeyDirectory. Each key's limit counters live in
// a shared KeyCounters that the next set takes over, so a reload resets nobody's limits.
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/cidr.hpp"
#include "core/config.hpp"
#include "core/secret_hash.hpp"
#include "proxy/rate_limiter.hpp"

namespace llmproxy::proxy {

struct KeyEntry {
    core::ApiKeyConfig config;
    std::vector<core::Cidr> allowed_ips;
    bool allowed_ips_broken = false;  // an entry did not parse: the key is refused from every address
    std::string id;                   // hex SHA-256: names the key's counters in the store and in Redis
    std::shared_ptr<KeyCounters> counters;
};

/// Unset limits (< 0) take the defaults' values.
void ApplyKeyDefaults(core::KeyLimits& limits, const core::KeyLimits& defaults);
/// The entry for one key, without counters: its id and parsed allowed_ips.
KeyEntry EntryFor(core::ApiKeyConfig key);

class KeySet {
public:
    KeySet(bool enabled, std::vector<KeyEntry> entries);
    /// Full 32-byte comparison in constant time; the prefix bucket only narrows the search.
    const KeyEntry* Find(const core::KeyHash& hash) const;
    bool enabled() const { return enabled_; }
    const std::vector<KeyEntry>& entries() const { return entries_; }

private:
    bool enabled_;
    std::vector<KeyEntry> entries_;
    std::unordered_multimap<std::uint64_t, std::size_t> by_prefix_;  // first 8 hash bytes -> entry
};

/// Config keys first, then the store's (a stored key whose name or hash a config key already
/// uses is skipped with a warning). Stored keys' unset limits take rate_limit.key_defaults.
/// Counters are taken over from `previous` for keys with the same hash and limits.
std::shared_ptr<const KeySet> BuildKeySet(const core::Config& config, std::vector<core::ApiKeyConfig> stored,
                                          const KeySet* previous, std::vector<std::string>* warnings = nullptr);

/// The current key set, swapped by one writer and read by every worker. Workers keep their
/// own shared_ptr and compare `version()` (one relaxed load) per request to see a swap.
class KeyDirectory {
public:
    std::shared_ptr<const KeySet> Load() const {
        std::lock_guard lock(mu_);
        return current_;
    }
    void Publish(std::shared_ptr<const KeySet> keys) {
        std::lock_guard lock(mu_);
        current_ = std::move(keys);
        version_.fetch_add(1, std::memory_order_release);
    }
    std::uint64_t version() const { return version_.load(std::memory_order_acquire); }

private:
    mutable std::mutex mu_;
    std::shared_ptr<const KeySet> current_;
    std::atomic<std::uint64_t> version_{0};
};

}  // namespace llmproxy::proxy
