#pragma once
// A response the upstream compressed although the gateway asked for identity: relayed to the
// client as it came (unframed, the observers cannot rewrite it), while its decompressed text
// goes to the observers, so that it is still metered (usage, token counts, capture).
#include <optional>
#include <string_view>

#include "http/inflater.hpp"
#include "http/sse_framer.hpp"
#include "providers/response_chain.hpp"

namespace llmproxy::stages {

class EncodedBodyMeter {
public:
    /// Decompressed bytes read at most (what a usage reader needs is far less).
    static constexpr std::size_t kMaxDecompressed = 64u << 20;

    EncodedBodyMeter(bool sse, const providers::ResponseChain& chain)
        : sse_(sse), chain_(chain), inflater_(kMaxDecompressed) {}

    /// The next compressed bytes, as relayed.
    void Feed(std::string_view compressed);
    /// The body ended: a last event without its blank line is shown too.
    void End();

private:
    void Show(std::string_view text);

    bool sse_;
    const providers::ResponseChain& chain_;
    wire::Inflater inflater_;
    sse::SseFramer framer_;
};

}  // namespace llmproxy::stages
