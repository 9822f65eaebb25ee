#pragma once
// The one place that names Asio/Beast types and completion tokens, so that a Boost upgrade
// (e.g. to the bare `as_tuple` token of Boost >= 1.86) changes only this file.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace llmproxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

template <class T>
using Task = asio::awaitable<T>;

/// Completion token: errors come back as the first tuple element instead of exceptions
/// (errors are values on the data plane).
inline constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

}  // namespace llmproxy
