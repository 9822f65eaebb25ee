#include <gtest/gtest.h>

#include "http/sse_framer.hpp"

using namespace llmproxy::sse;

namespace {
// Feeds `stream` split at every `step` bytes and returns what the framer released.
std::string FeedInSteps(const std::string& stream, std::size_t step, std::string* remainder = nullptr) {
    SseFramer framer;
    std::string out;
    for (std::size_t i = 0; i < stream.size(); i += step) out += framer.Feed(std::string_view(stream).substr(i, step));
    if (remainder) *remainder = framer.TakeRemainder();
    return out;
}
}  // namespace

TEST(SseFramer, WholeEventsPassInOneGo) {
    SseFramer f;
    std::string data = "data: a\n\ndata: b\n\n";
    EXPECT_EQ(f.Feed(data), data);
    EXPECT_EQ(f.pending_bytes(), 0u);
}

TEST(SseFramer, HoldsPartialEvent) {
    SseFramer f;
    EXPECT_EQ(f.Feed("data: a\n\ndata: par"), "data: a\n\n");
    EXPECT_EQ(f.Feed("tial\n"), "");
    EXPECT_EQ(f.Feed("\n"), "data: partial\n\n");
}

TEST(SseFramer, EverySplitPointGivesTheSameBytes) {
    const std::string stream =
        "event: x\r\ndata: {\"a\":1}\r\n\r\n: comment\n\ndata: line1\ndata: line2\n\nid: 7\rdata: cr\r\rdata: "
        "[DONE]\n\n";
    for (std::size_t step = 1; step <= stream.size(); ++step) {
        std::string rest;
        std::string out = FeedInSteps(stream, step, &rest);
        EXPECT_EQ(out + rest, stream) << "step " << step;
        EXPECT_TRUE(rest.empty()) << "step " << step;
    }
}

TEST(SseFramer, CrLfBoundaryIsNotCutInHalf) {
    SseFramer f;
    // "\r\n\r" could be the start of "\r\n\r\n": the event is released only when the final
    // "\n" arrives, so the next event never starts with a stray "\n".
    EXPECT_EQ(f.Feed("data: a\r\n\r"), "");
    EXPECT_EQ(f.Feed("\ndata: b"), "data: a\r\n\r\n");
}

TEST(SseFramer, UnterminatedTailIsAvailable) {
    std::string rest;
    EXPECT_EQ(FeedInSteps("data: a\n\ndata: tail-without-blank-line", 5, &rest), "data: a\n\n");
    EXPECT_EQ(rest, "data: tail-without-blank-line");
}

TEST(SseFramer, HugeEventIsFlushedNotHeldForever) {
    SseFramer f;
    std::string big(SseFramer::kMaxHeldBytes + 10, 'x');
    auto out = f.Feed(big);
    EXPECT_EQ(out.size(), big.size());
}
