// Providers, routes and the audit log written through the admin API (schema step 4).
#include <ctime>

#include "store/store.hpp"

namespace llmproxy::store {
namespace {

std::int64_t Int(const std::optional<std::string>& v) {
    if (!v || v->empty()) return 0;
    try {
        return std::stoll(*v);
    } catch (const std::exception&) {
        return 0;
    }
}

ProviderRow ProviderOf(const Row& r) {
    return {Int(r[0]), r[1].value_or(""), Int(r[2]) != 0, r[3].value_or("{}"), Int(r[4]), Int(r[5])};
}

constexpr const char* kProviderColumns = "id, name, enabled, spec, created_at, updated_at";

}  // namespace

std::vector<ProviderRow> Store::ListProviders() {
    std::vector<ProviderRow> out;
    for (const auto& r : sql_->Query(std::string("SELECT ") + kProviderColumns + " FROM providers ORDER BY id")) {
        out.push_back(ProviderOf(r));
    }
    return out;
}

ProviderRow Store::SaveProvider(const std::string& name, bool enabled, const std::string& spec) {
    const std::string now = std::to_string(std::time(nullptr));
    auto rows = sql_->Query(
        "INSERT INTO providers (name, enabled, spec, created_at, updated_at) VALUES ($1, CAST($2 AS INTEGER), $3, "
        "CAST($4 AS BIGINT), CAST($4 AS BIGINT)) ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, "
        "spec = excluded.spec, updated_at = excluded.updated_at RETURNING " +
            std::string(kProviderColumns),
        {name, enabled ? "1" : "0", spec, now});
    if (rows.empty()) throw SqlError("providers: the row was not written");
    return ProviderOf(rows[0]);
}

bool Store::DeleteProvider(const std::string& name) {
    return !sql_->Query("DELETE FROM providers WHERE name = $1 RETURNING name", {name}).empty();
}

std::vector<RouteRow> Store::ListRoutes() {
    std::vector<RouteRow> out;
    for (const auto& r : sql_->Query("SELECT model, spec, created_at, updated_at FROM routes ORDER BY model")) {
        out.push_back({r[0].value_or(""), r[1].value_or("{}"), Int(r[2]), Int(r[3])});
    }
    return out;
}

void Store::SaveRoute(const std::string& model, const std::string& spec) {
    sql_->Query(
        "INSERT INTO routes (model, spec, created_at, updated_at) VALUES ($1, $2, CAST($3 AS BIGINT), "
        "CAST($3 AS BIGINT)) ON CONFLICT (model) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at",
        {model, spec, std::to_string(std::time(nullptr))});
}

bool Store::DeleteRoute(const std::string& model) {
    return !sql_->Query("DELETE FROM routes WHERE model = $1 RETURNING model", {model}).empty();
}

std::int64_t Store::ConfigVersion() {
    return MetaValue("config_version");
}

void Store::AppendAudit(const AuditRow& row) {
    sql_->Query(
        "INSERT INTO audit_log (ts_ms, actor, action, target, detail) VALUES (CAST($1 AS BIGINT), $2, $3, $4, $5)",
        {std::to_string(row.ts_ms), row.actor, row.action, row.target, row.detail});
}

std::vector<AuditRow> Store::ListAudit(std::size_t limit) {
    std::vector<AuditRow> out;
    auto rows = sql_->Query(
        "SELECT ts_ms, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT CAST($1 AS BIGINT)",
        {std::to_string(limit)});
    for (const auto& r : rows) {
        out.push_back({Int(r[0]), r[1].value_or(""), r[2].value_or(""), r[3].value_or(""), r[4].value_or("")});
    }
    return out;
}

}  // namespace llmproxy::store
