#include "store/usage_ledger.hpp"

#include <boost/json.hpp>

namespace llmproxy::store {
namespace {

std::string Text(const boost::json::object& o, const char* name) {
    const auto* v = o.if_contains(name);
    if (!v) return {};
    if (v->is_string()) return std::string(v->as_string());
    if (v->is_int64()) return std::to_string(v->as_int64());
    if (v->is_uint64()) return std::to_string(v->as_uint64());
    if (v->is_double()) return std::to_string(v->as_double());
    if (v->is_bool()) return v->as_bool() ? "1" : "0";
    return {};
}

// A usage script's fields, kept as the JSON object they came as.
std::string CustomFields(const boost::json::object& o) {
    const auto* v = o.if_contains("custom");
    return v && v->is_object() ? boost::json::serialize(*v) : std::string();
}

}  // namespace

void WriteUsageRows(Store& store, const std::vector<std::string>& events) {
    static const std::vector<Store::Column> kColumns = {{"request_id", "TEXT"},
                                                        {"ts_ms", "BIGINT"},
                                                        {"key_name", "TEXT"},
                                                        {"user_id", "TEXT"},
                                                        {"api_key", "TEXT"},
                                                        {"model", "TEXT"},
                                                        {"upstream_model", "TEXT"},
                                                        {"provider", "TEXT"},
                                                        {"endpoint", "TEXT"},
                                                        {"is_stream", "INTEGER"},
                                                        {"status", "INTEGER"},
                                                        {"prompt_tokens", "BIGINT"},
                                                        {"completion_tokens", "BIGINT"},
                                                        {"total_tokens", "BIGINT"},
                                                        {"cached_tokens", "BIGINT"},
                                                        {"cache_creation_tokens", "BIGINT"},
                                                        {"reasoning_tokens", "BIGINT"},
                                                        {"usage_source", "TEXT"},
                                                        {"latency_ms", "DOUBLE PRECISION"},
                                                        {"ttft_ms", "DOUBLE PRECISION"},
                                                        {"custom", "TEXT"}};
    std::vector<std::vector<std::string>> rows;
    rows.reserve(events.size());
    for (const auto& text : events) {
        boost::system::error_code ec;
        auto doc = boost::json::parse(text, ec);
        if (ec || !doc.is_object()) continue;
        const auto& e = doc.as_object();
        boost::json::object usage;
        if (const auto* u = e.if_contains("usage"); u && u->is_object()) usage = u->as_object();
        // A request without usage keeps NULL token columns: unknown is not zero.
        rows.push_back({Text(e, "request_id"),
                        Text(e, "timestamp_ms"),
                        Text(e, "key_name"),
                        Text(e, "user_id"),
                        Text(e, "api_key"),
                        Text(e, "model"),
                        Text(e, "upstream_model"),
                        Text(e, "provider"),
                        Text(e, "endpoint"),
                        Text(e, "is_stream"),
                        Text(e, "status_code"),
                        Text(usage, "prompt_tokens"),
                        Text(usage, "completion_tokens"),
                        Text(usage, "total_tokens"),
                        Text(usage, "cached_tokens"),
                        Text(usage, "cache_creation_tokens"),
                        Text(usage, "reasoning_tokens"),
                        Text(e, "usage_source"),
                        Text(e, "latency_ms"),
                        Text(e, "ttft_ms"),
                        CustomFields(e)});
    }
    store.InsertRows("usage_ledger", kColumns, rows);
}

std::unique_ptr<UsageLedger> OpenUsageLedger(const std::string& database_url, std::size_t workers) {
    std::shared_ptr<Store> store = Store::Open(database_url);
    return std::make_unique<UsageLedger>(
        "usage ledger", workers, 16384, std::chrono::milliseconds(200),
        [store](const std::vector<std::string>& batch) { WriteUsageRows(*store, batch); });
}

}  // namespace llmproxy::store
