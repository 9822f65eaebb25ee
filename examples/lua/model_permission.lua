-- scripts.auth: expensive models only for some keys.
-- Runs after the gateway's own checks passed (key valid, active, not expired, IP allowed);
-- it can refuse a request, never admit one those checks refused.
local premium = { ["gpt-4o"] = true, ["o1"] = true }
local allowed_keys = { ["team-research"] = true }
local model = request.body and request.body.model or ""
if premium[model] and not allowed_keys[key_info.name] then
    return { allow = false, status_code = 403,
             reason = "The key '" .. key_info.name .. "' may not use " .. model .. "." }
end
return { allow = true }
