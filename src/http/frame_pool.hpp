#pragma once
// Coroutine frames of Task<T> from a per-thread pool of size classes, so that a request's
// coroutines cost no malloc once a worker is warm (issue #20).
//
// Why not Asio's own recycling: it keeps up to BOOST_ASIO_RECYCLING_ALLOCATOR_CACHE_SIZE blocks
// in one first-fit list, recycles only frames up to 1020 bytes (4-byte chunks x 255), and on a
// miss it frees a cached block before it allocates. The request path's larger frames
// (HandleRequest, the forward stage, one attempt, the exchange: 1.4-1.8 KB) went to malloc on
// every request, and smaller ones churned the list (measured: ~13 of 27.6 allocations a request).
//
// How: Asio's awaitable_frame_base<Executor> has operator new/delete members; for our executor
// (Task's) they are specialised below to take frames from this pool (Asio's own executors and
// the mock upstream's keep Asio's recycling). Frames are served from free lists of 64-byte classes up to 4 KiB; a
// thread keeps at most kMaxIdleBytes of freed frames, so idle memory stays bounded whatever a burst needed. A frame
// freed on another thread joins that thread's lists (blocks are interchangeable). Under AddressSanitizer frames come
// from operator new directly, so it still sees every frame.
#include <array>
#include <cstddef>
#include <new>
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

namespace llmproxy::frames {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kPooled = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kPooled = false;
#else
inline constexpr bool kPooled = true;
#endif
#else
inline constexpr bool kPooled = true;
#endif

inline constexpr std::size_t kGranule = 64;
inline constexpr std::size_t kClasses = 64;  // up to 4 KiB; larger frames use operator new
inline constexpr std::size_t kMaxIdleBytes = 256 * 1024;

// One thread's free lists. Trivially destructible and constant-initialised: no guard on the
// hot path, and still usable while other thread_locals are destroyed (a frame freed then goes
// straight to operator delete).
struct ThreadFrames {
    struct FreeBlock {
        FreeBlock* next;
    };
    std::array<FreeBlock*, kClasses> free{};
    std::size_t idle_bytes = 0;
    bool drain_registered = false;
    bool drained = false;
};

inline thread_local constinit ThreadFrames this_thread_frames{};

inline std::size_t ClassOf(std::size_t size) {
    return (size + kGranule - 1) / kGranule - 1;
}
inline std::size_t BytesOf(std::size_t c) {
    return (c + 1) * kGranule;
}

// Gives a thread's idle frames back when it exits. Registered with the first freed frame.
struct DrainAtThreadExit {
    ~DrainAtThreadExit() {
        ThreadFrames& t = this_thread_frames;
        for (auto*& head : t.free)
            while (head) ::operator delete(std::exchange(head, head->next));
        t.idle_bytes = 0;
        t.drained = true;
    }
};

inline void* Allocate(std::size_t size) {
    const std::size_t c = ClassOf(size);
    if constexpr (!kPooled) return ::operator new(size);
    ThreadFrames& t = this_thread_frames;
    if (c < kClasses && t.free[c]) {
        t.idle_bytes -= BytesOf(c);
        return std::exchange(t.free[c], t.free[c]->next);
    }
    return ::operator new(c < kClasses ? BytesOf(c) : size);
}

inline void Free(void* p, std::size_t size) noexcept {
    const std::size_t c = ClassOf(size);
    ThreadFrames& t = this_thread_frames;
    if (!kPooled || t.drained || c >= kClasses || t.idle_bytes + BytesOf(c) > kMaxIdleBytes) {
        ::operator delete(p);
        return;
    }
    if (!t.drain_registered) {
        thread_local DrainAtThreadExit drain;
        (void)drain;
        t.drain_registered = true;
    }
    t.free[c] = new (p) ThreadFrames::FreeBlock{t.free[c]};
    t.idle_bytes += BytesOf(c);
}

}  // namespace llmproxy::frames

// Task<T>'s frames (Asio's awaitable_frame_base for our executor only) from the pool: an
// explicit specialisation of the two members, seen by every translation unit that makes a
// Task (this header comes with asio_types.hpp, before any coroutine is defined).
template <>
inline void* boost::asio::detail::awaitable_frame_base<boost::asio::io_context::executor_type>::operator new(
    std::size_t size) {
    return llmproxy::frames::Allocate(size);
}

template <>
inline void boost::asio::detail::awaitable_frame_base<boost::asio::io_context::executor_type>::operator delete(
    void* pointer, std::size_t size) {
    llmproxy::frames::Free(pointer, size);
}
