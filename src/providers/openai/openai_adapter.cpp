// OpenAI-compatible upstreams (OpenAI, vLLM, TGI, Ollama, llama.cpp, DeepSeek, ...): an OpenAI
// client's body passes byte for byte except for the model name the provider knows and, on
// streams, a request for usage (stream_options.include_usage) that the usage reader then hides
// from the client. An Anthropic client's request is translated to chat completions, unless the
// provider serves /v1/messages itself (native_messages: vLLM, Ollama). A Responses client's
// request is translated to chat completions unless the provider serves /v1/responses
// (native_responses: OpenAI, OpenRouter, Moonshot).
#include "providers/openai/openai_adapter.hpp"

#include "http/wire.hpp"
#include "providers/openai/quirks_observer.hpp"
#include "providers/openai/request_edits.hpp"
#include "providers/openai/usage_observer.hpp"
#include "providers/translate/requests.hpp"
#include "proxy/body_splice.hpp"

namespace llmproxy::providers {
namespace {

class EventUsageReader final : public UsageReader {
public:
    explicit EventUsageReader(bool strip) : observer_(strip) {}
    providers::ResponseObserver& observer() override { return observer_; }
    const std::optional<usage::Usage>& usage() const override { return observer_.usage(); }
    std::string_view body() const override { return observer_.body(); }

private:
    openai::UsageObserver observer_;
};

// An Anthropic client on a chat-only server: /v1/messages becomes /chat/completions;
// count_tokens has no exact answer there, so it is refused (Claude Code then counts locally).
void PrepareFromAnthropic(const core::ProviderConfig& provider, const AttemptRequest& request, PreparedRequest& out) {
    if (request.path_suffix.starts_with("/messages/count_tokens")) {
        out.refusal = core::NotFound(
            "provider '" + provider.name + "' has no exact token count for this model (native_messages is off)",
            "count_tokens_unavailable");
        return;
    }
    auto translated = translate::MessagesToChatRequest(request.body, {.upstream_model = request.upstream_model,
                                                                      .stream_usage = provider.stream_usage,
                                                                      .default_max_tokens = provider.default_max_tokens,
                                                                      .max_tokens_cap = provider.max_output_tokens});
    UseTranslation(std::move(translated), provider.base_path + "/chat/completions", core::Dialect::kOpenAIChat, out);
}

// A Responses client on a chat-only server: /v1/responses becomes /chat/completions.
void PrepareFromResponses(const core::ProviderConfig& provider, const AttemptRequest& request, PreparedRequest& out) {
    auto translated = translate::ResponsesToChatRequest(request.body, {.upstream_model = request.upstream_model,
                                                                       .stream_usage = provider.stream_usage,
                                                                       .max_tokens_cap = provider.max_output_tokens});
    UseTranslation(std::move(translated), provider.base_path + "/chat/completions", core::Dialect::kOpenAIChat, out);
}

// The vendor's request quirks (drop_params, rename_params) on what goes upstream.
void EditForVendor(const core::ProviderConfig& provider, PreparedRequest& out) {
    if (provider.drop_params.empty() && provider.rename_params.empty()) return;
    if (auto edited = openai::EditParams(out.body, provider.drop_params, provider.rename_params)) {
        out.edited = std::move(*edited);
        out.body = out.edited;
    }
}

class OpenAIAdapter final : public ProviderAdapter {
public:
    void Prepare(const core::ProviderConfig& provider, const AttemptRequest& request,
                 PreparedRequest& out) const override {
        PrepareBody(provider, request, out);
        if (out.refusal) return;
        EditForVendor(provider, out);
        out.fix_tool_call_index = provider.fix_tool_call_index;
        out.normalize_errors = provider.normalize_errors;
    }

    std::unique_ptr<ResponseObserver> MakeTranslator(const PreparedRequest& prepared,
                                                     const AttemptRequest& request) const override {
        if (prepared.upstream != request.client || request.client == core::Dialect::kAnthropic)
            return ProviderAdapter::MakeTranslator(prepared, request);
        if (!prepared.fix_tool_call_index && !prepared.normalize_errors) return nullptr;
        return std::make_unique<openai::QuirksObserver>(prepared.fix_tool_call_index, prepared.normalize_errors);
    }

    void PrepareBody(const core::ProviderConfig& provider, const AttemptRequest& request, PreparedRequest& out) const {
        if (request.client == core::Dialect::kAnthropic && !provider.native_messages) {
            PrepareFromAnthropic(provider, request, out);
            return;
        }
        if (request.client == core::Dialect::kOpenAIResponses && !provider.native_responses) {
            PrepareFromResponses(provider, request, out);
            return;
        }
        openai::PreparePassThrough(provider, request, out);
        const proxy::BodyInfo* scan = request.scan;
        // Anthropic streams and Responses streams carry their usage without being asked.
        if (!scan || request.client != core::Dialect::kOpenAIChat) return;
        // Metering needs usage on streams: ask for it, and hide the extra chunk.
        if (scan->stream && !scan->has_stream_options && provider.stream_usage) {
            out.edited = proxy::InjectIncludeUsage(out.body);
            out.body = out.edited;
            out.usage_injected = true;
        }
    }

    void AppendAuthHeaders(const core::ProviderConfig& provider, std::string& head) const override {
        if (provider.api_key.empty()) return;
        head.append("Authorization: Bearer ");
        head.append(provider.api_key);
        head.append(wire::kCrlf);
    }

    // anthropic-version and anthropic-beta are for servers that speak Anthropic's API.
    void AppendClientHeader(const core::ProviderConfig& provider, std::string_view name, std::string_view value,
                            std::string& head) const override {
        if (!provider.native_messages && IsAnthropicHeader(name)) return;
        wire::AppendHeader(head, name, value);
    }

    UsageReader& MakeUsageReader(const PreparedRequest& prepared, UsageReaderSlot& slot) const override {
        return openai::MakeUsageReader(prepared.usage_injected, slot);
    }
};

}  // namespace

const ProviderAdapter& openai::Adapter() {
    static const OpenAIAdapter adapter;
    return adapter;
}

void openai::PreparePassThrough(const core::ProviderConfig& provider, const AttemptRequest& request,
                                PreparedRequest& out) {
    out.target = core::TakeString(provider.base_path.size() + request.path_suffix.size());
    out.target.append(provider.base_path).append(request.path_suffix);
    out.body = request.body;
    out.upstream = request.client;
    const proxy::BodyInfo* scan = request.scan;
    if (scan && (!scan->has_model || request.upstream_model != scan->model)) {
        out.edited = proxy::SpliceModel(request.body, *scan, request.upstream_model);
        out.body = out.edited;
    }
}

UsageReader& openai::MakeUsageReader(bool strip, UsageReaderSlot& slot) {
    return slot.Emplace<EventUsageReader>(strip);
}

}  // namespace llmproxy::providers
