#pragma once
// JSON <-> Lua values for the scripts (json.encode/decode, request.body, returned bodies).
// Arrays decoded from JSON carry a marker metatable, so an empty array stays [] when encoded
// again; a table without it is an array when its keys are exactly 1..n. null decodes to nil.
#include <string>
#include <string_view>

struct lua_State;

namespace llmproxy::script {

/// Pushes the decoded value; on malformed JSON pushes nothing and returns false with `error`.
bool PushJson(lua_State* L, std::string_view text, std::string& error);

/// Appends the value at `index` as JSON. Raises a Lua error for what JSON cannot hold
/// (functions, userdata, NaN, cycles deeper than the nesting limit).
void AppendJson(lua_State* L, int index, std::string& out);

/// Registers the array marker metatable (once per state).
void RegisterJsonArrayMarker(lua_State* L);

}  // namespace llmproxy::script
