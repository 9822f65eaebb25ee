#include "pipeline/snapshot.hpp"

namespace llmproxy {
namespace asio = boost::asio;

namespace {

std::unique_ptr<asio::ssl::context> MakeTlsContext(const core::ProviderConfig& p) {
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    if (p.tls_verify) {
        ctx->set_verify_mode(asio::ssl::verify_peer);
        if (p.ca_file.empty()) ctx->set_default_verify_paths();
        else ctx->load_verify_file(p.ca_file);
    } else {
        ctx->set_verify_mode(asio::ssl::verify_none);
    }
    return ctx;
}

}  // namespace

Snapshot::Snapshot(std::shared_ptr<const core::Config> c)
    : config(c), routes(c), limiter(std::make_unique<proxy::RateLimiter>(*c)) {
    for (const auto& p : config->server.trusted_proxies) {
        if (auto cidr = core::Cidr::Parse(p)) trusted_proxies.push_back(*cidr);
    }
    for (const auto& p : config->providers) {
        tls.push_back(p.tls ? MakeTlsContext(p) : nullptr);
        health.push_back(std::make_unique<proxy::ProviderHealth>(p.circuit_breaker));
    }
}

}  // namespace llmproxy
