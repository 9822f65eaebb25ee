#pragma once
// Everything derived from one configuration, immutable once built: what a request pins for its
// whole life (see RequestContext). A new snapshot carries over, by provider name, what must
// survive a reload: provider health (breakers, cool-downs, latency), TLS contexts, and the
// global limiter's counters when its limits did not change.
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <array>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "core/cidr.hpp"
#include "core/config.hpp"
#include "proxy/provider_health.hpp"
#include "proxy/rate_limiter.hpp"
#include "proxy/route_table.hpp"

namespace llmproxy {

/// Per-provider metrics live in fixed slots of each worker's metrics shard; a provider keeps its
/// slot (by name) across reloads, so its counters go on. Used by the thread that builds snapshots.
class ProviderSlots {
public:
    static constexpr std::size_t kMax = 256;  // the last one is shared by any providers beyond
    std::size_t SlotOf(const std::string& name);

private:
    std::mutex mu_;
    std::unordered_map<std::string, std::size_t> slots_;
};

struct Snapshot {
    /// `previous` (may be null) is the snapshot this one replaces. Throws when a provider's TLS
    /// settings cannot be loaded (e.g. an unreadable ca_file). Without `slots` a provider's
    /// metrics slot is its index.
    explicit Snapshot(std::shared_ptr<const core::Config> c, const Snapshot* previous = nullptr,
                      std::uint64_t version = 1, ProviderSlots* slots = nullptr);

    /// Index of the provider named `name`, or SIZE_MAX.
    std::size_t ProviderIndex(std::string_view name) const;

    std::uint64_t version;
    std::shared_ptr<const core::Config> config;
    proxy::RouteTable routes;
    std::vector<std::shared_ptr<boost::asio::ssl::context>> tls;  // per provider; null for http://
    // Live health per provider, shared by all workers (atomics inside).
    std::vector<std::shared_ptr<proxy::ProviderHealth>> health;
    std::vector<core::Cidr> trusted_proxies;
    std::shared_ptr<proxy::RateLimiter> limiter;  // shared counters (atomics) behind a const snapshot
    std::vector<std::size_t> metric_slot;         // per provider: its slot in the metrics shards
    // SHA-256 of server.admin_key (the admin API compares hashes, in constant time); unset
    // when no admin key is configured: the admin API is then refused, never open.
    std::optional<std::array<unsigned char, 32>> admin_key_hash;
};

/// Whether connections made for `a` are good for `b` (a pool or TLS context may be carried over).
bool SameConnectionSettings(const core::ProviderConfig& a, const core::ProviderConfig& b);

/// The model names the config spells out (not globs): providers' models and model_map keys,
/// routing.models and their fallbacks, the default model. Metrics keep a label for each.
std::unordered_set<std::string> ConfiguredModelNames(const core::Config& config);

}  // namespace llmproxy
