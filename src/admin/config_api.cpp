#include "admin/config_api.hpp"

#include <algorithm>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "core/quota_period.hpp"

namespace llmproxy::admin {
namespace {

// A URL with its password (if any) masked: postgres://user:***@host/db.
std::string MaskedUrl(const std::string& url) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed || !parsed->has_password()) return url;
    boost::urls::url u(*parsed);
    u.set_password("***");
    return std::string(u.buffer());
}

json::array Strings(const std::vector<std::string>& v) {
    return json::array(v.begin(), v.end());
}

void ProvidersView(const core::Config& c, json::array& out) {
    for (const auto& p : c.providers) {
        json::object headers;
        for (const auto& [name, value] : p.headers) headers[name] = "***";
        json::object map;
        for (const auto& [from, to] : p.model_map) map[from] = to;
        out.push_back(json::object{{"name", p.name},
                                   {"source", p.origin},
                                   {"id", p.store_id ? json::value(p.store_id) : json::value()},
                                   {"type", p.type},
                                   {"base_url", p.base_url},
                                   {"api_key", Masked(p.api_key)},
                                   {"weight", p.weight},
                                   {"models", Strings(p.models)},
                                   {"model_map", map},
                                   {"headers", headers},
                                   {"max_connections", p.max_connections},
                                   {"stream_usage", p.stream_usage},
                                   {"health_check", p.health_check.enabled}});
    }
}

json::object RoutingView(const core::Config& c) {
    json::object models;
    for (const auto& [model, m] : c.routing.models) {
        json::array targets;
        for (const auto& t : m.targets) {
            targets.push_back(json::object{{"provider", t.provider}, {"model", t.model}, {"weight", t.weight}});
        }
        models[model] = json::object{{"source", m.origin},
                                     {"strategy", m.strategy},
                                     {"fallback_models", Strings(m.fallback_models)},
                                     {"targets", std::move(targets)}};
    }
    return json::object{{"strategy", c.routing.strategy},
                        {"strip_prefix", c.routing.strip_prefix},
                        {"default_model", c.routing.default_model},
                        {"models", std::move(models)}};
}

json::object View(const core::Config& c, std::uint64_t version, const std::string& source) {
    json::array providers;
    ProvidersView(c, providers);
    json::array keys;
    for (const auto& k : c.auth.keys)
        keys.push_back(json::object{{"name", k.name}, {"key_hint", k.key_hint}, {"source", "file"}});
    return json::object{
        {"version", version},
        {"file", source},
        {"precedence", "providers (by name) and routing.models entries (by model) in the store replace the file's"},
        {"server", json::object{{"listen", c.server.listen},
                                {"workers", c.server.workers},
                                {"admin_key", Masked(c.server.admin_key)},
                                {"max_body_bytes", c.server.max_body_bytes},
                                {"max_body_memory", c.server.max_body_memory}}},
        {"providers", std::move(providers)},
        {"routing", RoutingView(c)},
        {"auth", json::object{{"enabled", c.auth.enabled}, {"keys", std::move(keys)}}},
        {"rate_limit", json::object{{"storage", c.rate_limit.storage},
                                    {"global_requests_per_second", c.rate_limit.global_requests_per_second},
                                    {"global_max_concurrent", c.rate_limit.global_max_concurrent}}},
        {"usage_hook", json::object{{"enabled", c.usage_hook.enabled},
                                    {"url", MaskedUrl(c.usage_hook.url)},
                                    {"secret", Masked(c.usage_hook.secret)}}},
        {"database",
         json::object{{"url", MaskedUrl(c.database.url)}, {"poll_interval_ms", c.database.poll_interval.count()}}},
        {"redis", json::object{{"url", MaskedUrl(c.redis.url)}}},
        {"logging", json::object{{"level", c.logging.level}, {"access_log", c.logging.access_log}}}};
}

}  // namespace

ControlReply ReloadConfig(AdminContext& ctx, const ControlRequest& req) {
    auto outcome = ctx.config.Reload("admin API");
    Audit(ctx, req, "reload", "config", outcome.published ? "published" : "refused");
    if (!outcome.published) return Invalid(req, outcome.errors);
    return Json(200, json::object{{"status", "ok"}, {"version", outcome.version}, {"notes", Strings(outcome.notes)}});
}

ControlReply ConfigVersion(AdminContext& ctx, const ControlRequest&) {
    json::object out{{"version", ctx.config.current()->version}};
    if (auto* store = ctx.config.store()) out["store_version"] = store->ConfigVersion();
    return Json(200, out);
}

ControlReply EffectiveConfig(AdminContext& ctx, const ControlRequest&) {
    auto snapshot = ctx.config.current();
    return Json(200, View(*snapshot->config, snapshot->version, ctx.config.source().Name()));
}

ControlReply AuditLog(AdminContext& ctx, const ControlRequest& req) {
    auto* store = ctx.config.store();
    if (!store) return NeedsStore(req);
    auto q = QueryParams(req);
    std::size_t limit = 100;
    if (q.count("limit")) {
        try {
            limit = std::clamp<std::size_t>(std::stoul(q["limit"]), 1, 10'000);
        } catch (const std::exception&) {
            return Error(req, 400, "invalid_value", "limit must be a number", "limit");
        }
    }
    json::array data;
    for (const auto& row : store->ListAudit(limit)) {
        data.push_back(json::object{{"ts_ms", row.ts_ms},
                                    {"actor", row.actor},
                                    {"action", row.action},
                                    {"target", row.target},
                                    {"detail", row.detail}});
    }
    return Json(200, json::object{{"object", "list"}, {"data", std::move(data)}});
}

}  // namespace llmproxy::admin
