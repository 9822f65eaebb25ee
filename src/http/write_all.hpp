#pragma once
// Writing a whole buffer sequence to a TcpStream: straight to the socket when it takes it at
// once (the usual case: a response head and body fit the socket's send buffer), so the write
// costs one system call and no trip through the event loop; what is left, asynchronously
// under the stream's deadline.
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_suffix.hpp>

#include "http/asio_types.hpp"

namespace llmproxy {

template <class ConstBuffers>
Task<error_code> WriteAll(TcpStream& stream, const ConstBuffers& buffers) {
    const std::size_t total = asio::buffer_size(buffers);
    if (total == 0) co_return error_code{};
    error_code ec;
    const std::size_t now = stream.write_some_now(buffers, ec);
    if (ec || now == total) co_return ec;
    beast::buffers_suffix<ConstBuffers> rest(buffers);
    rest.consume(now);
    std::tie(ec, std::ignore) = co_await asio::async_write(stream, rest, kNoThrow);
    co_return ec;
}

}  // namespace llmproxy
