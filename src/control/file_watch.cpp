#include "control/file_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <filesystem>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <spdlog/spdlog.h>

namespace llmproxy::control {

struct FileWatch::State : std::enable_shared_from_this<FileWatch::State> {
    State(asio::io_context& ioc, std::function<void()> cb) : stream(ioc), debounce(ioc), on_change(std::move(cb)) {}

    void Read() {
        stream.async_read_some(asio::buffer(events), [self = shared_from_this()](const error_code& ec, std::size_t n) {
            if (ec) return;  // closed: the watch ended
            bool ours = false;
            for (std::size_t at = 0; at + sizeof(inotify_event) <= n;) {
                const auto* e = reinterpret_cast<const inotify_event*>(self->events.data() + at);
                if (e->len > 0 && self->name == e->name) ours = true;
                at += sizeof(inotify_event) + e->len;
            }
            if (ours) self->Soon();
            self->Read();
        });
    }

    // Several events per save (truncate, write, close; or create + rename): one reload.
    void Soon() {
        debounce.expires_after(std::chrono::milliseconds(200));
        debounce.async_wait([self = shared_from_this()](const error_code& ec) {
            if (!ec) self->on_change();
        });
    }

    asio::posix::stream_descriptor stream;
    asio::steady_timer debounce;
    std::function<void()> on_change;
    std::string name;
    alignas(inotify_event) std::array<char, 8192> events{};
};

FileWatch::FileWatch(asio::io_context& ioc, const std::string& path, std::function<void()> on_change)
    : state_(std::make_shared<State>(ioc, std::move(on_change))) {
    const std::filesystem::path file = std::filesystem::absolute(path);
    const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        spdlog::warn("config: cannot watch {} for changes (inotify: {}); reload with SIGHUP", path,
                     std::strerror(errno));
        return;
    }
    const auto dir = file.parent_path().string();
    if (inotify_add_watch(fd, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0) {
        spdlog::warn("config: cannot watch {} for changes ({}); reload with SIGHUP", dir, std::strerror(errno));
        ::close(fd);
        return;
    }
    state_->name = file.filename().string();
    state_->stream.assign(fd);
    state_->Read();
}

FileWatch::~FileWatch() {
    error_code ignored;
    state_->debounce.cancel();
    state_->stream.close(ignored);
}

}  // namespace llmproxy::control
