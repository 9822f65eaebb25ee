-- scripts.request_transform: rewrite the request for this backend.
-- `request.body` is what would be sent to this backend (the model already mapped); the
-- returned body is sent instead (scanned and size-checked again), and the headers are added.
local body = request.body
if body == nil then return nil end
if body.model == "gpt-4o-mini" then
    body.model = "llama-3.1-8b-instruct"
end
body.temperature = body.temperature or 0.2
return {
    body = body,
    headers = { ["X-Rewritten-By"] = "llm-proxy", ["X-Original-Model"] = request.model },
}
