#include "proxy/key_set.hpp"

#include <cstring>
#include <set>

namespace llmproxy::proxy {
namespace {

std::uint64_t Prefix(const core::KeyHash& h) {
    std::uint64_t v;
    std::memcpy(&v, h.data(), sizeof v);
    return v;
}

}  // namespace

void ApplyKeyDefaults(core::KeyLimits& l, const core::KeyLimits& d) {
    if (l.requests_per_second < 0) l.requests_per_second = d.requests_per_second;
    if (l.requests_per_minute < 0) l.requests_per_minute = d.requests_per_minute;
    if (l.tokens_per_minute < 0) l.tokens_per_minute = d.tokens_per_minute;
    if (l.max_concurrent < 0) l.max_concurrent = d.max_concurrent;
}

KeyEntry EntryFor(core::ApiKeyConfig key) {
    KeyEntry e;
    for (const auto& ip : key.allowed_ips) {
        if (auto c = core::Cidr::Parse(ip)) {
            e.allowed_ips.push_back(*c);
        } else {
            e.allowed_ips_broken = true;  // fail closed: dropping it could leave "any address"
        }
    }
    e.id = core::HexOf(key.hash);
    e.config = std::move(key);
    return e;
}

KeySet::KeySet(bool enabled, std::vector<KeyEntry> entries) : enabled_(enabled), entries_(std::move(entries)) {
    for (std::size_t i = 0; i < entries_.size(); ++i) by_prefix_.emplace(Prefix(entries_[i].config.hash), i);
}

const KeyEntry* KeySet::Find(const core::KeyHash& hash) const {
    auto [begin, end] = by_prefix_.equal_range(Prefix(hash));
    const KeyEntry* found = nullptr;
    for (auto it = begin; it != end; ++it) {
        if (core::ConstantTimeEqual(entries_[it->second].config.hash, hash)) found = &entries_[it->second];
    }
    return found;
}

std::shared_ptr<const KeySet> BuildKeySet(const core::Config& config, std::vector<core::ApiKeyConfig> stored,
                                          const KeySet* previous, std::vector<std::string>* warnings) {
    std::vector<KeyEntry> entries;
    std::set<std::string> names, hashes;
    auto add = [&](core::ApiKeyConfig key, bool from_store) {
        std::string id = core::HexOf(key.hash);
        if (!names.insert(key.name).second || !hashes.insert(id).second) {
            if (warnings) warnings->push_back("stored key \"" + key.name + "\" clashes with a config key; ignored");
            return;
        }
        if (from_store) ApplyKeyDefaults(key.limits, config.rate_limit.key_defaults);
        KeyEntry e = EntryFor(std::move(key));
        if (e.allowed_ips_broken && warnings) {
            warnings->push_back("key \"" + e.config.name +
                                "\" has allowed_ips that do not parse; refused from every address");
        }
        if (previous) {
            if (const KeyEntry* old = previous->Find(e.config.hash); old && old->counters->SameLimits(e.config)) {
                e.counters = old->counters;
            }
        }
        if (!e.counters) e.counters = std::make_shared<KeyCounters>(e.config);
        entries.push_back(std::move(e));
    };
    for (const auto& k : config.auth.keys) add(k, false);
    for (auto& k : stored) add(std::move(k), true);
    return std::make_shared<const KeySet>(config.auth.enabled, std::move(entries));
}

}  // namespace llmproxy::proxy
