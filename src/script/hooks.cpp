// The Go LLMProxy's wired lifecycle hooks (hooks.on_*): its globals, verbatim — `request` with
// `body` as the raw JSON string, `response`, `error_message`, `metadata` (always {}),
// `timestamp` — and its return {continue, modified, error, headers, metadata}.
#include <lua.hpp>

#include "script/lua_fields.hpp"

#include "script/script_set.hpp"

namespace llmproxy::script {
namespace {

void PushResponse(lua_State* L, const ResponseView& response) {
    lua_createtable(L, 0, 5);
    lua_pushnumber(L, response.status_code);
    lua_setfield(L, -2, "status_code");
    lua_pushnumber(L, response.latency_ms);
    lua_setfield(L, -2, "latency_ms");
    SetString(L, "backend_url", response.backend_url);
    SetString(L, "body", response.body);
    if (response.headers) {
        PushHeaders(L, *response.headers);
    } else {
        lua_newtable(L);
    }
    lua_setfield(L, -2, "headers");
}

void PushBackendTable(lua_State* L, const std::vector<BackendView>& backends) {
    lua_createtable(L, 0, static_cast<int>(backends.size()));
    for (const auto& b : backends) {
        lua_createtable(L, 0, 4);
        SetString(L, "url", b.url);
        lua_pushboolean(L, b.healthy);
        lua_setfield(L, -2, "healthy");
        lua_pushnumber(L, b.weight);
        lua_setfield(L, -2, "weight");
        lua_setfield(L, -2, std::string(b.name).c_str());
    }
}

void SetHookGlobals(lua_State* L, const HookInput& input, std::uint64_t generation) {
    PushRequest(L, *input.request, BodyForm::kString, generation);
    lua_setfield(L, -2, "request");
    if (input.response) {
        PushResponse(L, *input.response);
    } else {
        lua_pushnil(L);
    }
    lua_setfield(L, -2, "response");
    if (input.error_message) {
        lua_pushlstring(L, input.error_message->data(), input.error_message->size());
    } else {
        lua_pushnil(L);
    }
    lua_setfield(L, -2, "error_message");
    if (input.backends) {
        PushBackendTable(L, *input.backends);
    } else {
        lua_pushnil(L);
    }
    lua_setfield(L, -2, "backends");
    lua_newtable(L);
    lua_setfield(L, -2, "metadata");
    lua_pushnumber(L, static_cast<double>(input.timestamp));
    lua_setfield(L, -2, "timestamp");
}

// Header names must be tokens and values single lines: a script cannot inject a header line.
bool ValidHeader(std::string_view name, std::string_view value) {
    return !name.empty() && name.find_first_of(" \t\r\n:()<>@,;\\\"/[]?={}") == std::string_view::npos &&
           value.find_first_of("\r\n") == std::string_view::npos;
}

HookResult ReadHookResult(lua_State* L) {
    HookResult result;
    lua_getfield(L, -1, "continue");
    result.stop = lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, -1, "error");
    if (lua_type(L, -1) == LUA_TSTRING) result.error = lua_tostring(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, -1, "modified");
    const bool modified = lua_toboolean(L, -1) != 0;
    lua_pop(L, 1);
    lua_getfield(L, -1, "headers");
    if (modified && lua_type(L, -1) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, -2)) {
            if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
                lua_pushvalue(L, -2);
                std::string name = lua_tostring(L, -1);
                lua_pop(L, 1);
                std::string value = lua_tostring(L, -1);
                if (!ValidHeader(name, value)) luaL_error(L, "header %s is not a valid header line", name.c_str());
                result.headers.emplace_back(std::move(name), std::move(value));
            }
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    return result;
}

}  // namespace

Answer<HookResult> ScriptSet::Hook(Point hook, const HookInput& input) {
    Answer<HookResult> answer;
    answer.failure = Call(
        hook, input.request->id, [&](lua_State* L) { SetHookGlobals(L, input, vm_.generation()); },
        [&](lua_State* L) {
            if (lua_type(L, -1) == LUA_TTABLE) answer.value = ReadHookResult(L);
        });
    return answer;
}

// auth.pipeline lua steps (the Go LLMProxy's auth-pipeline Lua): globals `api_key`, `data`
// (alias `key`), `request = {method, path, ip, headers}`, `metadata`; nil / boolean /
// {allow, message, metadata} back. A failing step denies (fail_open does not apply).
Answer<AuthStepVerdict> ScriptSet::AuthStep(std::size_t step, const AuthStepInput& input) {
    Answer<AuthStepVerdict> answer;
    if (step >= auth_steps_.size() || auth_steps_[step].chunk.function < 0) return answer;
    answer.failure = Call(
        Point::kAuthPipeline, auth_steps_[step], input.request->id,
        [&](lua_State* L) {
            lua_pushlstring(L, input.api_key.data(), input.api_key.size());
            lua_setfield(L, -2, "api_key");
            lua_createtable(L, 0, 4);
            SetString(L, "api_key", input.api_key);
            if (input.found) {
                SetString(L, "name", input.found->name);
                SetString(L, "user_id", input.found->user_id);
                SetString(L, "status", input.found->status);
            }
            lua_pushvalue(L, -1);
            lua_setfield(L, -3, "key");
            lua_setfield(L, -2, "data");
            lua_createtable(L, 0, 4);
            SetString(L, "method", input.request->method);
            SetString(L, "path", input.request->path);
            SetString(L, "ip", input.request->client_ip);
            if (input.request->headers) {
                PushHeaders(L, *input.request->headers);
            } else {
                lua_newtable(L);
            }
            lua_setfield(L, -2, "headers");
            lua_setfield(L, -2, "request");
            lua_newtable(L);
            if (input.metadata) {
                for (const auto& [k, v] : *input.metadata) SetString(L, k.c_str(), v);
            }
            lua_setfield(L, -2, "metadata");
        },
        [&](lua_State* L) {
            AuthStepVerdict verdict;
            if (lua_type(L, -1) == LUA_TBOOLEAN) {
                verdict.allow = lua_toboolean(L, -1) != 0;
            } else if (lua_type(L, -1) == LUA_TTABLE) {
                lua_getfield(L, -1, "allow");
                verdict.allow = lua_toboolean(L, -1) != 0;  // a table without allow = true denies
                lua_pop(L, 1);
                lua_getfield(L, -1, "message");
                if (lua_type(L, -1) == LUA_TSTRING) verdict.message = lua_tostring(L, -1);
                lua_pop(L, 1);
            } else if (!lua_isnil(L, -1)) {
                luaL_error(L, "an auth step must return nil, a boolean or {allow, message, metadata}");
            }
            answer.value = std::move(verdict);
        });
    if (answer.failure) answer.failure->fail_open = false;
    return answer;
}

}  // namespace llmproxy::script
