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
    // The smallest that is large enough (a short scan: at most kKept), so that a short string
    // never takes the buffer a body needs.
    auto best = kept.end();
    for (auto it = kept.begin(); it != kept.end(); ++it) {
        if (it->capacity() >= capacity && (best == kept.end() || it->capacity() < best->capacity())) best = it;
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
