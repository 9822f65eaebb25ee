#pragma once
// Everything derived from one configuration, immutable once built: what a request pins for its
// whole life (see RequestContext).
#include <memory>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "core/cidr.hpp"
#include "core/config.hpp"
#include "proxy/provider_health.hpp"
#include "proxy/rate_limiter.hpp"
#include "proxy/route_table.hpp"

namespace llmproxy {

/// Everything derived from one configuration; replaced as a whole (never mutated) on reload.
struct Snapshot {
    explicit Snapshot(std::shared_ptr<const core::Config> c);
    std::shared_ptr<const core::Config> config;
    proxy::RouteTable routes;
    std::vector<std::unique_ptr<boost::asio::ssl::context>> tls;  // per provider; null for http://
    // Live health per provider, shared by all workers (atomics inside).
    // TODO(reload): carry these over by provider name when config hot reload arrives.
    std::vector<std::unique_ptr<proxy::ProviderHealth>> health;
    std::vector<core::Cidr> trusted_proxies;
    std::unique_ptr<proxy::RateLimiter> limiter;  // shared counters (atomics) behind a const snapshot
};


}  // namespace llmproxy
