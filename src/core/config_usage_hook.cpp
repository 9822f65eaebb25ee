// Parsing of `usage_hook:` (usage events to a webhook).
#include <boost/url/parse.hpp>

#include "core/config_reader.hpp"

namespace llmproxy::core::detail {

void ParseUsageHook(Reader& r, const YAML::Node& node, Config& c) {
    const std::string p = "usage_hook";
    auto& h = c.usage_hook;
    if (!r.Keys(node, p,
                {"enabled", "url", "timeout", "retry", "backoff", "batch_size", "headers", "secret", "spool_dir",
                 "include_request_body", "queue_size", "concurrency"})) {
        return;
    }
    h.enabled = true;
    r.BoolField(node, p, "enabled", h.enabled);
    r.StrField(node, p, "url", h.url);
    r.DurationField(node, p, "timeout", h.timeout);
    r.IntField(node, p, "retry", h.retry, 0, 100);
    r.DurationField(node, p, "backoff", h.backoff);
    r.IntField(node, p, "batch_size", h.batch_size, 1, 10'000);
    r.IntField(node, p, "concurrency", h.concurrency, 1, 64);
    r.StrMap(node, p, "headers", h.headers);
    r.StrField(node, p, "secret", h.secret);
    r.StrField(node, p, "spool_dir", h.spool_dir);
    r.BoolField(node, p, "include_request_body", h.include_request_body);
    r.SizeField(node, p, "queue_size", h.queue_size);
    if (!h.enabled) return;
    if (!ParseHttpUrl(r, node["url"] ? node["url"] : node, p + ".url", h.url,
                      {h.tls, h.host, h.port, h.host_header, h.path})) {
        return;
    }
    if (h.spool_dir.empty()) r.Error(node["spool_dir"], p + ".spool_dir", "must not be empty");
}

bool ParseHttpUrl(Reader& r, const YAML::Node& node, const std::string& path, const std::string& text, HttpTarget out) {
    auto url = boost::urls::parse_uri(text);
    if (text.empty() || !url || (url->scheme() != "http" && url->scheme() != "https") || url->host().empty()) {
        r.Error(node, path, "must be an http:// or https:// URL (got \"" + text + "\")");
        return false;
    }
    out.tls = url->scheme() == "https";
    out.host = url->host_address();
    out.port = url->has_port() ? std::string(url->port()) : (out.tls ? "443" : "80");
    out.host_header = std::string(url->encoded_host_and_port());
    out.path = url->encoded_path().empty() ? "/" : std::string(url->encoded_path());
    if (url->has_query()) out.path += "?" + std::string(url->encoded_query());
    return true;
}

}  // namespace llmproxy::core::detail
