#include "admin/keys_api.hpp"
#include "admin/usage_api.hpp"

#include <ctime>

#include "core/cidr.hpp"
#include "core/quota_period.hpp"
#include "core/secret_hash.hpp"

namespace llmproxy::admin {
namespace {

constexpr std::string_view kFields[] = {"name",
                                        "key",
                                        "user_id",
                                        "allowed_models",
                                        "allowed_ips",
                                        "allowed_endpoints",
                                        "expires_at",
                                        "metadata",
                                        "requests_per_second",
                                        "requests_per_minute",
                                        "tokens_per_minute",
                                        "max_concurrent",
                                        "total_quota",
                                        "quota_period",
                                        "quota_reset_period",
                                        "enabled",
                                        "is_enabled",
                                        "status",
                                        "rate_limit"};
constexpr std::string_view kReadOnly[] = {"id", "key_hint", "source", "quota_used", "created_at", "updated_at"};

// A field's value, or why it is not acceptable (the field is then named in the 400).
struct Problem {
    std::string field, message;
};

std::optional<std::vector<std::string>> Strings(const json::value& v) {
    if (!v.is_array()) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& e : v.as_array()) {
        if (!e.is_string() || !Printable(e.as_string())) return std::nullopt;
        out.emplace_back(e.as_string());
    }
    return out;
}

std::optional<double> Rate(const json::value& v) {
    if (v.is_null()) return -1.0;  // unset: rate_limit.key_defaults, else unlimited
    if (!v.is_number()) return std::nullopt;
    const double d = v.to_number<double>();
    return d >= 0 && d <= 1e15 ? std::optional<double>(d) : std::nullopt;
}

std::optional<std::int64_t> Whole(const json::value& v, std::int64_t max) {
    if (!v.is_number()) return std::nullopt;
    const double d = v.to_number<double>();
    if (d < 0 || d > static_cast<double>(max) || d != static_cast<double>(static_cast<std::int64_t>(d)))
        return std::nullopt;
    return static_cast<std::int64_t>(d);
}

std::optional<std::int64_t> Expiry(const json::value& v) {
    if (v.is_null()) return 0;
    if (v.is_string())
        return v.as_string().empty() ? std::optional<std::int64_t>(0) : core::ParseUtcTime(v.as_string());
    return Whole(v, 1LL << 40);
}

// Applies one field of the body onto `k`; a Problem when its value does not fit.
std::optional<Problem> ApplyField(core::ApiKeyConfig& k, std::string_view name, const json::value& v) {
    auto bad = [&](std::string message) { return Problem{std::string(name), std::move(message)}; };
    if (name == "user_id") {
        if (!v.is_string() || !Printable(v.as_string())) return bad("must be a string without control characters");
        k.user_id = v.as_string();
    } else if (name == "allowed_models") {
        auto list = Strings(v);
        if (!list) return bad("must be a list of model names or globs");
        k.allowed_models = *list;
    } else if (name == "allowed_ips") {
        auto list = Strings(v);
        if (!list) return bad("must be a list of IP addresses or CIDRs");
        for (const auto& ip : *list) {
            if (!core::Cidr::Parse(ip)) return bad("\"" + ip + "\" is not an IP address or CIDR");
        }
        k.allowed_ips = *list;
    } else if (name == "allowed_endpoints") {
        if (v.is_null()) {
            k.allowed_endpoints.reset();
            return std::nullopt;
        }
        auto list = Strings(v);
        if (!list) return bad("must be a list such as [\"/v1/files/*\", \"DELETE /v1/files/*\"], or null");
        for (const auto& e : *list) {
            if (!core::ValidEndpointGrant(e)) return bad("\"" + e + "\" must be a path glob under /v1/");
        }
        k.allowed_endpoints = *list;
    } else if (name == "expires_at") {
        auto t = Expiry(v);
        if (!t) return bad("must be unix seconds or UTC like 2026-12-31T23:59:59Z");
        k.expires_at = *t;
    } else if (name == "metadata") {
        if (!v.is_object()) return bad("must be an object of strings");
        k.metadata.clear();
        for (const auto& [key, value] : v.as_object()) {
            if (!value.is_string()) return bad("values must be strings");
            k.metadata[std::string(key)] = std::string(value.as_string());
        }
    } else if (name == "requests_per_second" || name == "requests_per_minute" || name == "tokens_per_minute") {
        auto r = Rate(v);
        if (!r) return bad("must be a number >= 0, or null");
        (name == "requests_per_second"   ? k.limits.requests_per_second
         : name == "requests_per_minute" ? k.limits.requests_per_minute
                                         : k.limits.tokens_per_minute) = *r;
    } else if (name == "rate_limit") {
        // The Python llm-proxy's: requests per second; null = unlimited; 0 = every request refused.
        auto r = Rate(v);
        if (!r) return bad("must be a number of requests per second >= 0, or null");
        k.limits.blocked = *r == 0;
        k.limits.requests_per_second = *r > 0 ? *r : -1;
    } else if (name == "max_concurrent") {
        auto n = v.is_null() ? std::optional<std::int64_t>(-1) : Whole(v, 1'000'000);
        if (!n) return bad("must be a whole number >= 0, or null");
        k.limits.max_concurrent = static_cast<int>(*n);
    } else if (name == "total_quota") {
        auto n = v.is_null() ? std::optional<std::int64_t>(0) : Whole(v, 1LL << 53);
        if (!n) return bad("must be a whole number of tokens >= 0");
        k.total_quota = *n;
    } else if (name == "quota_period" || name == "quota_reset_period") {
        auto p = v.is_string() ? core::ParseQuotaPeriod(v.as_string()) : std::nullopt;
        if (!p) return bad("must be daily, weekly, monthly or never");
        k.quota_period = *p;
    } else if (name == "enabled" || name == "is_enabled") {
        if (!v.is_bool()) return bad("must be true or false");
        k.active = v.as_bool();
    } else if (name == "status") {
        if (v != "active" && v != "disabled") return bad("must be active or disabled");
        k.active = v == "active";
    }
    return std::nullopt;
}

// Every field of `body` onto `k`: the first problem, naming the field.
std::optional<Problem> Apply(core::ApiKeyConfig& k, const json::object& body) {
    for (const auto& [name, value] : body) {
        bool known = false;
        for (auto f : kFields) known = known || f == name;
        for (auto f : kReadOnly) {
            if (f == name) known = true;
        }
        if (!known) return Problem{std::string(name), "unknown field"};
        if (name == "name" || name == "key") continue;
        if (auto p = ApplyField(k, name, value)) return p;
    }
    return std::nullopt;
}

json::object View(const core::ApiKeyConfig& k, std::string_view source, std::int64_t quota_used) {
    json::object meta;
    for (const auto& [key, value] : k.metadata) meta[key] = value;
    auto rate = [](double v) -> json::value { return v < 0 ? json::value(nullptr) : json::value(v); };
    json::value endpoints = nullptr;
    if (k.allowed_endpoints) endpoints = json::array(k.allowed_endpoints->begin(), k.allowed_endpoints->end());
    json::value rate_limit = k.limits.blocked ? json::value(0) : rate(k.limits.requests_per_second);
    return json::object{
        {"id", k.name},
        {"name", k.name},
        {"key_hint", k.key_hint},
        {"user_id", k.user_id},
        {"status", k.active ? "active" : "disabled"},
        {"enabled", k.active},
        {"is_enabled", k.active},
        {"allowed_models", json::array(k.allowed_models.begin(), k.allowed_models.end())},
        {"allowed_ips", json::array(k.allowed_ips.begin(), k.allowed_ips.end())},
        {"allowed_endpoints", endpoints},
        {"expires_at", k.expires_at ? json::value(core::FormatUtcTime(k.expires_at)) : json::value()},
        {"metadata", meta},
        {"requests_per_second", rate(k.limits.requests_per_second)},
        {"rate_limit", rate_limit},
        {"requests_per_minute", rate(k.limits.requests_per_minute)},
        {"tokens_per_minute", rate(k.limits.tokens_per_minute)},
        {"max_concurrent", k.limits.max_concurrent < 0 ? json::value() : json::value(k.limits.max_concurrent)},
        {"total_quota", k.total_quota},
        {"quota_period", core::QuotaPeriodName(k.quota_period)},
        {"quota_used", quota_used},
        {"source", source}};
}

std::int64_t QuotaUsed(AdminContext& ctx, const core::ApiKeyConfig& k) {
    auto keys = ctx.key_set.Load();
    if (!keys) return 0;
    if (const auto* entry = keys->Find(k.hash)) return entry->counters->quota.Used(std::time(nullptr));
    return 0;
}

std::optional<core::ApiKeyConfig> Stored(AdminContext& ctx, const std::string& name) {
    for (auto& k : ctx.config.store()->ListKeys()) {
        if (k.name == name) return std::move(k);
    }
    return std::nullopt;
}

bool InFile(AdminContext& ctx, const std::string& name) {
    for (const auto& k : ctx.config.current()->config->auth.keys) {
        if (k.name == name) return true;
    }
    return false;
}

ControlReply FileKey(const ControlRequest& req) {
    return Error(req, 409, "defined_in_file", "Key " + req.param + " is defined in the config file; change it there");
}

// Writes, then makes the key set serve it before answering.
ControlReply Publish(AdminContext& ctx, const ControlRequest& req, const core::ApiKeyConfig& k, unsigned status,
                     std::string_view action, std::string_view detail, const std::string* secret = nullptr) {
    ctx.keys.ReloadKeysNow();
    Audit(ctx, req, action, "key " + k.name, detail);
    auto view = View(k, "store", QuotaUsed(ctx, k));
    if (secret) view["key"] = *secret;  // once, at creation
    return Json(status, view);
}

std::string FieldList(const json::object& body) {
    std::string out;
    for (const auto& [name, value] : body) {
        if (name != "key") out += (out.empty() ? "" : ",") + std::string(name);
    }
    return "fields: " + out;
}

ControlReply Change(AdminContext& ctx, const ControlRequest& req, bool replace) {
    if (!ctx.config.store()) return NeedsStore(req);
    ControlReply error;
    auto body = BodyObject(req, error);
    if (!body) return error;
    auto old = Stored(ctx, req.param);
    if (!old) return InFile(ctx, req.param) ? FileKey(req) : NotFound(req, "Key " + req.param);
    if (body->contains("key"))
        return Error(req, 400, "invalid_value", "A key's secret cannot be changed; create another key", "key");
    if (auto* n = body->if_contains("name"); n && *n != json::value(old->name)) {
        return Error(req, 400, "invalid_value", "A key cannot be renamed", "name");
    }
    core::ApiKeyConfig k;
    if (replace) {
        k.name = old->name;
        k.hash = old->hash;
        k.key_hint = old->key_hint;
    } else {
        k = *old;
    }
    if (auto p = Apply(k, *body)) return Error(req, 400, "invalid_value", p->field + ": " + p->message, p->field);
    ctx.config.store()->UpdateKey(k);
    return Publish(ctx, req, k, 200, replace ? "replace" : "update", FieldList(*body));
}

ControlReply SetActive(AdminContext& ctx, const ControlRequest& req, bool active) {
    if (!ctx.config.store()) return NeedsStore(req);
    auto k = Stored(ctx, req.param);
    if (!k) return InFile(ctx, req.param) ? FileKey(req) : NotFound(req, "Key " + req.param);
    ctx.config.store()->SetKeyActive(k->name, active);
    k->active = active;
    return Publish(ctx, req, *k, 200, active ? "enable" : "disable", "");
}

}  // namespace

ControlReply ListKeys(AdminContext& ctx, const ControlRequest&) {
    json::array data;
    for (const auto& k : ctx.config.current()->config->auth.keys) data.push_back(View(k, "file", QuotaUsed(ctx, k)));
    if (auto* store = ctx.config.store()) {
        for (const auto& k : store->ListKeys()) data.push_back(View(k, "store", QuotaUsed(ctx, k)));
    }
    return Json(200, json::object{{"object", "list"}, {"data", std::move(data)}});
}

ControlReply GetKey(AdminContext& ctx, const ControlRequest& req) {
    if (ctx.config.store()) {
        if (auto k = Stored(ctx, req.param)) return Json(200, View(*k, "store", QuotaUsed(ctx, *k)));
    }
    for (const auto& k : ctx.config.current()->config->auth.keys) {
        if (k.name == req.param) return Json(200, View(k, "file", QuotaUsed(ctx, k)));
    }
    return NotFound(req, "Key " + req.param);
}

ControlReply CreateKey(AdminContext& ctx, const ControlRequest& req) {
    auto* store = ctx.config.store();
    if (!store) return NeedsStore(req);
    ControlReply error;
    auto body = BodyObject(req, error);
    if (!body) return error;
    core::ApiKeyConfig k;
    const auto* name = body->if_contains("name");
    if (!name || !name->is_string() || name->as_string().empty() || name->as_string().size() > 128 ||
        !Printable(name->as_string())) {
        return Error(req, 400, "invalid_value", "name is required: 1 to 128 printable characters", "name");
    }
    k.name = name->as_string();
    std::string secret;
    if (const auto* key = body->if_contains("key"); key && !key->is_null()) {
        if (!key->is_string() || key->as_string().size() < 8 || !Printable(key->as_string())) {
            return Error(req, 400, "invalid_value",
                         "key must be at least 8 printable characters (or left out: one is made)", "key");
        }
        secret = key->as_string();
    } else {
        secret = core::GenerateApiKey();
    }
    k.hash = core::Sha256(secret);
    k.key_hint = core::MaskKey(secret);
    if (auto p = Apply(k, *body)) return Error(req, 400, "invalid_value", p->field + ": " + p->message, p->field);
    if (Stored(ctx, k.name) || InFile(ctx, k.name)) {
        return Error(req, 409, "already_exists", "Key " + k.name + " exists", "name");
    }
    try {
        store->AddKey(k);
    } catch (const store::SqlError&) {
        // The name was free: the secret is another key's (its hash is unique).
        return Error(req, 409, "already_exists", "This key is already in use", "key");
    }
    return Publish(ctx, req, k, 201, "create", FieldList(*body), &secret);
}

ControlReply ReplaceKey(AdminContext& ctx, const ControlRequest& req) {
    return Change(ctx, req, true);
}

ControlReply UpdateKey(AdminContext& ctx, const ControlRequest& req) {
    return Change(ctx, req, false);
}

ControlReply DeleteKey(AdminContext& ctx, const ControlRequest& req) {
    auto* store = ctx.config.store();
    if (!store) return NeedsStore(req);
    if (!store->DeleteKey(req.param)) return InFile(ctx, req.param) ? FileKey(req) : NotFound(req, "Key " + req.param);
    ctx.keys.ReloadKeysNow();
    Audit(ctx, req, "delete", "key " + req.param, "");
    return Json(200, json::object{{"id", req.param}, {"name", req.param}, {"deleted", true}});
}

ControlReply EnableKey(AdminContext& ctx, const ControlRequest& req) {
    return SetActive(ctx, req, true);
}

ControlReply DisableKey(AdminContext& ctx, const ControlRequest& req) {
    return SetActive(ctx, req, false);
}

ControlReply ResetKeyQuota(AdminContext& ctx, const ControlRequest& req) {
    auto* store = ctx.config.store();
    if (!store) return NeedsStore(req);
    auto k = Stored(ctx, req.param);
    if (!k) return InFile(ctx, req.param) ? FileKey(req) : NotFound(req, "Key " + req.param);
    const auto rows = store->ResetQuotaUsage(core::HexOf(k->hash));
    Audit(ctx, req, "reset-quota", "key " + k->name, std::to_string(rows) + " periods cleared");
    return Json(
        200, json::object{{"name", k->name},
                          {"reset", true},
                          {"note", "every instance sees the reset at its next quota sync (database.sync_interval)"}});
}

ControlReply KeyUsage(AdminContext& ctx, const ControlRequest& req) {
    auto* store = ctx.config.store();
    if (!store) return NeedsStore(req);
    if (!Stored(ctx, req.param) && !InFile(ctx, req.param)) return NotFound(req, "Key " + req.param);
    return UsageReport(ctx, req, req.param, "day");
}

}  // namespace llmproxy::admin
