#pragma once
// The adapter of OpenAI-compatible upstreams (type: openai), and what other adapters share of it.
#include <memory>

#include "providers/adapter.hpp"

namespace llmproxy::providers::openai {

const ProviderAdapter& Adapter();

/// Target and body for an upstream that serves the client's own dialect: the client's bytes,
/// the model name spliced when the provider knows it by another.
void PreparePassThrough(const core::ProviderConfig& provider, const AttemptRequest& request, PreparedRequest& out);

/// Reads usage from stream events or a whole JSON body, of any dialect; `strip`: hide the
/// stream usage the gateway asked for and the client did not.
UsageReader& MakeUsageReader(bool strip, UsageReaderSlot& slot);

}  // namespace llmproxy::providers::openai
