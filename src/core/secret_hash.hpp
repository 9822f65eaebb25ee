#pragma once
// API key material: SHA-256 hashes (keys are kept and compared only as hashes), constant-time
// comparison, and masking for logs.
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace llmproxy::core {

using KeyHash = std::array<unsigned char, 32>;

KeyHash Sha256(std::string_view data);
/// 64 hex characters (optionally prefixed "sha256:") -> hash.
std::optional<KeyHash> ParseKeyHash(std::string_view text);
std::string HexOf(const KeyHash& hash);
/// Compares in time independent of where the inputs differ.
bool ConstantTimeEqual(const KeyHash& a, const KeyHash& b);
/// "sk-...abcd": enough to tell keys apart in logs, useless to an attacker.
std::string MaskKey(std::string_view key);
/// A new API key: "sk-" + 48 characters from a 62-letter alphabet (~285 bits), from
/// OpenSSL's CSPRNG. Throws when no randomness is available.
std::string GenerateApiKey();

}  // namespace llmproxy::core
