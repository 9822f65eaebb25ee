#include "script/request_table.hpp"

#include <lua.hpp>

#include "script/lua_fields.hpp"

#include "script/lua_json.hpp"
#include "script/lua_vm.hpp"

namespace llmproxy::script {
namespace {

void Canonicalize(std::string& name) {
    bool upper = true;
    for (char& c : name) {
        if (c >= 'a' && c <= 'z' && upper)
            c = static_cast<char>(c - 'a' + 'A');
        else if (c >= 'A' && c <= 'Z' && !upper)
            c = static_cast<char>(c - 'A' + 'a');
        upper = c == '-';
    }
}

// __index of a headers table: any spelling finds the canonical key.
int HeaderLookup(lua_State* L) {
    if (lua_type(L, 2) != LUA_TSTRING) return 0;
    std::size_t size = 0;
    const char* name = lua_tolstring(L, 2, &size);
    const std::string canonical = CanonicalHeaderName({name, size});
    lua_pushlstring(L, canonical.data(), canonical.size());
    lua_rawget(L, 1);
    return 1;
}

// __index of a request table: upvalues are the view, its body form and its call's generation.
int RequestLookup(lua_State* L) {
    const auto* view = static_cast<const RequestView*>(lua_touserdata(L, lua_upvalueindex(1)));
    const auto form = static_cast<BodyForm>(lua_tointeger(L, lua_upvalueindex(2)));
    const auto generation = static_cast<std::uint64_t>(lua_tonumber(L, lua_upvalueindex(3)));
    if (generation != LuaVm::Of(L).generation() || lua_type(L, 2) != LUA_TSTRING) return 0;
    const std::string_view key = lua_tostring(L, 2);
    if (key == "body") {
        std::string ignored;
        if (form == BodyForm::kString) {
            lua_pushlstring(L, view->body.data(), view->body.size());
        } else if (view->body.empty() || !PushJson(L, view->body, ignored)) {
            return 0;  // not JSON: nil
        }
    } else if (key == "headers") {
        if (!view->headers) return 0;
        PushHeaders(L, *view->headers);
    } else {
        return 0;
    }
    lua_pushvalue(L, 2);
    lua_pushvalue(L, -2);
    lua_rawset(L, 1);  // made once per call
    return 1;
}

}  // namespace

std::string CanonicalHeaderName(std::string_view name) {
    std::string out(name);
    Canonicalize(out);
    return out;
}

void PushHeaders(lua_State* L, const HeadFields& headers) {
    lua_newtable(L);
    std::string name;  // one buffer for every name
    for (const auto& field : headers) {
        name.assign(field.name_string().data(), field.name_string().size());
        Canonicalize(name);
        lua_pushlstring(L, name.data(), name.size());
        lua_pushvalue(L, -1);
        lua_rawget(L, -3);
        const bool seen = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (seen) {  // the first value, as Go's Header.Get
            lua_pop(L, 1);
            continue;
        }
        lua_pushlstring(L, field.value().data(), field.value().size());
        lua_rawset(L, -3);
    }
    lua_newtable(L);
    lua_pushcfunction(L, HeaderLookup);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
}

void PushRequest(lua_State* L, const RequestView& request, BodyForm form, std::uint64_t generation) {
    lua_createtable(L, 0, 12);
    SetString(L, "id", request.id);
    SetString(L, "method", request.method);
    SetString(L, "path", request.path);
    SetString(L, "client_ip", request.client_ip);
    SetString(L, "ip", request.client_ip);  // the auth pipeline's name for it
    SetString(L, "api_key", request.api_key);
    SetString(L, "user_id", request.user_id);
    SetString(L, "key_name", request.key_name);
    SetString(L, "model", request.model);
    if (!request.backend_url.empty()) SetString(L, "backend_url", request.backend_url);
    lua_createtable(L, 0, 1);
    lua_pushlightuserdata(L, const_cast<RequestView*>(&request));
    lua_pushinteger(L, static_cast<int>(form));
    lua_pushnumber(L, static_cast<double>(generation));
    lua_pushcclosure(L, RequestLookup, 3);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
}

}  // namespace llmproxy::script
