#pragma once
// The API dialect a client speaks (known from the endpoint it called) or an upstream serves.
// Every answer the gateway makes itself is written in the client's dialect, and an upstream
// that speaks another one is translated.
#include <cstdint>
#include <string_view>

namespace llmproxy::core {

enum class Dialect : std::uint8_t {
    kOpenAIChat,       // /v1/chat/completions (and the other OpenAI paths: same error shape)
    kOpenAIResponses,  // /v1/responses
    kAnthropic,        // /v1/messages
};

}  // namespace llmproxy::core
