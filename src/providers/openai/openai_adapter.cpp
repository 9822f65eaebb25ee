// OpenAI-compatible upstreams (OpenAI, vLLM, TGI, Ollama, llama.cpp, DeepSeek, ...): the body
// passes byte for byte except for the model name the provider knows and, on streams, a request
// for usage (stream_options.include_usage) that the usage reader then hides from the client.
#include "providers/openai/openai_adapter.hpp"
#include "providers/openai/usage_observer.hpp"
#include "proxy/body_splice.hpp"
#include "http/wire.hpp"

namespace llmproxy::providers {
namespace {

class OpenAIUsageReader final : public UsageReader {
public:
    explicit OpenAIUsageReader(bool strip) : observer_(strip) {}
    providers::ResponseObserver& observer() override { return observer_; }
    const std::optional<usage::Usage>& usage() const override { return observer_.usage(); }
    std::string_view body() const override { return observer_.body(); }

private:
    openai::UsageObserver observer_;
};

class OpenAIAdapter final : public ProviderAdapter {
public:
    void Prepare(const core::ProviderConfig& provider, const AttemptRequest& request,
                 PreparedRequest& out) const override {
        out.target = provider.base_path;
        out.target.append(request.path_suffix);
        out.body = request.body;
        const proxy::BodyInfo* scan = request.scan;
        if (!scan) return;
        if (!scan->has_model || request.upstream_model != scan->model) {
            out.edited = proxy::SpliceModel(request.body, *scan, request.upstream_model);
            out.body = out.edited;
        }
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

    std::unique_ptr<UsageReader> MakeUsageReader(const PreparedRequest& prepared) const override {
        return std::make_unique<OpenAIUsageReader>(prepared.usage_injected);
    }
};

}  // namespace

const ProviderAdapter& openai::Adapter() {
    static const OpenAIAdapter adapter;
    return adapter;
}

}  // namespace llmproxy::providers
