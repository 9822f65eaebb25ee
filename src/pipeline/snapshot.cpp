#include "pipeline/snapshot.hpp"

#include "core/secret_hash.hpp"

namespace llmproxy {
namespace asio = boost::asio;

namespace {

std::shared_ptr<asio::ssl::context> MakeTlsContext(const core::ProviderConfig& p) {
    auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    if (p.tls_verify) {
        ctx->set_verify_mode(asio::ssl::verify_peer);
        if (p.ca_file.empty())
            ctx->set_default_verify_paths();
        else
            ctx->load_verify_file(p.ca_file);
    } else {
        ctx->set_verify_mode(asio::ssl::verify_none);
    }
    return ctx;
}

bool SameTls(const core::ProviderConfig& a, const core::ProviderConfig& b) {
    return a.tls == b.tls && a.tls_verify == b.tls_verify && a.ca_file == b.ca_file && a.host == b.host;
}

bool SameGlobalLimits(const core::Config& a, const core::Config& b) {
    const auto &x = a.rate_limit, &y = b.rate_limit;
    return x.global_requests_per_second == y.global_requests_per_second && x.global_burst == y.global_burst &&
           x.global_max_concurrent == y.global_max_concurrent;
}

}  // namespace

bool SameConnectionSettings(const core::ProviderConfig& a, const core::ProviderConfig& b) {
    return a.base_url == b.base_url && SameTls(a, b) && a.timeouts == b.timeouts &&
           a.max_connections == b.max_connections && a.pool_timeout == b.pool_timeout &&
           a.keepalive_idle == b.keepalive_idle;
}

std::size_t ProviderSlots::SlotOf(const std::string& name) {
    std::lock_guard lock(mu_);
    auto it = slots_.find(name);
    if (it != slots_.end()) return it->second;
    const std::size_t slot = std::min(slots_.size(), kMax - 1);
    slots_.emplace(name, slot);
    return slot;
}

namespace {

bool SameHealthCheck(const core::ProviderConfig& a, const core::ProviderConfig& b) {
    return a.health_check.enabled == b.health_check.enabled && b.health_check.enabled &&
           a.health_check.path == b.health_check.path && a.base_url == b.base_url;
}

}  // namespace

Snapshot::Snapshot(std::shared_ptr<const core::Config> c, const Snapshot* previous, std::uint64_t v,
                   ProviderSlots* slots)
    : version(v), config(c), routes(c) {
    if (!config->server.admin_key.empty()) admin_key_hash = core::Sha256(config->server.admin_key);
    for (const auto& p : config->server.trusted_proxies) {
        if (auto cidr = core::Cidr::Parse(p)) trusted_proxies.push_back(*cidr);
    }
    for (const auto& p : config->providers) {
        const std::size_t before = previous ? previous->ProviderIndex(p.name) : SIZE_MAX;
        const core::ProviderConfig* old = before != SIZE_MAX ? &previous->config->providers[before] : nullptr;
        if (old && SameTls(*old, p))
            tls.push_back(previous->tls[before]);
        else
            tls.push_back(p.tls ? MakeTlsContext(p) : nullptr);
        // Health is the provider's, not the config's: kept unless its breaker settings changed.
        if (old && old->circuit_breaker == p.circuit_breaker)
            health.push_back(previous->health[before]);
        else
            health.push_back(std::make_shared<proxy::ProviderHealth>(p.circuit_breaker));
        // An active verdict holds only for the check that gave it: a check removed, or now
        // probing another path or host, starts from healthy (else nothing would ever clear it).
        if (old && !SameHealthCheck(*old, p)) health.back()->SetActiveHealthy(true);
        metric_slot.push_back(slots ? slots->SlotOf(p.name) : std::min(metric_slot.size(), ProviderSlots::kMax - 1));
    }
    if (previous && SameGlobalLimits(*previous->config, *config))
        limiter = previous->limiter;
    else
        limiter = std::make_shared<proxy::RateLimiter>(*config);
}

std::unordered_set<std::string> ConfiguredModelNames(const core::Config& config) {
    std::unordered_set<std::string> names;
    auto add = [&](const std::string& name) {
        if (!name.empty() && name.find_first_of("*?[") == std::string::npos) names.insert(name);
    };
    for (const auto& p : config.providers) {
        for (const auto& m : p.models) add(m);
        for (const auto& [from, to] : p.model_map) add(from);
    }
    for (const auto& [model, routing] : config.routing.models) {
        add(model);
        for (const auto& fb : routing.fallback_models) add(fb);
    }
    add(config.routing.default_model);
    return names;
}

std::size_t Snapshot::ProviderIndex(std::string_view name) const {
    const auto& providers = config->providers;
    for (std::size_t i = 0; i < providers.size(); ++i) {
        if (providers[i].name == name) return i;
    }
    return SIZE_MAX;
}

}  // namespace llmproxy
