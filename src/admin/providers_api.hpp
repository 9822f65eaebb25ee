#pragma once
// /admin/v1/providers: the same fields as a provider in the YAML file, and the Python
// llm-proxy's names for them (provider_key, provider_type, api_base, model_mapping,
// is_enabled); numeric ids and names both work in the path. api_key is write-only.
#include "admin/reply.hpp"

namespace llmproxy::admin {

ControlReply ListProviders(AdminContext& ctx, const ControlRequest& req);
ControlReply CreateProvider(AdminContext& ctx, const ControlRequest& req);
ControlReply GetProvider(AdminContext& ctx, const ControlRequest& req);
ControlReply ReplaceProvider(AdminContext& ctx, const ControlRequest& req);  // PUT
ControlReply UpdateProvider(AdminContext& ctx, const ControlRequest& req);   // PATCH
ControlReply DeleteProvider(AdminContext& ctx, const ControlRequest& req);
ControlReply EnableProvider(AdminContext& ctx, const ControlRequest& req);
ControlReply DisableProvider(AdminContext& ctx, const ControlRequest& req);

}  // namespace llmproxy::admin
