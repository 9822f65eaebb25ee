-- scripts.response_transform: the client sees the model name it asked for, not the backend's
-- (after model_map or a request_transform rename). Non-stream JSON answers only; a stream
-- passes untouched.
local body = response.body
if type(body) ~= "table" or body.model == nil then
    return nil
end
body.model = request.model
return { body = body }
