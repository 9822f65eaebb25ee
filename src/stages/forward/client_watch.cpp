#include "stages/forward/client_watch.hpp"

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

}  // namespace llmproxy::stages
