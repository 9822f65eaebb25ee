#pragma once
// Counts the tokens a stream generated while it passes, keeping at most about a kilobyte of
// text: the memory of a stream must not grow with its length, so the relayed events are never
// kept. The generated text is picked out of each event's JSON by a small scanner (no DOM: this
// runs for every event of every stream). Two modes:
//  - exact (the upstream reports no usage: this count is the only one): tokenized in slices cut
//    before a space, where the tokenizer's own pre-split cuts too, so the total equals counting
//    the whole text at once up to rare whitespace-run boundaries;
//  - sampled (the upstream reports usage at the end; this count serves only a stream cut before
//    it): nothing is tokenized while the stream passes, and most events are not even read. The
//    text of the first kSampleEvents events (at most kSampleBytes of it) is kept and tokenized
//    only if the count is asked for; later events are only counted in bytes, and the total is
//    the sample's tokens scaled by the stream's event bytes (its own tokens per byte of events).
//    Exact for a stream within the sample; within a few percent beyond for prose, CJK and code
//    (stream_token_counter_test prints the error).
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
    enum class Mode { kExact, kSampled };
    explicit StreamTokenCounter(const Tokenizer& tokenizer, Mode mode = Mode::kExact)
        : tokenizer_(tokenizer), mode_(mode) {}
    StreamTokenCounter(const StreamTokenCounter&) = delete;
    StreamTokenCounter& operator=(const StreamTokenCounter&) = delete;
    ~StreamTokenCounter();  // gives its text buffer back for the thread's next stream

    /// Whole SSE events (as the relay passes them).
    void AddEvents(std::string_view events);
    /// Every token seen so far (counts what is pending).
    std::int64_t Total();

    static constexpr std::size_t kSliceBytes = 512;
    static constexpr std::size_t kSampleBytes = 1024;
    static constexpr std::size_t kSampleEvents = 128;

private:
    void CountPending(bool all);
    void AddText(std::string_view json);
    // Sampled mode: the events being read are still within the sample.
    bool Sampling() const { return events_seen_ < kSampleEvents && pending_.size() < kSampleBytes; }

    const Tokenizer& tokenizer_;
    Mode mode_;
    std::string pending_;  // text not yet tokenized: about kSliceBytes (exact) or kSampleBytes, plus one event's
    std::int64_t counted_ = 0;
    std::size_t events_seen_ = 0;
    // Sampled mode: bytes of the events read for the sample, and of the others (not read).
    std::size_t sample_event_bytes_ = 0;
    std::size_t bytes_after_sample_ = 0;
};

}  // namespace llmproxy::usage
