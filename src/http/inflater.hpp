#pragma once
// Streaming gzip/deflate decompression (zlib) for reading, not relaying: a response an upstream
// compressed anyway (we ask for identity) is relayed as it came, and its decompressed text is
// what the usage reader and token counter see. Memory is one fixed output window; the total
// it will produce is capped, so a decompression bomb costs bounded CPU and nothing else.
#include <array>
#include <cstddef>
#include <functional>
#include <string_view>

#include <zlib.h>

namespace llmproxy::wire {

class Inflater {
public:
    /// `max_output`: decompressed bytes after which it stops (ok() turns false).
    explicit Inflater(std::size_t max_output);
    ~Inflater();
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;

    /// Decompresses `in` (the next compressed bytes), handing each decompressed piece to `sink`
    /// (valid during the call). After an error or past max_output it does nothing more.
    void Feed(std::string_view in, const std::function<void(std::string_view)>& sink);
    bool ok() const { return ok_; }
    std::size_t produced() const { return produced_; }

private:
    z_stream zs_{};
    bool ok_ = false;
    bool ended_ = false;
    std::size_t produced_ = 0;
    std::size_t max_output_;
    std::array<char, 16384> window_{};
};

/// True when `content_encoding` (a response's Content-Encoding) is one Inflater reads.
bool InflaterReads(std::string_view content_encoding);

}  // namespace llmproxy::wire
