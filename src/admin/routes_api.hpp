#pragma once
// /admin/v1/routes (alias /admin/v1/models): a public model -> its targets (provider, upstream
// model, weight), strategy and fallback models, i.e. routing.models entries, kept in the store.
#include "admin/reply.hpp"

namespace llmproxy::admin {

ControlReply ListRoutes(AdminContext& ctx, const ControlRequest& req);
ControlReply CreateRoute(AdminContext& ctx, const ControlRequest& req);
ControlReply GetRoute(AdminContext& ctx, const ControlRequest& req);
ControlReply ReplaceRoute(AdminContext& ctx, const ControlRequest& req);
ControlReply UpdateRoute(AdminContext& ctx, const ControlRequest& req);
ControlReply DeleteRoute(AdminContext& ctx, const ControlRequest& req);

}  // namespace llmproxy::admin
