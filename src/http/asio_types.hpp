#pragma once
// The one place that names Asio/Beast types and completion tokens, so that a Boost upgrade
// (e.g. to the bare `as_tuple` token of Boost >= 1.86) changes only this file.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/deadline_stream.hpp"
#include "http/frame_pool.hpp"

namespace llmproxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

/// Every worker runs one io_context; naming its executor type (rather than the type-erased
/// any_io_executor) saves an allocation-free but measurable copy/destroy on every operation.
using Executor = asio::io_context::executor_type;

template <class T>
using Task = asio::awaitable<T, Executor>;

using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Resolver = asio::ip::basic_resolver<tcp, Executor>;
using Timer =
    asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, Executor>;
/// Client and upstream connections: a socket with a deadline kept by the worker's wheel.
using TcpStream = DeadlineStream;

/// Completion token: errors come back as the first tuple element instead of exceptions
/// (errors are values on the data plane).
inline constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable_t<Executor>{});

}  // namespace llmproxy
