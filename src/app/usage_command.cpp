#include "app/usage_command.hpp"

#include <cstdio>
#include <iostream>

#include <boost/json.hpp>

#include "core/quota_period.hpp"
#include "store/store.hpp"

namespace llmproxy::app {

UsageCommand::UsageCommand(CLI::App& app) {
    cmd_ = app.add_subcommand("usage", "usage totals from the ledger (database.url of --config, or --database)");
    cmd_->add_option("--database", database_, "sqlite://path or postgres://... (default: sqlite://llm-proxy.db)");
    cmd_->add_option("--since", since_, "UTC start, e.g. 2026-11-01T00:00:00Z (default: all)");
    cmd_->add_option("--by", by_, "key | model | provider")->check(CLI::IsMember({"key", "model", "provider"}));
    cmd_->add_flag("--json", json_, "print JSON");
}

int UsageCommand::Run(const std::string& config_path) {
    try {
        std::int64_t since_ms = 0;
        if (!since_.empty()) {
            auto t = core::ParseUtcTime(since_);
            if (!t) throw std::runtime_error("--since must be UTC like 2026-11-01T00:00:00Z");
            since_ms = *t * 1000;
        }
        auto store = store::Store::Open(DatabaseUrlFor(database_, config_path));
        auto totals = store->UsageTotals(since_ms, by_);
        if (json_) {
            boost::json::array out;
            for (const auto& t : totals) {
                out.push_back({{by_, t.group},
                               {"requests", t.requests},
                               {"prompt_tokens", t.prompt_tokens},
                               {"completion_tokens", t.completion_tokens},
                               {"total_tokens", t.total_tokens}});
            }
            std::cout << boost::json::serialize(out) << "\n";
            return 0;
        }
        std::printf("%-24s %10s %14s %14s %14s\n", by_.c_str(), "REQUESTS", "PROMPT", "COMPLETION", "TOTAL");
        for (const auto& t : totals) {
            std::printf("%-24s %10lld %14lld %14lld %14lld\n", t.group.c_str(), static_cast<long long>(t.requests),
                        static_cast<long long>(t.prompt_tokens), static_cast<long long>(t.completion_tokens),
                        static_cast<long long>(t.total_tokens));
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace llmproxy::app
