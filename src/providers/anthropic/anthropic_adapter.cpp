// Anthropic's Messages API (type: anthropic). Anthropic clients pass through untouched but for
// the model; OpenAI chat clients are translated (providers/translate). Credentials are
// x-api-key, and the anthropic-version the client sent (else the provider's) goes with them.
#include "providers/anthropic/anthropic_adapter.hpp"

#include "core/units.hpp"
#include "http/wire.hpp"
#include "providers/openai/openai_adapter.hpp"
#include "providers/translate/requests.hpp"

namespace llmproxy::providers {
namespace {

// Whether `head` already has a line for header `name` (the client's anthropic-version).
bool HasHeaderLine(std::string_view head, std::string_view name) {
    for (std::size_t at = head.find("\r\n"); at != std::string_view::npos; at = head.find("\r\n", at + 2)) {
        const std::string_view line = head.substr(at + 2);
        if (line.size() > name.size() && line[name.size()] == ':' && beast::iequals(line.substr(0, name.size()), name))
            return true;
    }
    return false;
}

bool BetaAllowed(const core::ProviderConfig& provider, std::string_view beta) {
    for (const auto& allowed : provider.anthropic_betas) {
        if (core::GlobMatch(allowed, beta)) return true;
    }
    return false;
}

// The client's anthropic-beta values this upstream accepts (all, unless the provider lists them).
void AppendBetas(const core::ProviderConfig& provider, std::string_view value, std::string& head) {
    if (provider.anthropic_betas.empty()) {
        wire::AppendHeader(head, "anthropic-beta", value);
        return;
    }
    std::string kept;
    while (!value.empty()) {
        const auto comma = value.find(',');
        std::string_view beta = value.substr(0, comma);
        while (!beta.empty() && beta.front() == ' ') beta.remove_prefix(1);
        while (!beta.empty() && beta.back() == ' ') beta.remove_suffix(1);
        if (!beta.empty() && BetaAllowed(provider, beta)) {
            if (!kept.empty()) kept += ',';
            kept += beta;
        }
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    if (!kept.empty()) wire::AppendHeader(head, "anthropic-beta", kept);
}

class AnthropicAdapter final : public ProviderAdapter {
public:
    void Prepare(const core::ProviderConfig& provider, const AttemptRequest& request,
                 PreparedRequest& out) const override {
        if (request.client == core::Dialect::kAnthropic) {
            openai::PreparePassThrough(provider, request, out);
            return;
        }
        const bool chat =
            request.client == core::Dialect::kOpenAIChat && request.path_suffix.starts_with("/chat/completions");
        const bool responses = request.client == core::Dialect::kOpenAIResponses;
        if (!chat && !responses) {
            out.refusal = core::NotFound("provider '" + provider.name +
                                             "' (type: anthropic) serves chat completions, responses "
                                             "and messages only",
                                         "unsupported_endpoint");
            return;
        }
        const translate::RequestOptions options{.upstream_model = request.upstream_model,
                                                .default_max_tokens = provider.default_max_tokens,
                                                .max_tokens_cap = provider.max_output_tokens};
        // A Responses client goes through chat completions: Responses -> chat -> Messages.
        translate::RequestTranslation via_chat;
        if (responses) {
            via_chat = translate::ResponsesToChatRequest(request.body, options);
            if (via_chat.error) {
                out.refusal = std::move(via_chat.error);
                return;
            }
            out.custom_tools = std::move(via_chat.custom_tools);
        }
        auto translated =
            translate::ChatToMessagesRequest(responses ? std::string_view(via_chat.body) : request.body, options);
        UseTranslation(std::move(translated), provider.base_path + "/messages", core::Dialect::kAnthropic, out);
    }

    void AppendAuthHeaders(const core::ProviderConfig& provider, std::string& head) const override {
        if (!provider.api_key.empty()) wire::AppendHeader(head, "x-api-key", provider.api_key);
        if (!HasHeaderLine(head, "anthropic-version"))
            wire::AppendHeader(head, "anthropic-version", provider.anthropic_version);
    }

    void AppendClientHeader(const core::ProviderConfig& provider, std::string_view name, std::string_view value,
                            std::string& head) const override {
        if (beast::iequals(name, "anthropic-beta"))
            AppendBetas(provider, value, head);
        else
            wire::AppendHeader(head, name, value);
    }

    UsageReader& MakeUsageReader(const PreparedRequest&, UsageReaderSlot& slot) const override {
        return openai::MakeUsageReader(false, slot);
    }
};

}  // namespace

const ProviderAdapter& anthropic::Adapter() {
    static const AnthropicAdapter adapter;
    return adapter;
}

}  // namespace llmproxy::providers
