#include "http/upstream_pool.hpp"

#include <algorithm>

#include <sys/resource.h>

#include <boost/asio/ip/tcp.hpp>
#include <spdlog/spdlog.h>

namespace llmproxy::upstream {
namespace {
constexpr auto kResolveTtl = std::chrono::seconds(30);

class PoolErrorCategory : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "llm-proxy.pool"; }
    std::string message(int) const override { return "every connection to the upstream is in use"; }
};
}  // namespace

error_code PoolExhausted() {
    static const PoolErrorCategory category;
    return error_code(1, category);
}

int DefaultMaxConnections() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 1 << 20;
    // Room for listeners, logs, Redis, the store, health checks: 256 descriptors.
    const auto usable = static_cast<std::int64_t>(limit.rlim_cur) - 256;
    return static_cast<int>(std::max<std::int64_t>(64, usable / 2));
}

UpstreamPool::UpstreamPool(Executor ex, std::shared_ptr<const core::Config> config,
                           const core::ProviderConfig& provider, std::shared_ptr<asio::ssl::context> tls, int max_open,
                           PoolGauges* gauges)
    : ex_(std::move(ex)),
      config_(std::move(config)),
      provider_(provider),
      tls_(std::move(tls)),
      max_open_(std::max(1, max_open)),
      gauges_(gauges),
      sweep_timer_(ex_) {}

UpstreamPool::~UpstreamPool() {
    *alive_ = false;
    // Dropped by a reload (or at exit): its idle connections close with it.
    for (auto& conn : idle_) conn->Close();
    SetOpen(0);
}

void UpstreamPool::SetOpen(int open) {
    if (gauges_) gauges_->open.fetch_add(open - open_, std::memory_order_relaxed);
    open_ = open;
}

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

std::shared_ptr<UpstreamConnection> UpstreamPool::TakeIdle() {
    const auto now = std::chrono::steady_clock::now();
    while (!idle_.empty() && !idle_.back()->idle_watching()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        if (now - conn->idle_since < provider_.keepalive_idle && conn->CleanForReuse()) {
            conn->reused = true;
            return conn;
        }
        conn->Close();
        SetOpen(open_ - 1);
    }
    return nullptr;
}

Task<UpstreamPool::Lease> UpstreamPool::Acquire(bool fresh) {
    auto now = std::chrono::steady_clock::now();
    while (!fresh && !idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        const bool fresh_enough = now - conn->idle_since < provider_.keepalive_idle;
        // (Most reuses come within kWatchAfter: no watch to stop, no coroutine to call.)
        const bool clean = conn->idle_watching() ? co_await conn->StopIdleWatch() : conn->CleanForReuse();
        if (fresh_enough && clean) {
            conn->reused = true;
            co_return Lease{std::move(conn), {}};
        }
        conn->Close();
        SetOpen(open_ - 1);
    }
    if (open_ >= max_open_ && fresh && !idle_.empty()) {  // make room by dropping an idle one
        auto victim = std::move(idle_.front());
        idle_.erase(idle_.begin());
        if (victim->idle_watching()) co_await victim->StopIdleWatch();
        victim->Close();
        SetOpen(open_ - 1);
    }
    // At the cap: wait for a connection to come back (Release wakes the first waiter).
    auto deadline = now + provider_.pool_timeout;
    while (open_ >= max_open_) {
        Timer timer(ex_, deadline);
        waiters_.push_back(&timer);
        if (gauges_) gauges_->waiting.fetch_add(1, std::memory_order_relaxed);
        co_await timer.async_wait(kNoThrow);
        if (gauges_) gauges_->waiting.fetch_sub(1, std::memory_order_relaxed);
        std::erase(waiters_, &timer);
        if (!idle_.empty() && !fresh) co_return co_await Acquire(false);
        if (std::chrono::steady_clock::now() >= deadline && open_ >= max_open_) {
            co_return Lease{nullptr, PoolExhausted()};
        }
    }
    SetOpen(open_ + 1);  // reserve the slot before suspending so concurrent acquirers respect the cap
    error_code resolve_ec = co_await ResolveIfNeeded();
    if (resolve_ec) {
        auto ec = resolve_ec;
        SetOpen(open_ - 1);
        co_return Lease{nullptr, ec};
    }
    auto conn = std::make_shared<UpstreamConnection>(ex_, tls_.get());
    auto ec = co_await conn->Connect(endpoints_, provider_, provider_.timeouts.connect);
    if (ec) {
        SetOpen(open_ - 1);
        endpoints_.clear();  // re-resolve next time: the address may have moved
        if (!waiters_.empty()) waiters_.front()->cancel();
        co_return Lease{nullptr, ec};
    }
    co_return Lease{std::move(conn), {}};
}

void UpstreamPool::DropStaleIdle(std::chrono::steady_clock::time_point now) {
    std::erase_if(idle_, [&](const std::shared_ptr<UpstreamConnection>& conn) {
        if (conn->is_open() && now - conn->idle_since < provider_.keepalive_idle) return false;
        conn->Close();  // its idle watch completes (aborted) and releases it
        SetOpen(open_ - 1);
        return true;
    });
}

std::chrono::steady_clock::time_point UpstreamPool::WatchIdle(std::chrono::steady_clock::time_point now) {
    auto due = now + provider_.keepalive_idle;
    for (const auto& conn : idle_) {
        due = std::min(due, conn->idle_since + provider_.keepalive_idle);
        if (conn->idle_watching()) continue;
        if (now - conn->idle_since >= kWatchAfter) {
            conn->StartIdleWatch();
        } else {
            due = std::min(due, conn->idle_since + kWatchAfter);
        }
    }
    return due;
}

Task<void> UpstreamPool::SweepIdle(std::shared_ptr<bool> alive) {
    sweep_due_ = std::chrono::steady_clock::now() + kWatchAfter;
    for (;;) {
        sweep_timer_.expires_at(sweep_due_);
        co_await sweep_timer_.async_wait(kNoThrow);  // (aborted when Release wants it sooner)
        if (!*alive) co_return;                      // the pool (and the timer) are gone: touch nothing
        const auto now = std::chrono::steady_clock::now();
        if (now < sweep_due_) continue;
        DropStaleIdle(now);
        if (idle_.empty()) {
            sweeping_ = false;
            co_return;
        }
        sweep_due_ = WatchIdle(now);
    }
}

void UpstreamPool::Release(std::shared_ptr<UpstreamConnection> conn, bool reusable) {
    const auto now = std::chrono::steady_clock::now();
    // Idle connections older than keepalive_idle are closed (the oldest are at the front; the
    // sweep catches the rest).
    while (!idle_.empty() && now - idle_.front()->idle_since >= provider_.keepalive_idle) {
        auto old = std::move(idle_.front());
        idle_.erase(idle_.begin());
        old->Close();  // its idle watch completes (aborted) and releases it
        SetOpen(open_ - 1);
    }
    if (reusable && conn->CleanForReuse()) {
        conn->idle_since = now;
        idle_.push_back(std::move(conn));
        if (!sweeping_) {
            sweeping_ = true;
            asio::co_spawn(ex_, SweepIdle(alive_), asio::detached);
        } else if (sweep_due_ > now + kWatchAfter) {
            // The sweep sleeps until a keepalive_idle expiry: wake it to watch this one. Under
            // load it is always due within kWatchAfter, so this costs no timer operation then.
            sweep_due_ = now + kWatchAfter;
            sweep_timer_.expires_at(sweep_due_);
        }
    } else {
        conn->Close();
        SetOpen(open_ - 1);
    }
    if (!waiters_.empty()) waiters_.front()->cancel();
}

}  // namespace llmproxy::upstream
