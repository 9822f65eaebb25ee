#pragma once
// Per-thread reuse of the request path's short-lived strings (the upstream and client heads,
// small request bodies, a JSON answer's copy for its usage): taken empty with the capacity an
// earlier one grew to, given back when done. A worker's requests then cost no allocation for
// them once it is warm (issue #20). What a thread keeps is bounded: at most kKept strings of at
// most kMaxKeptCapacity bytes each and kMaxKeptBytes in all; anything else is freed as usual.
// kKept covers what a worker's requests hold at once under load (a body, an upstream head and
// a prepared body each while they wait for the upstream: at 64 concurrent requests, 64 kept
// strings missed ~1.3 times a request).
#include <cstddef>
#include <string>

namespace llmproxy::core {

inline constexpr std::size_t kKept = 256;
inline constexpr std::size_t kMaxKeptCapacity = 16 * 1024;
inline constexpr std::size_t kMaxKeptBytes = 1024 * 1024;

/// An empty string with room for at least `capacity` bytes (and not much more): the most
/// recently given back on this thread that fits, else a new one reserved to it.
std::string TakeString(std::size_t capacity);

/// std::string::reserve from this thread's kept strings: when `s` has room for fewer than
/// `capacity` bytes, its content moves into a kept (or new) string with room for at least
/// `capacity` and twice its old room (growth stays geometric), and its old buffer is given back.
void Reserve(std::string& s, std::size_t capacity);

/// Gives `s` back for reuse on this thread (it is left empty either way).
void GiveBack(std::string&& s) noexcept;

}  // namespace llmproxy::core
