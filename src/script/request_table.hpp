#pragma once
// The `request` global the scripts see, built per call. Its `body` (a table in the scripts'
// dialect, the raw JSON string in the hooks') and `headers` are made only when the script reads
// them: a script that looks at one header pays for no body decoding.
#include <string_view>

#include "http/head_memory.hpp"

struct lua_State;

namespace llmproxy::script {

/// What a script may see of a request. Views into the request context: valid for one call.
struct RequestView {
    std::string_view id, method, path, client_ip;
    std::string_view api_key;  // masked ("sk-...abcd"): scripts never see a whole key
    std::string_view user_id, key_name, model;
    std::string_view backend_url;  // request_transform and hooks after routing
    const HeadFields* headers = nullptr;
    std::string_view body;
};

enum class BodyForm { kTable, kString };

/// Pushes the request table. `generation` ties its lazy fields to the current call: read from
/// a table kept in `shared` after its call has ended, they are nil.
void PushRequest(lua_State* L, const RequestView& request, BodyForm form, std::uint64_t generation);

/// Pushes {Canonical-Name = first value} with a case-insensitive lookup behind it.
void PushHeaders(lua_State* L, const HeadFields& headers);

/// Go's canonical header form: "x-user-tier" -> "X-User-Tier" (what Go LLMProxy scripts index).
std::string CanonicalHeaderName(std::string_view name);

}  // namespace llmproxy::script
