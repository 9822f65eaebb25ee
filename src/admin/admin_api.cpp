#include "admin/admin_api.hpp"

#include <iterator>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "admin/config_api.hpp"
#include "admin/keys_api.hpp"
#include "admin/providers_api.hpp"
#include "admin/routes_api.hpp"
#include "admin/usage_api.hpp"

namespace llmproxy::admin {
namespace {

using pipeline::Access;
using pipeline::Endpoint;
using pipeline::EndpointSpec;
using pipeline::Match;
using namespace pipeline;  // Method bits

constexpr LocalHandler kCall = &AnswerOnControlThread;

#define LP_ROW(path, match, methods, bits, summary)                                                  \
    EndpointSpec {                                                                                   \
        path, match, Endpoint::kAdmin, methods, bits, Access::kAdmin, kCall, true, "/admin", summary \
    }

// Rows and their operations, index for index.
constexpr EndpointSpec kRows[] = {
    LP_ROW("/admin/v1/providers", Match::kExact, "GET", kGet, "List providers (file and store)"),
    LP_ROW("/admin/v1/providers", Match::kExact, "POST", kPost,
           "Create a provider (YAML fields, or provider_key/provider_type/api_base/api_key/model_mapping/is_enabled)"),
    LP_ROW("/admin/v1/providers/{id}", Match::kPattern, "GET", kGet, "Get a provider by numeric id or name"),
    LP_ROW("/admin/v1/providers/{id}", Match::kPattern, "PUT", kPut, "Replace a provider (api_key kept if not sent)"),
    LP_ROW("/admin/v1/providers/{id}", Match::kPattern, "PATCH", kPatch, "Change some fields of a provider"),
    LP_ROW("/admin/v1/providers/{id}", Match::kPattern, "DELETE", kDelete, "Delete a provider (it drains)"),
    LP_ROW("/admin/v1/providers/{id}/enable", Match::kPattern, "POST", kPost, "Enable a provider"),
    LP_ROW("/admin/v1/providers/{id}/disable", Match::kPattern, "POST", kPost, "Disable a provider"),
    LP_ROW("/admin/v1/routes", Match::kExact, "GET", kGet, "List model routes"),
    LP_ROW("/admin/v1/routes", Match::kExact, "POST", kPost, "Create a route: model -> targets, strategy, fallbacks"),
    LP_ROW("/admin/v1/routes/{model*}", Match::kPattern, "GET", kGet, "Get a route"),
    LP_ROW("/admin/v1/routes/{model*}", Match::kPattern, "PUT", kPut, "Replace a route"),
    LP_ROW("/admin/v1/routes/{model*}", Match::kPattern, "PATCH", kPatch, "Change some fields of a route"),
    LP_ROW("/admin/v1/routes/{model*}", Match::kPattern, "DELETE", kDelete, "Delete a route"),
    LP_ROW("/admin/v1/models", Match::kExact, "GET", kGet, "List model routes (alias of /admin/v1/routes)"),
    LP_ROW("/admin/v1/models", Match::kExact, "POST", kPost, "Create a route (alias of /admin/v1/routes)"),
    LP_ROW("/admin/v1/keys", Match::kExact, "GET", kGet, "List API keys (never their secrets)"),
    LP_ROW("/admin/v1/keys", Match::kExact, "POST", kPost, "Create an API key; its secret is returned once"),
    LP_ROW("/admin/v1/keys/{name}", Match::kPattern, "GET", kGet, "Get an API key"),
    LP_ROW("/admin/v1/keys/{name}", Match::kPattern, "PUT", kPut, "Replace a key's settings"),
    LP_ROW("/admin/v1/keys/{name}", Match::kPattern, "PATCH", kPatch, "Change limits, quota, models, IPs, expiry"),
    LP_ROW("/admin/v1/keys/{name}", Match::kPattern, "DELETE", kDelete, "Delete an API key"),
    LP_ROW("/admin/v1/keys/{name}/enable", Match::kPattern, "POST", kPost, "Enable an API key"),
    LP_ROW("/admin/v1/keys/{name}/disable", Match::kPattern, "POST", kPost, "Disable an API key"),
    LP_ROW("/admin/v1/keys/{name}/reset-quota", Match::kPattern, "POST", kPost, "Reset a key's quota counter"),
    LP_ROW("/admin/v1/keys/{name}/usage", Match::kPattern, "GET", kGet, "A key's usage by day (?since&until)"),
    LP_ROW("/admin/v1/credentials", Match::kExact, "GET", kGet, "List credentials (Python llm-proxy; = keys)"),
    LP_ROW("/admin/v1/credentials", Match::kExact, "POST", kPost,
           "Create a credential: key, name, allowed_models, is_enabled, rate_limit (rps; 0 refuses all)"),
    LP_ROW("/admin/v1/credentials/{name}", Match::kPattern, "GET", kGet, "Get a credential"),
    LP_ROW("/admin/v1/credentials/{name}", Match::kPattern, "PUT", kPut, "Replace a credential's settings"),
    LP_ROW("/admin/v1/credentials/{name}", Match::kPattern, "DELETE", kDelete, "Delete a credential"),
    LP_ROW("/admin/v1/usage", Match::kExact, "GET", kGet, "Usage totals by key, model, provider or day"),
    LP_ROW("/admin/v1/config/reload", Match::kExact, "POST", kPost, "Reload file + store now"),
    LP_ROW("/admin/v1/config/version", Match::kExact, "GET", kGet, "The serving configuration's version"),
    LP_ROW("/admin/v1/config", Match::kExact, "GET", kGet, "The effective configuration, secrets masked"),
    LP_ROW("/admin/v1/audit", Match::kExact, "GET", kGet, "The audit log of admin changes (?limit)"),
    LP_ROW("/config", Match::kExact, "GET", kGet, "The effective configuration (alias)"),
    LP_ROW("/config/reload", Match::kExact, "POST", kPost, "Reload (alias)"),
};

constexpr AdminOp kOps[] = {
    &ListProviders,   &CreateProvider,  &GetProvider,  &ReplaceProvider, &UpdateProvider,  &DeleteProvider,
    &EnableProvider,  &DisableProvider, &ListRoutes,   &CreateRoute,     &GetRoute,        &ReplaceRoute,
    &UpdateRoute,     &DeleteRoute,     &ListRoutes,   &CreateRoute,     &ListKeys,        &CreateKey,
    &GetKey,          &ReplaceKey,      &UpdateKey,    &DeleteKey,       &EnableKey,       &DisableKey,
    &ResetKeyQuota,   &KeyUsage,        &ListKeys,     &CreateKey,       &GetKey,          &ReplaceKey,
    &DeleteKey,       &Usage,           &ReloadConfig, &ConfigVersion,   &EffectiveConfig, &AuditLog,
    &EffectiveConfig, &ReloadConfig,
};
static_assert(std::size(kRows) == std::size(kOps), "every admin row has its operation");

#undef LP_ROW

}  // namespace

std::span<const EndpointSpec> AdminEndpoints() {
    return kRows;
}

ControlReply AdminApi::Handle(const ControlRequest& request) {
    const std::span<const EndpointSpec> rows(kRows);
    if (request.row < rows.data() || request.row >= rows.data() + rows.size()) {
        return Error(request, 500, "internal_error", "not an admin operation");
    }
    try {
        return kOps[request.row - rows.data()](context_, request);
    } catch (const store::SqlError& e) {
        spdlog::error("admin: {} {}: store: {}", std::string(http::to_string(request.method)), request.row->path,
                      e.what());
        return Error(request, 503, "store_unavailable", "The store could not complete the change; nothing was changed");
    } catch (const std::exception& e) {
        spdlog::error("admin: {} {}: {}", std::string(http::to_string(request.method)), request.row->path, e.what());
        return Error(request, 500, "internal_error", "The change failed; nothing was changed");
    }
}

Task<ControlReply> AdminApi::Call(ControlRequest request) {
    auto token = asio::use_awaitable_t<Executor>{};
    co_return co_await asio::async_initiate<decltype(token), void(ControlReply)>(
        [this](auto handler, ControlRequest req) {
            auto worker = asio::get_associated_executor(handler);
            std::unique_lock lock(mu_);
            if (closed_) {
                lock.unlock();
                asio::post(worker, [h = std::move(handler), req = std::move(req)]() mutable {
                    std::move(h)(Error(req, 503, "shutting_down", "The gateway is shutting down"));
                });
                return;
            }
            asio::post(control_, [this, h = std::move(handler), req = std::move(req), worker]() mutable {
                ControlReply reply = Handle(req);
                asio::post(worker,
                           [h = std::move(h), reply = std::move(reply)]() mutable { std::move(h)(std::move(reply)); });
            });
        },
        token, std::move(request));
}

void AdminApi::Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
}

}  // namespace llmproxy::admin
