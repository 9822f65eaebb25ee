// libFuzzer target: everything that reads untrusted upstream or client bytes besides the body
// scanner — usage JSON, SSE event splitting and data extraction, CIDR and traceparent parsing.
// Properties: no crash; ForEachEvent returns exactly its input in order.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/cidr.hpp"
#include "core/request_id.hpp"
#include "http/sse_framer.hpp"
#include "usage/usage.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    (void)llmproxy::usage::ParseUsage(input);
    (void)llmproxy::usage::IsUsageOnlyChunk(input);
    std::string joined;
    llmproxy::sse::ForEachEvent(input, [&](std::string_view event) {
        joined.append(event);
        (void)llmproxy::usage::ParseUsage(llmproxy::usage::SseData(event));
    });
    if (joined != input) __builtin_trap();
    if (auto cidr = llmproxy::core::Cidr::Parse(input)) {
        if (auto ip = llmproxy::core::IpAddress::Parse(input.substr(0, input.find('/')))) {
            if (!cidr->Contains(*ip)) __builtin_trap();  // a network contains its own address
        }
    }
    auto tp = llmproxy::core::MakeTraceparent(input);
    if (tp.size() != 55) __builtin_trap();
    return 0;
}
