#include "stages/forward/encoded_meter.hpp"

#include <string>

namespace llmproxy::stages {

void EncodedBodyMeter::Show(std::string_view text) {
    if (!sse_) {
        chain_.OnBody(text);
        return;
    }
    // Each observer sees the events; what it would rewrite them into is dropped (the client
    // gets the upstream's compressed bytes).
    if (!text.empty()) chain_.ShowEvents(text);
}

void EncodedBodyMeter::Feed(std::string_view compressed) {
    inflater_.Feed(compressed, [this](std::string_view text) { Show(sse_ ? framer_.Feed(text) : text); });
}

void EncodedBodyMeter::End() {
    if (!sse_) return;
    const std::string rest = framer_.TakeRemainder();
    if (!rest.empty()) Show(rest);
}

}  // namespace llmproxy::stages
