#pragma once
// A key record kept in Redis by another system (the Go LLMProxy's redis auth provider): a hash
// at llmproxy:key:{api_key} (HSET), or the same fields as one JSON object (SET). Its fields:
//   status        0 active, 1 disabled, 2 quota_exceeded, 3 expired (or those words)
//   expires_at    unix seconds (or UTC like 2026-12-31T23:59:59Z)
//   total_quota, used_quota   refused once used_quota >= total_quota (the writer keeps used_quota)
//   balance       refused when present and <= 0
//   name, user_id
// and, as llm-proxy's own: allowed_models, allowed_ips (comma-separated or JSON lists) and
// requests_per_second, requests_per_minute, tokens_per_minute, max_concurrent (unset:
// rate_limit.key_defaults). Every field is also the key's metadata (what a lua step sees).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.hpp"

namespace llmproxy::proxy {

struct StoredKeyRecord {
    core::ApiKeyConfig config;
    bool quota_exhausted = false;
};

/// A record larger than this (fields, bytes) is refused, not read: it is not a key record.
inline constexpr std::size_t kMaxRecordFields = 64;
inline constexpr std::size_t kMaxRecordBytes = 16 << 10;

/// The Redis key for a presented API key: `pattern` with {api_key} replaced.
std::string StoredKeyName(std::string_view pattern, std::string_view presented);

/// From HGETALL's reply (name, value, name, value, ...). nullopt: odd count or too large.
std::optional<StoredKeyRecord> ReadKeyRecordFields(const std::vector<std::string>& flat, std::string_view presented);
/// From GET's reply: one JSON object. nullopt: not an object, or too large.
std::optional<StoredKeyRecord> ReadKeyRecordJson(std::string_view json, std::string_view presented);

}  // namespace llmproxy::proxy
