#pragma once
// `llm-proxy usage [--since T] [--by key|model|provider] [--json]`: totals from the usage
// ledger in the store.
#include <CLI/CLI.hpp>
#include <string>

namespace llmproxy::app {

class UsageCommand {
public:
    explicit UsageCommand(CLI::App& app);
    bool parsed() const { return cmd_->parsed(); }
    int Run(const std::string& config_path);

private:
    CLI::App* cmd_;
    std::string database_, since_, by_ = "key";
    bool json_ = false;
};

/// --database, else the config's database.url, else sqlite://llm-proxy.db. Throws.
std::string DatabaseUrlFor(const std::string& database, const std::string& config_path);

}  // namespace llmproxy::app
