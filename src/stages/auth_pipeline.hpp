#pragma once
// auth.pipeline, the Go LLMProxy's auth pipeline: steps in order, `builtin` (the key store) and
// `lua` (a script that decides for any key). first_match: the first step that knows the key
// decides (a lua step knows every key); all: every step must allow. A key admitted by a lua
// step alone has no record here: no per-key limits, quota or model list apply to it.
#include "core/cidr.hpp"
#include "proxy/auth.hpp"
#include "stages/stages.hpp"

namespace llmproxy::stages {

/// Sets ctx.key (or leaves it null for a key only a script admitted); false: refused.
bool RunAuthPipeline(RequestContext& ctx, const proxy::Credentials& creds, const core::IpAddress& client,
                     std::int64_t now_s);

}  // namespace llmproxy::stages
