#pragma once
// /admin/v1/usage: totals from the usage ledger by key, model, provider or day.
#include "admin/reply.hpp"

namespace llmproxy::admin {

/// GET /admin/v1/usage?group_by=key|model|provider|day&since=&until=&key=
ControlReply Usage(AdminContext& ctx, const ControlRequest& req);
/// The same, for one key (`key` may be empty: every key) grouped by `group_by` unless the
/// query says otherwise.
ControlReply UsageReport(AdminContext& ctx, const ControlRequest& req, const std::string& key,
                         const std::string& group_by);

}  // namespace llmproxy::admin
