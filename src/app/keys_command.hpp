#pragma once
// `llm-proxy keys add|list|enable|disable|delete`: manages the API keys in the persistent
// store (the same one the gateway reads; it picks up changes within database.poll_interval).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace llmproxy::app {

class KeysCommand {
public:
    explicit KeysCommand(CLI::App& app);  // registers the subcommand and its options
    bool parsed() const { return cmd_->parsed(); }
    /// Runs it against --database, else the database.url of `config_path`, else
    /// sqlite://llm-proxy.db. Returns the process exit code.
    int Run(const std::string& config_path);

    struct AddOptions {
        std::string name, key, user_id, expires_at, quota_period = "never";
        std::vector<std::string> models{"*"}, ips, metadata, endpoints;
        std::int64_t quota = 0;
        double rps = -1, rpm = -1, tpm = -1;
        int max_concurrent = -1;
        bool disabled = false;
    };

private:
    CLI::App* cmd_;
    std::string database_;
    AddOptions add_;
    std::string target_;  // the key name for enable/disable/delete
    bool json_ = false;
};

}  // namespace llmproxy::app
