#pragma once
// HTTP/1.1 wire details shared by the server and the upstream client: hop-by-hop headers
// (RFC 9110 §7.6.1), status lines, chunked framing.
#include <algorithm>
#include <string>
#include <string_view>

#include "http/asio_types.hpp"

namespace llmproxy::wire {

/// True for headers that describe one connection and must not be forwarded: Connection,
/// Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade, or any named in `connection`
/// (the value of the message's Connection header). `field` is the parser's reading of `name`:
/// known names are told apart without comparing strings.
bool IsHopByHop(http::field field, std::string_view name, std::string_view connection);

/// The first value of header `field` in `fields` (empty if absent), by a walk comparing the
/// parser's field enum: on the ten-odd headers of a message that costs less than
/// basic_fields' ordered lookup, which compares names case-insensitively.
template <class Fields>
std::string_view FindField(const Fields& fields, http::field field) {
    for (const auto& f : fields) {
        if (f.name() == field) return {f.value().data(), f.value().size()};
    }
    return {};
}

/// The same for a name Beast has no enum for (x-api-key, traceparent, anthropic-version...).
template <class Fields>
std::string_view FindUnknownField(const Fields& fields, std::string_view name) {
    for (const auto& f : fields) {
        if (f.name() != http::field::unknown) continue;
        const auto n = f.name_string();
        if (beast::iequals(std::string_view(n.data(), n.size()), name)) return {f.value().data(), f.value().size()};
    }
    return {};
}

/// Appends "Name: value\r\n".
void AppendHeader(std::string& out, std::string_view name, std::string_view value);

/// "HTTP/1.1 404 Not Found\r\n"
void AppendStatusLine(std::string& out, unsigned status, std::string_view reason = {});

/// Hex size line of one chunk: "1a2\r\n" (written into `buf`, returns the view).
std::string_view ChunkSizeLine(std::size_t size, char (&buf)[24]);

/// The most a read buffer may hold beyond a message's head limit: what one read brings. Chunk
/// size lines, their extensions and trailers must fit in the head limit plus this, so a peer
/// that never ends one (client or upstream) costs a bounded buffer, not memory without limit;
/// Beast's parser then fails the read with http::error::buffer_overflow.
inline constexpr std::size_t kReadSlack = 64u << 10;

/// Bounds `buffer` for messages whose head may take `head_limit` bytes (see kReadSlack); never
/// below what it already holds (pipelined bytes, or a reload that lowered the limit).
inline void BoundReadBuffer(beast::flat_buffer& buffer, std::size_t head_limit) {
    buffer.max_size(std::max(head_limit + kReadSlack, buffer.size()));
}

/// Feeds `parser` what `buffer` already holds, without a read (a head the keep-alive read
/// brought whole, a body that came with its head): consumes what it took. Needing more bytes is
/// not an error here (`ec` stays clear). Returns the bytes taken.
template <class Parser>
std::size_t PutBuffered(Parser& parser, beast::flat_buffer& buffer, error_code& ec) {
    if (buffer.size() == 0) return 0;
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) ec = {};
    return used;
}

inline constexpr std::string_view kCrlf = "\r\n";
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace llmproxy::wire
