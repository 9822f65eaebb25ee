#pragma once
// One keep-alive connection to an upstream (plain TCP or TLS), with its own read buffer.
// All Beast I/O on it goes through these few methods so that the TLS/plain variant is
// visited in one translation unit.
#include <array>
#include <chrono>
#include <memory>
#include <variant>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "core/config.hpp"
#include "http/asio_types.hpp"

namespace llmproxy::upstream {

using ResponseParser = http::response_parser<http::buffer_body>;

class UpstreamConnection {
public:
    static constexpr std::size_t kReadChunk = 16 * 1024;

    UpstreamConnection(asio::any_io_executor ex, asio::ssl::context* tls);

    /// TCP connect (trying each endpoint) then, for TLS, SNI + handshake + certificate check.
    /// `timeout` bounds the whole thing.
    Task<error_code> Connect(const std::vector<tcp::endpoint>& endpoints, const core::ProviderConfig& p,
                             core::Millis timeout);

    Task<error_code> Write(std::array<asio::const_buffer, 2> buffers, core::Millis timeout);
    Task<error_code> ReadHeader(ResponseParser& parser, core::Millis timeout);
    /// Reads and parses some body bytes into the parser's buffer_body (see kReadChunk).
    Task<error_code> ReadSome(ResponseParser& parser, core::Millis timeout);

    /// True when the idle connection was closed or poisoned by the peer (checked before reuse).
    bool IsStale();
    void Close();
    bool is_open() const;

    char* read_chunk() { return read_chunk_.get(); }
    std::chrono::steady_clock::time_point idle_since;
    bool reused = false;

private:
    beast::tcp_stream& Tcp();

    std::variant<beast::tcp_stream, beast::ssl_stream<beast::tcp_stream>> stream_;
    beast::flat_buffer buffer_;
    std::unique_ptr<char[]> read_chunk_;  // body bytes land here; kept out of coroutine frames
};

}  // namespace llmproxy::upstream
