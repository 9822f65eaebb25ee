#include "core/request_id.hpp"

#include <cstdint>
#include <random>

namespace llmproxy::core {
namespace {

bool SafeToEcho(std::string_view v) {
    if (v.empty() || v.size() > kMaxRequestId) return false;
    for (char c : v) {
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
    }
    return true;
}

// Per-thread random base + counter (splitmix64): no shared state between workers, unique
// across runs, cheap.
std::uint64_t NextRandom() {
    thread_local std::uint64_t state = [] {
        std::random_device rd;
        return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    }();
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

template <class Out>
void AppendHex(Out& out, std::uint64_t v) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (int i = 0; i < 16; ++i) out.push_back(kHex[(v >> (60 - 4 * i)) & 0xf]);
}

bool IsLowerHex(std::string_view v) {
    for (char c : v) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

}  // namespace

RequestId MakeRequestId(std::string_view client_value) {
    if (SafeToEcho(client_value)) return RequestId(client_value);
    RequestId id("req_");
    AppendHex(id, NextRandom());
    return id;
}

EventId MakeEventId() {
    EventId id("evt_");
    AppendHex(id, NextRandom());
    AppendHex(id, NextRandom());
    return id;
}

Traceparent MakeTraceparent(std::string_view v) {
    // version "00", 32-hex trace id (not all zero), 16-hex parent id (not all zero), flags.
    if (v.size() == 55 && v.substr(0, 3) == "00-" && v[35] == '-' && v[52] == '-' && IsLowerHex(v.substr(3, 32)) &&
        IsLowerHex(v.substr(36, 16)) && IsLowerHex(v.substr(53, 2)) &&
        v.substr(3, 32) != std::string_view("00000000000000000000000000000000") &&
        v.substr(36, 16) != std::string_view("0000000000000000")) {
        return Traceparent(v);
    }
    Traceparent out("00-");
    AppendHex(out, NextRandom());
    AppendHex(out, NextRandom());
    out.push_back('-');
    AppendHex(out, NextRandom());
    out.append("-01");
    return out;
}

}  // namespace llmproxy::core
