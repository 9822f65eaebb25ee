#pragma once
#include <string>
#include <string_view>

namespace llmproxy::core {

/// Returns the client's X-Request-ID when it is safe to echo (1..128 printable ASCII, no
/// spaces), otherwise a new id "req_<16 hex>" unique within and across process runs.
std::string MakeRequestId(std::string_view client_value);

}  // namespace llmproxy::core
