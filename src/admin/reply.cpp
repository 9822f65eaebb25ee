#include "admin/reply.hpp"

#include <chrono>

#include <boost/url/parse_query.hpp>
#include <spdlog/spdlog.h>

#include "core/error_reply.hpp"
#include "core/secret_hash.hpp"

namespace llmproxy::admin {
namespace {

const char* TypeOf(unsigned status) {
    switch (status) {
        case 401:
            return "authentication_error";
        case 403:
            return "permission_error";
        case 404:
            return "not_found_error";
        case 409:
            return "conflict_error";
        default:
            return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

// "file.yaml:3:5: providers[0].base_url: must start with ..." -> "providers[0].base_url".
std::string FieldOf(const std::string& error) {
    std::size_t at = 0;
    while ((at = error.find(": ", at)) != std::string::npos) {
        at += 2;
        const auto end = error.find(": ", at);
        if (end == std::string::npos) break;
        const std::string token = error.substr(at, end - at);
        if (!token.empty() && token.find(' ') == std::string::npos &&
            std::isalpha(static_cast<unsigned char>(token[0])))
            return token;
    }
    return {};
}

}  // namespace

ControlReply Json(unsigned status, const json::value& body) {
    return {status, json::serialize(body)};
}

ControlReply Error(const ControlRequest& req, unsigned status, std::string_view code, std::string message,
                   std::string_view param) {
    core::LocalReply reply{static_cast<int>(status), TypeOf(status),     std::string(code),
                           std::move(message),       std::string(param), {}};
    return {status, core::ErrorBody(reply, req.request_id)};
}

ControlReply NotFound(const ControlRequest& req, std::string_view what) {
    return Error(req, 404, "not_found", std::string(what) + " does not exist");
}

ControlReply NeedsStore(const ControlRequest& req) {
    return Error(req, 409, "store_not_configured",
                 "Changes through the admin API are kept in the store: set database.url (e.g. sqlite://llm-proxy.db "
                 "or postgres://...) and restart");
}

ControlReply Invalid(const ControlRequest& req, const std::vector<std::string>& errors) {
    std::string message = errors.empty() ? "the configuration is not valid" : errors.front();
    if (errors.size() > 1) message += " (and " + std::to_string(errors.size() - 1) + " more problems)";
    return Error(req, 400, "invalid_config", message, errors.empty() ? std::string() : FieldOf(errors.front()));
}

std::optional<json::object> BodyObject(const ControlRequest& req, ControlReply& error) {
    boost::system::error_code ec;
    json::value v = json::parse(req.body, ec);
    if (ec || !v.is_object()) {
        error =
            Error(req, 400, "invalid_json",
                  ec ? "The body is not valid JSON: " + ec.message() : std::string("The body must be a JSON object"));
        return std::nullopt;
    }
    return std::move(v.as_object());
}

std::map<std::string, std::string> QueryParams(const ControlRequest& req) {
    std::map<std::string, std::string> out;
    auto parsed = boost::urls::parse_query(req.query);
    if (!parsed) return out;
    for (const auto& p : *parsed) out[p.key.decode()] = p.has_value ? p.value.decode() : std::string();
    return out;
}

void Audit(AdminContext& ctx, const ControlRequest& req, std::string_view action, std::string_view target,
           std::string_view detail) {
    spdlog::info("audit: admin at {} {} {} ({}) request {}", req.actor, action, target, detail, req.request_id);
    if (auto* store = ctx.config.store()) {
        const auto now =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
                .count();
        try {
            store->AppendAudit(
                {now, "admin@" + req.actor, std::string(action), std::string(target), std::string(detail)});
        } catch (const std::exception& e) {
            spdlog::warn("audit: cannot write to the store: {}", e.what());
        }
    }
}

std::string Masked(std::string_view secret) {
    return secret.empty() ? std::string() : core::MaskKey(secret);
}

bool Printable(std::string_view value) {
    for (unsigned char c : value) {
        if (c < 0x20 || c == 0x7f) return false;
    }
    return true;
}

}  // namespace llmproxy::admin
