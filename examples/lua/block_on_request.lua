-- hooks.on_request, written for the Go LLMProxy and run unchanged: `request.body` is the raw
-- JSON string, `continue = false` answers 403 with `error` as the message.
log("on_request " .. request.method .. " " .. request.path .. " from " .. request.client_ip)
if string.find(request.body, "forbidden-topic", 1, true) then
    return { continue = false, error = "This topic is not allowed" }
end
return { continue = true }
