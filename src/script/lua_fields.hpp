#pragma once
// Setting fields of the table on top of the Lua stack (the scripts' globals and tables).
#include <lua.hpp>
#include <string_view>

namespace llmproxy::script {

inline void SetString(lua_State* L, const char* name, std::string_view value) {
    lua_pushlstring(L, value.data(), value.size());
    lua_setfield(L, -2, name);
}
inline void SetNumber(lua_State* L, const char* name, double value) {
    lua_pushnumber(L, value);
    lua_setfield(L, -2, name);
}
inline void SetBool(lua_State* L, const char* name, bool value) {
    lua_pushboolean(L, value);
    lua_setfield(L, -2, name);
}

}  // namespace llmproxy::script
