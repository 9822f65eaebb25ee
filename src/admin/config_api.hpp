#pragma once
// /admin/v1/config: reload (POST), version, the effective configuration with every secret
// masked and where each provider and route came from; /admin/v1/audit. The Python llm-proxy's
// config calls and the multi-vendor proxy's /config, /config/reload are these.
#include "admin/reply.hpp"

namespace llmproxy::admin {

ControlReply ReloadConfig(AdminContext& ctx, const ControlRequest& req);
ControlReply ConfigVersion(AdminContext& ctx, const ControlRequest& req);
ControlReply EffectiveConfig(AdminContext& ctx, const ControlRequest& req);
ControlReply AuditLog(AdminContext& ctx, const ControlRequest& req);

}  // namespace llmproxy::admin
