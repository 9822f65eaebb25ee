#include "core/secret_hash.hpp"
#include "http/wire.hpp"
#include "proxy/auth.hpp"
#include "stages/auth_pipeline.hpp"
#include "stages/stages.hpp"

namespace llmproxy::stages {
namespace {

std::string_view Authorization(const ClientRequest& req) {
    return wire::FindField(req, http::field::authorization);
}

}  // namespace

proxy::Credentials CredentialsOf(const ClientRequest& req) {
    return {Authorization(req), wire::FindUnknownField(req, "x-api-key"), wire::FindUnknownField(req, "api-key")};
}

bool EndpointStage::Run(RequestContext& ctx, const pipeline::EndpointTable& table) {
    auto& req = ctx.request();
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    auto found = table.Lookup(path, req.method());
    ctx.endpoint = found.row;
    ctx.path_param = found.param;
    ctx.dialect = pipeline::ClientDialect(*ctx.endpoint, !wire::FindUnknownField(req, "anthropic-version").empty());
    if (ctx.endpoint->endpoint == pipeline::Endpoint::kUnknown) {
        ctx.Refuse(core::NotFound("Unknown path: " + std::string(path), "unknown_url"));
        return false;
    }
    if (!found.allow.empty()) {
        ctx.Refuse(core::LocalReply{405,
                                    "invalid_request_error",
                                    "method_not_allowed",
                                    std::string(req.method_string()) + " is not allowed on " + std::string(path),
                                    {},
                                    std::move(found.allow)});
        return false;
    }
    return true;
}

bool AuthStage::Admin(RequestContext& ctx) {
    const auto& admin = ctx.snap().admin_key_hash;
    if (!admin) {
        ctx.Refuse(core::LocalReply{403,
                                    "permission_error",
                                    "admin_key_not_configured",
                                    "The admin API needs server.admin_key (or ADMIN_KEY in the environment) to be set",
                                    {},
                                    {}});
        return false;
    }
    std::string_view presented = Authorization(ctx.request());
    if (presented.size() > 7 && (presented.starts_with("Bearer ") || presented.starts_with("bearer "))) {
        presented.remove_prefix(7);
        while (!presented.empty() && presented.front() == ' ') presented.remove_prefix(1);
    } else {
        presented = {};
    }
    if (presented.empty() || !core::ConstantTimeEqual(core::Sha256(presented), *admin)) {
        ctx.Refuse(core::LocalReply{401,
                                    "invalid_request_error",
                                    "invalid_admin_key",
                                    "This needs the admin key: Authorization: Bearer <server.admin_key>",
                                    {},
                                    {}});
        return false;
    }
    return true;
}

bool AuthStage::Run(RequestContext& ctx, std::int64_t now_s) {
    if (ctx.endpoint->access == pipeline::Access::kAdmin) return Admin(ctx);
    if (ctx.endpoint->access == pipeline::Access::kOpen) return true;
    const auto& req = ctx.request();
    const auto peer = core::IpAddress::Parse(ctx.client_ip).value_or(core::IpAddress{});
    // Every X-Forwarded-For line, in order: a proxy that appends a line of its own (HAProxy)
    // must not leave the client's own first line as the one believed.
    std::string joined;
    std::string_view xff;
    for (auto [it, end] = req.equal_range("x-forwarded-for"); it != end; ++it) {
        const std::string_view line(it->value().data(), it->value().size());
        if (xff.empty() && joined.empty()) {
            xff = line;
            continue;
        }
        if (joined.empty()) joined.assign(xff);
        joined.append(", ").append(line);
        xff = joined;
    }
    const auto client = proxy::ClientAddress(peer, xff, ctx.snap().trusted_proxies);
    const proxy::Credentials creds = CredentialsOf(req);
    if (!ctx.config().auth.pipeline.empty()) {
        if (!RunAuthPipeline(ctx, creds, client, now_s)) return false;
    } else {
        proxy::AuthResult auth = proxy::Authenticate(*ctx.keys, creds, client, now_s);
        if (auth.error) {
            ctx.Refuse(std::move(*auth.error));
            return false;
        }
        ctx.key = auth.key;
    }
    if (ctx.endpoint->endpoint == pipeline::Endpoint::kOtherV1 && ctx.key) {
        // Pass-through reaches the provider's whole account with its key: granted per key.
        const auto method = req.method_string();
        const std::string_view target(req.target().data(), req.target().size());
        const std::string_view path = target.substr(0, target.find('?'));
        if (!proxy::PassThroughAllowed(ctx.key->config, std::string_view(method.data(), method.size()), path)) {
            ctx.Refuse(core::LocalReply{403,
                                        "permission_error",
                                        "endpoint_not_allowed",
                                        "The API key '" + ctx.key->config.name + "' may not use " +
                                            std::string(method.data(), method.size()) + " " + std::string(path) +
                                            " (auth.keys[].allowed_endpoints).",
                                        {},
                                        {}});
            return false;
        }
    }
    return true;
}

}  // namespace llmproxy::stages
