#include "admin/routes_api.hpp"

namespace llmproxy::admin {
namespace {

constexpr std::string_view kSpecFields[] = {"strategy", "fallback_models", "targets"};

json::object View(const std::string& model, const core::ModelRouting& m) {
    json::array targets;
    for (const auto& t : m.targets) {
        targets.push_back(
            json::object{{"provider", t.provider}, {"model", t.model.empty() ? model : t.model}, {"weight", t.weight}});
    }
    return json::object{{"model", model},
                        {"strategy", m.strategy.empty() ? json::value() : json::value(m.strategy)},
                        {"fallback_models", json::array(m.fallback_models.begin(), m.fallback_models.end())},
                        {"targets", std::move(targets)},
                        {"source", m.origin}};
}

std::optional<store::RouteRow> Stored(AdminContext& ctx, const std::string& model) {
    for (auto& r : ctx.config.store()->ListRoutes()) {
        if (r.model == model) return std::move(r);
    }
    return std::nullopt;
}

json::object SpecOf(const store::RouteRow& row) {
    boost::system::error_code ec;
    auto v = json::parse(row.spec, ec);
    return !ec && v.is_object() ? v.as_object() : json::object{};
}

// Only the route's own fields; "model" and what answers show are dropped.
std::optional<json::object> SpecFrom(const json::object& body, const ControlRequest& req, ControlReply& error) {
    json::object spec;
    for (const auto& [name, value] : body) {
        if (name == "model" || name == "source") continue;
        bool known = false;
        for (auto f : kSpecFields) known = known || f == name;
        if (!known) {
            error = Error(req, 400, "invalid_value",
                          std::string(name) + ": unknown field (allowed: strategy, fallback_models, targets)", name);
            return std::nullopt;
        }
        if (!value.is_null()) spec[name] = value;
    }
    return spec;
}

ControlReply Save(AdminContext& ctx, const ControlRequest& req, const std::string& model, const json::object& spec,
                  unsigned status, std::string_view action) {
    const std::string text = json::serialize(spec);
    auto overlay = ctx.config.ReadOverlay();
    std::erase_if(overlay.routes, [&](const auto& r) { return r.model == model; });
    overlay.routes.push_back({model, text});
    if (auto errors = ctx.config.Check(overlay); !errors.empty()) return Invalid(req, errors);
    ctx.config.store()->SaveRoute(model, text);
    auto outcome = ctx.config.Reload("admin: route " + model);
    std::string fields;
    for (const auto& [key, value] : spec) fields += (fields.empty() ? "" : ",") + std::string(key);
    Audit(ctx, req, action, "route " + model, "fields: " + fields);
    if (!outcome.published) return Invalid(req, outcome.errors);
    const auto& models = ctx.config.current()->config->routing.models;
    if (auto it = models.find(model); it != models.end()) return Json(status, View(model, it->second));
    return Json(status, json::object{{"model", model},
                                     {"targets", json::array{}},
                                     {"source", "store"},
                                     {"note", "every target's provider is disabled: the route is not serving"}});
}

ControlReply Change(AdminContext& ctx, const ControlRequest& req, bool replace) {
    if (!ctx.config.store()) return NeedsStore(req);
    ControlReply error;
    auto body = BodyObject(req, error);
    if (!body) return error;
    auto spec = SpecFrom(*body, req, error);
    if (!spec) return error;
    auto row = Stored(ctx, req.param);
    const auto& models = ctx.config.current()->config->routing.models;
    if (!row && !models.count(req.param)) return NotFound(req, "Route " + req.param);
    if (!replace) {
        if (!row) {
            return Error(req, 409, "defined_in_file",
                         "Route " + req.param +
                             " is defined in the config file; PUT a full "
                             "definition to override it");
        }
        json::object merged = SpecOf(*row);
        for (const auto& [name, value] : *body) {
            if (value.is_null()) merged.erase(name);
        }
        for (const auto& [name, value] : *spec) merged[name] = value;
        spec = std::move(merged);
    }
    return Save(ctx, req, req.param, *spec, 200, replace ? "replace" : "update");
}

}  // namespace

ControlReply ListRoutes(AdminContext& ctx, const ControlRequest&) {
    json::array data;
    for (const auto& [model, m] : ctx.config.current()->config->routing.models) data.push_back(View(model, m));
    return Json(200, json::object{{"object", "list"}, {"data", std::move(data)}});
}

ControlReply GetRoute(AdminContext& ctx, const ControlRequest& req) {
    const auto& models = ctx.config.current()->config->routing.models;
    if (auto it = models.find(req.param); it != models.end()) return Json(200, View(req.param, it->second));
    return NotFound(req, "Route " + req.param);
}

ControlReply CreateRoute(AdminContext& ctx, const ControlRequest& req) {
    if (!ctx.config.store()) return NeedsStore(req);
    ControlReply error;
    auto body = BodyObject(req, error);
    if (!body) return error;
    const auto* model = body->if_contains("model");
    if (!model || !model->is_string() || model->as_string().empty() || model->as_string().size() > 256 ||
        !Printable(model->as_string())) {
        return Error(req, 400, "invalid_value", "model is required: the public model name", "model");
    }
    auto spec = SpecFrom(*body, req, error);
    if (!spec) return error;
    const std::string name(model->as_string());
    if (Stored(ctx, name)) {
        return Error(req, 409, "already_exists", "Route " + name + " exists; PUT or PATCH /admin/v1/routes/" + name,
                     "model");
    }
    return Save(ctx, req, name, *spec, 201, "create");
}

ControlReply ReplaceRoute(AdminContext& ctx, const ControlRequest& req) {
    return Change(ctx, req, true);
}

ControlReply UpdateRoute(AdminContext& ctx, const ControlRequest& req) {
    return Change(ctx, req, false);
}

ControlReply DeleteRoute(AdminContext& ctx, const ControlRequest& req) {
    auto* store = ctx.config.store();
    if (!store) return NeedsStore(req);
    if (!Stored(ctx, req.param)) {
        if (ctx.config.current()->config->routing.models.count(req.param)) {
            return Error(req, 409, "defined_in_file",
                         "Route " + req.param + " is defined in the config file; remove it there");
        }
        return NotFound(req, "Route " + req.param);
    }
    auto overlay = ctx.config.ReadOverlay();
    std::erase_if(overlay.routes, [&](const auto& r) { return r.model == req.param; });
    if (auto errors = ctx.config.Check(overlay); !errors.empty()) return Invalid(req, errors);
    store->DeleteRoute(req.param);
    auto outcome = ctx.config.Reload("admin: route " + req.param + " deleted");
    Audit(ctx, req, "delete", "route " + req.param, "");
    if (!outcome.published) return Invalid(req, outcome.errors);
    return Json(200, json::object{{"model", req.param}, {"deleted", true}});
}

}  // namespace llmproxy::admin
