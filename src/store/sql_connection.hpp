#pragma once
// A blocking SQL connection with one small interface for both embedded SQLite and PostgreSQL,
// so the store's queries are written once. Used only off the hot path (the sync thread, the
// CLI): workers never wait on a database.
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;  // libpq's PGconn

namespace llmproxy::store {

using Row = std::vector<std::optional<std::string>>;  // nullopt = SQL NULL

struct SqlError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class SqlConnection {
public:
    virtual ~SqlConnection() = default;
    /// One statement with text parameters $1..$n (both dialects accept that spelling); the
    /// result rows as text. Throws SqlError.
    virtual std::vector<Row> Query(std::string_view sql, const std::vector<std::string>& params = {}) = 0;
    virtual const char* dialect() const = 0;  // "sqlite" | "postgres"
    /// A file-backed database whose file was deleted or replaced since it was opened is opened
    /// again (true); a server database never is.
    virtual bool ReopenIfReplaced() { return false; }
};

/// sqlite://relative/path.db, sqlite:///abs/path.db, postgres://user:pass@host:port/db.
/// Throws SqlError when the database cannot be opened.
std::unique_ptr<SqlConnection> OpenSql(const std::string& url);

std::unique_ptr<SqlConnection> OpenSqlite(const std::string& path);
/// libpq's connect for a postgres:// URL, with a 5 s connect timeout unless the URL sets one.
::pg_conn* ConnectPostgres(const std::string& url);
std::unique_ptr<SqlConnection> OpenPostgres(const std::string& url);

}  // namespace llmproxy::store
