#pragma once
// The adapter of Anthropic's Messages API (type: anthropic): Anthropic clients pass through
// byte for byte but for the model (unknown fields, cache_control, context_management and the
// anthropic-beta values the provider allows); OpenAI chat clients are translated both ways.
#include "providers/adapter.hpp"

namespace llmproxy::providers::anthropic {

const ProviderAdapter& Adapter();

}  // namespace llmproxy::providers::anthropic
