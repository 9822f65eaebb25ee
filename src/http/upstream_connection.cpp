#include "http/upstream_connection.hpp"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>

namespace llmproxy::upstream {
namespace {
using Plain = beast::tcp_stream;
using Tls = beast::ssl_stream<beast::tcp_stream>;

std::variant<Plain, Tls> MakeStream(asio::any_io_executor ex, asio::ssl::context* tls) {
    if (tls) return std::variant<Plain, Tls>(std::in_place_type<Tls>, ex, *tls);
    return std::variant<Plain, Tls>(std::in_place_type<Plain>, ex);
}
}  // namespace

UpstreamConnection::UpstreamConnection(asio::any_io_executor ex, asio::ssl::context* tls)
    : stream_(MakeStream(ex, tls)), read_chunk_(new char[kReadChunk]) {}

beast::tcp_stream& UpstreamConnection::Tcp() {
    if (auto* plain = std::get_if<Plain>(&stream_)) return *plain;
    return beast::get_lowest_layer(std::get<Tls>(stream_));
}

Task<error_code> UpstreamConnection::Connect(const std::vector<tcp::endpoint>& endpoints,
                                             const core::ProviderConfig& p, core::Millis timeout) {
    auto& tcp_stream = Tcp();
    tcp_stream.expires_after(timeout);
    auto [ec, ep] = co_await tcp_stream.async_connect(endpoints, kNoThrow);
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
    Tcp().expires_after(timeout);
    auto [ec, n] = co_await std::visit(
        [&](auto& s) { return asio::async_write(s, buffers, kNoThrow); }, stream_);
    co_return ec;
}

Task<error_code> UpstreamConnection::ReadHeader(ResponseParser& parser, core::Millis timeout) {
    Tcp().expires_after(timeout);
    auto [ec, n] = co_await std::visit(
        [&](auto& s) { return http::async_read_header(s, buffer_, parser, kNoThrow); }, stream_);
    co_return ec;
}

Task<error_code> UpstreamConnection::ReadSome(ResponseParser& parser, core::Millis timeout) {
    Tcp().expires_after(timeout);
    auto [ec, n] = co_await std::visit(
        [&](auto& s) { return http::async_read_some(s, buffer_, parser, kNoThrow); }, stream_);
    if (ec == http::error::need_buffer) ec = {};
    co_return ec;
}

bool UpstreamConnection::IsStale() {
    if (!is_open() || buffer_.size() != 0) return true;
    // An idle keep-alive connection must have nothing to read: readable means the peer closed
    // it (recv returns 0) or sent garbage / a TLS close_notify. Either way, don't reuse it.
    char byte;
    ssize_t r = ::recv(Tcp().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return !(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

void UpstreamConnection::Close() {
    error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Tcp().close();
}

bool UpstreamConnection::is_open() const {
    return std::visit([](const auto& s) { return beast::get_lowest_layer(s).socket().is_open(); }, stream_);
}

}  // namespace llmproxy::upstream
