// The adapters, by provider type. Each dialect's adapter lives in its own folder; this is the
// one place that knows them all.
#include "providers/adapter.hpp"
#include "providers/anthropic/anthropic_adapter.hpp"
#include "providers/openai/openai_adapter.hpp"
#include "providers/translate/translator.hpp"

#include "http/wire.hpp"

namespace llmproxy::providers {

void ProviderAdapter::AppendClientHeader(const core::ProviderConfig& provider, std::string_view name,
                                         std::string_view value, std::string& head) const {
    (void)provider;
    wire::AppendHeader(head, name, value);
}

std::unique_ptr<ResponseObserver> ProviderAdapter::MakeTranslator(const PreparedRequest& prepared,
                                                                  const AttemptRequest& request) const {
    if (prepared.upstream == request.client) return nullptr;
    const bool include_usage = request.scan && request.scan->include_usage;
    return translate::MakeTranslator(prepared.upstream, request.client,
                                     {.model = std::string(request.public_model),
                                      .include_usage = include_usage,
                                      .custom_tools = prepared.custom_tools,
                                      .max_output_bytes = request.max_translated});
}

void UseTranslation(translate::RequestTranslation&& translated, std::string target, core::Dialect upstream,
                    PreparedRequest& out) {
    if (translated.error) {
        out.refusal = std::move(translated.error);
        return;
    }
    out.target = std::move(target);
    out.edited = std::move(translated.body);
    out.body = out.edited;
    out.upstream = upstream;
    if (!translated.custom_tools.empty()) out.custom_tools = std::move(translated.custom_tools);
}

bool IsAnthropicHeader(std::string_view name) {
    return name.size() > 10 && beast::iequals(name.substr(0, 10), "anthropic-");
}

const ProviderAdapter& AdapterFor(const core::ProviderConfig& provider) {
    if (provider.type == "anthropic") return anthropic::Adapter();
    return openai::Adapter();
}

}  // namespace llmproxy::providers
