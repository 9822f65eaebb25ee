#include "store/migrations.hpp"

#include <optional>
#include <string_view>

namespace llmproxy::store {
namespace {

struct Step {
    const char* what;
    std::vector<const char*> up;
    std::vector<const char*> down;  // undoes `up`, in that order
};

// Append new steps; never edit an applied one. A statement prefixed "sqlite: " or
// "postgres: " runs only on that database.
const std::vector<Step> kSteps = {
    {"api keys, quota counters, store metadata",
     {
         R"(CREATE TABLE api_keys (
            name TEXT PRIMARY KEY,
            key_hash TEXT NOT NULL UNIQUE,
            key_hint TEXT NOT NULL,
            user_id TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'active',
            allowed_models TEXT NOT NULL DEFAULT '["*"]',
            allowed_ips TEXT NOT NULL DEFAULT '[]',
            expires_at BIGINT NOT NULL DEFAULT 0,
            metadata TEXT NOT NULL DEFAULT '{}',
            requests_per_second DOUBLE PRECISION,
            requests_per_minute DOUBLE PRECISION,
            tokens_per_minute DOUBLE PRECISION,
            max_concurrent INTEGER,
            total_quota BIGINT NOT NULL DEFAULT 0,
            quota_reset_period TEXT NOT NULL DEFAULT 'never',
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL))",
         R"(CREATE TABLE quota_usage (
            key_id TEXT NOT NULL,
            period_start BIGINT NOT NULL,
            used BIGINT NOT NULL,
            PRIMARY KEY (key_id, period_start)))",
         R"(CREATE TABLE store_meta (name TEXT PRIMARY KEY, value BIGINT NOT NULL))",
         R"(INSERT INTO store_meta (name, value) VALUES ('keys_version', 0))",
     },
     {"DROP TABLE store_meta", "DROP TABLE quota_usage", "DROP TABLE api_keys"}},
    {"usage ledger, request log",
     {
         R"(CREATE TABLE usage_ledger (
            request_id TEXT NOT NULL,
            ts_ms BIGINT NOT NULL,
            key_name TEXT,
            user_id TEXT,
            api_key TEXT,
            model TEXT,
            upstream_model TEXT,
            provider TEXT,
            endpoint TEXT,
            is_stream INTEGER,
            status INTEGER,
            prompt_tokens BIGINT,
            completion_tokens BIGINT,
            total_tokens BIGINT,
            usage_source TEXT,
            latency_ms DOUBLE PRECISION,
            ttft_ms DOUBLE PRECISION))",
         R"(CREATE INDEX usage_ledger_ts ON usage_ledger (ts_ms))",
         R"(CREATE INDEX usage_ledger_key_ts ON usage_ledger (key_name, ts_ms))",
         R"(CREATE TABLE request_log (
            request_id TEXT NOT NULL,
            ts_ms BIGINT NOT NULL,
            key_name TEXT,
            model TEXT,
            provider TEXT,
            status INTEGER,
            latency_ms DOUBLE PRECISION,
            request_body TEXT,
            response_body TEXT))",
         R"(CREATE INDEX request_log_ts ON request_log (ts_ms))",
     },
     {"DROP TABLE request_log", "DROP TABLE usage_ledger"}},
    {"key-change triggers, pass-through grants",
     {
         // Any change to api_keys, by this gateway or by plain SQL, bumps keys_version, which
         // every instance polls (else a key disabled by hand kept working until a reload).
         "sqlite: CREATE TRIGGER api_keys_changed_insert AFTER INSERT ON api_keys BEGIN "
         "UPDATE store_meta SET value = value + 1 WHERE name = 'keys_version'; END",
         "sqlite: CREATE TRIGGER api_keys_changed_update AFTER UPDATE ON api_keys BEGIN "
         "UPDATE store_meta SET value = value + 1 WHERE name = 'keys_version'; END",
         "sqlite: CREATE TRIGGER api_keys_changed_delete AFTER DELETE ON api_keys BEGIN "
         "UPDATE store_meta SET value = value + 1 WHERE name = 'keys_version'; END",
         "postgres: CREATE FUNCTION llmproxy_keys_changed() RETURNS trigger AS $body$ BEGIN "
         "UPDATE store_meta SET value = value + 1 WHERE name = 'keys_version'; RETURN NULL; END $body$ "
         "LANGUAGE plpgsql",
         "postgres: CREATE TRIGGER api_keys_changed AFTER INSERT OR UPDATE OR DELETE ON api_keys "
         "FOR EACH STATEMENT EXECUTE FUNCTION llmproxy_keys_changed()",
         // Pass-through grants; NULL: the default rule (see ApiKeyConfig::allowed_endpoints).
         "ALTER TABLE api_keys ADD COLUMN allowed_endpoints TEXT",
     },
     {"ALTER TABLE api_keys DROP COLUMN allowed_endpoints", "sqlite: DROP TRIGGER api_keys_changed_insert",
      "sqlite: DROP TRIGGER api_keys_changed_update", "sqlite: DROP TRIGGER api_keys_changed_delete",
      "postgres: DROP TRIGGER api_keys_changed ON api_keys", "postgres: DROP FUNCTION llmproxy_keys_changed()"}},
    {"providers, routes, audit log, config version, change notifications",
     {
         // A provider or route is the JSON of its YAML form (`spec`): the same loader checks
         // both, and a field added to the YAML needs no new column.
         "sqlite: CREATE TABLE providers (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, "
         "enabled INTEGER NOT NULL DEFAULT 1, spec TEXT NOT NULL, created_at BIGINT NOT NULL, "
         "updated_at BIGINT NOT NULL)",
         "postgres: CREATE TABLE providers (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
         "enabled INTEGER NOT NULL DEFAULT 1, spec TEXT NOT NULL, created_at BIGINT NOT NULL, "
         "updated_at BIGINT NOT NULL)",
         "CREATE TABLE routes (model TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at BIGINT NOT NULL, "
         "updated_at BIGINT NOT NULL)",
         "sqlite: CREATE TABLE audit_log (id INTEGER PRIMARY KEY AUTOINCREMENT, ts_ms BIGINT NOT NULL, "
         "actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL)",
         "postgres: CREATE TABLE audit_log (id BIGSERIAL PRIMARY KEY, ts_ms BIGINT NOT NULL, "
         "actor TEXT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL)",
         "INSERT INTO store_meta (name, value) VALUES ('config_version', 0)",
         // The Python llm-proxy's credentials: `rate_limit: 0` refuses every request.
         "ALTER TABLE api_keys ADD COLUMN requests_blocked INTEGER NOT NULL DEFAULT 0",
         "sqlite: CREATE TRIGGER providers_changed_insert AFTER INSERT ON providers BEGIN "
         "UPDATE store_meta SET value = value + 1 WHERE name = 'config_version'; END",
         "sqlite: CREATE TRIGGER providers_changed_update AFTER UPDATE ON providers BEGIN "
         "UPDATE store_meta SET value = value + 1 WHERE name = 'config_version'; END",
         "sqlite: CREATE TRIGGER providers_changed_delete AFTER DELETE ON providers BEGIN "
         "UPDATE store_meta SET value = value + 1 WHERE name = 'config_version'; END",
         "sqlite: CREATE TRIGGER routes_changed_insert AFTER INSERT ON routes BEGIN "
         "UPDATE store_meta SET value = value + 1 WHERE name = 'config_version'; END",
         "sqlite: CREATE TRIGGER routes_changed_update AFTER UPDATE ON routes BEGIN "
         "UPDATE store_meta SET value = value + 1 WHERE name = 'config_version'; END",
         "sqlite: CREATE TRIGGER routes_changed_delete AFTER DELETE ON routes BEGIN "
         "UPDATE store_meta SET value = value + 1 WHERE name = 'config_version'; END",
         // PostgreSQL also tells every listening instance at once (LISTEN llm_proxy_config):
         // a change is live fleet-wide in milliseconds; the version poll is the fallback.
         "postgres: CREATE OR REPLACE FUNCTION llmproxy_keys_changed() RETURNS trigger AS $body$ BEGIN "
         "UPDATE store_meta SET value = value + 1 WHERE name = 'keys_version'; "
         "PERFORM pg_notify('llm_proxy_config', 'keys'); RETURN NULL; END $body$ LANGUAGE plpgsql",
         "postgres: CREATE FUNCTION llmproxy_config_changed() RETURNS trigger AS $body$ BEGIN "
         "UPDATE store_meta SET value = value + 1 WHERE name = 'config_version'; "
         "PERFORM pg_notify('llm_proxy_config', 'config'); RETURN NULL; END $body$ LANGUAGE plpgsql",
         "postgres: CREATE TRIGGER providers_changed AFTER INSERT OR UPDATE OR DELETE ON providers "
         "FOR EACH STATEMENT EXECUTE FUNCTION llmproxy_config_changed()",
         "postgres: CREATE TRIGGER routes_changed AFTER INSERT OR UPDATE OR DELETE ON routes "
         "FOR EACH STATEMENT EXECUTE FUNCTION llmproxy_config_changed()",
     },
     {
         "postgres: DROP TRIGGER routes_changed ON routes",
         "postgres: DROP TRIGGER providers_changed ON providers",
         "postgres: DROP FUNCTION llmproxy_config_changed()",
         "postgres: CREATE OR REPLACE FUNCTION llmproxy_keys_changed() RETURNS trigger AS $body$ BEGIN "
         "UPDATE store_meta SET value = value + 1 WHERE name = 'keys_version'; RETURN NULL; END $body$ "
         "LANGUAGE plpgsql",
         "ALTER TABLE api_keys DROP COLUMN requests_blocked",
         "DELETE FROM store_meta WHERE name = 'config_version'",
         "DROP TABLE audit_log",
         "DROP TABLE routes",
         "DROP TABLE providers",
     }},
    {"prompt-cache and reasoning tokens in the usage ledger",
     {
         "ALTER TABLE usage_ledger ADD COLUMN cached_tokens BIGINT",
         "ALTER TABLE usage_ledger ADD COLUMN cache_creation_tokens BIGINT",
         "ALTER TABLE usage_ledger ADD COLUMN reasoning_tokens BIGINT",
     },
     {
         "ALTER TABLE usage_ledger DROP COLUMN reasoning_tokens",
         "ALTER TABLE usage_ledger DROP COLUMN cache_creation_tokens",
         "ALTER TABLE usage_ledger DROP COLUMN cached_tokens",
     }},
    {"usage scripts' fields in the usage ledger",
     {"ALTER TABLE usage_ledger ADD COLUMN custom TEXT"},
     {"ALTER TABLE usage_ledger DROP COLUMN custom"}},
};

std::optional<std::string_view> StatementFor(std::string_view statement, std::string_view dialect) {
    for (std::string_view only : {"sqlite", "postgres"}) {
        if (statement.starts_with(only) && statement.substr(only.size()).starts_with(": ")) {
            if (only != dialect) return std::nullopt;
            return statement.substr(only.size() + 2);
        }
    }
    return statement;
}

void RunAll(SqlConnection& sql, const std::vector<const char*>& statements) {
    for (const char* statement : statements) {
        if (auto text = StatementFor(statement, sql.dialect())) sql.Query(*text);
    }
}

int ReadVersion(SqlConnection& sql) {
    auto rows = sql.Query("SELECT version FROM schema_version");
    if (rows.empty() || !rows[0][0]) return 0;
    try {
        return std::stoi(*rows[0][0]);
    } catch (const std::exception&) {
        throw SqlError("schema_version holds \"" + *rows[0][0] + "\", not a number");
    }
}

}  // namespace

int LatestSchemaVersion() {
    return static_cast<int>(kSteps.size());
}

std::string DescribeStep(int version) {
    return version >= 1 && version <= LatestSchemaVersion() ? kSteps[static_cast<std::size_t>(version - 1)].what : "";
}

int SchemaVersion(SqlConnection& sql) {
    sql.Query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    return ReadVersion(sql);
}

int MigrateTo(SqlConnection& sql, int target) {
    sql.Query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const bool postgres = std::string_view(sql.dialect()) == "postgres";
    sql.Query("BEGIN");
    try {
        if (postgres) sql.Query("LOCK TABLE schema_version IN EXCLUSIVE MODE");
        auto rows = sql.Query("SELECT version FROM schema_version");
        if (rows.empty()) sql.Query("INSERT INTO schema_version (version) VALUES (0)");
        int version = ReadVersion(sql);
        if (version > LatestSchemaVersion()) {
            throw SqlError("the database is at schema version " + std::to_string(version) +
                           ", newer than this build knows (" + std::to_string(LatestSchemaVersion()) + ")");
        }
        // One transaction for the whole walk: both SQLite and PostgreSQL have transactional DDL.
        while (version < target) RunAll(sql, kSteps[static_cast<std::size_t>(version++)].up);
        while (version > target && version > 0) RunAll(sql, kSteps[static_cast<std::size_t>(--version)].down);
        sql.Query("UPDATE schema_version SET version = $1", {std::to_string(version)});
        sql.Query("COMMIT");
        return version;
    } catch (...) {
        try {
            sql.Query("ROLLBACK");
        } catch (...) {
        }
        throw;
    }
}

}  // namespace llmproxy::store
