#include "http/inflater.hpp"

#include <boost/beast/core/string.hpp>

namespace beast = boost::beast;

namespace llmproxy::wire {

Inflater::Inflater(std::size_t max_output) : max_output_(max_output) {
    // 15 + 32: a zlib or gzip header, detected from the stream.
    ok_ = inflateInit2(&zs_, 15 + 32) == Z_OK;
}

Inflater::~Inflater() {
    inflateEnd(&zs_);
}

void Inflater::Feed(std::string_view in, const std::function<void(std::string_view)>& sink) {
    if (!ok_ || ended_ || in.empty()) return;
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs_.avail_in = static_cast<uInt>(in.size());
    while (zs_.avail_in > 0 && ok_ && !ended_) {
        zs_.next_out = reinterpret_cast<Bytef*>(window_.data());
        zs_.avail_out = static_cast<uInt>(window_.size());
        const int rc = inflate(&zs_, Z_NO_FLUSH);
        const std::size_t n = window_.size() - zs_.avail_out;
        if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && n > 0)) {
            ok_ = false;  // corrupt (or a dictionary we do not have): stop reading
            return;
        }
        produced_ += n;
        if (produced_ > max_output_) {
            ok_ = false;
            return;
        }
        if (n > 0) sink(std::string_view(window_.data(), n));
        if (rc == Z_STREAM_END) ended_ = true;
        if (n == 0 && rc == Z_BUF_ERROR) return;  // needs more input
    }
}

bool InflaterReads(std::string_view content_encoding) {
    return beast::iequals(content_encoding, "gzip") || beast::iequals(content_encoding, "x-gzip") ||
           beast::iequals(content_encoding, "deflate");
}

}  // namespace llmproxy::wire
