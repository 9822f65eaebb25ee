-- scripts.error_handler: every error the gateway answers, in one company-wide shape.
local codes = { auth_error = "E_AUTH", rate_limit = "E_RATE", backend_error = "E_UPSTREAM",
                timeout = "E_TIMEOUT", invalid_request = "E_REQUEST", script_error = "E_INTERNAL" }
return {
    status_code = error.status_code,
    body = {
        success = false,
        error = { code = codes[error.type] or "E_UNKNOWN", type = error.type, message = error.message },
        request_id = request.id,
    },
}
