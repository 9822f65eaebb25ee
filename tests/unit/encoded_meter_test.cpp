#include <gtest/gtest.h>

#include <string>
#include <vector>
#include <zlib.h>

#include "stages/forward/encoded_meter.hpp"

using namespace llmproxy;

namespace {

std::string Gzip(const std::string& text) {
    z_stream zs{};
    deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    std::string out(compressBound(static_cast<uLong>(text.size())) + 64, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    zs.avail_in = static_cast<uInt>(text.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    deflate(&zs, Z_FINISH);
    out.resize(zs.total_out);
    deflateEnd(&zs);
    return out;
}

struct Recorder : providers::ResponseObserver {
    std::string events, body;
    std::string_view OnEvents(std::string_view e) override {
        events.append(e);
        return {};  // a rewrite: ignored for a compressed stream
    }
    void OnBody(std::string_view piece) override { body.append(piece); }
};

}  // namespace

TEST(EncodedBodyMeter, ObserversSeeTheDecompressedEventsInAnyPieces) {
    const std::string text = "data: {\"a\":1}\n\ndata: {\"usage\":{\"total_tokens\":3}}\n\ndata: [DONE]";
    const std::string gz = Gzip(text);
    for (std::size_t step : {std::size_t{1}, std::size_t{7}, gz.size()}) {
        Recorder r;
        providers::ResponseChain chain;
        chain.AddForAttempt(r);
        stages::EncodedBodyMeter meter(true, chain);
        for (std::size_t at = 0; at < gz.size(); at += step) meter.Feed(std::string_view(gz).substr(at, step));
        meter.End();
        EXPECT_EQ(r.events, text) << step;  // the last event without its blank line included
    }
}

TEST(EncodedBodyMeter, ABombStopsAtTheCapAndCorruptInputStopsQuietly) {
    const std::string zeros(stages::EncodedBodyMeter::kMaxDecompressed + (1u << 20), '0');
    const std::string bomb = Gzip(zeros);  // ~65 MiB from ~65 KB
    Recorder r;
    providers::ResponseChain chain;
    chain.AddForAttempt(r);
    stages::EncodedBodyMeter meter(false, chain);
    meter.Feed(bomb);
    EXPECT_LE(r.body.size(), stages::EncodedBodyMeter::kMaxDecompressed);

    wire::Inflater corrupt(1 << 20);
    std::size_t seen = 0;
    corrupt.Feed("not gzip at all", [&](std::string_view t) { seen += t.size(); });
    EXPECT_FALSE(corrupt.ok());
    EXPECT_EQ(seen, 0u);
}
