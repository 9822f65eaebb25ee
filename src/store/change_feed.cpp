#include "store/change_feed.hpp"

#include <libpq-fe.h>

#include <spdlog/spdlog.h>

#include "store/sql_connection.hpp"

namespace llmproxy::store {
namespace {

constexpr const char* kChannel = "llm_proxy_config";

class PostgresChangeFeed final : public ChangeFeed {
public:
    explicit PostgresChangeFeed(std::string url) : url_(std::move(url)) {}
    ~PostgresChangeFeed() override { Close(); }

    int fd() const override { return conn_ && PQstatus(conn_) == CONNECTION_OK ? PQsocket(conn_) : -1; }

    std::vector<std::string> Drain() override {
        std::vector<std::string> payloads;
        if (!conn_ || PQconsumeInput(conn_) == 0 || PQstatus(conn_) != CONNECTION_OK) {
            Close();
            payloads.emplace_back("lost");
            return payloads;
        }
        while (PGnotify* n = PQnotifies(conn_)) {
            payloads.emplace_back(n->extra ? n->extra : "");
            PQfreemem(n);
        }
        return payloads;
    }

    bool Reconnect() override {
        Close();
        conn_ = ConnectPostgres(url_);
        if (PQstatus(conn_) != CONNECTION_OK) {
            Close();
            return false;
        }
        PQsetNoticeProcessor(
            conn_, [](void*, const char*) {}, nullptr);
        PGresult* r = PQexec(conn_, (std::string("LISTEN ") + kChannel).c_str());
        const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
        if (!ok) Close();
        return ok;
    }

private:
    void Close() {
        if (conn_) PQfinish(conn_);
        conn_ = nullptr;
    }

    std::string url_;
    PGconn* conn_ = nullptr;
};

}  // namespace

std::unique_ptr<ChangeFeed> OpenChangeFeed(const std::string& url) {
    if (!url.starts_with("postgres://") && !url.starts_with("postgresql://")) return nullptr;
    auto feed = std::make_unique<PostgresChangeFeed>(url);
    if (!feed->Reconnect()) spdlog::warn("store: cannot LISTEN for changes yet; polling until it can");
    return feed;
}

}  // namespace llmproxy::store
