#include "store/store.hpp"

#include <ctime>
#include <string_view>

#include <boost/json.hpp>

#include "core/quota_period.hpp"
#include "core/secret_hash.hpp"
#include "store/migrations.hpp"

namespace llmproxy::store {
namespace {

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

Store::Store(std::unique_ptr<SqlConnection> sql, bool migrate) : sql_(std::move(sql)) {
    if (migrate) {
        Migrate();
    } else {
        schema_version_ = migrated_from_ = SchemaVersion(*sql_);
    }
}

std::unique_ptr<Store> Store::Open(const std::string& url) {
    return std::make_unique<Store>(OpenSql(url));
}

void Store::Migrate() {
    migrated_from_ = SchemaVersion(*sql_);
    schema_version_ =
        migrated_from_ == LatestSchemaVersion() ? migrated_from_ : MigrateTo(*sql_, LatestSchemaVersion());
}

std::vector<core::ApiKeyConfig> Store::ListKeys() {
    auto rows = sql_->Query(
        "SELECT name, key_hash, key_hint, user_id, status, allowed_models, allowed_ips, expires_at, metadata, "
        "requests_per_second, requests_per_minute, tokens_per_minute, max_concurrent, total_quota, "
        "quota_reset_period, allowed_endpoints, requests_blocked FROM api_keys ORDER BY name");
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
        k.limits.blocked = IntOr(r[16], 0) != 0;
        keys.push_back(std::move(k));
    }
    return keys;
}

namespace {

// A key's columns after name, hash and hint, as text parameters $4..$17 (empty: NULL).
std::vector<std::string> KeyParams(const core::ApiKeyConfig& k) {
    boost::json::object meta;
    for (const auto& [name, value] : k.metadata) meta[name] = value;
    auto nullable = [](double v) { return v < 0 ? std::string() : Num(v); };
    return {k.name,
            core::HexOf(k.hash),
            k.key_hint,
            k.user_id,
            k.active ? "active" : "disabled",
            JsonList(k.allowed_models),
            JsonList(k.allowed_ips),
            std::to_string(k.expires_at),
            boost::json::serialize(meta),
            nullable(k.limits.requests_per_second),
            nullable(k.limits.requests_per_minute),
            nullable(k.limits.tokens_per_minute),
            k.limits.max_concurrent < 0 ? std::string() : std::to_string(k.limits.max_concurrent),
            std::to_string(k.total_quota),
            core::QuotaPeriodName(k.quota_period),
            std::to_string(std::time(nullptr)),
            k.allowed_endpoints ? JsonList(*k.allowed_endpoints) : std::string(),
            k.limits.blocked ? "1" : "0"};
}

}  // namespace

void Store::AddKey(const core::ApiKeyConfig& k) {
    // Empty text parameters mean "not set": NULLIF keeps those columns NULL. The trigger
    // bumps keys_version.
    sql_->Query(
        "INSERT INTO api_keys (name, key_hash, key_hint, user_id, status, allowed_models, allowed_ips, expires_at, "
        "metadata, requests_per_second, requests_per_minute, tokens_per_minute, max_concurrent, total_quota, "
        "quota_reset_period, created_at, updated_at, allowed_endpoints, requests_blocked) VALUES ($1, $2, $3, $4, "
        "$5, $6, $7, $8, $9, "
        "CAST(NULLIF($10, '') AS DOUBLE PRECISION), CAST(NULLIF($11, '') AS DOUBLE PRECISION), "
        "CAST(NULLIF($12, '') AS DOUBLE PRECISION), CAST(NULLIF($13, '') AS INTEGER), CAST($14 AS BIGINT), $15, "
        "CAST($16 AS BIGINT), CAST($16 AS BIGINT), NULLIF($17, ''), CAST($18 AS INTEGER))",
        KeyParams(k));
}

bool Store::UpdateKey(const core::ApiKeyConfig& k) {
    auto params = KeyParams(k);
    // The hash and hint never change: $2 and $3 are only compared (as text, so that
    // PostgreSQL knows their type) to keep one parameter list for insert and update.
    params[1] = params[2] = "";
    auto rows = sql_->Query(
        "UPDATE api_keys SET user_id = $4, status = $5, allowed_models = $6, allowed_ips = $7, "
        "expires_at = CAST($8 AS BIGINT), metadata = $9, "
        "requests_per_second = CAST(NULLIF($10, '') AS DOUBLE PRECISION), "
        "requests_per_minute = CAST(NULLIF($11, '') AS DOUBLE PRECISION), "
        "tokens_per_minute = CAST(NULLIF($12, '') AS DOUBLE PRECISION), "
        "max_concurrent = CAST(NULLIF($13, '') AS INTEGER), total_quota = CAST($14 AS BIGINT), "
        "quota_reset_period = $15, updated_at = CAST($16 AS BIGINT), allowed_endpoints = NULLIF($17, ''), "
        "requests_blocked = CAST($18 AS INTEGER) WHERE name = $1 AND CAST($2 AS TEXT) = CAST($3 AS TEXT) RETURNING "
        "name",
        params);
    return !rows.empty();
}

std::int64_t Store::ResetQuotaUsage(const std::string& key_id) {
    auto rows = sql_->Query("DELETE FROM quota_usage WHERE key_id = $1 RETURNING key_id", {key_id});
    return static_cast<std::int64_t>(rows.size());
}

bool Store::SetKeyActive(const std::string& name, bool active) {
    auto rows =
        sql_->Query("UPDATE api_keys SET status = $1, updated_at = CAST($2 AS BIGINT) WHERE name = $3 RETURNING name",
                    {active ? "active" : "disabled", std::to_string(std::time(nullptr)), name});
    return !rows.empty();
}

bool Store::DeleteKey(const std::string& name) {
    auto rows = sql_->Query("DELETE FROM api_keys WHERE name = $1 RETURNING name", {name});
    return !rows.empty();
}

bool Store::ReopenIfReplaced() {
    if (!sql_->ReopenIfReplaced()) return false;
    Migrate();
    return true;
}

std::int64_t Store::KeysVersion() {
    return MetaValue("keys_version");
}

std::int64_t Store::MetaValue(const char* name) {
    auto rows = sql_->Query("SELECT value FROM store_meta WHERE name = $1", {name});
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

std::vector<UsageTotal> Store::UsageTotals(std::int64_t since_ms, const std::string& group_by, std::int64_t until_ms,
                                           const std::string& key_name) {
    const bool postgres = std::string_view(sql_->dialect()) == "postgres";
    std::string column = group_by == "model" ? "model" : group_by == "provider" ? "provider" : "key_name";
    if (group_by == "day") {
        column = postgres ? "to_char(to_timestamp(ts_ms / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
                          : "strftime('%Y-%m-%d', ts_ms / 1000, 'unixepoch')";
    }
    auto rows = sql_->Query("SELECT " + column +
                                " AS grp, COUNT(*), COALESCE(SUM(prompt_tokens), 0), "
                                "COALESCE(SUM(completion_tokens), 0), COALESCE(SUM(total_tokens), 0) FROM usage_ledger "
                                "WHERE ts_ms >= CAST($1 AS BIGINT) AND ts_ms < CAST($2 AS BIGINT) AND "
                                "($3 = '' OR key_name = $3) GROUP BY grp ORDER BY grp",
                            {std::to_string(since_ms), std::to_string(until_ms), key_name});
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
