#pragma once
// The persistent store: API keys written at run time (CLI now, admin API later) and quota
// counters, over SQLite or PostgreSQL. Schema migrations are built in and versioned.
// Blocking: used by the sync thread and the CLI, never by a worker.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "store/sql_connection.hpp"

namespace llmproxy::store {

/// A usage query's row: requests and tokens for one key, model or provider.
struct UsageTotal {
    std::string group;
    std::int64_t requests = 0, prompt_tokens = 0, completion_tokens = 0, total_tokens = 0;
};

class Store {
public:
    explicit Store(std::unique_ptr<SqlConnection> sql);  // migrates the schema
    static std::unique_ptr<Store> Open(const std::string& url);

    // Keys. Limits left unset (< 0) take rate_limit.key_defaults when the gateway loads them.
    std::vector<core::ApiKeyConfig> ListKeys();
    void AddKey(const core::ApiKeyConfig& key);  // throws SqlError on a duplicate name or key
    bool SetKeyActive(const std::string& name, bool active);
    bool DeleteKey(const std::string& name);
    /// Bumped by every key write: the gateway reloads its keys when it changes.
    std::int64_t KeysVersion();
    /// The store's file was deleted or replaced: it is opened again (and migrated). True then.
    bool ReopenIfReplaced();

    /// Adds `delta` tokens to a key's counter for the window starting at `period_start` and
    /// returns the window's total (all instances sharing the store).
    std::int64_t AddQuotaUsage(const std::string& key_id, std::int64_t period_start, std::int64_t delta);

    /// Appends rows (text values; empty = NULL) to `table` in one transaction.
    struct Column {
        const char* name;
        const char* type;  // TEXT, BIGINT, INTEGER, DOUBLE PRECISION
    };
    void InsertRows(const char* table, const std::vector<Column>& columns,
                    const std::vector<std::vector<std::string>>& rows);
    /// Usage ledger totals since `since_ms`, grouped by key_name, model or provider.
    std::vector<UsageTotal> UsageTotals(std::int64_t since_ms, const std::string& group_by);

    int schema_version() const { return schema_version_; }
    SqlConnection& sql() { return *sql_; }

private:
    void Migrate();
    void BumpKeysVersion();

    std::unique_ptr<SqlConnection> sql_;
    int schema_version_ = 0;
};

}  // namespace llmproxy::store
