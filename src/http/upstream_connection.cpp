#include "http/upstream_connection.hpp"

#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "http/wire.hpp"
#include "http/write_all.hpp"

namespace llmproxy::upstream {
namespace {
using Plain = TcpStream;
using Tls = beast::ssl_stream<TcpStream>;

std::variant<Plain, Tls> MakeStream(Executor ex, asio::ssl::context* tls) {
    if (tls) return std::variant<Plain, Tls>(std::in_place_type<Tls>, ex, *tls);
    return std::variant<Plain, Tls>(std::in_place_type<Plain>, ex);
}
}  // namespace

UpstreamConnection::UpstreamConnection(Executor ex, asio::ssl::context* tls)
    : stream_(MakeStream(ex, tls)), idle_done_(ex) {
    buffer_.reserve(kReadBuffer);
}

TcpStream& UpstreamConnection::Tcp() {
    if (auto* plain = std::get_if<Plain>(&stream_)) return *plain;
    return beast::get_lowest_layer(std::get<Tls>(stream_));
}

Task<error_code> UpstreamConnection::Connect(const std::vector<tcp::endpoint>& endpoints, const core::ProviderConfig& p,
                                             core::Millis timeout) {
    auto& tcp_stream = Tcp();
    tcp_stream.expires_after(timeout);
    // Each endpoint in turn, with the socket opened here: Asio's range connect reports a failed
    // open (out of descriptors) as "Operation canceled", and that is our failure, not the
    // provider's: the caller must see EMFILE to say so.
    error_code ec = asio::error::host_not_found;
    for (const auto& endpoint : endpoints) {
        tcp_stream.socket().close(ec);
        tcp_stream.socket().open(endpoint.protocol(), ec);
        if (ec) co_return ec;
        std::tie(ec) = co_await tcp_stream.async_connect(endpoint, kNoThrow);
        if (!ec || ec == beast::error::timeout) break;
    }
    if (ec) co_return ec;
    tcp_stream.socket().set_option(tcp::no_delay(true));
    if (auto* tls = std::get_if<Tls>(&stream_)) {
        // SNI: without it, most TLS front ends (Cloudflare, API gateways) refuse the handshake.
        if (!SSL_set_tlsext_host_name(tls->native_handle(), p.host.c_str())) {
            co_return error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
        }
        if (p.tls_verify) tls->set_verify_callback(asio::ssl::host_name_verification(p.host));
        auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::client, kNoThrow);
        if (hec) co_return hec;
    }
    tcp_stream.expires_never();
    co_return error_code{};
}

Task<error_code> UpstreamConnection::Write(std::array<asio::const_buffer, 2> buffers, core::Millis timeout) {
    error_code ec;
    const std::size_t now = WriteNow(buffers, ec);
    if (!ec && now < asio::buffer_size(buffers)) ec = co_await Write(buffers, timeout, now);
    co_return ec;
}

std::size_t UpstreamConnection::WriteNow(const std::array<asio::const_buffer, 2>& buffers, error_code& ec) {
    auto* plain = std::get_if<Plain>(&stream_);
    return plain ? plain->write_some_now(buffers, ec) : 0;
}

Task<error_code> UpstreamConnection::Write(std::array<asio::const_buffer, 2> buffers, core::Millis timeout,
                                           std::size_t skip) {
    Tcp().expires_after(timeout);
    co_return co_await std::visit([&](auto& s) { return WriteRest(s, buffers, skip); }, stream_);
}

Task<error_code> UpstreamConnection::ReadHeader(ResponseParser& parser, core::Millis timeout, std::size_t head_limit) {
    auto [ec, n] = co_await ReadHeaderOp(parser, timeout, head_limit);
    co_return ec;
}

Task<std::tuple<error_code, std::size_t>> UpstreamConnection::ReadHeaderOp(ResponseParser& parser, core::Millis timeout,
                                                                           std::size_t head_limit) {
    parser.header_limit(static_cast<std::uint32_t>(head_limit));
    wire::BoundReadBuffer(buffer_, head_limit);
    Tcp().expires_after(timeout);
    if (auto* plain = std::get_if<Plain>(&stream_)) return http::async_read_header(*plain, buffer_, parser, kNoThrow);
    return http::async_read_header(std::get<Tls>(stream_), buffer_, parser, kNoThrow);
}

Task<error_code> UpstreamConnection::ReadSome(ResponseParser& parser, core::Millis timeout) {
    auto [ec, n] = co_await ReadSomeOp(parser, timeout);
    if (ec == http::error::need_buffer) ec = {};
    co_return ec;
}

Task<std::tuple<error_code, std::size_t>> UpstreamConnection::ReadSomeOp(ResponseParser& parser, core::Millis timeout) {
    Tcp().expires_after(timeout);
    if (auto* plain = std::get_if<Plain>(&stream_)) return http::async_read_some(*plain, buffer_, parser, kNoThrow);
    return http::async_read_some(std::get<Tls>(stream_), buffer_, parser, kNoThrow);
}

bool UpstreamConnection::ParseBuffered(ResponseParser& parser, error_code& ec) {
    // The pieces stay where they are in the buffer until the next read (see RelayBody).
    return wire::PutBuffered(parser, buffer_, ec) > 0 || ec;
}

bool UpstreamConnection::CleanForReuse() const {
    return is_open() && buffer_.size() == 0;
}

void UpstreamConnection::StartIdleWatch() {
    if (!CleanForReuse()) {
        idle_clean_ = false;  // leftover bytes after a response: never reuse
        return;
    }
    idle_watching_ = true;
    idle_watch_done_ = false;
    idle_done_.expires_at(Timer::time_point::max());
    // A read on the raw TCP socket (below TLS as well): any byte or EOF while idle makes the
    // connection unusable, so the bytes themselves never matter. Speculative reads cost no
    // syscall once the socket was drained, and no epoll_ctl.
    Tcp().socket().async_read_some(asio::buffer(idle_byte_),
                                   [self = shared_from_this()](const error_code& ec, std::size_t) {
                                       self->idle_watch_done_ = true;
                                       if (ec != asio::error::operation_aborted) {
                                           // The upstream closed it (or sent something unasked):
                                           // close our end now, not when the pool next looks
                                           // (no socket left in CLOSE_WAIT).
                                           self->idle_clean_ = false;
                                           self->Close();
                                       }
                                       self->idle_done_.cancel();
                                   });
}

Task<bool> UpstreamConnection::StopIdleWatch() {
    if (idle_watching_) {
        idle_watching_ = false;
        if (!idle_watch_done_) {
            error_code ignored;
            Tcp().socket().cancel(ignored);
            // Wait for the read's handler so that it never runs while the connection is in use.
            co_await idle_done_.async_wait(kNoThrow);
        }
    }
    co_return idle_clean_&& is_open();
}

void UpstreamConnection::Close() {
    error_code ignored;
    Tcp().socket().shutdown(Socket::shutdown_both, ignored);
    Tcp().close();
}

bool UpstreamConnection::is_open() const {
    return std::visit([](const auto& s) { return beast::get_lowest_layer(s).socket().is_open(); }, stream_);
}

}  // namespace llmproxy::upstream
