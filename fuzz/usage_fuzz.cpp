// libFuzzer target: everything that reads untrusted upstream or client bytes besides the body
// scanner — usage JSON, SSE event splitting and data extraction, CIDR and traceparent parsing,
// key records read from Redis (JSON, and hash fields split at newlines).
// Properties: no crash; ForEachEvent returns exactly its input in order; a record read is the
// presented key's.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/cidr.hpp"
#include "core/request_id.hpp"
#include "core/secret_hash.hpp"
#include "http/sse_framer.hpp"
#include "proxy/stored_key_record.hpp"
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
    const auto key_hash = llmproxy::core::Sha256("sk-fuzz");
    if (auto r = llmproxy::proxy::ReadKeyRecordJson(input, "sk-fuzz"); r && r->config.hash != key_hash)
        __builtin_trap();
    std::vector<std::string> fields;
    for (std::string_view rest = input; !rest.empty();) {
        const auto nl = rest.find('\n');
        fields.emplace_back(rest.substr(0, nl));
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
    if (auto r = llmproxy::proxy::ReadKeyRecordFields(fields, "sk-fuzz"); r && r->config.hash != key_hash)
        __builtin_trap();
    auto tp = llmproxy::core::MakeTraceparent(input);
    if (tp.size() != 55) __builtin_trap();
    return 0;
}
