#pragma once
// A vendor's answer quirks, fixed for OpenAI clients whose requests pass through untranslated
// (the translators already absorb both): streamed tool-call deltas without `index` (Gemini,
// older Ollama) get one, as OpenAI's SDKs require; error bodies in a vendor's own shape
// (Ollama's and TGI's {"error":"..."}) are rewritten into OpenAI's {"error":{...}}.
#include <cstdint>
#include <string>
#include <vector>

#include "providers/response_observer.hpp"

namespace llmproxy::providers::openai {

class QuirksObserver final : public ResponseObserver {
public:
    QuirksObserver(bool fix_tool_call_index, bool normalize_errors)
        : fix_index_(fix_tool_call_index), normalize_errors_(normalize_errors) {}
    void OnHead(ResponseHead& head) override;
    std::string_view OnEvents(std::string_view events) override;
    std::string_view OnWholeBody(std::string_view body) override;

private:
    void FixEvent(std::string_view event);

    bool fix_index_;
    bool normalize_errors_;
    unsigned status_ = 0;
    std::string out_;
    std::string joined_;
    std::vector<std::string> call_ids_;  // the stream's tool calls by index (ids seen so far)
};

}  // namespace llmproxy::providers::openai
