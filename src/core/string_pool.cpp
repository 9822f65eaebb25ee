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
    std::size_t kept_bytes = 0;  // the capacities of `kept`
    bool gone = false;           // the thread is exiting: keep nothing more
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
    // Large enough and not much larger: a short string never takes the buffer a body needs,
    // and a long stream never holds a buffer many times what it uses. The most recently given
    // back first (still in cache; the scan is short when the pool holds what requests take).
    const std::size_t too_large = 2 * capacity + 256;
    std::string* fit = nullptr;
    if (kept) {
        for (auto k = kept->rbegin(); k != kept->rend(); ++k) {
            if (k->capacity() >= capacity && k->capacity() <= too_large) {
                fit = &*k;
                break;
            }
        }
    }
    std::string s;
    if (!fit) {
        s.reserve(capacity);
        return s;
    }
    this_thread_strings.kept_bytes -= fit->capacity();
    s = std::move(*fit);
    std::swap(*fit, kept->back());
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
    ThreadStrings& t = this_thread_strings;
    std::vector<std::string>* kept = t.kept;  // made by TakeString, not here (noexcept)
    if (!kept || s.capacity() <= 15 || s.capacity() > kMaxKeptCapacity || kept->size() == kKept ||
        t.kept_bytes + s.capacity() > kMaxKeptBytes) {
        std::string().swap(s);
        return;
    }
    s.clear();
    t.kept_bytes += s.capacity();
    kept->push_back(std::move(s));  // within the reserved capacity: no allocation
}

}  // namespace llmproxy::core
