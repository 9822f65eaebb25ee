// The adapters, by provider type. Each dialect's adapter lives in its own folder; this is the
// one place that knows them all.
#include "providers/adapter.hpp"
#include "providers/openai/openai_adapter.hpp"

#include "http/wire.hpp"

namespace llmproxy::providers {

void ProviderAdapter::AppendClientHeader(const core::ProviderConfig& provider, std::string_view name,
                                         std::string_view value, std::string& head) const {
    (void)provider;
    wire::AppendHeader(head, name, value);
}

const ProviderAdapter& AdapterFor(const core::ProviderConfig& provider) {
    (void)provider;  // every provider type is OpenAI-compatible for now
    return openai::Adapter();
}

}  // namespace llmproxy::providers
