#pragma once
// /admin/v1/keys (ours) and /admin/v1/credentials (the Python llm-proxy's): API keys in the
// store. The secret is returned once, at creation; only its SHA-256 is stored. Keys from the
// config file are listed, not changed here.
#include "admin/reply.hpp"

namespace llmproxy::admin {

ControlReply ListKeys(AdminContext& ctx, const ControlRequest& req);
ControlReply CreateKey(AdminContext& ctx, const ControlRequest& req);
ControlReply GetKey(AdminContext& ctx, const ControlRequest& req);
ControlReply ReplaceKey(AdminContext& ctx, const ControlRequest& req);  // PUT: every field not sent is reset
ControlReply UpdateKey(AdminContext& ctx, const ControlRequest& req);   // PATCH
ControlReply DeleteKey(AdminContext& ctx, const ControlRequest& req);
ControlReply EnableKey(AdminContext& ctx, const ControlRequest& req);
ControlReply DisableKey(AdminContext& ctx, const ControlRequest& req);
ControlReply ResetKeyQuota(AdminContext& ctx, const ControlRequest& req);
ControlReply KeyUsage(AdminContext& ctx, const ControlRequest& req);

}  // namespace llmproxy::admin
