#pragma once
// Scans a JSON request body for the few fields the gateway needs, without building a DOM.
// The body itself is forwarded as raw bytes; only the `model` value may be spliced.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace llmproxy::proxy {

/// The largest max_tokens the gateway accepts (no model comes near it): beyond it a value is
/// refused rather than fed to the token limits' arithmetic.
inline constexpr std::int64_t kMaxTokensLimit = 2'147'483'647;

struct BodyInfo {
    bool valid = false;
    std::string error;  // why the body is not a JSON object

    bool has_model = false;
    std::string model;            // unescaped value
    std::size_t model_begin = 0;  // byte range of the value token in the body, quotes included
    std::size_t model_end = 0;
    std::size_t object_begin = 0;  // offset of the top-level '{'

    bool stream = false;
    bool include_usage = false;  // stream_options.include_usage
    bool has_stream_options = false;
    bool has_messages = false;
    bool has_input = false;
    bool has_prompt = false;
    std::optional<std::int64_t> max_tokens;  // max_tokens, max_completion_tokens or max_output_tokens
    bool max_tokens_invalid = false;         // a number that is not an integer in [0, kMaxTokensLimit]
    std::string user;
};

/// Scans `body` (top-level fields only; nested "model" keys are never touched). `body` may be
/// grown in capacity (not content) to give the SIMD scanner its padding.
BodyInfo ScanBody(std::string& body);

}  // namespace llmproxy::proxy
