// libFuzzer target: the limiter's arithmetic under any numbers a client, an upstream or an
// operator can feed it (rates, bursts, clock readings, costs, usage corrections, including
// huge, negative, infinite and NaN ones). UBSan (float-cast and signed overflow) watches every
// operation; the properties checked:
//  - a cost above the burst is never admitted, and reports `never`;
//  - a denial changes nothing (asking again at the same instant gives the same answer);
//  - at one instant, what is admitted from a full bucket never exceeds the burst;
//  - remaining is within [0, burst];
//  - the rate limiter's TPM admission never admits more than the key's limit in one request,
//    and the shared (Redis) release never produces an adjustment outside a day.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "core/config.hpp"
#include "proxy/gcra.hpp"
#include "proxy/key_set.hpp"
#include "proxy/rate_limiter.hpp"
#include "proxy/shared_limits.hpp"

namespace {

using namespace llmproxy;

struct Input {
    const std::uint8_t* p;
    std::size_t n;
    template <class T>
    T Take() {
        T v{};
        const std::size_t k = std::min(n, sizeof(T));
        std::memcpy(&v, p, k);
        p += k;
        n -= k;
        return v;
    }
    bool empty() const { return n == 0; }
};

void CheckGcra(Input& in) {
    const double rate = in.Take<double>(), burst = in.Take<double>();
    if (!(rate > 0) || !(burst > 0)) return;  // the config refuses these
    proxy::Gcra g(rate, burst);
    const std::int64_t start = in.Take<std::int64_t>();
    // A full bucket: what one instant admits is at most the burst (within the 1 ns rounding of
    // each cost's duration).
    double admitted = 0;
    bool adjusted = false;  // the bucket was changed by hand: no conservation to check
    int takes = 0;
    while (!in.empty() && takes++ < 64) {
        const std::uint8_t op = in.Take<std::uint8_t>();
        const double cost = in.Take<double>();
        if (op % 4 == 0) {
            g.Adjust(cost);
            adjusted = true;
            continue;
        }
        const std::int64_t now = op % 4 == 1 ? start : in.Take<std::int64_t>();
        const auto d = g.TryTake(now, cost);
        if (d.allowed && !(cost <= g.burst())) __builtin_trap();
        if (!(cost <= g.burst()) && !d.never) __builtin_trap();
        if (d.remaining < 0 || static_cast<double>(d.remaining) > g.burst() + 1) __builtin_trap();
        if (!d.allowed) {
            const auto again = g.TryTake(now, cost);
            if (again.allowed || again.retry_after_ns != d.retry_after_ns) __builtin_trap();
        } else if (!adjusted && now == start && cost >= 1) {
            admitted += cost;
            if (admitted > g.burst() + takes) __builtin_trap();
        }
    }
}

void CheckAdmission(Input& in) {
    core::ApiKeyConfig key;
    key.limits.tokens_per_minute = in.Take<double>();
    if (!(key.limits.tokens_per_minute > 0) || !std::isfinite(key.limits.tokens_per_minute)) return;
    proxy::KeyCounters counters(key);
    core::Config config;
    proxy::RateLimiter limiter(config);
    const double estimated = in.Take<double>();
    const std::int64_t now = in.Take<std::int64_t>();
    proxy::Admission a = limiter.Admit(&counters, estimated, now, 0, false);
    if (!a.denied() && std::ceil(estimated) > key.limits.tokens_per_minute) __builtin_trap();
    a.SetActualTokens(in.Take<std::int64_t>(), 0);

    proxy::KeyEntry entry;
    entry.id = "0123456789abcdef0123456789abcdef";
    entry.config = key;
    entry.counters = std::make_shared<proxy::KeyCounters>(key);
    const auto cmds = proxy::BuildSharedRelease(entry, "m", estimated, in.Take<std::int64_t>());
    for (const auto& c : cmds) {
        if (c.size() == 4 && c[0] == "HINCRBY" && std::abs(std::stod(c[3])) > 86'400e6) __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    Input in{data + 1, size - 1};
    if (data[0] & 1)
        CheckGcra(in);
    else
        CheckAdmission(in);
    return 0;
}
