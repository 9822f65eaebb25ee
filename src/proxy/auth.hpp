#pragma once
// The auth stage: who is calling (API key from Authorization: Bearer, x-api-key or api-key,
// looked up by SHA-256 hash and compared in constant time), from where (the socket peer, or
// X-Forwarded-For when the peer is a trusted proxy), and what that key may do.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cidr.hpp"
#include "core/config.hpp"
#include "core/error_reply.hpp"
#include "core/secret_hash.hpp"
#include "proxy/key_set.hpp"

namespace llmproxy::proxy {

/// The credentials a request presented (header values, empty when absent).
struct Credentials {
    std::string_view authorization, x_api_key, api_key;
};

struct AuthResult {
    const KeyEntry* key = nullptr;  // null when auth is off
    std::optional<core::LocalReply> error;
};

/// Checks the key, its status, expiry and IP allow-list. `now_s` is unix seconds.
/// The key the client presented: Authorization: Bearer, else x-api-key, else api-key.
std::string_view PresentedKey(const Credentials& creds);

AuthResult Authenticate(const KeySet& keys, const Credentials& creds, const core::IpAddress& client_ip,
                        std::int64_t now_s);

/// A known key's status, expiry and IP allow-list: the refusal, if any.
std::optional<core::LocalReply> CheckKey(const KeyEntry& entry, const core::IpAddress& client_ip, std::int64_t now_s);

/// The 401 for a key nobody knows (the key masked).
core::LocalReply UnknownKey(std::string_view presented);

/// May this key use this public model? (allowed_models globs)
bool ModelAllowed(const core::ApiKeyConfig& key, std::string_view model);

/// May `key` reach the pass-through path `path` (no query) with `method`? See
/// ApiKeyConfig::allowed_endpoints.
bool PassThroughAllowed(const core::ApiKeyConfig& key, std::string_view method, std::string_view path);

/// The client's address: the peer, or — when the peer is a trusted proxy — the right-most
/// X-Forwarded-For entry that is not itself a trusted proxy.
core::IpAddress ClientAddress(const core::IpAddress& peer, std::string_view x_forwarded_for,
                              const std::vector<core::Cidr>& trusted_proxies);

}  // namespace llmproxy::proxy
