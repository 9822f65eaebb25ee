#pragma once
// The one path by which configuration changes, whatever asked for it: SIGHUP, the YAML file
// changing on disk, POST /admin/v1/config/reload, an admin write, another instance's write to
// the shared store. Each builds the effective config (file + store rows, core/config_overlay),
// validates it as a whole, and publishes it as a new snapshot, or refuses it with the reasons
// and keeps the running one. Runs on the control thread only (it reads the file and the store
// there: workers never wait on either).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/snapshot_publisher.hpp"
#include "core/config_overlay.hpp"
#include "observe/metrics.hpp"
#include "store/store.hpp"

namespace llmproxy::control {

/// Where the file part of the config comes from, and what the command line pinned.
struct ConfigSource {
    std::string path;       // empty: `text` (the embedded or environment-made config)
    std::string text;       // used when path is empty
    std::string listen;     // --listen (kept over any reload); empty: none
    int workers = -1;       // --workers; < 0: none
    std::string log_level;  // --log-level; empty: none
    // From the environment (the Python llm-proxy service's), used where the file leaves the
    // setting empty: ADMIN_KEY / LLM_PROXY_ADMIN_KEY, PROVIDER_SUFFIX + "/", DB_URL.
    std::string admin_key;
    std::string strip_prefix;
    std::string database_url;
    std::string Name() const { return path.empty() ? "<embedded>" : path; }
};

struct ReloadOutcome {
    bool published = false;
    std::uint64_t version = 0;        // the snapshot serving after the call
    std::vector<std::string> errors;  // why it was refused
    std::vector<std::string> notes;   // start-only settings that were kept, warnings
};

class ConfigManager {
public:
    /// `store` may be null (no database): then the config is the file alone.
    ConfigManager(ConfigSource source, store::Store* store, observe::ReloadStats& stats);

    /// Builds the first config (before the publisher and any worker exist). Errors are
    /// returned, not thrown.
    core::ConfigResult LoadInitial();
    /// The publisher of the first config: every later change goes through it.
    void Attach(SnapshotPublisher& publisher) { publisher_ = &publisher; }
    /// Rebuilds from file + store and publishes; `why` goes in the log ("SIGHUP", "admin").
    ReloadOutcome Reload(const std::string& why);
    /// Reload only if the store changed since the last build (another instance wrote).
    void ReloadIfStoreChanged();

    /// What the store holds now (empty without a store).
    core::ConfigOverlay ReadOverlay();
    /// Would the config be valid with `overlay` in place of the store's rows? Errors if not.
    std::vector<std::string> Check(const core::ConfigOverlay& overlay);

    store::Store* store() { return store_; }
    const ConfigSource& source() const { return source_; }
    std::shared_ptr<const Snapshot> current() const { return publisher_->Load(); }

private:
    core::ConfigResult Build(const core::ConfigOverlay& overlay);
    void ApplyCommandLine(core::Config& config, const core::Config* running) const;

    ConfigSource source_;
    store::Store* store_;
    SnapshotPublisher* publisher_ = nullptr;
    observe::ReloadStats& stats_;
    std::int64_t store_version_ = -1;  // the store's config_version of the last build
};

}  // namespace llmproxy::control
