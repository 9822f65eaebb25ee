#include <sqlite3.h>

#include "store/sql_connection.hpp"

namespace llmproxy::store {
namespace {

class SqliteConnection final : public SqlConnection {
public:
    explicit SqliteConnection(const std::string& path) {
        if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                            nullptr) != SQLITE_OK) {
            std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
            sqlite3_close(db_);
            throw SqlError("sqlite: cannot open " + path + ": " + why);
        }
        // The CLI and the gateway (and several gateways) may use one file: wait for each
        // other's writes instead of failing, and let readers run beside a writer.
        sqlite3_busy_timeout(db_, 5000);
        Query("PRAGMA journal_mode=WAL", {});
        Query("PRAGMA synchronous=NORMAL", {});
    }
    ~SqliteConnection() override { sqlite3_close(db_); }

    std::vector<Row> Query(std::string_view sql, const std::vector<std::string>& params) override {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
            throw SqlError(std::string("sqlite: ") + sqlite3_errmsg(db_));
        }
        std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(stmt, sqlite3_finalize);
        for (std::size_t i = 0; i < params.size(); ++i) {
            const std::string name = "$" + std::to_string(i + 1);
            const int index = sqlite3_bind_parameter_index(stmt, name.c_str());
            if (index == 0) continue;  // the statement does not use this parameter
            sqlite3_bind_text(stmt, index, params[i].data(), static_cast<int>(params[i].size()), SQLITE_TRANSIENT);
        }
        std::vector<Row> rows;
        for (;;) {
            const int rc = sqlite3_step(stmt);
            if (rc == SQLITE_DONE) break;
            if (rc != SQLITE_ROW) throw SqlError(std::string("sqlite: ") + sqlite3_errmsg(db_));
            Row row;
            const int n = sqlite3_column_count(stmt);
            for (int c = 0; c < n; ++c) {
                if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
                    row.emplace_back(std::nullopt);
                } else {
                    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
                    row.emplace_back(std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt, c))));
                }
            }
            rows.push_back(std::move(row));
        }
        return rows;
    }

    const char* dialect() const override { return "sqlite"; }

private:
    sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<SqlConnection> OpenSqlite(const std::string& path) {
    return std::make_unique<SqliteConnection>(path);
}

}  // namespace llmproxy::store
