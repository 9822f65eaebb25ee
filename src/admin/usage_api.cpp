#include "admin/usage_api.hpp"

#include <algorithm>
#include <climits>

#include "core/quota_period.hpp"

namespace llmproxy::admin {
namespace {

// Unix seconds, or UTC "2026-12-03T00:00:00Z", or a day "2026-12-03": milliseconds.
std::optional<std::int64_t> TimeMs(const std::string& text) {
    if (text.empty()) return std::nullopt;
    if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }) && text.size() <= 12) {
        return std::stoll(text) * 1000;
    }
    auto t = core::ParseUtcTime(text.size() == 10 ? text + "T00:00:00Z" : text);
    if (!t) return std::nullopt;
    return *t * 1000;
}

}  // namespace

ControlReply UsageReport(AdminContext& ctx, const ControlRequest& req, const std::string& key,
                         const std::string& group_by) {
    auto* store = ctx.config.store();
    if (!store) return NeedsStore(req);
    auto q = QueryParams(req);
    const std::string by = q.count("group_by") ? q["group_by"] : group_by;
    if (by != "key" && by != "model" && by != "provider" && by != "day") {
        return Error(req, 400, "invalid_value", "group_by must be key, model, provider or day", "group_by");
    }
    std::int64_t since = 0, until = INT64_MAX;
    for (auto [name, out] : {std::pair{"since", &since}, std::pair{"until", &until}}) {
        if (!q.count(name)) continue;
        auto ms = TimeMs(q[name]);
        if (!ms)
            return Error(req, 400, "invalid_value", std::string(name) + " must be unix seconds or a UTC date", name);
        *out = *ms;
    }
    const std::string only = key.empty() && q.count("key") ? q["key"] : key;
    json::array data;
    json::object total{{"requests", 0}, {"prompt_tokens", 0}, {"completion_tokens", 0}, {"total_tokens", 0}};
    std::int64_t requests = 0, prompt = 0, completion = 0, all = 0;
    for (const auto& row : store->UsageTotals(since, by, until, only)) {
        data.push_back(json::object{{by, row.group},
                                    {"requests", row.requests},
                                    {"prompt_tokens", row.prompt_tokens},
                                    {"completion_tokens", row.completion_tokens},
                                    {"total_tokens", row.total_tokens}});
        requests += row.requests;
        prompt += row.prompt_tokens;
        completion += row.completion_tokens;
        all += row.total_tokens;
    }
    total = {
        {"requests", requests}, {"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", all}};
    json::object out{{"object", "list"}, {"group_by", by}, {"data", std::move(data)}, {"total", std::move(total)}};
    if (!only.empty()) out["key"] = only;
    return Json(200, out);
}

ControlReply Usage(AdminContext& ctx, const ControlRequest& req) {
    return UsageReport(ctx, req, "", "key");
}

}  // namespace llmproxy::admin
