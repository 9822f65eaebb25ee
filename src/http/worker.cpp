#include "http/worker.hpp"

#include <cstdio>

#include "proxy/shared_limits.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "http/log_on_exception.hpp"

#include "http/session.hpp"

namespace llmproxy {
Worker::Worker(int index, int worker_count, std::shared_ptr<const Snapshot> snapshot, SharedState& shared)
    : index_(index),
      snapshot_(std::move(snapshot)),
      shared_(shared),
      acceptor_(ioc_),
      retry_budget_(snapshot_->config->routing.retry.budget_ratio, snapshot_->config->routing.retry.budget_min_per_second),
      metrics_(snapshot_->config->providers.size()),
      rng_(std::random_device{}() ^ (static_cast<std::uint64_t>(index) << 32)),
      // The process's body memory shared out; a worker can always hold one body of the maximum size.
      body_budget_(std::max(snapshot_->config->server.max_body_bytes + 64,
                            snapshot_->config->server.max_body_memory / static_cast<std::size_t>(std::max(1, worker_count)))) {
    const auto& config = *snapshot_->config;
    int workers = std::max(1, worker_count);
    for (std::size_t i = 0; i < config.providers.size(); ++i) {
        const auto& p = config.providers[i];
        // max_connections is per instance: each worker gets its share (at least one).
        const int cap = p.max_connections > 0 ? p.max_connections : upstream::DefaultMaxConnections();
        const int share = std::max(1, (cap + workers - 1) / workers);
        pools_.push_back(std::make_unique<upstream::UpstreamPool>(ioc_.get_executor(), p, snapshot_->tls[i].get(), share,
                                                                  &metrics_.pool_gauges(i)));
    }
    runtime_.worker_index = static_cast<std::size_t>(index);
    runtime_.metrics = &metrics_;
    runtime_.body_budget = &body_budget_;
    runtime_.draining = &shared_.draining;
    runtime_.tokenizers = shared_.tokenizers;
    runtime_.metric_shards = &shared_.metric_shards;
    runtime_.sinks = {shared_.access_log, shared_.webhook, shared_.ledger, shared_.request_log};
    runtime_.pools = &pools_;
    runtime_.balancers = &balancers_;
    runtime_.retry_budget = &retry_budget_;
    runtime_.rng = &rng_;
    if (config.rate_limit.storage == "redis") {
        runtime_.admit_sha = store::ScriptSha1(proxy::kAdmitScript);
        redis_ = std::make_unique<store::RedisClient>(ioc_.get_executor(), config.redis,
                                                      std::vector<std::string>{proxy::kAdmitScript});
        runtime_.redis = redis_.get();
        char prefix[32];
        std::snprintf(prefix, sizeof prefix, "%016llx:%d:", static_cast<unsigned long long>(rng_()), index);
        runtime_.slot_prefix = prefix;
    }
    for (std::size_t r = 0; r < snapshot_->routes.route_count(); ++r) {
        balancers_.push_back(proxy::MakeBalancer(snapshot_->routes.route(r).strategy, rng_()));
    }
}

Worker::~Worker() {
    Stop();
    Join();
}

void Worker::Start(const tcp::endpoint& endpoint) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(Acceptor::reuse_address(true));
    // SO_REUSEPORT: every worker has its own accept queue; the kernel spreads connections.
    using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
    acceptor_.set_option(reuse_port(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    bound_port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_.get_executor(), AcceptLoop(), LogOnException{"accept loop"});
    if (redis_) redis_->Start();
    thread_ = std::thread([this] {
        try {
            ioc_.run();
        } catch (const std::exception& e) {
            spdlog::critical("worker {} stopped: {}", index_, e.what());
        }
    });
}

Task<void> Worker::AcceptLoop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(kNoThrow);
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
            // EMFILE and friends: back off briefly instead of spinning.
            spdlog::warn("accept failed: {}", ec.message());
            Timer timer(ioc_.get_executor(), std::chrono::milliseconds(50));
            co_await timer.async_wait(kNoThrow);
            continue;
        }
        asio::co_spawn(ioc_.get_executor(), RunSession(std::move(socket), *this), LogOnException{"client session"});
    }
}

void Worker::BeginDrain() {
    asio::post(ioc_, [this] {
        error_code ignored;
        acceptor_.close(ignored);
        for (auto* handle : sessions_) {
            if (!handle->busy) handle->stream->socket().cancel(ignored);
        }
    });
}

void Worker::Stop() { ioc_.stop(); }

void Worker::Join() {
    if (thread_.joinable()) thread_.join();
}

}  // namespace llmproxy
