#include "core/request_id.hpp"

#include <cstdint>
#include <random>

namespace llmproxy::core {
namespace {

bool SafeToEcho(std::string_view v) {
    if (v.empty() || v.size() > 128) return false;
    for (char c : v) {
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
    }
    return true;
}

}  // namespace

std::string MakeRequestId(std::string_view client_value) {
    if (SafeToEcho(client_value)) return std::string(client_value);
    // Per-thread random base + counter: no shared state between workers, unique across runs.
    thread_local std::uint64_t state = [] {
        std::random_device rd;
        return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    }();
    // splitmix64 step: cheap, well distributed.
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id = "req_";
    id.resize(4 + 16);
    for (int i = 0; i < 16; ++i) id[4 + i] = kHex[(z >> (60 - 4 * i)) & 0xf];
    return id;
}

}  // namespace llmproxy::core
