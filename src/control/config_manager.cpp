#include "control/config_manager.hpp"

#include "script/script_set.hpp"

#include <spdlog/spdlog.h>

namespace llmproxy::control {

ConfigManager::ConfigManager(ConfigSource source, store::Store* store, observe::ReloadStats& stats)
    : source_(std::move(source)), store_(store), stats_(stats) {}

core::ConfigOverlay ConfigManager::ReadOverlay() {
    core::ConfigOverlay overlay;
    if (!store_) return overlay;
    for (auto& p : store_->ListProviders()) {
        overlay.providers.push_back({p.id, std::move(p.name), p.enabled, std::move(p.spec)});
    }
    for (auto& r : store_->ListRoutes()) overlay.routes.push_back({std::move(r.model), std::move(r.spec)});
    return overlay;
}

core::ConfigResult ConfigManager::Build(const core::ConfigOverlay& overlay) {
    std::string text = source_.text;
    if (!source_.path.empty()) {
        auto file = core::ReadConfigText(source_.path);
        if (!file) {
            core::ConfigResult r;
            r.errors.push_back(source_.path + ": cannot open file");
            return r;
        }
        text = std::move(*file);
    }
    auto result = core::LoadEffectiveConfig(text, source_.Name(), overlay);
    if (result.config) {
        // A script that does not compile fails the load (a reload keeps the running config).
        result.errors = script::CheckScripts(*result.config);
        if (!result.errors.empty()) {
            result.config = nullptr;
            return result;
        }
        auto config = std::make_shared<core::Config>(*result.config);
        ApplyCommandLine(*config, publisher_ ? publisher_->Load()->config.get() : nullptr);
        result.config = std::move(config);
    }
    return result;
}

// Command-line and environment overrides stay in force over every reload.
void ConfigManager::ApplyCommandLine(core::Config& config, const core::Config* running) const {
    if (!source_.listen.empty()) {
        const auto colon = source_.listen.rfind(':');
        config.server.listen = source_.listen;
        config.server.listen_host = source_.listen.substr(0, colon);
        config.server.listen_port = static_cast<uint16_t>(std::stoi(source_.listen.substr(colon + 1)));
    }
    if (source_.workers >= 0) config.server.workers = source_.workers;
    if (config.server.admin_key.empty()) config.server.admin_key = source_.admin_key;
    if (config.routing.strip_prefix.empty()) config.routing.strip_prefix = source_.strip_prefix;
    if (config.database.url.empty()) config.database.url = source_.database_url;
    if (!source_.log_level.empty()) config.logging.level = source_.log_level;
    if (running) config.logging.level = running->logging.level;  // the log level is set once at start
}

core::ConfigResult ConfigManager::LoadInitial() {
    core::ConfigOverlay overlay;
    try {
        if (store_) store_version_ = store_->ConfigVersion();
        overlay = ReadOverlay();
    } catch (const std::exception& e) {
        core::ConfigResult r;
        r.errors.push_back(std::string("store: ") + e.what());
        return r;
    }
    return Build(overlay);
}

std::vector<std::string> ConfigManager::Check(const core::ConfigOverlay& overlay) {
    auto result = Build(overlay);
    return result.errors;
}

ReloadOutcome ConfigManager::Reload(const std::string& why) {
    ReloadOutcome out;
    core::ConfigResult result;
    bool unreadable = false;  // the store or file could not be read, as opposed to invalid
    try {
        const std::int64_t version = store_ ? store_->ConfigVersion() : -1;
        result = Build(ReadOverlay());
        store_version_ = version;
    } catch (const std::exception& e) {
        result.errors.push_back(std::string("store: ") + e.what());
        unreadable = true;
    }
    out.notes = result.warnings;
    out.version = publisher_->version();
    if (!result.config) {
        out.errors = std::move(result.errors);
        (unreadable ? stats_.failed : stats_.refused).Add();
        for (const auto& e : out.errors) spdlog::error("reload ({}): {}", why, e);
        spdlog::error("reload ({}): the new configuration is not valid; still serving version {}", why, out.version);
        return out;
    }
    try {
        auto snapshot = publisher_->Publish(std::make_shared<core::Config>(*result.config), &out.notes);
        out.published = true;
        out.version = snapshot->version;
        stats_.succeeded.Add();
        for (const auto& n : out.notes) spdlog::warn("reload ({}): {}", why, n);
        spdlog::info("reload ({}): configuration version {} published ({} providers)", why, snapshot->version,
                     snapshot->config->providers.size());
    } catch (const std::exception& e) {
        out.errors.push_back(e.what());
        out.version = publisher_->version();
        stats_.refused.Add();
        spdlog::error("reload ({}): {}; still serving the running configuration", why, e.what());
    }
    return out;
}

void ConfigManager::ReloadIfStoreChanged() {
    if (!store_) return;
    try {
        if (store_->ConfigVersion() == store_version_) return;  // our own write, already published
    } catch (const std::exception& e) {
        spdlog::warn("store: {}", e.what());
        return;
    }
    Reload("store changed");
}

}  // namespace llmproxy::control
