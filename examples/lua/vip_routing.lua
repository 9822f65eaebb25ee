-- scripts.routing: VIP callers go to the fast backend.
-- A caller is VIP when the X-User-Tier header says so, or when the body's `user` field starts
-- with "vip-". Returning nil keeps the route's configured strategy; an unhealthy choice falls
-- back to it as well (the gateway never sends to a backend its health checks took out).
local tier = request.headers["X-User-Tier"]
local user = request.body and request.body.user or ""
if tier == "vip" or string_utils.starts_with(user, "vip-") then
    local fast = backends["fast"]
    if fast and fast.healthy then
        return "fast"
    end
end
return nil
