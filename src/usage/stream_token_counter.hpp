#pragma once
// Counts the tokens a stream generated while it passes, keeping only a few hundred bytes of text:
// the memory of a stream must not grow with its length, so the relayed events are never kept.
// The generated text is picked out of each event's JSON by a small scanner (no DOM: this runs
// for every event of every stream) and tokenized in slices cut before a space, where the
// tokenizer's own pre-split cuts too, so the total equals counting the whole text at once up to
// rare whitespace-run boundaries.
#include <cstdint>
#include <string>
#include <string_view>

#include "usage/tokenizer.hpp"

namespace llmproxy::usage {

/// Appends the generated text of one SSE `data` payload to `out`: chat deltas (content,
/// reasoning_content, refusal, tool-call name and arguments), completions text, Responses API
/// `*.delta` strings. Other members are skipped; malformed JSON appends what was read so far.
void AppendGeneratedText(std::string_view json, std::string& out);

class StreamTokenCounter {
public:
    explicit StreamTokenCounter(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

    /// Whole SSE events (as the relay passes them).
    void AddEvents(std::string_view events);
    /// Every token seen so far (counts what is pending).
    std::int64_t Total();

    static constexpr std::size_t kSliceBytes = 512;

private:
    void CountPending(bool all);

    const Tokenizer& tokenizer_;
    std::string pending_;  // text not yet tokenized: about kSliceBytes at most, plus one event's
    std::int64_t counted_ = 0;
};

}  // namespace llmproxy::usage
