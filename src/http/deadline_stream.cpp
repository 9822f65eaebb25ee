#include "http/deadline_stream.hpp"

namespace llmproxy {

DeadlineStream::DeadlineStream(Socket&& socket)
    : socket_(std::move(socket)),
      wheel_(&boost::asio::use_service<DeadlineWheel>(
          boost::asio::query(socket_.get_executor(), boost::asio::execution::context))) {
    deadline_.stream = this;
    deadline_.expire = &DeadlineStream::Expire;
}

void DeadlineStream::expires_at(Clock::time_point t) {
    deadline_.deadline = t;
    timed_out_ = false;
    if (pending_ > 0) wheel_->File(deadline_);
}

void DeadlineStream::expires_never() noexcept {
    // Left filed: the wheel drops it when its tick comes, or when the operation ends.
    deadline_.deadline = Clock::time_point::max();
    timed_out_ = false;
}

void DeadlineStream::close() noexcept {
    boost::system::error_code ignored;
    socket_.close(ignored);
}

void DeadlineStream::cancel() noexcept {
    boost::system::error_code ignored;
    socket_.cancel(ignored);
}

void DeadlineStream::Expire(DeadlineWheel::Entry& entry) {
    DeadlineStream& self = *static_cast<Deadline&>(entry).stream;
    self.timed_out_ = true;
    self.cancel();
}

void teardown(boost::beast::role_type role, DeadlineStream& stream, boost::system::error_code& ec) {
    using boost::beast::websocket::teardown;
    teardown(role, stream.socket(), ec);
}

}  // namespace llmproxy
