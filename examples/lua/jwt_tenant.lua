-- hooks.on_request: the tenant from a JWT (HS256, verified with hash.hmac_sha256), sent
-- upstream as X-Tenant. A missing, forged or expired token stops the request (403).
local secret = "change-me-tenant-secret"
local auth = request.headers["X-Tenant-Token"]
if not auth then
    return { continue = false, error = "missing X-Tenant-Token" }
end
local parts = string_utils.split(auth, ".")
if #parts ~= 3 then
    return { continue = false, error = "malformed tenant token" }
end
local expected = base64.url_encode(hash.hmac_sha256(secret, parts[1] .. "." .. parts[2], "raw"))
if expected ~= parts[3] then
    return { continue = false, error = "bad tenant token signature" }
end
local claims = json.decode(base64.url_decode(parts[2]) or "")
if not claims or not claims.tenant then
    return { continue = false, error = "tenant token has no tenant claim" }
end
if claims.exp and claims.exp < now() then
    return { continue = false, error = "tenant token expired" }
end
return { continue = true, modified = true, headers = { ["X-Tenant"] = claims.tenant } }
