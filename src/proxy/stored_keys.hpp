#pragma once
// Keys found in Redis (auth.pipeline redis steps): what each worker remembers of the records it
// read, and the limit counters of those keys, shared by every worker.
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/config.hpp"
#include "core/secret_hash.hpp"
#include "proxy/key_set.hpp"
#include "proxy/stored_key_record.hpp"

namespace llmproxy::proxy {

/// The limit counters of keys read from Redis, by key hash, for the whole process: a key's
/// requests on every worker count against one set of limits, and a record re-read when a
/// worker's cache entry expires finds the same counters (re-reading must not reset a limit).
/// Counters are dropped only when nobody holds them and the key was last seen more than
/// kKeepIdle ago (longer than the longest window, a minute), and only once there are more
/// than kSweepAbove of them: their number follows the keys in use, not the requests.
class StoredKeyCounters {
public:
    static constexpr std::int64_t kKeepIdle = 120;
    static constexpr std::size_t kSweepAbove = 4096;

    std::shared_ptr<KeyCounters> For(const core::ApiKeyConfig& key, std::int64_t now_s);
    std::size_t size() const;

private:
    struct Slot {
        std::shared_ptr<KeyCounters> counters;
        std::int64_t seen_s = 0;
    };
    void SweepLocked(std::int64_t now_s);

    mutable std::mutex mu_;
    std::unordered_map<std::string, Slot> by_id_;  // hex SHA-256 of the key
    std::size_t sweep_at_ = kSweepAbove;
};

/// The entry for a key read from Redis: the record's limits over rate_limit.key_defaults, and
/// the process's counters for it.
std::shared_ptr<const KeyEntry> StoredKeyEntry(StoredKeyRecord record, const core::KeyLimits& defaults,
                                               StoredKeyCounters& counters, std::int64_t now_s);

/// One worker's memory of what Redis said about presented keys, for the step's cache_ttl: a
/// record (key set, quota flag) or "not there" (key null). Bounded: when full, expired entries
/// go first, then the oldest-inserted half. Single-threaded (the worker's own).
class StoredKeyCache {
public:
    static constexpr std::size_t kCapacity = 16384;

    struct Entry {
        std::shared_ptr<const KeyEntry> key;  // null: no record for this key
        bool quota_exhausted = false;
        std::int64_t expires_ms = 0;  // steady clock
        std::uint64_t generation = 0;
    };

    /// The live entry for `hash` read under this config `generation`, or null.
    const Entry* Find(const core::KeyHash& hash, std::int64_t now_ms, std::uint64_t generation) const;
    void Put(const core::KeyHash& hash, Entry entry, std::int64_t now_ms);
    std::size_t size() const { return entries_.size(); }

private:
    struct HashOfHash {
        std::size_t operator()(const core::KeyHash& h) const {
            std::size_t v;
            std::memcpy(&v, h.data(), sizeof v);
            return v;
        }
    };
    void MakeRoom(std::int64_t now_ms);

    // Looked up by the SHA-256 of the presented key (not the key): comparing hashes in variable
    // time tells nothing about the key.
    struct Slot {
        Entry entry;
        std::uint64_t number = 0;  // insertion order
    };
    std::unordered_map<core::KeyHash, Slot, HashOfHash> entries_;
    std::uint64_t inserted_ = 0;
};

}  // namespace llmproxy::proxy
