#include "control/file_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <spdlog/spdlog.h>

namespace llmproxy::control {

struct FileWatch::State : std::enable_shared_from_this<FileWatch::State> {
    State(asio::io_context& ioc, std::function<void()> cb) : stream(ioc), debounce(ioc), on_change(std::move(cb)) {}

    void Read() {
        stream.async_read_some(asio::buffer(events), [self = shared_from_this()](const error_code& ec, std::size_t n) {
            if (ec) return;  // closed: the watch ended
            // Any entry of the directory: a Kubernetes ConfigMap swaps a "..data" symlink, not
            // the file's own name. Whether the file changed is decided by its content.
            if (n > 0) self->Soon();
            self->Read();
        });
    }

    // Several events per save (truncate, write, close; or create + rename): one reload, and
    // none when the content is what it was.
    void Soon() {
        debounce.expires_after(std::chrono::milliseconds(200));
        debounce.async_wait([self = shared_from_this()](const error_code& ec) {
            if (ec) return;
            const std::size_t now = self->ContentHash();
            if (now == self->content) return;
            self->content = now;
            self->on_change();
        });
    }

    std::size_t ContentHash() const {
        std::ifstream in(path, std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        return std::hash<std::string>{}(text.str());
    }

    asio::posix::stream_descriptor stream;
    asio::steady_timer debounce;
    std::function<void()> on_change;
    std::string path;
    std::size_t content = 0;  // hash of the file as last loaded
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
    state_->path = file.string();
    state_->content = state_->ContentHash();
    state_->stream.assign(fd);
    state_->Read();
}

FileWatch::~FileWatch() {
    error_code ignored;
    state_->debounce.cancel();
    state_->stream.close(ignored);
}

}  // namespace llmproxy::control
