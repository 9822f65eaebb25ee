#pragma once
// Writing a whole buffer sequence to a TcpStream: straight to the socket when it takes it at
// once (the usual case: a response head and body fit the socket's send buffer), so the write
// costs one system call and no trip through the event loop; what is left, asynchronously
// under the stream's deadline.
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>

#include "http/asio_types.hpp"

namespace llmproxy {

/// The rest of a write of which the socket took `done` bytes at once (any stream: TLS too).
template <class Stream, class ConstBuffers>
Task<error_code> WriteRest(Stream& stream, const ConstBuffers& buffers, std::size_t done) {
    beast::buffers_suffix<ConstBuffers> rest(buffers);
    rest.consume(done);
    auto [ec, n] = co_await asio::async_write(stream, rest, kNoThrow);
    co_return ec;
}

template <class ConstBuffers>
Task<error_code> WriteAll(TcpStream& stream, const ConstBuffers& buffers) {
    error_code ec;
    const std::size_t now = stream.write_some_now(buffers, ec);
    if (!ec && now < asio::buffer_size(buffers)) ec = co_await WriteRest(stream, buffers, now);
    co_return ec;
}

}  // namespace llmproxy
