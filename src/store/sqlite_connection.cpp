#include <sqlite3.h>
#include <sys/stat.h>

#include <map>
#include <mutex>
#include <optional>
#include <tuple>
#include <utility>

#include <spdlog/spdlog.h>

#include "store/sql_connection.hpp"

namespace llmproxy::store {
namespace {

class SqliteConnection;

// Every connection this process has open, by path. When the file is replaced, all of them must
// close before any opens the new one: the new file shares the old one's "-shm" name, and the
// first connection to the new file truncates it while the others still have the old one mapped
// (a SIGBUS on their next access).
struct OpenConnections {
    std::mutex mu;
    std::multimap<std::string, SqliteConnection*> by_path;
};

OpenConnections& Registry() {
    static OpenConnections registry;
    return registry;
}

class SqliteConnection final : public SqlConnection {
public:
    explicit SqliteConnection(const std::string& path) : path_(path) {
        std::lock_guard reg(Registry().mu);
        {
            std::lock_guard lock(mu_);
            OpenLocked();
        }
        Registry().by_path.emplace(path_, this);
    }
    ~SqliteConnection() override {
        {
            std::lock_guard reg(Registry().mu);
            auto [begin, end] = Registry().by_path.equal_range(path_);
            for (auto it = begin; it != end; ++it) {
                if (it->second == this) {
                    Registry().by_path.erase(it);
                    break;
                }
            }
        }
        std::lock_guard lock(mu_);
        sqlite3_close(db_);
    }

    bool ReopenIfReplaced() override {
        if (path_.empty() || path_ == ":memory:") return false;
        std::lock_guard reg(Registry().mu);
        std::lock_guard lock(mu_);
        const auto now = FileIdentity();
        if (db_ && now && *now == Identity{dev_, ino_}) return false;
        // Deleted or swapped under us (a restore, a careless rm): the open handle still reads
        // the old, unlinked file, so new keys would go unseen and removed ones keep working.
        spdlog::warn("sqlite: {} was {} while open; opening it again", path_, now ? "replaced" : "deleted");
        CloseLocked();
        OpenLocked();
        return true;
    }

private:
    using Identity = std::pair<dev_t, ino_t>;

    std::optional<Identity> FileIdentity() const {
        struct stat st {};
        if (::stat(path_.c_str(), &st) != 0) return std::nullopt;
        return Identity{st.st_dev, st.st_ino};
    }

    // Holds the registry and mu_. Keeps the invariant that every open connection of this
    // process to path_ is on one file: any on another is closed before this one opens (it
    // reopens through the registry on its next query). The file may be swapped again while
    // this one opens, so the file opened is checked against the file looked at.
    void OpenLocked() {
        for (int attempt = 0;; ++attempt) {
            const auto before = FileIdentity();
            auto [begin, end] = Registry().by_path.equal_range(path_);
            for (auto it = begin; it != end; ++it) {
                if (it->second != this) it->second->CloseIfNotOn(before);
            }
            OpenHandle();
            if (before && *before == Identity{dev_, ino_}) return;
            if (attempt == 4) return;  // created by this open, or swapped five times in a row
            CloseLocked();
        }
    }

    void CloseIfNotOn(const std::optional<Identity>& file) {
        std::lock_guard lock(mu_);
        if (db_ && (!file || *file != Identity{dev_, ino_})) CloseLocked();
    }

    void CloseLocked() {
        sqlite3_close(db_);
        db_ = nullptr;
    }

    void OpenHandle() {
        if (sqlite3_open_v2(path_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                            nullptr) != SQLITE_OK) {
            std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
            sqlite3_close(db_);
            db_ = nullptr;
            throw SqlError("sqlite: cannot open " + path_ + ": " + why);
        }
        // The identity is read right after the open, before the first query maps the "-shm".
        if (const auto opened = FileIdentity()) std::tie(dev_, ino_) = *opened;
        // The CLI and the gateway (and several gateways) may use one file: wait for each
        // other's writes instead of failing, and let readers run beside a writer.
        sqlite3_busy_timeout(db_, 5000);
        Run("PRAGMA journal_mode=WAL", {});
        Run("PRAGMA synchronous=NORMAL", {});
    }

public:
    std::vector<Row> Query(std::string_view sql, const std::vector<std::string>& params) override {
        {
            std::lock_guard lock(mu_);
            if (db_) return Run(sql, params);
        }
        // Closed because another connection found the file replaced: opened again only once
        // every connection to the old file is closed (ReopenIfReplaced holds the registry).
        std::lock_guard reg(Registry().mu);
        std::lock_guard lock(mu_);
        if (!db_) OpenLocked();
        return Run(sql, params);
    }

private:
    std::vector<Row> Run(std::string_view sql, const std::vector<std::string>& params) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK) {
            throw SqlError(std::string("sqlite: ") + sqlite3_errmsg(db_));
        }
        std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(stmt, sqlite3_finalize);
        for (std::size_t i = 0; i < params.size(); ++i) {
            std::string name(1, '$');  // not "$" + ...: GCC 12 warns falsely (-Wrestrict) on that
            name += std::to_string(i + 1);
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

public:
    const char* dialect() const override { return "sqlite"; }

private:
    std::string path_;
    std::mutex mu_;  // a reopen never runs beside a query
    dev_t dev_ = 0;
    ino_t ino_ = 0;
    sqlite3* db_ = nullptr;
};

}  // namespace

std::unique_ptr<SqlConnection> OpenSqlite(const std::string& path) {
    return std::make_unique<SqliteConnection>(path);
}

}  // namespace llmproxy::store
