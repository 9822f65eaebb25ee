#include "proxy/stored_key_record.hpp"

#include <charconv>
#include <cmath>

#include <boost/json.hpp>

#include "core/quota_period.hpp"
#include "core/secret_hash.hpp"

namespace llmproxy::proxy {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

std::optional<double> Number(std::string_view text) {
    while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
    while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) return std::nullopt;
    return v;
}

std::vector<std::string> List(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        const auto comma = text.find(',');
        std::string_view item = text.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (!item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return out;
}

// status: a number as the Go LLMProxy's KeyStatus, or its name. Anything else is refused (as
// there: an unknown status counts as disabled).
void ApplyStatus(std::string_view value, StoredKeyRecord& r) {
    const auto n = Number(value);
    const std::string_view name = !n        ? value
                                  : *n == 0 ? "active"
                                  : *n == 1 ? "disabled"
                                  : *n == 2 ? "quota_exceeded"
                                  : *n == 3 ? "expired"
                                            : "invalid";
    if (name == "active") return;
    if (name == "quota_exceeded") {
        r.quota_exhausted = true;
    } else if (name == "expired") {
        r.config.expires_at = 1;  // in the past: refused as expired
    } else {
        r.config.active = false;
    }
}

void ApplyLimit(std::string_view field, std::string_view value, core::KeyLimits& l) {
    const auto n = Number(value);
    if (!n || *n < 0) return;
    if (field == "requests_per_second") l.requests_per_second = *n;
    if (field == "requests_per_minute") l.requests_per_minute = *n;
    if (field == "tokens_per_minute") l.tokens_per_minute = *n;
    if (field == "max_concurrent") l.max_concurrent = static_cast<int>(*n);
}

StoredKeyRecord FromFields(Fields fields, std::string_view presented) {
    StoredKeyRecord r;
    core::ApiKeyConfig& k = r.config;
    k.hash = core::Sha256(presented);
    k.key_hint = core::MaskKey(presented);
    k.name = k.key_hint;
    std::optional<double> total, used;
    for (auto& [field, value] : fields) {
        if (field == "status") ApplyStatus(value, r);
        if (field == "name" && !value.empty()) k.name = value;
        if (field == "user_id") k.user_id = value;
        if (field == "total_quota") total = Number(value);
        if (field == "used_quota") used = Number(value);
        if (field == "balance") {
            const auto b = Number(value);
            if (!b || *b <= 0) r.quota_exhausted = true;
        }
        if (field == "expires_at" && !value.empty()) {
            const auto n = Number(value);
            const auto t = n ? std::optional<std::int64_t>(static_cast<std::int64_t>(*n)) : core::ParseUtcTime(value);
            if (!t) k.active = false;  // an expiry that does not parse: fail closed
            if (t && *t > 0 && (k.expires_at == 0 || *t < k.expires_at)) k.expires_at = *t;
        }
        if (field == "allowed_models" && !value.empty()) k.allowed_models = List(value);
        if (field == "allowed_ips") k.allowed_ips = List(value);
        ApplyLimit(field, value, k.limits);
        k.metadata[field] = std::move(value);
    }
    if (total && *total > 0 && used.value_or(0) >= *total) r.quota_exhausted = true;
    return r;
}

std::size_t Bytes(const Fields& fields) {
    std::size_t n = 0;
    for (const auto& [f, v] : fields) n += f.size() + v.size();
    return n;
}

// A JSON value as a field's text: strings as they are, lists joined by commas, the rest as JSON.
std::string Text(const boost::json::value& v) {
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_array()) {
        std::string out;
        for (const auto& item : v.get_array()) {
            if (!out.empty()) out += ',';
            out += Text(item);
        }
        return out;
    }
    return boost::json::serialize(v);
}

}  // namespace

std::string StoredKeyName(std::string_view pattern, std::string_view presented) {
    std::string out(pattern);
    for (auto at = out.find("{api_key}"); at != std::string::npos; at = out.find("{api_key}", at + presented.size())) {
        out.replace(at, 9, presented);
    }
    return out;
}

std::optional<StoredKeyRecord> ReadKeyRecordFields(const std::vector<std::string>& flat, std::string_view presented) {
    if (flat.size() % 2 != 0 || flat.size() / 2 > kMaxRecordFields) return std::nullopt;
    Fields fields;
    for (std::size_t i = 0; i < flat.size(); i += 2) fields.emplace_back(flat[i], flat[i + 1]);
    if (Bytes(fields) > kMaxRecordBytes) return std::nullopt;
    return FromFields(std::move(fields), presented);
}

std::optional<StoredKeyRecord> ReadKeyRecordJson(std::string_view json, std::string_view presented) {
    if (json.size() > kMaxRecordBytes) return std::nullopt;
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(json, ec);
    if (ec || !v.is_object() || v.get_object().size() > kMaxRecordFields) return std::nullopt;
    Fields fields;
    for (const auto& member : v.get_object()) fields.emplace_back(std::string(member.key()), Text(member.value()));
    return FromFields(std::move(fields), presented);
}

}  // namespace llmproxy::proxy
