#include "stages/forward/client_watch.hpp"

#include <cstring>

namespace llmproxy::stages {

void WatchClient(Socket& socket, const std::shared_ptr<ClientWatch>& watch) {
    socket.async_read_some(asio::buffer(watch->bytes), [watch](const error_code& ec, std::size_t n) {
        watch->completed = true;
        watch->done.cancel();
        if (ec == asio::error::operation_aborted) return;  // we stopped watching
        if (!ec && n > 0) {
            watch->pipelined = n;
            return;
        }
        watch->client_gone = true;
        if (auto conn = watch->conn.lock()) conn->Close();
    });
}

void ClientWatchSlot::Arm(DelayedStarts* delayed) {
    if (!delayed) {
        Start();
        return;
    }
    start = [](DelayedStarts::Entry& self) { static_cast<ClientWatchSlot&>(self).Start(); };
    delayed->Add(*this, DelayedStarts::Clock::now());
}

void ClientWatchSlot::Start() {
    watch_ = std::make_shared<ClientWatch>(client_.get_executor());
    watch_->conn = conn_;
    WatchClient(client_, watch_);
}

void ClientWatchSlot::SetConnection(const std::shared_ptr<upstream::UpstreamConnection>& conn) {
    conn_ = conn;
    if (watch_) watch_->conn = conn;
}

Task<void> ClientWatchSlot::Finish(beast::flat_buffer& buffer) {
    if (!watch_->completed) {
        error_code ignored;
        client_.cancel(ignored);
        co_await watch_->done.async_wait(kNoThrow);
    }
    if (watch_->pipelined) {
        auto room = buffer.prepare(watch_->pipelined);
        std::memcpy(room.data(), watch_->bytes, watch_->pipelined);
        buffer.commit(watch_->pipelined);
    }
}

}  // namespace llmproxy::stages
