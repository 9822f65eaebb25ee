#include "admin/providers_api.hpp"

#include <algorithm>

#include "core/config_overlay.hpp"

namespace llmproxy::admin {
namespace {

// The Python llm-proxy's field names -> ours.
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {{"provider_key", "name"},
                                                                      {"provider_type", "type"},
                                                                      {"api_base", "base_url"},
                                                                      {"model_mapping", "model_map"},
                                                                      {"is_enabled", "enabled"}};
// Shown in answers, ignored when sent back.
constexpr std::string_view kReadOnly[] = {"id", "source", "created_at", "updated_at"};

struct Found {
    std::optional<store::ProviderRow> row;       // in the store
    const core::ProviderConfig* file = nullptr;  // in the file (and not overridden)
};

Found Lookup(AdminContext& ctx, const std::string& id) {
    Found f;
    const bool numeric = !id.empty() && std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (auto* store = ctx.config.store()) {
        for (auto& row : store->ListProviders()) {
            if (numeric ? std::to_string(row.id) == id : row.name == id) f.row = std::move(row);
        }
    }
    if (!f.row && !numeric) {
        for (const auto& p : ctx.config.current()->config->providers) {
            if (p.name == id && p.origin == "file") f.file = &p;
        }
    }
    return f;
}

// Our names for the Python ones; an alias that contradicts the native field is an error.
std::optional<json::object> Normalize(json::object body, const ControlRequest& req, ControlReply& error) {
    for (const auto& [alias, native] : kAliases) {
        auto* a = body.if_contains(alias);
        if (!a) continue;
        if (auto* n = body.if_contains(native); n && *n != *a) {
            error = Error(req, 400, "conflicting_fields",
                          std::string(alias) + " and " + std::string(native) + " say different things", alias);
            return std::nullopt;
        }
        json::value value = *a;  // a copy: inserting `native` may rehash and move *a
        body.erase(alias);
        body[native] = std::move(value);
    }
    for (auto key : kReadOnly) body.erase(key);
    return body;
}

json::object View(const store::ProviderRow& row) {
    boost::system::error_code ec;
    json::value spec = json::parse(row.spec, ec);
    json::object out = !ec && spec.is_object() ? spec.as_object() : json::object{};
    if (auto* key = out.if_contains("api_key"); key && key->is_string()) *key = Masked(key->as_string());
    if (auto* headers = out.if_contains("headers"); headers && headers->is_object()) {
        for (auto& [name, value] : headers->as_object()) value = "***";  // may hold credentials
    }
    out["id"] = row.id;
    out["name"] = row.name;
    out["provider_key"] = row.name;
    if (!out.contains("type")) out["type"] = "openai";
    if (!out.contains("model_map")) out["model_map"] = json::object{};
    // Copies first: an insertion may rehash the object and move the values referred to.
    json::value type = out["type"], map = out["model_map"];
    json::value base = out.contains("base_url") ? out["base_url"] : json::value();
    out["provider_type"] = std::move(type);
    out["model_mapping"] = std::move(map);
    if (!base.is_null()) out["api_base"] = std::move(base);
    out["enabled"] = row.enabled;
    out["is_enabled"] = row.enabled;
    out["source"] = "store";
    out["created_at"] = row.created_at;
    out["updated_at"] = row.updated_at;
    return out;
}

json::object View(const core::ProviderConfig& p) {
    json::object model_map;
    for (const auto& [from, to] : p.model_map) model_map[from] = to;
    return json::object{{"id", nullptr},
                        {"name", p.name},
                        {"provider_key", p.name},
                        {"type", p.type},
                        {"provider_type", p.type},
                        {"base_url", p.base_url},
                        {"api_base", p.base_url},
                        {"api_key", Masked(p.api_key)},
                        {"weight", p.weight},
                        {"models", json::array(p.models.begin(), p.models.end())},
                        {"model_map", model_map},
                        {"model_mapping", model_map},
                        {"enabled", true},
                        {"is_enabled", true},
                        {"source", "file"},
                        {"preset", p.preset.empty() ? json::value() : json::value(p.preset)},
                        {"health_check_path", p.health_check.path}};
}

// Checks `name` with `spec` alone, then the whole config with it in the store's place, then
// writes it and publishes. The answer comes once the change serves.
ControlReply Save(AdminContext& ctx, const ControlRequest& req, const std::string& name, bool enabled,
                  const json::object& spec, unsigned status, std::string_view action) {
    auto* store = ctx.config.store();
    const std::string text = json::serialize(spec);
    if (auto errors = core::CheckStoredProvider({0, name, true, text}); !errors.empty()) return Invalid(req, errors);
    auto overlay = ctx.config.ReadOverlay();
    std::erase_if(overlay.providers, [&](const auto& p) { return p.name == name; });
    overlay.providers.push_back({0, name, enabled, text});
    if (auto errors = ctx.config.Check(overlay); !errors.empty()) return Invalid(req, errors);
    const auto row = store->SaveProvider(name, enabled, text);
    auto outcome = ctx.config.Reload("admin: provider " + name);
    std::string fields;
    for (const auto& [key, value] : spec) fields += (fields.empty() ? "" : ",") + std::string(key);
    Audit(ctx, req, action, "provider " + name, "fields: " + fields + (enabled ? "" : "; disabled"));
    if (!outcome.published) return Invalid(req, outcome.errors);
    return Json(status, View(row));
}

std::optional<std::string> NameOf(const json::object& body, const ControlRequest& req, ControlReply& error) {
    const auto* name = body.if_contains("name");
    if (!name || !name->is_string() || name->as_string().empty()) {
        error = Error(req, 400, "missing_required_parameter", "name (or provider_key) is required", "name");
        return std::nullopt;
    }
    const std::string_view text(name->as_string());
    if (text.size() > 128 || !Printable(text)) {
        error = Error(req, 400, "invalid_value", "name must be 1 to 128 printable characters", "name");
        return std::nullopt;
    }
    return std::string(text);
}

std::optional<bool> EnabledOf(json::object& body, bool fallback, const ControlRequest& req, ControlReply& error) {
    auto* v = body.if_contains("enabled");
    if (!v) return fallback;
    if (!v->is_bool()) {
        error = Error(req, 400, "invalid_value", "enabled (is_enabled) must be true or false", "enabled");
        return std::nullopt;
    }
    const bool enabled = v->as_bool();
    body.erase("enabled");
    return enabled;
}

// A write-only secret sent back as shown ("sk-...abcd") or left out keeps the stored one.
void KeepSecret(json::object& spec, const json::object& old) {
    const auto* sent = spec.if_contains("api_key");
    const auto* kept = old.if_contains("api_key");
    if (!kept || !kept->is_string()) return;
    if (!sent || (sent->is_string() && sent->as_string() == Masked(kept->as_string()))) spec["api_key"] = *kept;
}

json::object SpecOf(const store::ProviderRow& row) {
    boost::system::error_code ec;
    auto v = json::parse(row.spec, ec);
    return !ec && v.is_object() ? v.as_object() : json::object{};
}

// A PUT or PATCH: the store is there, the body is an object (in our names), the path names a
// provider, and the body does not rename it.
struct Edit {
    json::object body;
    Found found;
    std::string name;
};

std::optional<Edit> BeginEdit(AdminContext& ctx, const ControlRequest& req, ControlReply& error) {
    if (!ctx.config.store()) {
        error = NeedsStore(req);
        return std::nullopt;
    }
    auto body = BodyObject(req, error);
    if (body) body = Normalize(std::move(*body), req, error);
    if (!body) return std::nullopt;
    Edit edit{std::move(*body), Lookup(ctx, req.param), {}};
    if (!edit.found.row && !edit.found.file) {
        error = NotFound(req, "Provider " + req.param);
        return std::nullopt;
    }
    edit.name = edit.found.row ? edit.found.row->name : edit.found.file->name;
    if (auto* n = edit.body.if_contains("name"); n && (!n->is_string() || n->as_string() != edit.name)) {
        error = Error(req, 400, "invalid_value", "A provider cannot be renamed (delete it and create another)", "name");
        return std::nullopt;
    }
    edit.body.erase("name");
    return edit;
}

ControlReply SetEnabled(AdminContext& ctx, const ControlRequest& req, bool enabled) {
    if (!ctx.config.store()) return NeedsStore(req);
    auto found = Lookup(ctx, req.param);
    if (found.file) {
        return Error(req, 409, "defined_in_file",
                     "Provider " + req.param +
                         " is defined in the config file; change it there, or PUT a full "
                         "definition here to override it");
    }
    if (!found.row) return NotFound(req, "Provider " + req.param);
    return Save(ctx, req, found.row->name, enabled, SpecOf(*found.row), 200, enabled ? "enable" : "disable");
}

}  // namespace

ControlReply ListProviders(AdminContext& ctx, const ControlRequest&) {
    json::array data;
    for (const auto& p : ctx.config.current()->config->providers) {
        if (p.origin == "file") data.push_back(View(p));
    }
    if (auto* store = ctx.config.store()) {
        for (const auto& row : store->ListProviders()) data.push_back(View(row));
    }
    return Json(200, json::object{{"object", "list"}, {"data", std::move(data)}});
}

ControlReply GetProvider(AdminContext& ctx, const ControlRequest& req) {
    auto found = Lookup(ctx, req.param);
    if (found.row) return Json(200, View(*found.row));
    if (found.file) return Json(200, View(*found.file));
    return NotFound(req, "Provider " + req.param);
}

ControlReply CreateProvider(AdminContext& ctx, const ControlRequest& req) {
    if (!ctx.config.store()) return NeedsStore(req);
    ControlReply error;
    auto body = BodyObject(req, error);
    if (body) body = Normalize(std::move(*body), req, error);
    if (!body) return error;
    auto name = NameOf(*body, req, error);
    if (!name) return error;
    body->erase("name");
    auto enabled = EnabledOf(*body, true, req, error);
    if (!enabled) return error;
    if (Lookup(ctx, *name).row) {
        return Error(req, 409, "already_exists",
                     "Provider " + *name + " exists; PUT or PATCH /admin/v1/providers/" + *name + " changes it",
                     "name");
    }
    return Save(ctx, req, *name, *enabled, *body, 201, "create");
}

ControlReply ReplaceProvider(AdminContext& ctx, const ControlRequest& req) {
    ControlReply error;
    auto edit = BeginEdit(ctx, req, error);
    if (!edit) return error;
    auto enabled = EnabledOf(edit->body, edit->found.row ? edit->found.row->enabled : true, req, error);
    if (!enabled) return error;
    if (edit->found.row) KeepSecret(edit->body, SpecOf(*edit->found.row));
    return Save(ctx, req, edit->name, *enabled, edit->body, 200, "replace");
}

ControlReply UpdateProvider(AdminContext& ctx, const ControlRequest& req) {
    ControlReply error;
    auto edit = BeginEdit(ctx, req, error);
    if (!edit) return error;
    if (edit->found.file) {
        return Error(req, 409, "defined_in_file",
                     "Provider " + req.param + " is defined in the config file; PUT a full definition to override it");
    }
    auto enabled = EnabledOf(edit->body, edit->found.row->enabled, req, error);
    if (!enabled) return error;
    json::object spec = SpecOf(*edit->found.row);
    KeepSecret(edit->body, spec);
    for (auto& [key, value] : edit->body) {
        if (value.is_null()) {
            spec.erase(key);  // back to the default
        } else {
            spec[key] = value;
        }
    }
    return Save(ctx, req, edit->name, *enabled, spec, 200, "update");
}

ControlReply DeleteProvider(AdminContext& ctx, const ControlRequest& req) {
    auto* store = ctx.config.store();
    if (!store) return NeedsStore(req);
    auto found = Lookup(ctx, req.param);
    if (found.file) {
        return Error(req, 409, "defined_in_file",
                     "Provider " + req.param + " is defined in the config file; remove it there");
    }
    if (!found.row) return NotFound(req, "Provider " + req.param);
    auto overlay = ctx.config.ReadOverlay();
    std::erase_if(overlay.providers, [&](const auto& p) { return p.name == found.row->name; });
    if (auto errors = ctx.config.Check(overlay); !errors.empty()) return Invalid(req, errors);
    store->DeleteProvider(found.row->name);
    auto outcome = ctx.config.Reload("admin: provider " + found.row->name + " deleted");
    Audit(ctx, req, "delete", "provider " + found.row->name, "");
    if (!outcome.published) return Invalid(req, outcome.errors);
    return Json(200, json::object{{"id", found.row->id}, {"name", found.row->name}, {"deleted", true}});
}

ControlReply EnableProvider(AdminContext& ctx, const ControlRequest& req) {
    return SetEnabled(ctx, req, true);
}

ControlReply DisableProvider(AdminContext& ctx, const ControlRequest& req) {
    return SetEnabled(ctx, req, false);
}

}  // namespace llmproxy::admin
