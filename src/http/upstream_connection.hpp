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
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "core/config.hpp"
#include "http/asio_types.hpp"
#include "http/head_memory.hpp"
#include "http/relay_body.hpp"

namespace llmproxy::upstream {

using ResponseParser = http::response_parser<RelayBody, HeadAllocator>;

class UpstreamConnection : public std::enable_shared_from_this<UpstreamConnection> {
public:
    /// The read buffer's first size: reads take up to what it holds (Beast reads into free
    /// capacity), so an event stream comes in whole blocks rather than 512-byte pieces.
    static constexpr std::size_t kReadBuffer = 2 * 1024;

    UpstreamConnection(Executor ex, asio::ssl::context* tls);

    /// TCP connect (trying each endpoint) then, for TLS, SNI + handshake + certificate check.
    /// `timeout` bounds the whole thing.
    Task<error_code> Connect(const std::vector<tcp::endpoint>& endpoints, const core::ProviderConfig& p,
                             core::Millis timeout);

    Task<error_code> Write(std::array<asio::const_buffer, 2> buffers, core::Millis timeout);
    /// What a plain connection's socket takes of `buffers` at once (no wait, no coroutine): the
    /// caller awaits Write for the rest (`skip` bytes in). 0 on TLS, which always goes by Write.
    std::size_t WriteNow(const std::array<asio::const_buffer, 2>& buffers, error_code& ec);
    Task<error_code> Write(std::array<asio::const_buffer, 2> buffers, core::Millis timeout, std::size_t skip);
    /// Reads a response head of at most `head_limit` bytes (the read buffer is bounded to it plus
    /// wire::kReadSlack for the rest of the response: see there).
    Task<error_code> ReadHeader(ResponseParser& parser, core::Millis timeout, std::size_t head_limit = 16u << 10);
    /// The same read as Beast's operation itself, for a caller that awaits it directly.
    Task<std::tuple<error_code, std::size_t>> ReadHeaderOp(ResponseParser& parser, core::Millis timeout,
                                                           std::size_t head_limit);
    /// Reads and parses some body bytes: the parser's body gets views of them in this
    /// connection's read buffer, valid until the next read (see RelayBody).
    Task<error_code> ReadSome(ResponseParser& parser, core::Millis timeout);
    /// The same read as the operation itself, for a caller that awaits it directly (no
    /// coroutine of its own: the relay's per-event read). Beast's need_buffer (the body piece
    /// filled the parser's view) is the caller's to take as success.
    Task<std::tuple<error_code, std::size_t>> ReadSomeOp(ResponseParser& parser, core::Millis timeout);
    /// What ReadSome would parse from bytes already read (a body that came with its head, the
    /// rest of a read that held several pieces), without a read operation. False: nothing
    /// could be parsed without reading.
    bool ParseBuffered(ResponseParser& parser, error_code& ec);

    /// Nothing is left unread of the last response and the socket is open: it may go back to
    /// the pool.
    bool CleanForReuse() const;
    /// While the connection sits idle in the pool, a read is kept pending on it: if the
    /// upstream closes it (or sends anything), the pool learns it without a syscall per reuse.
    /// The pool starts it only for connections idle a while (see UpstreamPool::kWatchAfter).
    void StartIdleWatch();
    bool idle_watching() const { return idle_watching_; }
    /// Ends the idle watch; true when the connection is still clean and usable.
    Task<bool> StopIdleWatch();
    void Close();
    bool is_open() const;

    std::chrono::steady_clock::time_point idle_since;
    bool reused = false;

private:
    TcpStream& Tcp();

    std::variant<TcpStream, beast::ssl_stream<TcpStream>> stream_;
    beast::flat_buffer buffer_;

    // Idle watch state (see StartIdleWatch).
    bool idle_watching_ = false;
    bool idle_watch_done_ = false;
    bool idle_clean_ = true;  // false once the peer closed or sent bytes while idle
    char idle_byte_[1];
    Timer idle_done_;  // used as an event: cancelled when the watch read completes
};

}  // namespace llmproxy::upstream
