#include "script/lua_vm.hpp"

#include "script/library.hpp"

#include <lua.hpp>
#include <luajit.h>

#include <cstdlib>
#include <stdexcept>

namespace llmproxy::script {
namespace {

// How often (in VM instructions) the hook looks at the clock: a few microseconds of work.
constexpr int kCheckEvery = 1000;

struct RunArgs {
    const std::function<void(lua_State*)>* body;
};

// The libraries a script may use; io, package, debug, jit and ffi are never opened.
void OpenLibraries(lua_State* L) {
    const std::pair<const char*, lua_CFunction> libs[] = {{"", luaopen_base},
                                                          {LUA_TABLIBNAME, luaopen_table},
                                                          {LUA_STRLIBNAME, luaopen_string},
                                                          {LUA_MATHLIBNAME, luaopen_math},
                                                          {LUA_BITLIBNAME, luaopen_bit},
                                                          {LUA_OSLIBNAME, luaopen_os}};
    for (const auto& [name, open] : libs) {
        lua_pushcfunction(L, open);
        lua_pushstring(L, name);
        lua_call(L, 1, 0);
    }
}

// os keeps only its clocks (no execute, exit, getenv, remove, rename, tmpname).
void TrimOs(lua_State* L) {
    lua_getglobal(L, "os");
    lua_newtable(L);
    for (const char* name : {"time", "clock", "date", "difftime"}) {
        lua_getfield(L, -2, name);
        lua_setfield(L, -2, name);
    }
    lua_setglobal(L, "os");
    lua_pop(L, 1);
}

// collectgarbage("count") only: a script must not stop or tune the collector.
int CountOnlyCollectGarbage(lua_State* L) {
    const char* option = luaL_optstring(L, 1, "collect");
    if (std::string_view(option) != "count") return luaL_error(L, "collectgarbage(\"%s\") is not allowed", option);
    lua_pushnumber(L, lua_gc(L, LUA_GCCOUNT, 0) + lua_gc(L, LUA_GCCOUNTB, 0) / 1024.0);
    return 1;
}

}  // namespace

std::string_view ReasonOf(CallOutcome outcome) {
    switch (outcome) {
        case CallOutcome::kTimeout:
            return "timeout";
        case CallOutcome::kMemory:
            return "memory";
        default:
            return "error";
    }
}

LuaVm& LuaVm::Of(lua_State* L) {
    void* vm = nullptr;
    lua_getallocf(L, &vm);
    return *static_cast<LuaVm*>(vm);
}

void* LuaVm::Allocate(void* ud, void* block, std::size_t old_size, std::size_t new_size) {
    auto& vm = *static_cast<LuaVm*>(ud);
    const std::size_t old = block ? old_size : 0;
    if (new_size == 0) {
        vm.used_ -= old;
        std::free(block);
        return nullptr;
    }
    if (new_size > old && vm.used_ - old + new_size > vm.limits_.max_memory) return nullptr;  // LUA_ERRMEM
    void* moved = std::realloc(block, new_size);
    if (moved) vm.used_ = vm.used_ - old + new_size;
    return moved;
}

void LuaVm::OnInstructions(lua_State* L, lua_Debug*) {
    LuaVm& vm = Of(L);
    if (!vm.in_call_) return;
    if (vm.timed_out_ || std::chrono::steady_clock::now() > vm.deadline_) {
        vm.timed_out_ = true;
        luaL_error(L, "timeout after %f ms", vm.budget_.count() / 1000.0);
    }
    lua_Debug frame;
    if (lua_getstack(L, vm.limits_.max_depth, &frame)) {
        vm.too_deep_ = true;
        luaL_error(L, "call depth over %d", vm.limits_.max_depth);
    }
}

// pcall, xpcall and coroutine.resume catch errors; a timeout or depth error must still end
// the script, so after the wrapped function returns, such an error is raised again.
int LuaVm::RethrowBudgetErrors(lua_State* L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    LuaVm& vm = Of(L);
    if (vm.timed_out_) return luaL_error(L, "timeout after %f ms", vm.budget_.count() / 1000.0);
    if (vm.too_deep_) return luaL_error(L, "call depth over %d", vm.limits_.max_depth);
    return lua_gettop(L);
}

void LuaVm::OpenSandbox(lua_State* L) {
    OpenLibraries(L);
    OpenLibrary(L);
    TrimOs(L);
    for (const char* name : {"dofile", "loadfile", "load", "loadstring", "getfenv", "setfenv", "module", "require"}) {
        lua_pushnil(L);
        lua_setglobal(L, name);
    }
    lua_pushcfunction(L, CountOnlyCollectGarbage);
    lua_setglobal(L, "collectgarbage");
    lua_getglobal(L, "string");
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    lua_pop(L, 1);
    // The string metatable (its __index is the string table) is hidden from getmetatable("").
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);
    for (const char* name : {"pcall", "xpcall"}) {
        lua_getglobal(L, name);
        lua_pushcclosure(L, RethrowBudgetErrors, 1);
        lua_setglobal(L, name);
    }
    lua_getglobal(L, "coroutine");
    lua_getfield(L, -1, "resume");
    lua_pushcclosure(L, RethrowBudgetErrors, 1);
    lua_setfield(L, -2, "resume");
    lua_pop(L, 1);
}

LuaVm::LuaVm(VmLimits limits) : limits_(limits) {
    L_ = lua_newstate(&LuaVm::Allocate, this);
    if (!L_) throw std::runtime_error("cannot create a Lua state");
    luaJIT_setmode(L_, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
    lua_pushcfunction(L_, Trampoline);
    trampoline_ = luaL_ref(L_, LUA_REGISTRYINDEX);
    const std::function<void(lua_State*)> open = [this](lua_State* L) { OpenSandbox(L); };
    auto opened = Run(open, std::chrono::seconds(5));
    if (!opened.ok()) {
        lua_close(L_);
        throw std::runtime_error("cannot open the Lua libraries: " + opened.message);
    }
    lua_sethook(L_, &LuaVm::OnInstructions, LUA_MASKCOUNT, kCheckEvery);
}

LuaVm::~LuaVm() {
    if (L_) lua_close(L_);
}

int LuaVm::Trampoline(lua_State* L) {
    const auto* args = static_cast<const RunArgs*>(lua_touserdata(L, 1));
    lua_settop(L, 0);
    (*args->body)(L);
    return 0;
}

CallResult LuaVm::Run(const std::function<void(lua_State*)>& body, std::chrono::microseconds budget) {
    RunArgs args{&body};
    lua_settop(L_, 0);
    lua_rawgeti(L_, LUA_REGISTRYINDEX, trampoline_);
    lua_pushlightuserdata(L_, &args);
    budget_ = budget;
    deadline_ = std::chrono::steady_clock::now() + budget;
    timed_out_ = too_deep_ = false;
    ++generation_;
    in_call_ = true;
    const int status = lua_pcall(L_, 1, 0, 0);
    in_call_ = false;
    CallResult result;
    if (status != 0) {
        const char* message = lua_tostring(L_, -1);
        result.message = message ? message : "(an error object that is not a string)";
        result.outcome = timed_out_             ? CallOutcome::kTimeout
                         : status == LUA_ERRMEM ? CallOutcome::kMemory
                                                : CallOutcome::kError;
    }
    lua_settop(L_, 0);
    if (result.outcome == CallOutcome::kMemory) lua_gc(L_, LUA_GCCOLLECT, 0);
    return result;
}

std::optional<LuaVm::Chunk> LuaVm::Load(std::string_view code, const std::string& name, std::string& error) {
    Chunk chunk;
    const std::function<void(lua_State*)> load = [&](lua_State* L) {
        const std::string chunk_name = "=" + name;
        if (luaL_loadbufferx(L, code.data(), code.size(), chunk_name.c_str(), "t") != 0) {
            error = lua_tostring(L, -1) ? lua_tostring(L, -1) : "cannot compile";
            return;
        }
        // The script's environment: its own globals; reads of anything else reach the library.
        lua_newtable(L);
        lua_newtable(L);
        lua_pushvalue(L, LUA_GLOBALSINDEX);
        lua_setfield(L, -2, "__index");
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, "__metatable");  // setmetatable/getmetatable on it are refused
        lua_setmetatable(L, -2);
        lua_pushvalue(L, -1);
        lua_setfield(L, -2, "_G");
        lua_pushvalue(L, -1);
        lua_setfenv(L, -3);
        chunk.environment = luaL_ref(L, LUA_REGISTRYINDEX);
        chunk.function = luaL_ref(L, LUA_REGISTRYINDEX);
    };
    const auto result = Run(load, std::chrono::seconds(5));
    if (!result.ok()) error = result.message;
    if (!error.empty()) return std::nullopt;
    return chunk;
}

void LuaVm::Push(int reference) const {
    lua_rawgeti(L_, LUA_REGISTRYINDEX, reference);
}

}  // namespace llmproxy::script
