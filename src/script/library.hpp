#pragma once
// The helpers every script state has, the union of what the Go LLMProxy's two Lua interfaces
// offer: json, string_utils, time, hash, base64, log (callable as log(msg), the hooks' form, and
// as log.info/warn/error(msg), the scripts' form), now(), now_ms(), generate_uuid(), and
// `shared`, a table of this worker that survives between calls (not between reloads that change
// a script).
struct lua_State;

namespace llmproxy::script {

/// Installs the helpers as globals of the state (in protected mode: it allocates).
void OpenLibrary(lua_State* L);

}  // namespace llmproxy::script
