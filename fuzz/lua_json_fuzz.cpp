// JSON <-> Lua (request.body for scripts, json.decode/encode, returned bodies) on arbitrary
// input, inside the sandboxed state with its memory cap: never crashes; what decodes encodes
// to JSON that decodes again to an equal value (Lua tables keep no key order, so the text may
// differ in the order of an object's members).
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <boost/json.hpp>
#include <lua.hpp>
#include <string>
#include <string_view>

#include "script/lua_json.hpp"
#include "script/lua_vm.hpp"

using llmproxy::script::AppendJson;
using llmproxy::script::LuaVm;
using llmproxy::script::PushJson;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static LuaVm vm(llmproxy::script::VmLimits{4u << 20});
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::string first, second;
    const std::function<void(lua_State*)> round_trip = [&](lua_State* L) {
        std::string error;
        if (!PushJson(L, text, error)) return;
        AppendJson(L, -1, first);
        lua_pop(L, 1);
        if (!PushJson(L, first, error)) std::abort();  // our own output must parse
        AppendJson(L, -1, second);
    };
    const auto result = vm.Run(round_trip, std::chrono::seconds(5));
    // Too deep or too big for the state is a clean Lua error, not a crash. The comparison parses
    // as deep as the gateway nests (200; boost.json's own default stops at 32).
    if (result.ok() && !first.empty()) {
        boost::json::parse_options deep;
        deep.max_depth = 512;
        boost::system::error_code e1, e2;
        const auto a = boost::json::parse(first, e1, {}, deep);
        const auto b = boost::json::parse(second, e2, {}, deep);
        if (e1 || e2 || a != b) std::abort();
    }
    return 0;
}
