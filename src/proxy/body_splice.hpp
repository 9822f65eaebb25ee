#pragma once
#include <string>
#include <string_view>

#include "proxy/body_scan.hpp"

namespace llmproxy::proxy {

/// Returns `body` with the top-level model value replaced by `model` (or, when the body has
/// no model, inserted as the first member). Every other byte is kept as it was.
std::string SpliceModel(std::string_view body, const BodyInfo& info, std::string_view model);

/// Returns `body` with `"stream_options":{"include_usage":true}` added as the first member of the
/// top-level object (the caller checked that the body has no stream_options).
std::string InjectIncludeUsage(std::string_view body);

}  // namespace llmproxy::proxy
