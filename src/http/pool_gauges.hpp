#pragma once
// The gauges an upstream pool keeps up to date for the metrics (single writer: the pool's worker).
#include <atomic>
#include <cstdint>

namespace llmproxy::upstream {

struct PoolGauges {
    std::atomic<std::int64_t> open{0};     // connections open (idle or in use)
    std::atomic<std::int64_t> waiting{0};  // requests waiting for a connection at the cap
};

}  // namespace llmproxy::upstream
