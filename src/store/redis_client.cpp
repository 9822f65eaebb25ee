#include "store/redis_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <spdlog/spdlog.h>

#include "http/log_on_exception.hpp"

namespace llmproxy::store {

struct RedisClient::Waiter {
    explicit Waiter(Executor ex) : done(ex) {}
    Timer done;  // cancelled when the reply arrives; expiring means timeout
    RedisReply reply;
    bool answered = false;
};

namespace {

RedisReply ErrorReply(std::string why, bool outcome_unknown = false) {
    RedisReply r;
    r.kind = RedisReply::Kind::kError;
    r.text = std::move(why);
    r.outcome_unknown = outcome_unknown;
    return r;
}

}  // namespace

RedisClient::RedisClient(Executor ex, const core::RedisConfig& config, std::vector<std::string> scripts)
    : ex_(ex), config_(config), scripts_(std::move(scripts)), socket_(ex), write_signal_(ex) {}

RedisClient::~RedisClient() {
    *alive_ = false;
}

void RedisClient::Start() {
    asio::co_spawn(ex_, ConnectionLoop(), LogOnException{"redis connection"});
    asio::co_spawn(ex_, WriteLoop(), LogOnException{"redis writer"});
}

void RedisClient::FailAll(const std::string& why) {
    connected_ = false;
    out_.clear();
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& w : pending) {
        if (!w || w->answered) continue;
        w->reply = ErrorReply(why, true);  // it was sent: it may have run before the loss
        w->answered = true;
        w->done.cancel();
    }
}

void RedisClient::Enqueue(const std::vector<std::string>& args, std::shared_ptr<Waiter> waiter) {
    AppendCommand(out_, args);
    pending_.push_back(std::move(waiter));
    if (!writing_) write_signal_.cancel();  // wake the writer
}

void RedisClient::Send(const std::vector<std::string>& args) {
    constexpr std::size_t kMaxDeferred = 100'000;
    if (connected_) {
        Enqueue(args, nullptr);
    } else if (deferred_count_ < kMaxDeferred && !stopped_) {
        AppendCommand(deferred_, args);
        ++deferred_count_;
    }
}

void RedisClient::EndConnectAttempt(bool connected) {
    connected_ = connected;
    connecting_ = false;
    for (Timer* t : connect_waiters_) t->cancel();
    connect_waiters_.clear();
}

Task<RedisReply> RedisClient::Call(std::vector<std::string> args) {
    if (!connected_ && connecting_) {
        // The connection is being (re)established, e.g. right after start: wait for it rather
        // than fail a request that would have succeeded a moment later — at most `timeout`.
        Timer wait(ex_);
        wait.expires_after(config_.timeout);
        connect_waiters_.push_back(&wait);
        auto [wec] = co_await wait.async_wait(kNoThrow);
        std::erase(connect_waiters_, &wait);
    }
    if (!connected_) co_return ErrorReply("redis is not connected");
    bool probe = false;
    if (breaker_open()) {
        if (probing_ || std::chrono::steady_clock::now() < open_until_) {
            co_return ErrorReply("redis is not answering (" + std::to_string(consecutive_timeouts_) +
                                 " timeouts in a row); not asking it for a moment");
        }
        probing_ = probe = true;
    }
    auto waiter = std::make_shared<Waiter>(ex_);
    waiter->done.expires_after(config_.timeout);
    Enqueue(args, waiter);
    auto [ec] = co_await waiter->done.async_wait(kNoThrow);
    if (probe) probing_ = false;
    if (!waiter->answered) {
        waiter->answered = true;  // a late reply is dropped by the reader
        if (++consecutive_timeouts_ >= kTripAfter) open_until_ = std::chrono::steady_clock::now() + kOpenFor;
        co_return ErrorReply("redis did not answer within " + std::to_string(config_.timeout.count()) + " ms", true);
    }
    co_return std::move(waiter->reply);
}

Task<void> RedisClient::WriteLoop() {
    auto alive = alive_;
    std::string writing;
    while (*alive && !stopped_) {
        if (out_.empty() || !connected_) {
            write_signal_.expires_at(std::chrono::steady_clock::time_point::max());
            auto [ec] = co_await write_signal_.async_wait(kNoThrow);
            if (!*alive) co_return;
            continue;
        }
        writing.swap(out_);
        out_.clear();
        writing_ = true;
        auto [ec, n] = co_await asio::async_write(socket_, asio::buffer(writing), kNoThrow);
        if (!*alive) co_return;
        writing_ = false;
        writing.clear();
        if (ec) {
            error_code ignored;
            socket_.close(ignored);  // the reader sees the error and reconnects
        }
    }
}

Task<void> RedisClient::ConnectionLoop() {
    auto alive = alive_;
    auto backoff = std::chrono::milliseconds(50);
    bool logged_down = false;
    Resolver resolver(ex_);
    Timer timer(ex_);
    std::vector<char> buf(16384);
    while (*alive && !stopped_) {
        // Connect, bounded by connect_timeout.
        connecting_ = true;
        socket_ = Socket(ex_);
        auto [rec, endpoints] = co_await resolver.async_resolve(config_.host, config_.port, kNoThrow);
        if (!*alive || stopped_) co_return;
        error_code ec = rec;
        if (!ec) {
            timer.expires_after(config_.connect_timeout);
            timer.async_wait([this, alive](const error_code& e) {
                if (!e && *alive && !connected_) {
                    error_code ignored;
                    socket_.close(ignored);
                }
            });
            auto [cec, ep] = co_await asio::async_connect(socket_, endpoints, kNoThrow);
            timer.cancel();
            if (!*alive || stopped_) co_return;
            ec = cec;
        }
        if (ec) {
            EndConnectAttempt(false);
            if (!logged_down) spdlog::warn("redis {}:{} unreachable: {}", config_.host, config_.port, ec.message());
            logged_down = true;
            timer.expires_after(backoff);
            co_await timer.async_wait(kNoThrow);
            backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
            continue;
        }
        socket_.set_option(tcp::no_delay(true));
        // Session setup goes first in the pipeline (before any waiting call resumes); nobody
        // waits for these replies.
        connected_ = true;
        if (!config_.password.empty()) Send({"AUTH", config_.password});
        if (config_.db != 0) Send({"SELECT", std::to_string(config_.db)});
        for (const auto& s : scripts_) Send({"SCRIPT", "LOAD", s});
        if (deferred_count_ > 0) {  // releases issued while we were away
            spdlog::info("redis: sending {} commands deferred while disconnected", deferred_count_);
            out_ += deferred_;
            for (std::size_t i = 0; i < deferred_count_; ++i) pending_.push_back(nullptr);
            deferred_.clear();
            deferred_count_ = 0;
        }
        EndConnectAttempt(true);
        spdlog::info("redis {}:{} connected", config_.host, config_.port);
        logged_down = false;
        backoff = std::chrono::milliseconds(50);

        RedisReplyParser parser;
        for (;;) {
            auto [rerr, n] = co_await socket_.async_read_some(asio::buffer(buf), kNoThrow);
            if (!*alive) co_return;
            if (rerr) {
                ec = rerr;
                break;
            }
            if (!parser.Feed(std::string_view(buf.data(), n))) {
                ec = asio::error::invalid_argument;
                break;
            }
            RedisReply reply;
            int got;
            while ((got = parser.Next(reply)) == 1) {
                consecutive_timeouts_ = 0;       // it answers again: close the breaker
                if (pending_.empty()) continue;  // nothing asked for it
                auto w = std::move(pending_.front());
                pending_.pop_front();
                if (!w) {
                    if (reply.kind == RedisReply::Kind::kError) spdlog::warn("redis: {}", reply.text);
                    continue;
                }
                if (w->answered) continue;  // its caller gave up (timeout)
                w->reply = std::move(reply);
                w->answered = true;
                w->done.cancel();
            }
            if (got < 0) {
                ec = asio::error::invalid_argument;
                break;
            }
        }
        if (stopped_) co_return;
        spdlog::warn("redis {}:{} connection lost: {}", config_.host, config_.port, ec.message());
        error_code ignored;
        socket_.close(ignored);
        FailAll("redis connection lost");
        consecutive_timeouts_ = 0;  // while disconnected calls fail at once anyway
    }
}

}  // namespace llmproxy::store
