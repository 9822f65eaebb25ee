#include "usage/webhook_sink.hpp"

#include <openssl/hmac.h>

#include <deque>
#include <spdlog/spdlog.h>

#include "http/log_on_exception.hpp"

#include "core/secret_hash.hpp"
#include "http/upstream_connection.hpp"
#include "http/wire.hpp"
#include "usage/spool.hpp"

namespace llmproxy::usage {
namespace {

std::string Hmac(const std::string& key, const std::string& body) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(body.data()),
         body.size(), mac, &len);
    core::KeyHash h{};
    std::copy(mac, mac + std::min<unsigned>(len, 32), h.begin());
    return core::HexOf(h);
}

constexpr std::size_t kMaxPendingInMemory = 10'000;
// A partial batch waits this long for company before it is sent.
constexpr auto kMaxBatchWait = std::chrono::milliseconds(50);

std::string BatchBody(const std::vector<std::string>& batch, bool single) {
    if (single) return batch.front();
    std::string body = "[";
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (i) body += ',';
        body += batch[i];
    }
    return body + "]";
}

}  // namespace

WebhookSink::WebhookSink(const core::UsageHookConfig& config, std::size_t workers) : config_(config) {
    target_.name = "usage_hook";
    target_.host = config.host;
    target_.port = config.port;
    target_.tls = config.tls;
    target_.host_header = config.host_header;
    if (config.tls) {
        tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
        tls_->set_verify_mode(asio::ssl::verify_peer);
        tls_->set_default_verify_paths();
    }
    for (std::size_t i = 0; i < workers; ++i) {
        queues_.push_back(std::make_unique<boost::lockfree::spsc_queue<std::string>>(config.queue_size));
    }
    spool_ = std::make_unique<Spool>(config.spool_dir);
}

WebhookSink::~WebhookSink() {
    Stop();
}

void WebhookSink::Start() {
    asio::co_spawn(ioc_.get_executor(), Run(), LogOnException{"usage webhook"});
    thread_ = std::thread([this] { ioc_.run(); });
}

void WebhookSink::Stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    thread_.join();
}

bool WebhookSink::Enqueue(std::size_t worker, std::string event_json) {
    if (queues_[worker]->push(std::move(event_json))) {
        depth_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
}

void WebhookSink::Drain(std::vector<std::string>& into) {
    for (auto& q : queues_) q->consume_all([&](std::string& e) { into.push_back(std::move(e)); });
}

Task<bool> WebhookSink::PostOnce(const std::string& body) {
    auto ex = co_await asio::this_coro::executor;
    Resolver resolver(ex);
    auto [rec, results] = co_await resolver.async_resolve(target_.host, target_.port, kNoThrow);
    if (rec) co_return false;
    std::vector<tcp::endpoint> endpoints(results.begin(), results.end());
    auto conn = std::make_shared<upstream::UpstreamConnection>(ex, tls_.get());
    error_code ec = co_await conn->Connect(endpoints, target_, config_.timeout);
    if (!ec) {
        std::string head = "POST " + config_.path + " HTTP/1.1\r\n";
        wire::AppendHeader(head, "Host", target_.host_header);
        wire::AppendHeader(head, "Content-Type", "application/json");
        wire::AppendHeader(head, "User-Agent", "llm-proxy-usage-hook");
        // Same batch, same key: a receiver can drop a redelivered batch as a whole.
        wire::AppendHeader(head, "Idempotency-Key", core::HexOf(core::Sha256(body)));
        if (!config_.secret.empty())
            wire::AppendHeader(head, "X-LLM-Proxy-Signature", "sha256=" + Hmac(config_.secret, body));
        for (const auto& [k, v] : config_.headers) wire::AppendHeader(head, k, v);
        wire::AppendHeader(head, "Content-Length", std::to_string(body.size()));
        head += "Connection: close\r\n\r\n";
        const std::array<asio::const_buffer, 2> bytes{asio::buffer(head), asio::buffer(body)};
        ec = co_await conn->Write(bytes, config_.timeout);
    }
    upstream::ResponseParser parser;
    if (!ec) ec = co_await conn->ReadHeader(parser, config_.timeout);
    conn->Close();
    co_return !ec && parser.get().result_int() / 100 == 2;
}

Task<bool> WebhookSink::Deliver(const std::vector<std::string>& batch) {
    const std::string body = BatchBody(batch, config_.batch_size == 1 && batch.size() == 1);
    Timer timer(co_await asio::this_coro::executor);
    for (int attempt = 0; attempt <= config_.retry; ++attempt) {
        if (co_await PostOnce(body)) co_return true;
        failed_.fetch_add(1, std::memory_order_relaxed);
        if (attempt < config_.retry && !stopping_) {
            timer.expires_after(std::chrono::milliseconds(100 << std::min(attempt, 5)));
            co_await timer.async_wait(kNoThrow);
        }
    }
    co_return false;
}

Task<void> WebhookSink::Run() {
    Timer timer(co_await asio::this_coro::executor);
    std::deque<std::string> pending;
    std::vector<std::string> drained;
    auto down_until = std::chrono::steady_clock::time_point{};
    auto oldest_pending = std::chrono::steady_clock::time_point{};  // when pending last became non-empty
    const std::size_t batch_size = static_cast<std::size_t>(config_.batch_size);
    for (;;) {
        drained.clear();
        Drain(drained);
        if (pending.empty() && !drained.empty()) oldest_pending = std::chrono::steady_clock::now();
        for (auto& e : drained) pending.push_back(std::move(e));
        const bool stopping = stopping_.load();
        const bool down = std::chrono::steady_clock::now() < down_until;
        if (stopping || down) {
            // Receiver away (or we are exiting): everything in memory goes to disk, nothing is lost.
            if (!pending.empty()) {
                std::vector<std::string> out(std::make_move_iterator(pending.begin()),
                                             std::make_move_iterator(pending.end()));
                if (spool_->Append(out))
                    spooled_.fetch_add(out.size());
                else
                    spdlog::error("usage webhook: cannot write the spool in {}", config_.spool_dir);
                depth_.fetch_sub(out.size());
                pending.clear();
            }
            if (stopping) co_return;
        } else if (!spool_->empty()) {
            // Oldest first: the spool before anything newer. Meanwhile new events wait in
            // memory, up to a bound; beyond it they join the spool too.
            if (pending.size() > kMaxPendingInMemory) {
                std::vector<std::string> out(std::make_move_iterator(pending.begin()),
                                             std::make_move_iterator(pending.end()));
                if (spool_->Append(out)) spooled_.fetch_add(out.size());
                depth_.fetch_sub(out.size());
                pending.clear();
            }
            std::uint64_t bytes = 0;
            auto batch = spool_->Peek(batch_size, bytes);
            if (co_await Deliver(batch)) {
                spool_->Advance(bytes);
                delivered_.fetch_add(batch.size());
                continue;
            }
            down_until = std::chrono::steady_clock::now() + config_.backoff;
            spdlog::warn("usage webhook: receiver unreachable; spooling to {}", config_.spool_dir);
        } else if (!pending.empty() && (pending.size() >= batch_size ||
                                        std::chrono::steady_clock::now() - oldest_pending >= kMaxBatchWait)) {
            std::vector<std::string> batch;
            while (!pending.empty() && batch.size() < batch_size) {
                batch.push_back(std::move(pending.front()));
                pending.pop_front();
            }
            if (co_await Deliver(batch)) {
                delivered_.fetch_add(batch.size());
                depth_.fetch_sub(batch.size());
                if (!pending.empty()) oldest_pending = std::chrono::steady_clock::now();
                continue;
            }
            if (spool_->Append(batch)) spooled_.fetch_add(batch.size());
            depth_.fetch_sub(batch.size());
            down_until = std::chrono::steady_clock::now() + config_.backoff;
            spdlog::warn("usage webhook: receiver unreachable; spooling to {}", config_.spool_dir);
            continue;
        }
        timer.expires_after(std::chrono::milliseconds(10));
        co_await timer.async_wait(kNoThrow);
    }
}

}  // namespace llmproxy::usage
