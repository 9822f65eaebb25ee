#include "pipeline/request_context.hpp"

#include "proxy/shared_limits.hpp"

namespace llmproxy::pipeline {

void SharedLimitHold::Hold(store::RedisClient& redis, const proxy::KeyEntry& key, std::string member,
                           double tpm_charged) {
    redis_ = &redis;
    key_ = &key;
    member_ = std::move(member);
    tpm_charged_ = tpm_charged;
}

SharedLimitHold::~SharedLimitHold() {
    if (!redis_) return;
    // Pipelined, nobody waits; kept and sent after a reconnect if Redis is away right now.
    for (const auto& command : proxy::BuildSharedRelease(*key_, member_, tpm_charged_, actual_tokens_)) {
        redis_->Send(command);
    }
}

}  // namespace llmproxy::pipeline
