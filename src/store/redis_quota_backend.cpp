#include "store/redis_quota_backend.hpp"

#include <hiredis/hiredis.h>

#include <limits>
#include <stdexcept>

namespace llmproxy::store {
namespace {

struct ReplyDeleter {
    void operator()(void* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

timeval ToTimeval(std::chrono::milliseconds ms) {
    return {static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>(ms.count() % 1000 * 1000)};
}

}  // namespace

RedisQuotaBackend::RedisQuotaBackend(const core::RedisConfig& config) : config_(config) {}

RedisQuotaBackend::~RedisQuotaBackend() {
    Drop();
}

void RedisQuotaBackend::Drop() {
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
}

void RedisQuotaBackend::Connect() {
    ctx_ = redisConnectWithTimeout(config_.host.c_str(), std::stoi(config_.port), ToTimeval(config_.connect_timeout));
    if (!ctx_ || ctx_->err) {
        std::string why = ctx_ ? ctx_->errstr : "out of memory";
        Drop();
        throw std::runtime_error("redis: cannot connect: " + why);
    }
    // Quota writes are off the hot path: allow more than a limit check's timeout.
    redisSetTimeout(ctx_, ToTimeval(std::max(config_.timeout, std::chrono::milliseconds(1000))));
    auto check = [&](redisReply* raw, const char* what) {
        ReplyPtr r(raw);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            std::string why = r ? std::string(r->str, r->len) : ctx_->errstr;
            Drop();
            throw std::runtime_error(std::string("redis: ") + what + ": " + why);
        }
    };
    if (!config_.password.empty()) {
        check(static_cast<redisReply*>(redisCommand(ctx_, "AUTH %s", config_.password.c_str())), "AUTH");
    }
    if (config_.db != 0) check(static_cast<redisReply*>(redisCommand(ctx_, "SELECT %d", config_.db)), "SELECT");
}

std::int64_t RedisQuotaBackend::Add(const std::string& key_id, std::int64_t period_start, std::int64_t period_end,
                                    std::int64_t delta) {
    if (!ctx_) Connect();
    const std::string key = "llmproxy:{" + key_id.substr(0, 32) + "}:quota:" + std::to_string(period_start);
    redisAppendCommand(ctx_, "INCRBY %s %lld", key.c_str(), static_cast<long long>(delta));
    const bool expires = period_end != std::numeric_limits<std::int64_t>::max();
    if (expires) redisAppendCommand(ctx_, "EXPIREAT %s %lld", key.c_str(), static_cast<long long>(period_end + 86400));
    void* raw = nullptr;
    std::int64_t total = 0;
    for (int i = 0; i < (expires ? 2 : 1); ++i) {
        if (redisGetReply(ctx_, &raw) != REDIS_OK) {
            std::string why = ctx_->errstr;
            Drop();  // reconnect next time
            throw std::runtime_error("redis: " + why);
        }
        ReplyPtr r(static_cast<redisReply*>(raw));
        if (r->type == REDIS_REPLY_ERROR) throw std::runtime_error("redis: " + std::string(r->str, r->len));
        if (i == 0) total = r->integer;
    }
    return total;
}

}  // namespace llmproxy::store
