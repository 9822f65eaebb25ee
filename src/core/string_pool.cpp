#include "core/string_pool.hpp"

#include <algorithm>
#include <vector>

namespace llmproxy::core {
namespace {

// The thread's kept strings. Reached through a trivially destructible, constant-initialised
// pointer, so a string given back while the thread's other thread_locals (or, on the main
// thread, statics) are destroyed is simply freed instead of touching a destroyed list.
struct ThreadStrings {
    std::vector<std::string>* kept = nullptr;
    bool gone = false;  // the thread is exiting: keep nothing more
};
thread_local constinit ThreadStrings this_thread_strings{};

struct ReleaseAtThreadExit {
    ~ReleaseAtThreadExit() {
        delete this_thread_strings.kept;
        this_thread_strings.kept = nullptr;
        this_thread_strings.gone = true;
    }
};

std::vector<std::string>* Kept() {
    ThreadStrings& t = this_thread_strings;
    if (t.kept || t.gone) return t.kept;
    thread_local ReleaseAtThreadExit release;
    (void)release;
    t.kept = new std::vector<std::string>();
    t.kept->reserve(kKept);
    return t.kept;
}

}  // namespace

std::string TakeString(std::size_t capacity) {
    std::vector<std::string>* kept = Kept();
    // The smallest that is large enough and not much larger (a short scan: at most kKept): a
    // short string never takes the buffer a body needs, and a long stream never holds a buffer
    // many times what it uses.
    const std::size_t too_large = 2 * capacity + 256;
    std::string* best = nullptr;
    if (kept) {
        for (std::string& k : *kept) {
            if (k.capacity() >= capacity && k.capacity() <= too_large && (!best || k.capacity() < best->capacity()))
                best = &k;
        }
    }
    std::string s;
    if (!best) {
        s.reserve(capacity);
        return s;
    }
    s = std::move(*best);
    std::swap(*best, kept->back());
    kept->pop_back();
    return s;
}

void Reserve(std::string& s, std::size_t capacity) {
    if (s.capacity() >= capacity) return;
    std::string grown = TakeString(std::max(capacity, 2 * s.capacity()));
    grown.append(s);
    s.swap(grown);
    GiveBack(std::move(grown));
}

void GiveBack(std::string&& s) noexcept {
    std::vector<std::string>* kept = this_thread_strings.kept;  // made by TakeString, not here (noexcept)
    if (!kept || s.capacity() <= 15 || s.capacity() > kMaxKeptCapacity || kept->size() == kKept) {
        std::string().swap(s);
        return;
    }
    s.clear();
    kept->push_back(std::move(s));  // within the reserved capacity: no allocation
}

}  // namespace llmproxy::core
