// libFuzzer target: any YAML text must give a config or a list of errors, never a crash; and
// another gateway's file that loads must convert (convert-config) into a native file that
// loads too.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string yaml(reinterpret_cast<const char*>(data), size);
    auto result = llmproxy::core::LoadConfigString(yaml, "fuzz.yaml");
    if (!result.config && result.errors.empty()) __builtin_trap();
    if (result.config && !result.dialect.empty()) {
        auto converted = llmproxy::core::ConvertConfigText(yaml, "fuzz.yaml");
        if (converted.yaml.empty()) __builtin_trap();
        auto native = llmproxy::core::LoadConfigString(converted.yaml, "converted.yaml");
        if (!native.config || !native.dialect.empty()) __builtin_trap();
    }
    return 0;
}
