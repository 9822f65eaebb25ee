#pragma once
// The seam between the gateway and one kind of upstream API. An adapter prepares what goes
// upstream for an attempt (target path, body in the upstream's dialect, the model name, the
// usage request, credentials and which client headers pass) and supplies the observers that
// read and translate its answers (usage, dialect translation). `openai` passes OpenAI clients'
// bytes through untouched but for the model; Anthropic clients reach it translated (or native,
// for servers that serve /v1/messages). `anthropic` is the reverse. Adapters are found by the
// provider's type (providers/registry.cpp).
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.hpp"
#include "core/dialect.hpp"
#include "core/error_reply.hpp"
#include "core/string_pool.hpp"
#include "proxy/body_scan.hpp"
#include "providers/response_observer.hpp"
#include "providers/translate/requests.hpp"
#include "usage/usage.hpp"

namespace llmproxy::providers {

/// What the pipeline knows of the client's request when an attempt is prepared.
struct AttemptRequest {
    std::string_view body;            // as the client sent it
    const proxy::BodyInfo* scan;      // its scanned fields (null: not JSON)
    std::string_view path_suffix;     // client target after "/v1" (path + query)
    std::string_view upstream_model;  // the model name this provider knows
    core::Dialect client = core::Dialect::kOpenAIChat;
    std::string_view public_model;           // the name the client asked for (translated answers carry it)
    std::size_t max_translated = 16u << 20;  // what a translator may keep of one answer (server.max_translated_body)
};

/// What goes upstream for one attempt.
struct PreparedRequest {
    PreparedRequest() = default;
    PreparedRequest(PreparedRequest&&) = default;
    PreparedRequest& operator=(PreparedRequest&&) = default;
    ~PreparedRequest() {  // for the worker's next request
        core::GiveBack(std::move(target));
        core::GiveBack(std::move(edited));
    }

    std::string target;                                   // path + query on the upstream
    std::string_view body;                                // the client's bytes, or `edited`
    std::string edited;                                   // the body after edits or translation, when there were any
    bool usage_injected = false;                          // asked for stream usage the client did not ask for
    core::Dialect upstream = core::Dialect::kOpenAIChat;  // the dialect the upstream answers in
    std::optional<core::LocalReply> refusal;              // this provider cannot serve it: nothing is sent
    std::vector<std::string> custom_tools;                // a Responses client's custom tools, sent as functions
    bool fix_tool_call_index = false;                     // vendor quirks to fix on an untranslated answer
    bool normalize_errors = false;
};

/// Reads an upstream's answers: an observer in the relay's chain plus what it learned.
class UsageReader {
public:
    virtual ~UsageReader() = default;
    virtual ResponseObserver& observer() = 0;
    virtual const std::optional<usage::Usage>& usage() const = 0;
    /// A whole non-stream body as relayed (for local counting), empty when not kept.
    virtual std::string_view body() const = 0;
};

/// Room for one attempt's usage reader inside the attempt, so that making it costs no
/// allocation: the adapter builds its reader here (Emplace), the slot destroys it.
class UsageReaderSlot {
public:
    UsageReaderSlot() = default;
    UsageReaderSlot(const UsageReaderSlot&) = delete;
    UsageReaderSlot& operator=(const UsageReaderSlot&) = delete;
    ~UsageReaderSlot() { Reset(); }

    template <class Reader, class... Args>
    Reader& Emplace(Args&&... args) {
        static_assert(sizeof(Reader) <= kBytes && alignof(Reader) <= alignof(std::max_align_t),
                      "this reader does not fit: grow UsageReaderSlot::kBytes");
        Reset();
        Reader* reader = new (storage_) Reader(std::forward<Args>(args)...);
        reader_ = reader;
        return *reader;
    }

private:
    void Reset() {
        if (reader_) reader_->~UsageReader();
        reader_ = nullptr;
    }
    static constexpr std::size_t kBytes = 384;
    alignas(std::max_align_t) std::byte storage_[kBytes];
    UsageReader* reader_ = nullptr;
};

class ProviderAdapter {
public:
    virtual ~ProviderAdapter() = default;
    virtual void Prepare(const core::ProviderConfig& provider, const AttemptRequest& request,
                         PreparedRequest& out) const = 0;
    /// The upstream's credentials (and protocol headers) as header lines ("Name: value\r\n"),
    /// after the client's headers in `head`.
    virtual void AppendAuthHeaders(const core::ProviderConfig& provider, std::string& head) const = 0;
    /// One of the client's end-to-end headers (after the gateway's own are dropped): the
    /// adapter's policy decides whether and how it goes upstream.
    virtual void AppendClientHeader(const core::ProviderConfig& provider, std::string_view name, std::string_view value,
                                    std::string& head) const;
    /// The attempt's usage reader, built in `slot`.
    virtual UsageReader& MakeUsageReader(const PreparedRequest& prepared, UsageReaderSlot& slot) const = 0;
    /// The translator from the upstream's dialect to the client's (null: same dialect).
    virtual std::unique_ptr<ResponseObserver> MakeTranslator(const PreparedRequest& prepared,
                                                             const AttemptRequest& request) const;
};

/// Uses a translated request: its 400 as the refusal, or its body sent to `target` in the
/// `upstream` dialect (with the custom tools its answer translator needs).
void UseTranslation(translate::RequestTranslation&& translated, std::string target, core::Dialect upstream,
                    PreparedRequest& out);

/// The adapter for a provider's `type`.
const ProviderAdapter& AdapterFor(const core::ProviderConfig& provider);

/// True for the headers only Anthropic's API reads (anthropic-version, anthropic-beta, ...).
bool IsAnthropicHeader(std::string_view name);

}  // namespace llmproxy::providers
