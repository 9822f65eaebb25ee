-- scripts.rate_limit: fewer requests per key during peak hours, and a per-tenant cap that is
-- not tied to any API key (counted in `shared`, this worker's table that survives calls).
local tenant = request.headers["X-Tenant"] or key_info.user_id or "anonymous"
local minute = math.floor(current_time.timestamp / 60)
local counts = shared.tenant_counts or {}
if counts.minute ~= minute then counts = { minute = minute } end
counts[tenant] = (counts[tenant] or 0) + 1
shared.tenant_counts = counts

local peak = current_time.hour >= 9 and current_time.hour < 18 and current_time.weekday >= 1 and current_time.weekday <= 5
-- 600 requests per minute per tenant; a client may ask for a stricter limit, never a looser one.
local per_tenant = math.min(600, tonumber(request.headers["X-Tenant-Limit"] or "") or 600)
if counts[tenant] > per_tenant then
    return { allow = false, reason = "Tenant " .. tenant .. " is over its per-minute limit.", retry_after = 60 - current_time.timestamp % 60 }
end
if peak and rate_limit_status.key_remaining >= 0 and rate_limit_status.key_remaining < 2 then
    return { allow = false, reason = "Peak hours: slow down.", retry_after = 30 }
end
return nil
