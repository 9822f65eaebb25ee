#include "store/store.hpp"

#include <ctime>

#include <boost/json.hpp>

#include "core/quota_period.hpp"
#include "core/secret_hash.hpp"

namespace llmproxy::store {
namespace {

// Each step runs once, in order, inside a transaction; the applied count is kept in
// schema_version. Append new steps; never edit an applied one.
const std::vector<std::vector<const char*>> kMigrations = {
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
};

// A step's statement for this dialect: "sqlite: ..." and "postgres: ..." run only there.
std::optional<std::string_view> StatementFor(std::string_view statement, std::string_view dialect) {
    for (std::string_view only : {"sqlite", "postgres"}) {
        if (statement.starts_with(only) && statement.substr(only.size()).starts_with(": ")) {
            if (only != dialect) return std::nullopt;
            return statement.substr(only.size() + 2);
        }
    }
    return statement;
}

// Stands in for an allowed_ips column that does not parse: never a valid CIDR, so the key set
// refuses the key from every address.
constexpr std::string_view kUnparsableIps = "(unparsable allowed_ips)";

std::string Num(double v) {
    if (v < 0) return {};
    std::string s = std::to_string(v);
    return s;
}

std::string JsonList(const std::vector<std::string>& items) {
    boost::json::array a;
    for (const auto& i : items) a.emplace_back(i);
    return boost::json::serialize(a);
}

// A JSON array of strings; nullopt when the column holds anything else.
std::optional<std::vector<std::string>> ParseList(const std::optional<std::string>& text) {
    std::vector<std::string> out;
    if (!text) return out;
    boost::system::error_code ec;
    auto v = boost::json::parse(*text, ec);
    if (ec || !v.is_array()) return std::nullopt;
    for (const auto& e : v.as_array()) {
        if (!e.is_string()) return std::nullopt;
        out.emplace_back(e.as_string());
    }
    return out;
}

double NumOr(const std::optional<std::string>& v, double fallback) {
    if (!v || v->empty()) return fallback;
    try {
        return std::stod(*v);
    } catch (const std::exception&) {
        return fallback;
    }
}

std::int64_t IntOr(const std::optional<std::string>& v, std::int64_t fallback) {
    if (!v || v->empty()) return fallback;
    try {
        return std::stoll(*v);
    } catch (const std::exception&) {
        return fallback;
    }
}

}  // namespace

Store::Store(std::unique_ptr<SqlConnection> sql) : sql_(std::move(sql)) {
    Migrate();
}

std::unique_ptr<Store> Store::Open(const std::string& url) {
    return std::make_unique<Store>(OpenSql(url));
}

void Store::Migrate() {
    sql_->Query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const bool postgres = std::string_view(sql_->dialect()) == "postgres";
    sql_->Query("BEGIN");
    try {
        // Instances starting together against one PostgreSQL must not migrate twice.
        if (postgres) sql_->Query("LOCK TABLE schema_version IN EXCLUSIVE MODE");
        auto rows = sql_->Query("SELECT version FROM schema_version");
        int version = rows.empty() ? 0 : static_cast<int>(IntOr(rows[0][0], 0));
        if (rows.empty()) sql_->Query("INSERT INTO schema_version (version) VALUES (0)");
        for (std::size_t step = static_cast<std::size_t>(version); step < kMigrations.size(); ++step) {
            for (const char* statement : kMigrations[step]) {
                if (auto sql = StatementFor(statement, sql_->dialect())) sql_->Query(*sql);
            }
        }
        if (static_cast<std::size_t>(version) < kMigrations.size()) {
            version = static_cast<int>(kMigrations.size());
            sql_->Query("UPDATE schema_version SET version = $1", {std::to_string(version)});
        }
        sql_->Query("COMMIT");
        schema_version_ = version;
    } catch (...) {
        sql_->Query("ROLLBACK");
        throw;
    }
}

std::vector<core::ApiKeyConfig> Store::ListKeys() {
    auto rows = sql_->Query(
        "SELECT name, key_hash, key_hint, user_id, status, allowed_models, allowed_ips, expires_at, metadata, "
        "requests_per_second, requests_per_minute, tokens_per_minute, max_concurrent, total_quota, "
        "quota_reset_period, allowed_endpoints FROM api_keys ORDER BY name");
    std::vector<core::ApiKeyConfig> keys;
    for (auto& r : rows) {
        core::ApiKeyConfig k;
        k.name = r[0].value_or("");
        auto hash = core::ParseKeyHash(r[1].value_or(""));
        if (!hash) continue;  // a damaged row must not lock everyone out
        k.hash = *hash;
        k.key_hint = r[2].value_or("");
        k.user_id = r[3].value_or("");
        k.active = r[4].value_or("active") == "active";
        // Both fail closed: a list that does not parse allows no model and no address (an
        // empty allowed_ips would mean "any").
        k.allowed_models = ParseList(r[5]).value_or(std::vector<std::string>{});
        k.allowed_ips = ParseList(r[6]).value_or(std::vector<std::string>{std::string(kUnparsableIps)});
        k.expires_at = IntOr(r[7], 0);
        boost::system::error_code ec;
        auto meta = boost::json::parse(r[8].value_or("{}"), ec);
        if (!ec && meta.is_object()) {
            for (const auto& [name, value] : meta.as_object()) {
                if (value.is_string()) k.metadata[std::string(name)] = std::string(value.as_string());
            }
        }
        k.limits.requests_per_second = NumOr(r[9], -1);
        k.limits.requests_per_minute = NumOr(r[10], -1);
        k.limits.tokens_per_minute = NumOr(r[11], -1);
        k.limits.max_concurrent = static_cast<int>(IntOr(r[12], -1));
        k.total_quota = IntOr(r[13], 0);
        k.quota_period = core::ParseQuotaPeriod(r[14].value_or("never")).value_or(core::QuotaPeriod::kNever);
        // Fails closed too: a value that does not parse grants no pass-through path.
        if (r[15]) k.allowed_endpoints = ParseList(r[15]).value_or(std::vector<std::string>{});
        keys.push_back(std::move(k));
    }
    return keys;
}

void Store::AddKey(const core::ApiKeyConfig& k) {
    boost::json::object meta;
    for (const auto& [name, value] : k.metadata) meta[name] = value;
    const std::string now = std::to_string(std::time(nullptr));
    auto nullable = [](double v) { return v < 0 ? std::string() : Num(v); };
    // Empty text parameters mean "not set": NULLIF keeps those columns NULL.
    sql_->Query("BEGIN");
    try {
        sql_->Query(
            "INSERT INTO api_keys (name, key_hash, key_hint, user_id, status, allowed_models, allowed_ips, expires_at, "
            "metadata, requests_per_second, requests_per_minute, tokens_per_minute, max_concurrent, total_quota, "
            "quota_reset_period, created_at, updated_at, allowed_endpoints) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
            "$9, "
            "CAST(NULLIF($10, '') AS DOUBLE PRECISION), CAST(NULLIF($11, '') AS DOUBLE PRECISION), "
            "CAST(NULLIF($12, '') AS DOUBLE PRECISION), CAST(NULLIF($13, '') AS INTEGER), $14, $15, $16, $16, "
            "NULLIF($17, ''))",
            {k.name, core::HexOf(k.hash), k.key_hint, k.user_id, k.active ? "active" : "disabled",
             JsonList(k.allowed_models), JsonList(k.allowed_ips), std::to_string(k.expires_at),
             boost::json::serialize(meta), nullable(k.limits.requests_per_second),
             nullable(k.limits.requests_per_minute), nullable(k.limits.tokens_per_minute),
             k.limits.max_concurrent < 0 ? std::string() : std::to_string(k.limits.max_concurrent),
             std::to_string(k.total_quota), core::QuotaPeriodName(k.quota_period), now,
             k.allowed_endpoints ? JsonList(*k.allowed_endpoints) : std::string()});
        BumpKeysVersion();
        sql_->Query("COMMIT");
    } catch (...) {
        sql_->Query("ROLLBACK");
        throw;
    }
}

bool Store::SetKeyActive(const std::string& name, bool active) {
    auto rows = sql_->Query("UPDATE api_keys SET status = $1, updated_at = $2 WHERE name = $3 RETURNING name",
                            {active ? "active" : "disabled", std::to_string(std::time(nullptr)), name});
    if (!rows.empty()) BumpKeysVersion();
    return !rows.empty();
}

bool Store::DeleteKey(const std::string& name) {
    auto rows = sql_->Query("DELETE FROM api_keys WHERE name = $1 RETURNING name", {name});
    if (!rows.empty()) BumpKeysVersion();
    return !rows.empty();
}

void Store::BumpKeysVersion() {
    sql_->Query("UPDATE store_meta SET value = value + 1 WHERE name = 'keys_version'");
}

bool Store::ReopenIfReplaced() {
    if (!sql_->ReopenIfReplaced()) return false;
    Migrate();
    return true;
}

std::int64_t Store::KeysVersion() {
    auto rows = sql_->Query("SELECT value FROM store_meta WHERE name = 'keys_version'");
    return rows.empty() ? 0 : IntOr(rows[0][0], 0);
}

void Store::InsertRows(const char* table, const std::vector<Column>& columns,
                       const std::vector<std::vector<std::string>>& rows) {
    if (rows.empty()) return;
    // Multi-row INSERTs of up to 100 rows, all in one transaction: one round trip per 100
    // rows on PostgreSQL, one fsync per batch on SQLite. Empty text means NULL.
    const std::size_t per_statement = 100;
    sql_->Query("BEGIN");
    try {
        for (std::size_t at = 0; at < rows.size(); at += per_statement) {
            const std::size_t n = std::min(per_statement, rows.size() - at);
            std::string sql = std::string("INSERT INTO ") + table + " (";
            for (std::size_t c = 0; c < columns.size(); ++c) sql += (c ? ", " : "") + std::string(columns[c].name);
            sql += ") VALUES ";
            std::vector<std::string> params;
            params.reserve(n * columns.size());
            for (std::size_t r = 0; r < n; ++r) {
                sql += r ? ", (" : "(";
                for (std::size_t c = 0; c < columns.size(); ++c) {
                    params.push_back(rows[at + r][c]);
                    // The CAST gives PostgreSQL the column's type (NULLIF alone would be text).
                    sql += (c ? ", CAST(NULLIF($" : "CAST(NULLIF($") + std::to_string(params.size()) + ", '') AS " +
                           columns[c].type + ")";
                }
                sql += ")";
            }
            sql_->Query(sql, params);
        }
        sql_->Query("COMMIT");
    } catch (...) {
        try {
            sql_->Query("ROLLBACK");
        } catch (...) {
        }
        throw;
    }
}

std::vector<UsageTotal> Store::UsageTotals(std::int64_t since_ms, const std::string& group_by) {
    const std::string column = group_by == "model" ? "model" : group_by == "provider" ? "provider" : "key_name";
    auto rows = sql_->Query("SELECT " + column +
                                ", COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0), "
                                "COALESCE(SUM(total_tokens), 0) FROM usage_ledger WHERE ts_ms >= $1 GROUP BY " +
                                column + " ORDER BY " + column,
                            {std::to_string(since_ms)});
    std::vector<UsageTotal> out;
    for (auto& r : rows) {
        out.push_back({r[0].value_or(""), IntOr(r[1], 0), IntOr(r[2], 0), IntOr(r[3], 0), IntOr(r[4], 0)});
    }
    return out;
}

std::int64_t Store::AddQuotaUsage(const std::string& key_id, std::int64_t period_start, std::int64_t delta) {
    auto rows = sql_->Query(
        "INSERT INTO quota_usage (key_id, period_start, used) VALUES ($1, $2, $3) "
        "ON CONFLICT (key_id, period_start) DO UPDATE SET used = quota_usage.used + excluded.used RETURNING used",
        {key_id, std::to_string(period_start), std::to_string(delta)});
    return rows.empty() ? 0 : IntOr(rows[0][0], 0);
}

}  // namespace llmproxy::store
