#pragma once
// The relay's own observers (provider-specific ones live with their adapter).
#include <algorithm>
#include <cstdint>
#include <string>

#include "providers/response_observer.hpp"
#include "usage/stream_token_counter.hpp"

namespace llmproxy::stages {

using providers::ResponseHead;
using providers::ResponseObserver;

/// Counts a stream's generated tokens as it passes (for when no usage comes, or the stream is
/// cut): a few hundred bytes per stream, whatever its length.
class TokenCountObserver final : public ResponseObserver {
public:
    TokenCountObserver(const usage::Tokenizer& tokenizer, usage::StreamTokenCounter::Mode mode)
        : counter_(tokenizer, mode) {}
    void OnHead(ResponseHead& head) override { sse_ = head.sse; }
    std::string_view OnEvents(std::string_view events) override {
        if (sse_) counter_.AddEvents(events);
        return events;
    }
    bool saw_stream() const { return sse_; }
    std::int64_t completion_tokens() { return counter_.Total(); }

private:
    usage::StreamTokenCounter counter_;
    bool sse_ = false;
};

/// Keeps the response body as relayed, up to `cap` bytes: only when the request log asks for
/// bodies.
class CaptureObserver final : public ResponseObserver {
public:
    explicit CaptureObserver(std::size_t cap) : cap_(cap) {}
    void OnHead(ResponseHead&) override { kept_.clear(); }  // an earlier attempt's partial answer
    std::string_view OnEvents(std::string_view events) override {
        Keep(events);
        return events;
    }
    void OnBody(std::string_view piece) override { Keep(piece); }
    std::string Take() { return std::move(kept_); }

private:
    void Keep(std::string_view bytes) {
        if (kept_.size() < cap_) kept_.append(bytes.substr(0, std::min(bytes.size(), cap_ - kept_.size())));
    }
    std::size_t cap_;
    std::string kept_;
};

}  // namespace llmproxy::stages
