// libFuzzer target: the request body scanner and model splice must never crash, and a splice
// of a valid body must still scan as valid with the new model.
#include <cstddef>
#include <cstdint>
#include <string>

#include "proxy/body_scan.hpp"
#include "proxy/body_splice.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string body(reinterpret_cast<const char*>(data), size);
    auto info = llmproxy::proxy::ScanBody(body);
    if (!info.valid) return 0;
    std::string spliced = llmproxy::proxy::SpliceModel(body, info, "fuzz/\"model\"");
    auto again = llmproxy::proxy::ScanBody(spliced);
    if (!again.valid || again.model != "fuzz/\"model\"") __builtin_trap();
    return 0;
}
