#include "store/request_log_table.hpp"

#include <stdexcept>

#include "store/store.hpp"

namespace llmproxy::store {

std::unique_ptr<observe::RequestLog> OpenRequestLogTable(const core::RequestLogConfig& config,
                                                         const std::string& database_url, std::size_t workers) {
    const auto fields = config.redact_fields;
    const std::size_t cap = config.max_body_bytes;
    auto redact = [fields, cap](const std::string& body) {
        return body.empty() ? body : observe::Redact(body, fields, cap);
    };
    if (database_url.empty())
        throw std::runtime_error("logging.request_log.output is database but database.url is not set");
    {
        std::shared_ptr<Store> db = Store::Open(database_url);
        return std::make_unique<observe::RequestLog>(
            "request log", workers, 16384, std::chrono::milliseconds(200),
            [db, redact](const std::vector<observe::RequestLogEntry>& batch) {
                static const std::vector<Store::Column> kColumns = {{"request_id", "TEXT"},
                                                                    {"ts_ms", "BIGINT"},
                                                                    {"key_name", "TEXT"},
                                                                    {"model", "TEXT"},
                                                                    {"provider", "TEXT"},
                                                                    {"status", "INTEGER"},
                                                                    {"latency_ms", "DOUBLE PRECISION"},
                                                                    {"request_body", "TEXT"},
                                                                    {"response_body", "TEXT"}};
                std::vector<std::vector<std::string>> rows;
                for (const auto& e : batch) {
                    rows.push_back({e.request_id, std::to_string(e.ts_ms), e.key_name, e.model, e.provider,
                                    std::to_string(e.status), std::to_string(e.latency_ms), redact(e.request_body),
                                    redact(e.response_body)});
                }
                db->InsertRows("request_log", kColumns, rows);
            });
    }
}

}  // namespace llmproxy::store
