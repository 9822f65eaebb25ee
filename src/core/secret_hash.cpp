#include "core/secret_hash.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdexcept>

namespace llmproxy::core {

KeyHash Sha256(std::string_view data) {
    // Every request's key is hashed. EVP_Digest fetches the algorithm and allocates a context
    // on every call (three allocations and a provider lookup); even a reused EVP_MD_CTX
    // allocates its algorithm state on each init. The low-level SHA-256 functions (deprecated
    // in OpenSSL 3 in favour of EVP, still present and FIPS-irrelevant for a lookup hash) work
    // on a context on the stack: no allocation.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    KeyHash out{};
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, data.data(), data.size());
    SHA256_Final(out.data(), &ctx);
#pragma GCC diagnostic pop
    return out;
}

std::optional<KeyHash> ParseKeyHash(std::string_view text) {
    if (text.starts_with("sha256:")) text.remove_prefix(7);
    if (text.size() != 64) return std::nullopt;
    KeyHash out{};
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    for (std::size_t i = 0; i < 32; ++i) {
        int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out[i] = static_cast<unsigned char>(hi << 4 | lo);
    }
    return out;
}

std::string HexOf(const KeyHash& hash) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : hash) {
        out.push_back(kHex[b >> 4]);
        out.push_back(kHex[b & 0xf]);
    }
    return out;
}

bool ConstantTimeEqual(const KeyHash& a, const KeyHash& b) {
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string MaskKey(std::string_view key) {
    if (key.size() < 12) return "***";
    std::size_t head = key.starts_with("sk-") ? 3 : 0;
    return std::string(key.substr(0, head)) + "..." + std::string(key.substr(key.size() - 4));
}

std::string GenerateApiKey() {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    std::string key = "sk-";
    unsigned char random[48];
    if (RAND_bytes(random, sizeof random) != 1) throw std::runtime_error("no randomness available");
    for (unsigned char b : random) key.push_back(kAlphabet[b % 62]);  // 256 % 62 bias is negligible at 285 bits
    return key;
}

}  // namespace llmproxy::core
