// libFuzzer target: chunked bodies with extensions and trailers, read as the gateway reads
// them in both directions — a client's request (string body, into the session's read buffer)
// and an upstream's response (views into the connection's read buffer) — through a read
// buffer bounded by wire::BoundReadBuffer, from a stream that hands the bytes over in windows.
// Properties:
//  - the read buffer never holds more than its bound (a chunk line, an extension or a trailer
//    that never ends costs that much, then the read fails);
//  - when the read succeeds, the body equals what an independent decoder (below) reads, and
//    the request's body is within its limit.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/relay_body.hpp"
#include "http/wire.hpp"

namespace {

using namespace llmproxy;

// A SyncReadStream over the input, `step` bytes a read at most (as a socket would).
struct WindowStream {
    std::string_view in;
    std::size_t step;
    template <class Buffers>
    std::size_t read_some(const Buffers& buffers, error_code& ec) {
        if (in.empty()) {
            ec = http::error::end_of_stream;
            return 0;
        }
        const std::size_t n = asio::buffer_copy(buffers, asio::buffer(in.data(), std::min(step, in.size())));
        in.remove_prefix(n);
        ec = {};
        return n;
    }
    template <class Buffers>
    std::size_t read_some(const Buffers& buffers) {
        error_code ec;
        return read_some(buffers, ec);
    }
};

// The reference: RFC 9112 §7.1 chunked decoding written plainly, lenient where Beast is
// strict (it is only compared with when both succeed).
std::optional<std::string> DecodeChunked(std::string_view s) {
    std::string body;
    for (;;) {
        const auto eol = s.find("\r\n");
        if (eol == std::string_view::npos) return std::nullopt;
        std::string_view line = s.substr(0, eol);
        s.remove_prefix(eol + 2);
        line = line.substr(0, line.find(';'));
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
        if (line.empty() || line.size() > 15) return std::nullopt;
        std::size_t size = 0;
        for (char c : line) {
            const int d = c >= '0' && c <= '9'   ? c - '0'
                          : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : -1;
            if (d < 0) return std::nullopt;
            size = size * 16 + static_cast<std::size_t>(d);
        }
        if (size == 0) {
            // Trailer fields, then the empty line.
            for (;;) {
                const auto end = s.find("\r\n");
                if (end == std::string_view::npos) return std::nullopt;
                const bool last = end == 0;
                s.remove_prefix(end + 2);
                if (last) return body;
            }
        }
        if (s.size() < size + 2 || s.substr(size, 2) != "\r\n") return std::nullopt;
        body.append(s.substr(0, size));
        s.remove_prefix(size + 2);
    }
}

constexpr std::size_t kHeadLimit = 1024;  // small, so the fuzzer reaches the bound quickly

template <class Parser, class Collect>
bool ReadBounded(Parser& parser, std::string_view in, std::size_t step, Collect collect) {
    WindowStream stream{in, step};
    beast::flat_buffer buffer;
    wire::BoundReadBuffer(buffer, kHeadLimit);
    const std::size_t bound = kHeadLimit + wire::kReadSlack;
    parser.header_limit(kHeadLimit);
    error_code ec;
    while (!ec && !parser.is_done()) {
        http::read_some(stream, buffer, parser, ec);
        if (buffer.size() > bound) __builtin_trap();
        collect(parser);
    }
    return !ec && parser.is_done();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const bool request = data[0] & 1;
    const std::size_t step = 1 + (static_cast<std::size_t>(data[1]) << 4);  // up to 4 KiB a read
    const std::string_view chunks(reinterpret_cast<const char*>(data + 2), size - 2);
    const std::string head = request ? "POST /v1/x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                                     : "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string in = head + std::string(chunks);
    std::string got;
    bool ok;
    if (request) {
        http::request_parser<http::string_body> parser;
        constexpr std::size_t kBodyLimit = 1u << 20;
        parser.body_limit(kBodyLimit);
        ok = ReadBounded(parser, in, step, [](auto&) {});
        got = parser.get().body();
        if (ok && got.size() > kBodyLimit) __builtin_trap();
    } else {
        http::response_parser<upstream::RelayBody> parser;
        parser.body_limit(boost::none);
        ok = ReadBounded(parser, in, step, [&](auto& p) {
            for (auto piece : p.get().body().pieces) got.append(piece);
            p.get().body().clear();
        });
    }
    if (!ok) return 0;
    const auto want = DecodeChunked(chunks);
    if (want && *want != got) __builtin_trap();
    return 0;
}
