#include "http/upstream_pool.hpp"

#include <algorithm>

#include <boost/asio/ip/tcp.hpp>
#include <spdlog/spdlog.h>

namespace llmproxy::upstream {
namespace {
constexpr auto kResolveTtl = std::chrono::seconds(30);
}

UpstreamPool::UpstreamPool(Executor ex, const core::ProviderConfig& provider,
                           asio::ssl::context* tls, int max_open)
    : ex_(std::move(ex)), provider_(provider), tls_(tls), max_open_(std::max(1, max_open)) {}

Task<error_code> UpstreamPool::ResolveIfNeeded() {
    auto now = std::chrono::steady_clock::now();
    if (!endpoints_.empty() && now - resolved_at_ < kResolveTtl) co_return error_code{};
    Resolver resolver(ex_);
    auto [ec, results] = co_await resolver.async_resolve(provider_.host, provider_.port, kNoThrow);
    if (ec) {
        // Keep serving from the last good answer if DNS has a hiccup.
        co_return endpoints_.empty() ? ec : error_code{};
    }
    endpoints_.assign(results.begin(), results.end());
    resolved_at_ = now;
    co_return error_code{};
}

Task<UpstreamPool::Lease> UpstreamPool::Acquire(bool fresh) {
    auto now = std::chrono::steady_clock::now();
    while (!fresh && !idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        const bool fresh_enough = now - conn->idle_since < provider_.keepalive_idle;
        const bool clean = co_await conn->StopIdleWatch();
        if (fresh_enough && clean) {
            conn->reused = true;
            co_return Lease{std::move(conn), {}};
        }
        conn->Close();
        --open_;
    }
    if (open_ >= max_open_ && fresh && !idle_.empty()) {  // make room by dropping an idle one
        auto victim = std::move(idle_.front());
        idle_.erase(idle_.begin());
        co_await victim->StopIdleWatch();
        victim->Close();
        --open_;
    }
    auto deadline = now + provider_.timeouts.connect;
    while (open_ >= max_open_) {
        Timer timer(ex_, deadline);
        waiters_.push_back(&timer);
        co_await timer.async_wait(kNoThrow);
        std::erase(waiters_, &timer);
        if (!idle_.empty() && !fresh) co_return co_await Acquire(false);
        if (std::chrono::steady_clock::now() >= deadline && open_ >= max_open_) {
            co_return Lease{nullptr, asio::error::timed_out};
        }
    }
    ++open_;  // reserve the slot before suspending so concurrent acquirers respect the cap
    error_code resolve_ec = co_await ResolveIfNeeded();
    if (resolve_ec) {
        auto ec = resolve_ec;
        --open_;
        co_return Lease{nullptr, ec};
    }
    auto conn = std::make_shared<UpstreamConnection>(ex_, tls_);
    auto ec = co_await conn->Connect(endpoints_, provider_, provider_.timeouts.connect);
    if (ec) {
        --open_;
        endpoints_.clear();  // re-resolve next time: the address may have moved
        if (!waiters_.empty()) waiters_.front()->cancel();
        co_return Lease{nullptr, ec};
    }
    co_return Lease{std::move(conn), {}};
}

void UpstreamPool::Release(std::shared_ptr<UpstreamConnection> conn, bool reusable) {
    if (reusable && conn->is_open()) {
        conn->idle_since = std::chrono::steady_clock::now();
        conn->StartIdleWatch();
        idle_.push_back(std::move(conn));
    } else {
        conn->Close();
        --open_;
    }
    if (!waiters_.empty()) waiters_.front()->cancel();
}

}  // namespace llmproxy::upstream
