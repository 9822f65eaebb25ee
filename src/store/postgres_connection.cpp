#include <libpq-fe.h>

#include "store/sql_connection.hpp"

namespace llmproxy::store {

PGconn* ConnectPostgres(const std::string& url) {
    // An unreachable server must not hold the control thread for the kernel's SYN timeout (~2
    // minutes): 5 s unless the URL says otherwise (its own connect_timeout is read after this).
    const char* keys[] = {"connect_timeout", "dbname", nullptr};
    const char* values[] = {"5", url.c_str(), nullptr};
    return PQconnectdbParams(keys, values, /*expand_dbname=*/1);
}

namespace {

class PostgresConnection final : public SqlConnection {
public:
    explicit PostgresConnection(const std::string& url) : url_(url) { Connect(); }
    ~PostgresConnection() override { PQfinish(conn_); }

    std::vector<Row> Query(std::string_view sql, const std::vector<std::string>& params) override {
        // A server restart breaks the connection: reconnect once and retry.
        if (PQstatus(conn_) != CONNECTION_OK) Connect();
        std::vector<const char*> values;
        for (const auto& p : params) values.push_back(p.c_str());
        const std::string text(sql);
        std::unique_ptr<PGresult, void (*)(PGresult*)> res(
            PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr,
                         0),
            PQclear);
        const auto status = PQresultStatus(res.get());
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
            throw SqlError(std::string("postgres: ") + PQerrorMessage(conn_));
        }
        std::vector<Row> rows;
        const int n = PQntuples(res.get()), cols = PQnfields(res.get());
        for (int r = 0; r < n; ++r) {
            Row row;
            for (int c = 0; c < cols; ++c) {
                if (PQgetisnull(res.get(), r, c))
                    row.emplace_back(std::nullopt);
                else
                    row.emplace_back(std::string(PQgetvalue(res.get(), r, c), PQgetlength(res.get(), r, c)));
            }
            rows.push_back(std::move(row));
        }
        return rows;
    }

    const char* dialect() const override { return "postgres"; }

private:
    void Connect() {
        if (conn_) PQfinish(conn_);
        conn_ = ConnectPostgres(url_);
        if (PQstatus(conn_) != CONNECTION_OK) {
            // libpq's message names host and port, never the password.
            throw SqlError(std::string("postgres: cannot connect: ") + PQerrorMessage(conn_));
        }
        PQsetNoticeProcessor(
            conn_, [](void*, const char*) {}, nullptr);  // "relation exists, skipping"
    }

    std::string url_;
    PGconn* conn_ = nullptr;
};

}  // namespace

std::unique_ptr<SqlConnection> OpenPostgres(const std::string& url) {
    return std::make_unique<PostgresConnection>(url);
}

std::unique_ptr<SqlConnection> OpenSql(const std::string& url) {
    if (url.starts_with("sqlite://")) return OpenSqlite(url.substr(9));
    if (url.starts_with("postgres://") || url.starts_with("postgresql://")) return OpenPostgres(url);
    throw SqlError("database.url must start with sqlite:// or postgres://");
}

}  // namespace llmproxy::store
