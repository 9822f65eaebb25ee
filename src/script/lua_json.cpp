#include "script/lua_json.hpp"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <lua.hpp>

#include "core/json_escape.hpp"

namespace llmproxy::script {
namespace {

constexpr const char* kArrayMarker = "llmproxy.json_array";
constexpr int kMaxDepth = 200;  // nesting, both ways (cycles end here)

void Push(lua_State* L, simdjson::dom::element value, int depth) {
    using simdjson::dom::element_type;
    if (depth > kMaxDepth) luaL_error(L, "JSON nested deeper than %d", kMaxDepth);
    luaL_checkstack(L, 4, "JSON nested too deep");
    switch (value.type()) {
        case element_type::OBJECT: {
            lua_newtable(L);
            simdjson::dom::object object;
            if (value.get_object().get(object) != simdjson::SUCCESS) return;  // cannot happen: type() said so
            for (auto [key, field] : object) {
                lua_pushlstring(L, key.data(), key.size());
                Push(L, field, depth + 1);
                lua_rawset(L, -3);
            }
            return;
        }
        case element_type::ARRAY: {
            lua_newtable(L);
            int i = 0;
            simdjson::dom::array array;
            if (value.get_array().get(array) != simdjson::SUCCESS) return;
            for (auto item : array) {
                Push(L, item, depth + 1);
                lua_rawseti(L, -2, ++i);
            }
            luaL_getmetatable(L, kArrayMarker);
            lua_setmetatable(L, -2);
            return;
        }
        case element_type::STRING: {
            const std::string_view s = value.get_string().value_unsafe();
            lua_pushlstring(L, s.data(), s.size());
            return;
        }
        case element_type::INT64:
            lua_pushnumber(L, static_cast<double>(value.get_int64().value_unsafe()));
            return;
        case element_type::UINT64:
            lua_pushnumber(L, static_cast<double>(value.get_uint64().value_unsafe()));
            return;
        case element_type::DOUBLE:
            lua_pushnumber(L, value.get_double().value_unsafe());
            return;
        case element_type::BOOL:
            lua_pushboolean(L, value.get_bool().value_unsafe());
            return;
        case element_type::NULL_VALUE:
            lua_pushnil(L);
            return;
    }
}

void AppendNumber(lua_State* L, double d, std::string& out) {
    if (!std::isfinite(d)) luaL_error(L, "cannot encode %s as JSON", std::isnan(d) ? "NaN" : "infinity");
    char buffer[32];
    const bool integral = d == std::floor(d);
    // Whole numbers print as integers while exact; beyond, in exponent form: a 20-digit integer
    // would not parse back as JSON numbers are read (no integers past 2^64).
    const auto end = integral && std::fabs(d) < 1e15
                         ? std::to_chars(buffer, buffer + sizeof buffer, static_cast<long long>(d)).ptr
                     : integral ? std::to_chars(buffer, buffer + sizeof buffer, d, std::chars_format::scientific).ptr
                                : std::to_chars(buffer, buffer + sizeof buffer, d).ptr;
    out.append(buffer, end);
}

// 1..n with no other keys, or marked as an array by the decoder.
bool IsArray(lua_State* L, int index) {
    if (lua_getmetatable(L, index)) {
        luaL_getmetatable(L, kArrayMarker);
        const bool marked = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
        if (marked) return true;
    }
    const std::size_t length = lua_objlen(L, index);
    if (length == 0) return false;
    std::size_t keys = 0;
    lua_pushnil(L);
    while (lua_next(L, index)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TNUMBER) {
            lua_pop(L, 1);
            return false;
        }
        ++keys;
    }
    return keys == length;
}

void Append(lua_State* L, int index, std::string& out, int depth);

void AppendTable(lua_State* L, int index, std::string& out, int depth) {
    if (depth > kMaxDepth) luaL_error(L, "cannot encode a table nested deeper than %d (a cycle?)", kMaxDepth);
    luaL_checkstack(L, 4, "JSON nested too deep");
    if (IsArray(L, index)) {
        out += '[';
        const std::size_t length = lua_objlen(L, index);
        for (std::size_t i = 1; i <= length; ++i) {
            if (i > 1) out += ',';
            lua_rawgeti(L, index, static_cast<int>(i));
            Append(L, lua_gettop(L), out, depth + 1);
            lua_pop(L, 1);
        }
        out += ']';
        return;
    }
    out += '{';
    bool first = true;
    lua_pushnil(L);
    while (lua_next(L, index)) {
        const int key_type = lua_type(L, -2);
        if (key_type != LUA_TSTRING && key_type != LUA_TNUMBER)
            luaL_error(L, "cannot encode a %s key as JSON", lua_typename(L, key_type));
        if (!first) out += ',';
        first = false;
        lua_pushvalue(L, -2);  // tolstring would turn a numeric key into a string in place
        std::size_t size = 0;
        const char* key = lua_tolstring(L, -1, &size);
        core::AppendJsonString(out, std::string_view(key, size));
        lua_pop(L, 1);
        out += ':';
        Append(L, lua_gettop(L), out, depth + 1);
        lua_pop(L, 1);
    }
    out += '}';
}

void Append(lua_State* L, int index, std::string& out, int depth) {
    switch (lua_type(L, index)) {
        case LUA_TNIL:
            out += "null";
            return;
        case LUA_TBOOLEAN:
            out += lua_toboolean(L, index) ? "true" : "false";
            return;
        case LUA_TNUMBER:
            AppendNumber(L, lua_tonumber(L, index), out);
            return;
        case LUA_TSTRING: {
            std::size_t size = 0;
            const char* s = lua_tolstring(L, index, &size);
            core::AppendJsonString(out, std::string_view(s, size));
            return;
        }
        case LUA_TTABLE:
            AppendTable(L, index, out, depth);
            return;
        default:
            luaL_error(L, "cannot encode a %s as JSON", luaL_typename(L, index));
    }
}

}  // namespace

void RegisterJsonArrayMarker(lua_State* L) {
    luaL_newmetatable(L, kArrayMarker);
    lua_pop(L, 1);
}

bool PushJson(lua_State* L, std::string_view text, std::string& error) {
    thread_local simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (const auto code = parser.parse(text.data(), text.size()).get(root); code != simdjson::SUCCESS) {
        error = simdjson::error_message(code);
        return false;
    }
    Push(L, root, 0);
    return true;
}

void AppendJson(lua_State* L, int index, std::string& out) {
    if (index < 0) index = lua_gettop(L) + index + 1;
    Append(L, index, out, 0);
}

}  // namespace llmproxy::script
