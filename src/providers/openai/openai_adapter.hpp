#pragma once
// The adapter of OpenAI-compatible upstreams (type: openai).
#include "providers/adapter.hpp"

namespace llmproxy::providers::openai {

const ProviderAdapter& Adapter();

}  // namespace llmproxy::providers::openai
