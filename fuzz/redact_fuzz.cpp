// Request-log redaction on arbitrary bodies (valid, truncated or binary JSON): never crashes,
// respects the cap, and a listed field's string value never survives when the field is
// complete in the input.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "observe/request_log.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::vector<std::string> kFields{"password", "api_key"};
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const std::string out = llmproxy::observe::Redact(body, kFields, 256);
    if (out.size() > 256 + 40) std::abort();
    // A known secret planted after the fuzzed prefix (outside any string) must vanish.
    std::string planted(body);
    if (planted.find('"') == std::string::npos && planted.find("TOPSECRETVALUE") == std::string::npos) {
        planted += R"({"password":"TOPSECRETVALUE"})";
        if (llmproxy::observe::Redact(planted, kFields, 1 << 20).find("TOPSECRETVALUE") != std::string::npos) {
            std::abort();
        }
    }
    return 0;
}
