#include "proxy/auth.hpp"

#include "core/units.hpp"

namespace llmproxy::proxy {
namespace {

std::string_view Trim(std::string_view v) {
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return v;
}

core::LocalReply Unauthorized(std::string message) {
    return {401, "invalid_request_error", "invalid_api_key", std::move(message), {}, {}};
}

core::LocalReply Forbidden(std::string code, std::string message) {
    return {403, "permission_error", std::move(code), std::move(message), {}, {}};
}

}  // namespace

std::string_view PresentedKey(const Credentials& c) {
    std::string_view auth = Trim(c.authorization);
    if (auth.size() > 7 && (auth.substr(0, 7) == "Bearer " || auth.substr(0, 7) == "bearer ")) {
        return Trim(auth.substr(7));
    }
    if (!c.x_api_key.empty()) return Trim(c.x_api_key);
    return Trim(c.api_key);
}

AuthResult Authenticate(const KeySet& index, const Credentials& creds, const core::IpAddress& client_ip,
                        std::int64_t now_s) {
    AuthResult r;
    if (!index.enabled()) return r;
    const std::string_view presented = PresentedKey(creds);
    if (presented.empty()) {
        r.error = Unauthorized(
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' (or x-api-key / api-key).");
        return r;
    }
    const KeyEntry* entry = index.Find(core::Sha256(presented));
    if (entry == nullptr) {
        r.error = UnknownKey(presented);
        return r;
    }
    r.error = CheckKey(*entry, client_ip, now_s);
    if (!r.error) r.key = entry;
    return r;
}

std::optional<core::LocalReply> CheckKey(const KeyEntry& entry, const core::IpAddress& client_ip, std::int64_t now_s) {
    const core::ApiKeyConfig& key = entry.config;
    if (!key.active) return Forbidden("api_key_disabled", "The API key '" + key.name + "' is disabled.");
    if (key.expires_at != 0 && now_s >= key.expires_at) {
        return Forbidden("api_key_expired", "The API key '" + key.name + "' has expired.");
    }
    const auto& ranges = entry.allowed_ips;
    if (entry.allowed_ips_broken || (!ranges.empty() && !core::AnyContains(ranges, client_ip))) {
        return Forbidden("ip_not_allowed", "The API key '" + key.name + "' may not be used from this address.");
    }
    return std::nullopt;
}

core::LocalReply UnknownKey(std::string_view presented) {
    return Unauthorized("Incorrect API key provided: " + core::MaskKey(presented) + ".");
}

bool PassThroughAllowed(const core::ApiKeyConfig& key, std::string_view method, std::string_view path) {
    const bool is_delete = method == "DELETE";
    if (!key.allowed_endpoints) {
        // A key limited to some models is not meant to reach the whole account.
        const bool unlimited = key.allowed_models.size() == 1 && key.allowed_models[0] == "*";
        return unlimited && !is_delete;
    }
    for (const std::string& grant : *key.allowed_endpoints) {
        const auto space = grant.find(' ');
        std::string_view glob = grant;
        bool method_ok = !is_delete;  // a bare path never grants DELETE
        if (space != std::string::npos) {
            const std::string_view m = std::string_view(grant).substr(0, space);
            glob = std::string_view(grant).substr(space + 1);
            method_ok = m == "*" || m == method;
        }
        if (method_ok && core::GlobMatch(glob, path)) return true;
    }
    return false;
}

bool ModelAllowed(const core::ApiKeyConfig& key, std::string_view model) {
    for (const auto& pattern : key.allowed_models) {
        if (core::GlobMatch(pattern, model)) return true;
    }
    return false;
}

core::IpAddress ClientAddress(const core::IpAddress& peer, std::string_view xff,
                              const std::vector<core::Cidr>& trusted_proxies) {
    if (xff.empty() || !core::AnyContains(trusted_proxies, peer)) return peer;
    core::IpAddress client = peer;
    // Walk from the right: each hop appended the address it saw; stop at the first untrusted.
    while (!xff.empty()) {
        auto comma = xff.rfind(',');
        std::string_view hop = Trim(comma == std::string_view::npos ? xff : xff.substr(comma + 1));
        xff = comma == std::string_view::npos ? std::string_view() : xff.substr(0, comma);
        auto ip = core::IpAddress::Parse(hop);
        if (!ip) break;  // garbage: keep the last address we could trust
        client = *ip;
        if (!core::AnyContains(trusted_proxies, *ip)) break;
    }
    return client;
}

}  // namespace llmproxy::proxy
