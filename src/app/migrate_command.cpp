#include "app/migrate_command.hpp"

#include <cstdlib>
#include <iostream>

#include "app/usage_command.hpp"
#include "store/migrations.hpp"

namespace llmproxy::app {

MigrateCommand::MigrateCommand(CLI::App& app) {
    cmd_ = app.add_subcommand("migrate",
                              "the store's schema: status, version, up, down (database.url of --config, "
                              "--database, or DB_URL)");
    cmd_->add_option("--database", database_, "sqlite://path or postgres://...");
    cmd_->require_subcommand(1);
    cmd_->add_subcommand("status", "every step, and which are applied");
    cmd_->add_subcommand("version", "the schema version the database is at");
    cmd_->add_subcommand("up", "apply every step this build knows (or up to --to)")->add_option("--to", to_);
    cmd_->add_subcommand("down", "undo the last step (or down to --to)")->add_option("--to", to_);
}

int MigrateCommand::Run(const std::string& config_path) {
    try {
        std::string url = database_;
        if (url.empty() && config_path.empty() && std::getenv("DB_URL")) url = std::getenv("DB_URL");
        auto sql = store::OpenSql(url.empty() ? DatabaseUrlFor(database_, config_path) : url);
        const int at = store::SchemaVersion(*sql);
        const int latest = store::LatestSchemaVersion();
        if (cmd_->got_subcommand("version")) {
            std::cout << at << "\n";
            return 0;
        }
        if (cmd_->got_subcommand("status")) {
            for (int v = 1; v <= latest; ++v) {
                std::cout << (v <= at ? "applied  " : "pending  ") << v << "  " << store::DescribeStep(v) << "\n";
            }
            std::cout << "schema version " << at << " of " << latest << "\n";
            return 0;
        }
        const bool up = cmd_->got_subcommand("up");
        int target = to_ >= 0 ? to_ : (up ? latest : at - 1);
        if (target < 0 || target > latest || (up && target < at) || (!up && target > at)) {
            std::cerr << "error: cannot migrate " << (up ? "up" : "down") << " from " << at << " to " << target << "\n";
            return 1;
        }
        const int reached = store::MigrateTo(*sql, target);
        std::cout << "schema version " << at << " -> " << reached << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace llmproxy::app
