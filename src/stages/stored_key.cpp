// The auth pipeline's redis step, its waiting part: the presented key's record is read here
// (HGETALL, else GET as JSON, as the Go LLMProxy's redis provider does) and the auth stage
// decides on it without waiting.
#include <spdlog/spdlog.h>

#include "proxy/provider_health.hpp"
#include "proxy/stored_key_record.hpp"
#include "stages/stages.hpp"

namespace llmproxy::stages {
namespace {

using Lookup = pipeline::StoredKeyLookup;

// Longer keys are nobody's: they are not sent to Redis.
constexpr std::size_t kMaxPresentedKey = 512;
// "Not in Redis" is remembered for at most this long: a key just written there works at once.
constexpr std::int64_t kAbsentTtlMs = 1'000;

const core::AuthPipelineEntry* RedisStep(const core::AuthConfig& auth) {
    for (const auto& step : auth.pipeline) {
        if (step.redis()) return &step;
    }
    return nullptr;
}

// first_match with a builtin step before the redis step: a key the key store knows is decided
// there, and Redis need not be asked.
bool DecidedBefore(const RequestContext& ctx, const core::KeyHash& hash) {
    const auto& auth = ctx.config().auth;
    if (auth.pipeline_all || !ctx.keys) return false;
    for (const auto& step : auth.pipeline) {
        if (step.redis()) return false;
        if (step.type == core::AuthStepType::kBuiltin && ctx.keys->Find(hash)) return true;
    }
    return false;
}

void Warn(Runtime& rt, const std::string& what) {
    if (rt.ShouldLog(rt.last_key_store_warning, std::chrono::seconds(5))) spdlog::warn("auth redis step: {}", what);
}

struct ReadResult {
    enum class Kind { kFailed, kAbsent, kUnreadable, kRecord } kind = Kind::kFailed;
    std::optional<proxy::StoredKeyRecord> record;
};

ReadResult Failed() {
    return {};
}
ReadResult Absent() {
    return {ReadResult::Kind::kAbsent, std::nullopt};
}
ReadResult Parsed(std::optional<proxy::StoredKeyRecord> record) {
    return {record ? ReadResult::Kind::kRecord : ReadResult::Kind::kUnreadable, std::move(record)};
}

// One read: the hash; if there is none (or a string is there), the JSON string.
Task<ReadResult> ReadRecord(Runtime& rt, const std::string& name, std::string_view presented) {
    // (GCC 12 miscompiles brace-initialised lists inside coroutines: built by calls.)
    std::vector<std::string> command;
    command.emplace_back("HGETALL");
    command.emplace_back(name);
    store::RedisReply hash = co_await rt.key_store->Call(std::move(command));
    const bool wrong_type = hash.kind == store::RedisReply::Kind::kError && hash.text.starts_with("WRONGTYPE");
    if (!hash.ok() && !wrong_type) {
        Warn(rt, "HGETALL failed: " + hash.text);
        co_return Failed();
    }
    if (hash.kind == store::RedisReply::Kind::kArray && !hash.integers.empty()) {
        co_return Parsed(proxy::ReadKeyRecordFields(hash.strings, presented));
    }
    command.clear();
    command.emplace_back("GET");
    command.emplace_back(name);
    store::RedisReply text = co_await rt.key_store->Call(std::move(command));
    if (text.kind == store::RedisReply::Kind::kNil) co_return Absent();
    if (text.kind != store::RedisReply::Kind::kString) {
        Warn(rt, "GET failed: " + (text.ok() ? std::string("not a string") : text.text));
        co_return Failed();
    }
    co_return Parsed(proxy::ReadKeyRecordJson(text.text, presented));
}

}  // namespace

bool StoredKeyStage::FromCache(RequestContext& ctx, Runtime& rt) {
    if (ctx.endpoint->access != pipeline::Access::kKey || !RedisStep(ctx.config().auth)) return true;
    const std::string_view presented = proxy::PresentedKey(CredentialsOf(ctx.request()));
    Lookup& out = ctx.stored_key;
    out.state = Lookup::State::kAbsent;
    if (presented.empty() || presented.size() > kMaxPresentedKey) return true;
    out.hash = core::Sha256(presented);
    if (DecidedBefore(ctx, out.hash)) return true;
    const auto* cached =
        rt.stored_keys ? rt.stored_keys->Find(out.hash, proxy::SteadyNowMs(), ctx.snap().version) : nullptr;
    if (!cached) return false;
    if (cached->key) out.state = Lookup::State::kFound;
    out.key = cached->key;
    out.quota_exhausted = cached->quota_exhausted;
    return true;
}

Task<void> StoredKeyStage::Read(RequestContext& ctx, Runtime& rt) {
    const auto& config = ctx.config();
    const core::AuthPipelineEntry& step = *RedisStep(config.auth);
    const std::string_view presented = proxy::PresentedKey(CredentialsOf(ctx.request()));
    Lookup& out = ctx.stored_key;
    if (!rt.key_store || !rt.stored_keys ||
        !rt.stored_key_counters) {  // the step came with a reload: the connection is made at start
        Warn(rt, "no Redis connection (a redis step added by a reload takes effect at the next start)");
        out.state = Lookup::State::kStoreDown;
        co_return;
    }
    const std::int64_t now_ms = proxy::SteadyNowMs();
    ReadResult read = co_await ReadRecord(rt, proxy::StoredKeyName(step.key_pattern, presented), presented);
    if (read.kind == ReadResult::Kind::kFailed) {
        out.state = Lookup::State::kStoreDown;
        co_return;
    }
    if (read.kind == ReadResult::Kind::kUnreadable) {
        Warn(rt, "the record for key " + core::MaskKey(presented) + " (" + step.key_pattern +
                     ") is not a key record: a hash, or a JSON object, of at most 64 fields and 16 KB");
    }
    if (read.record) {
        out.state = Lookup::State::kFound;
        out.quota_exhausted = read.record->quota_exhausted;
        out.key = proxy::StoredKeyEntry(std::move(*read.record), config.rate_limit.key_defaults,
                                        *rt.stored_key_counters, std::time(nullptr));
    }
    const std::int64_t ttl = step.cache_ttl.count();
    if (ttl > 0) {
        const std::int64_t keep = out.key ? ttl : std::min(ttl, kAbsentTtlMs);
        rt.stored_keys->Put(out.hash, {out.key, out.quota_exhausted, now_ms + keep, ctx.snap().version}, now_ms);
    }
}

}  // namespace llmproxy::stages
