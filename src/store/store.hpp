#pragma once
// The persistent store: API keys written at run time (CLI now, admin API later) and quota
// counters, over SQLite or PostgreSQL. Schema migrations are built in and versioned.
// Blocking: used by the sync thread and the CLI, never by a worker.
#include <cstdint>
#include <climits>
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

/// A provider or model route written through the admin API: its YAML form as JSON (`spec`).
struct ProviderRow {
    std::int64_t id = 0;
    std::string name;
    bool enabled = true;
    std::string spec;  // JSON object, without name
    std::int64_t created_at = 0, updated_at = 0;
};
struct RouteRow {
    std::string model;
    std::string spec;  // JSON object: strategy, fallback_models, targets
    std::int64_t created_at = 0, updated_at = 0;
};
struct AuditRow {
    std::int64_t ts_ms = 0;
    std::string actor, action, target, detail;
};

class Store {
public:
    /// Migrates the schema up to this build's version unless `migrate` is false (the
    /// `migrate` command walks it itself).
    explicit Store(std::unique_ptr<SqlConnection> sql, bool migrate = true);
    static std::unique_ptr<Store> Open(const std::string& url);

    // Keys. Limits left unset (< 0) take rate_limit.key_defaults when the gateway loads them.
    std::vector<core::ApiKeyConfig> ListKeys();
    void AddKey(const core::ApiKeyConfig& key);  // throws SqlError on a duplicate name or key
    /// Every field but the key's hash and hint, by name. False when there is no such key.
    bool UpdateKey(const core::ApiKeyConfig& key);
    /// Forgets a key's quota consumption (every period); returns the rows removed.
    std::int64_t ResetQuotaUsage(const std::string& key_id);
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
    /// Usage ledger totals in [since_ms, until_ms), grouped by key, model, provider or day
    /// (UTC, YYYY-MM-DD); only `key_name`'s rows when it is not empty.
    std::vector<UsageTotal> UsageTotals(std::int64_t since_ms, const std::string& group_by,
                                        std::int64_t until_ms = INT64_MAX, const std::string& key_name = {});

    // Providers and routes written at run time (config_rows.cpp). Every write bumps
    // ConfigVersion() (by trigger, so plain SQL counts too) and, on PostgreSQL, notifies.
    std::vector<ProviderRow> ListProviders();
    /// Inserts or replaces by name; returns the row as stored (with its id).
    ProviderRow SaveProvider(const std::string& name, bool enabled, const std::string& spec);
    bool DeleteProvider(const std::string& name);
    std::vector<RouteRow> ListRoutes();
    void SaveRoute(const std::string& model, const std::string& spec);
    bool DeleteRoute(const std::string& model);
    std::int64_t ConfigVersion();
    void AppendAudit(const AuditRow& row);
    std::vector<AuditRow> ListAudit(std::size_t limit);

    int schema_version() const { return schema_version_; }
    /// The version found when the store was opened (before migrating).
    int migrated_from() const { return migrated_from_; }
    SqlConnection& sql() { return *sql_; }

private:
    void Migrate();
    std::int64_t MetaValue(const char* name);

    std::unique_ptr<SqlConnection> sql_;
    int schema_version_ = 0;
    int migrated_from_ = 0;
};

}  // namespace llmproxy::store
