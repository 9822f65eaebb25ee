#include "app/worker.hpp"

#include <algorithm>
#include <cstdio>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "http/log_on_exception.hpp"
#include "pipeline/pipeline.hpp"
#include "proxy/shared_limits.hpp"

namespace llmproxy {
namespace {

constexpr std::size_t kMaxRefusing = 64;

// The process's body memory shared out; a worker can always hold one body of the maximum size.
std::size_t BodyBudgetOf(const core::ServerConfig& server, int workers) {
    return std::max(server.max_body_bytes + 64,
                    server.max_body_memory / static_cast<std::size_t>(std::max(1, workers)));
}

}  // namespace

Worker::Worker(int index, int worker_count, SharedState& shared)
    : index_(index),
      worker_count_(worker_count),
      shared_(shared),
      acceptor_(ioc_),
      metrics_(ProviderSlots::kMax),
      rng_(std::random_device{}() ^ (static_cast<std::uint64_t>(index) << 32)),
      retry_budget_(shared.snapshots->Load()->config->routing.retry.budget_ratio,
                    shared.snapshots->Load()->config->routing.retry.budget_min_per_second),
      body_budget_(BodyBudgetOf(shared.snapshots->Load()->config->server, worker_count)) {
    const auto config = shared_.snapshots->Load()->config;
    Current();  // the first snapshot's pools and balancers
    runtime_.worker_index = static_cast<std::size_t>(index);
    runtime_.metrics = &metrics_;
    runtime_.body_budget = &body_budget_;
    runtime_.draining = &shared_.draining;
    runtime_.tokenizers = shared_.tokenizers;
    runtime_.metric_shards = &shared_.metric_shards;
    runtime_.sinks = {shared_.access_log, shared_.webhook, shared_.ledger, shared_.request_log};
    runtime_.retry_budget = &retry_budget_;
    runtime_.delayed_starts = &delayed_starts_;
    runtime_.rng = &rng_;
    runtime_.endpoints = shared_.endpoints;
    runtime_.control = shared_.control;
    runtime_.reload_stats = shared_.reload_stats;
    runtime_.openapi = shared_.openapi;
    // Limits storage, the key store and the Redis connection are fixed for the process's life
    // (a reload that changes them takes effect at the next start).
    const bool shared_limits = config->rate_limit.storage == "redis";
    const bool stored_keys = std::any_of(config->auth.pipeline.begin(), config->auth.pipeline.end(),
                                         [](const core::AuthPipelineEntry& step) { return step.redis(); });
    runtime_.stored_keys = &stored_keys_;
    runtime_.stored_key_counters = shared_.stored_key_counters;
    if (shared_limits || stored_keys) {
        std::vector<std::string> scripts;
        if (shared_limits) scripts.emplace_back(proxy::kAdmitScript);
        redis_ = std::make_unique<store::RedisClient>(ioc_.get_executor(), config->redis, std::move(scripts));
        if (stored_keys) runtime_.key_store = redis_.get();
    }
    if (shared_limits) {
        runtime_.admit_sha = store::ScriptSha1(proxy::kAdmitScript);
        runtime_.redis = redis_.get();
        char prefix[32];
        std::snprintf(prefix, sizeof prefix, "%016llx:%d:", static_cast<unsigned long long>(rng_()), index);
        runtime_.slot_prefix = prefix;
    }
}

Worker::~Worker() {
    Stop();
    Join();
    // Requests cut off by the exit unwind now (their holds give back body budget, limit slots,
    // gauges), not after the members they refer to are gone.
    ioc_.DestroyPendingWork();
}

// The settings this worker holds state for, applied at a reload (its pools and balancers are
// carried over by BuildUpstreams).
void Worker::ApplyWorkerSettings(const core::Config& next, const core::Config* previous) {
    if (!previous) return;  // the constructor set them
    if (next.server.max_body_memory != previous->server.max_body_memory) {
        body_budget_.SetLimit(BodyBudgetOf(next.server, worker_count_));
    }
    const auto& retry = next.routing.retry;
    if (retry.budget_ratio != previous->routing.retry.budget_ratio ||
        retry.budget_min_per_second != previous->routing.retry.budget_min_per_second) {
        retry_budget_ = proxy::RetryBudget(retry.budget_ratio, retry.budget_min_per_second);
    }
}

const std::shared_ptr<const pipeline::Upstreams>& Worker::Current() {
    const std::uint64_t version = shared_.snapshots->version();
    if (version != snapshot_version_) {
        auto snapshot = shared_.snapshots->Load();
        snapshot_version_ = snapshot->version;
        ApplyWorkerSettings(*snapshot->config, upstreams_ ? upstreams_->snapshot->config.get() : nullptr);
        metrics_.SetConfiguredModels(ConfiguredModelNames(*snapshot->config));
        upstreams_ = pipeline::BuildUpstreams(std::move(snapshot), upstreams_.get(), ioc_.get_executor(), worker_count_,
                                              metrics_, rng_);
    }
    return upstreams_;
}

const std::shared_ptr<const proxy::KeySet>& Worker::Keys() {
    const auto version = shared_.keys->version();
    if (version != keys_version_) {
        keys_ = shared_.keys->Load();
        keys_version_ = version;
    }
    return keys_;
}

void Worker::AddSession(SessionHandle&) {
    ++sessions_;
    metrics_.SetClientConnections(sessions_);
    shared_.open_sessions.fetch_add(1, std::memory_order_relaxed);
}

void Worker::RemoveSession(SessionHandle& handle) {
    handle.unlink();
    --sessions_;
    metrics_.SetClientConnections(sessions_);
    shared_.open_sessions.fetch_sub(1, std::memory_order_relaxed);
}

std::size_t Worker::ConnectionCap() {
    const int configured = CurrentConfig()->server.max_connections;
    return configured > 0 ? static_cast<std::size_t>(configured) : auto_connection_cap_;
}

bool Worker::CloseOldestIdle() {
    if (idle_.empty()) return false;
    SessionHandle& oldest = idle_.front();
    oldest.unlink();  // not picked twice while its read completes
    error_code ignored;
    oldest.stream->socket().cancel(ignored);  // its keep-alive read ends; the session closes
    metrics_.CountConnectionShed(/*refused=*/false);
    return true;
}

void Worker::RecordRefusedHead(const RefusedHead& r) {
    metrics_.RecordRequest({r.method, "unknown", {}, {}, r.status, false}, r.latency_ms / 1000.0, -1);
    if (shared_.access_log) {
        observe::AccessRecord a;
        a.request_id = r.request_id;
        a.method = r.method;
        a.path = r.target;
        a.client_ip = r.client_ip;
        a.status = r.status;
        a.latency_ms = r.latency_ms;
        shared_.access_log->Write(static_cast<std::size_t>(index_), a);
    }
}

// Not a coroutine: the request's own (HandleRequest's, which keeps the snapshots it is given).
Task<bool> Worker::Serve(TcpStream& client, beast::flat_buffer& buffer, RequestParser& parser,
                         std::string_view client_ip) {
    return pipeline::HandleRequest(client, buffer, parser, Current(), Keys(), runtime_, client_ip);
}

void Worker::Start(const tcp::endpoint& endpoint) {
    runtime_.serve_internal = [this](Socket socket, std::string client_ip) {
        asio::co_spawn(ioc_.get_executor(), RunSession(std::move(socket), *this, std::move(client_ip)),
                       LogOnException{"internal session"});
    };
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
            // EMFILE and friends: an idle session gives its descriptor back; otherwise back off
            // briefly instead of spinning.
            spdlog::warn("accept failed: {}", ec.message());
            if (CloseOldestIdle()) {
                // Let the evicted session run (its cancelled read completes first) and close its
                // descriptor before the next accept, or that accept fails too and costs another.
                co_await asio::post(ioc_.get_executor(), asio::use_awaitable_t<Executor>{});
                continue;
            }
            Timer timer(ioc_.get_executor(), std::chrono::milliseconds(50));
            co_await timer.async_wait(kNoThrow);
            continue;
        }
        // The cap is the process's (it guards its descriptors): a per-worker share would refuse
        // clients on a worker the kernel happened to give more connections to.
        const auto open = static_cast<std::size_t>(shared_.open_sessions.load(std::memory_order_relaxed));
        if (open >= ConnectionCap() && !CloseOldestIdle()) {
            // Every connection is busy: a short 503, and the descriptor back within a second.
            // Past a few dozen such answers at once, just close (the descriptors matter more).
            metrics_.CountConnectionShed(/*refused=*/true);
            if (refusing_ >= kMaxRefusing) continue;  // the socket closes here
            ++refusing_;
            asio::co_spawn(ioc_.get_executor(), RefuseSession(std::move(socket)),
                           [this](std::exception_ptr) { --refusing_; });
            continue;
        }
        asio::co_spawn(ioc_.get_executor(), RunSession(std::move(socket), *this), LogOnException{"client session"});
    }
}

void Worker::BeginDrain() {
    asio::post(ioc_, [this] {
        error_code ignored;
        acceptor_.close(ignored);
        while (!idle_.empty()) {
            SessionHandle& handle = idle_.front();
            handle.unlink();
            handle.stream->socket().cancel(ignored);
        }
    });
}

void Worker::Stop() {
    ioc_.stop();
}

void Worker::Join() {
    if (thread_.joinable()) thread_.join();
}

}  // namespace llmproxy
