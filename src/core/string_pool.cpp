#include "core/string_pool.hpp"

#include <vector>

namespace llmproxy::core {
namespace {

std::vector<std::string>& Kept() {
    thread_local std::vector<std::string> kept = [] {
        std::vector<std::string> v;
        v.reserve(kKept);
        return v;
    }();
    return kept;
}

}  // namespace

std::string TakeString(std::size_t capacity) {
    auto& kept = Kept();
    // The smallest that is large enough and not much larger (a short scan: at most kKept): a
    // short string never takes the buffer a body needs, and a long stream never holds a buffer
    // many times what it uses.
    const std::size_t too_large = 2 * capacity + 256;
    auto best = kept.end();
    for (auto it = kept.begin(); it != kept.end(); ++it) {
        const std::size_t c = it->capacity();
        if (c >= capacity && c <= too_large && (best == kept.end() || c < best->capacity())) best = it;
    }
    if (best == kept.end()) {
        std::string s;
        s.reserve(capacity);
        return s;
    }
    std::string s = std::move(*best);
    std::swap(*best, kept.back());
    kept.pop_back();
    return s;
}

void GiveBack(std::string&& s) noexcept {
    auto& kept = Kept();
    if (s.capacity() <= 15 || s.capacity() > kMaxKeptCapacity || kept.size() == kKept) {
        std::string().swap(s);
        return;
    }
    s.clear();
    kept.push_back(std::move(s));  // within the reserved capacity: no allocation
}

}  // namespace llmproxy::core
