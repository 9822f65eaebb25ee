#pragma once
// A TCP stream with a deadline, as beast::basic_stream has, kept by the io_context's one
// DeadlineWheel instead of a timer started and cancelled around every operation: setting or
// moving the deadline is a clock read, and each read or write files or drops it in the wheel.
//
// Semantics are basic_stream's: the deadline applies while an operation is pending; when it
// passes, the pending operations end with beast::error::timeout (the socket is cancelled, not
// closed, so that a 408 can still be written), and so does the next one until a new deadline
// is set. Unlike basic_stream, the stream must outlive the completion of its operations (as it
// does in a coroutine that awaits them).
#include <type_traits>

#include <boost/asio/append.hpp>
#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include "http/deadline_wheel.hpp"

namespace llmproxy {

class DeadlineStream;

namespace detail {
// Completion of one operation: the stream's bookkeeping, then the caller's handler with a
// cancellation caused by the deadline reported as a timeout.
template <class Handler>
struct DeadlineOp {
    Handler handler;
    DeadlineStream* stream;

    /// (ec, bytes) for reads and writes, (ec) for a connect.
    template <class... Bytes>
    void operator()(boost::system::error_code ec, Bytes... bytes);
};
}  // namespace detail

class DeadlineStream {
public:
    using Clock = DeadlineWheel::Clock;
    using Executor = boost::asio::io_context::executor_type;
    using Socket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, Executor>;
    using executor_type = Executor;
    using socket_type = Socket;
    using lowest_layer_type = Socket;

    explicit DeadlineStream(Socket&& socket);
    explicit DeadlineStream(const Executor& ex) : DeadlineStream(Socket(ex)) {}
    ~DeadlineStream() { wheel_->Drop(deadline_); }
    DeadlineStream(const DeadlineStream&) = delete;
    DeadlineStream& operator=(const DeadlineStream&) = delete;

    executor_type get_executor() noexcept { return socket_.get_executor(); }
    Socket& socket() noexcept { return socket_; }
    const Socket& socket() const noexcept { return socket_; }
    Socket& lowest_layer() noexcept { return socket_; }
    const Socket& lowest_layer() const noexcept { return socket_; }

    void expires_after(Clock::duration d) { expires_at(Clock::now() + d); }
    void expires_at(Clock::time_point t);
    void expires_never() noexcept;
    void close() noexcept;
    void cancel() noexcept;

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return Launch<void(boost::system::error_code, std::size_t)>(
            token, [buffers](Socket& s, auto op) { s.async_read_some(buffers, std::move(op)); });
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return Launch<void(boost::system::error_code, std::size_t)>(
            token, [buffers](Socket& s, auto op) { s.async_write_some(buffers, std::move(op)); });
    }

    template <class Token>
    auto async_connect(const boost::asio::ip::tcp::endpoint& endpoint, Token&& token) {
        return Launch<void(boost::system::error_code)>(
            token, [endpoint](Socket& s, auto op) { s.async_connect(endpoint, std::move(op)); });
    }

    /// Writes what the socket takes now, without waiting and without a trip through the event
    /// loop: 0 bytes and no error when its send buffer is full.
    template <class ConstBuffers>
    std::size_t write_some_now(const ConstBuffers& buffers, boost::system::error_code& ec) {
        if (timed_out_) {
            ec = boost::beast::error::timeout;
            return 0;
        }
        if (!socket_.non_blocking()) {
            socket_.non_blocking(true, ec);  // once per connection; asynchronous operations ignore it
            if (ec) return 0;
        }
        const std::size_t n = socket_.write_some(buffers, ec);
        if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) ec = {};
        return n;
    }

private:
    template <class>
    friend struct detail::DeadlineOp;

    struct Deadline : DeadlineWheel::Entry {
        DeadlineStream* stream = nullptr;
    };

    void Begin() {
        if (++pending_ == 1 && deadline_.deadline != Clock::time_point::max()) wheel_->File(deadline_);
    }
    void End() noexcept {
        if (--pending_ == 0) wheel_->Drop(deadline_);
    }
    static void Expire(DeadlineWheel::Entry& entry);

    // Starts one socket operation (`start(socket, op)`) under the deadline; one that begins
    // after the deadline passed ends at once with a timeout.
    template <class Signature, class Token, class Start>
    auto Launch(Token& token, Start start) {
        return boost::asio::async_initiate<Token, Signature>(
            [this, start](auto handler) {
                if (timed_out_) {
                    const boost::system::error_code timeout(boost::beast::error::timeout);
                    if constexpr (std::is_same_v<Signature, void(boost::system::error_code)>) {
                        boost::asio::post(boost::asio::append(std::move(handler), timeout));
                    } else {
                        boost::asio::post(boost::asio::append(std::move(handler), timeout, std::size_t{0}));
                    }
                    return;
                }
                Begin();
                start(socket_, detail::DeadlineOp<decltype(handler)>{std::move(handler), this});
            },
            token);
    }

    Socket socket_;
    DeadlineWheel* wheel_;
    Deadline deadline_;
    unsigned pending_ = 0;
    bool timed_out_ = false;
};

namespace detail {
template <class Handler>
template <class... Bytes>
void DeadlineOp<Handler>::operator()(boost::system::error_code ec, Bytes... bytes) {
    stream->End();
    if (ec == boost::asio::error::operation_aborted && stream->timed_out_) ec = boost::beast::error::timeout;
    std::move(handler)(ec, bytes...);
}
}  // namespace detail

// For beast::close_socket (the WebSocket's failure path).
inline void beast_close_socket(DeadlineStream& stream) {
    stream.close();
}

// For websocket::stream<DeadlineStream&>: closing the WebSocket closes the socket underneath.
void teardown(boost::beast::role_type role, DeadlineStream& stream, boost::system::error_code& ec);

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, DeadlineStream& stream, TeardownHandler&& handler) {
    using boost::beast::websocket::async_teardown;
    async_teardown(role, stream.socket(), std::forward<TeardownHandler>(handler));
}

}  // namespace llmproxy

// The operation's handler keeps the caller's executor, allocator and cancellation slot.
template <template <typename, typename> class Associator, typename Handler, typename DefaultCandidate>
struct boost::asio::associator<Associator, llmproxy::detail::DeadlineOp<Handler>, DefaultCandidate> {
    using type = typename Associator<Handler, DefaultCandidate>::type;

    static type get(const llmproxy::detail::DeadlineOp<Handler>& op) noexcept {
        return Associator<Handler, DefaultCandidate>::get(op.handler);
    }
    static auto get(const llmproxy::detail::DeadlineOp<Handler>& op, const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(op.handler, c)) {
        return Associator<Handler, DefaultCandidate>::get(op.handler, c);
    }
};
