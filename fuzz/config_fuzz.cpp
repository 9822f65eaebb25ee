// libFuzzer target: any YAML text must give a config or a list of errors, never a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string yaml(reinterpret_cast<const char*>(data), size);
    auto result = llmproxy::core::LoadConfigString(yaml, "fuzz.yaml");
    if (!result.config && result.errors.empty()) __builtin_trap();
    return 0;
}
