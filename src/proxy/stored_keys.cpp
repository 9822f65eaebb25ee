#include "proxy/stored_keys.hpp"

#include <algorithm>
#include <vector>

namespace llmproxy::proxy {

std::shared_ptr<KeyCounters> StoredKeyCounters::For(const core::ApiKeyConfig& key, std::int64_t now_s) {
    std::lock_guard lock(mu_);
    Slot& slot = by_id_[core::HexOf(key.hash)];
    if (!slot.counters || !slot.counters->SameLimits(key)) slot.counters = std::make_shared<KeyCounters>(key);
    slot.seen_s = now_s;
    auto counters = slot.counters;
    if (by_id_.size() > sweep_at_) SweepLocked(now_s);
    return counters;
}

std::size_t StoredKeyCounters::size() const {
    std::lock_guard lock(mu_);
    return by_id_.size();
}

void StoredKeyCounters::SweepLocked(std::int64_t now_s) {
    std::erase_if(by_id_, [&](const auto& item) {
        const Slot& s = item.second;
        return s.counters.use_count() == 1 && now_s - s.seen_s > kKeepIdle;
    });
    // Every key still in use: sweep again only after as many more (amortised, never per call).
    sweep_at_ = std::max(kSweepAbove, by_id_.size() * 2);
}

std::shared_ptr<const KeyEntry> StoredKeyEntry(StoredKeyRecord record, const core::KeyLimits& defaults,
                                               StoredKeyCounters& counters, std::int64_t now_s) {
    ApplyKeyDefaults(record.config.limits, defaults);
    auto entry = std::make_shared<KeyEntry>(EntryFor(std::move(record.config)));
    entry->counters = counters.For(entry->config, now_s);
    return entry;
}

const StoredKeyCache::Entry* StoredKeyCache::Find(const core::KeyHash& hash, std::int64_t now_ms,
                                                  std::uint64_t generation) const {
    const auto it = entries_.find(hash);
    if (it == entries_.end()) return nullptr;
    const Entry& e = it->second.entry;
    return e.generation == generation && now_ms < e.expires_ms ? &e : nullptr;
}

void StoredKeyCache::Put(const core::KeyHash& hash, Entry entry, std::int64_t now_ms) {
    if (entries_.size() >= kCapacity && !entries_.contains(hash)) MakeRoom(now_ms);
    entries_[hash] = Slot{std::move(entry), ++inserted_};
}

void StoredKeyCache::MakeRoom(std::int64_t now_ms) {
    std::erase_if(entries_, [&](const auto& item) { return now_ms >= item.second.entry.expires_ms; });
    if (entries_.size() < kCapacity / 2) return;
    // Still full of live entries (many keys, or many unknown ones): drop the older half.
    std::vector<std::uint64_t> numbers;
    numbers.reserve(entries_.size());
    for (const auto& item : entries_) numbers.push_back(item.second.number);
    const auto middle = numbers.begin() + static_cast<std::ptrdiff_t>(numbers.size() / 2);
    std::nth_element(numbers.begin(), middle, numbers.end());
    const std::uint64_t cut = *middle;
    std::erase_if(entries_, [&](const auto& item) { return item.second.number < cut; });
}

}  // namespace llmproxy::proxy
