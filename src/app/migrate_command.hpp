#pragma once
// `llm-proxy migrate status|version|up|down [--to N]`: the store's schema by hand (the gateway
// also migrates up at start and says so in its log).
#include <CLI/CLI.hpp>
#include <string>

namespace llmproxy::app {

class MigrateCommand {
public:
    explicit MigrateCommand(CLI::App& app);
    bool parsed() const { return cmd_->parsed(); }
    int Run(const std::string& config_path);

private:
    CLI::App* cmd_;
    std::string database_;
    int to_ = -1;
};

}  // namespace llmproxy::app
