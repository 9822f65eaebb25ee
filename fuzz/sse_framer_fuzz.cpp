// libFuzzer target: the SSE framer, fed the input in pieces whose sizes come from the input,
// must release exactly the bytes it was given (released + remainder == input).
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/sse_framer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const size_t step = 1 + data[0] % 17;
    std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
    llmproxy::sse::SseFramer framer;
    std::string out;
    for (size_t i = 0; i < input.size(); i += step) out += framer.Feed(input.substr(i, step));
    out += framer.TakeRemainder();
    if (out != input) __builtin_trap();
    return 0;
}
