#pragma once
// Reloads when the config file changes on disk (inotify on its directory, since editors and
// Kubernetes ConfigMap updates replace the file, or a symlink to it, rather than write it).
// Events are gathered for a short while and the content compared, so that one save is one
// reload and a touch is none. Runs on the control thread's context.
#include <functional>
#include <memory>
#include <string>

#include "http/asio_types.hpp"

namespace llmproxy::control {

class FileWatch {
public:
    /// Calls `on_change` (on `ioc`'s thread) after `path` was written, replaced or created.
    /// Logs and does nothing more when inotify is unavailable.
    FileWatch(asio::io_context& ioc, const std::string& path, std::function<void()> on_change);
    ~FileWatch();

private:
    struct State;
    std::shared_ptr<State> state_;
};

}  // namespace llmproxy::control
