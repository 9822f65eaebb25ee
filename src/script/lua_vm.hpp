#pragma once
// One sandboxed LuaJIT state. A worker owns its states and never shares them with another
// thread. Memory is capped by the state's allocator; every call has a time budget and a depth
// limit; scripts see the safe parts of the standard library plus the gateway's helpers
// (library.hpp), each script in an environment of its own.
//
// The JIT compiler is off in these states: compiled traces never call debug hooks (Debian's
// LuaJIT is built without LUAJIT_ENABLE_CHECKHOOK), so a JIT-hot loop would escape the budget.
// The interpreter honours it everywhere, and hook-sized scripts spend their time in the C API.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

struct lua_State;
struct lua_Debug;

namespace llmproxy::script {

struct VmLimits {
    std::size_t max_memory = 10u << 20;
    int max_depth = 200;  // Lua call frames
};

enum class CallOutcome { kOk, kError, kTimeout, kMemory };

struct CallResult {
    CallOutcome outcome = CallOutcome::kOk;
    std::string message;  // "hooks.on_request:3: attempt to index a nil value", "timeout after 100ms"
    bool ok() const { return outcome == CallOutcome::kOk; }
};

/// "error" | "timeout" | "memory": the reason label of llm_proxy_script_errors_total.
std::string_view ReasonOf(CallOutcome outcome);

class LuaVm {
public:
    explicit LuaVm(VmLimits limits = {});
    ~LuaVm();
    LuaVm(const LuaVm&) = delete;
    LuaVm& operator=(const LuaVm&) = delete;

    lua_State* state() const { return L_; }

    /// Compiles source text (bytecode is refused) in a new environment of its own whose reads
    /// fall through to the library. On success returns a registry reference to the function
    /// and another to its environment; on failure, the compiler's message.
    struct Chunk {
        int function = -1;
        int environment = -1;
    };
    std::optional<Chunk> Load(std::string_view code, const std::string& name, std::string& error);
    /// Pushes a chunk's function or environment (a registry reference from Load).
    void Push(int reference) const;

    /// Runs `body` in protected mode with the time budget: everything it does to the state
    /// (building the script's globals, calling it, reading its results) may raise a Lua error,
    /// memory errors included, and is caught here. The stack is empty again afterwards.
    CallResult Run(const std::function<void(lua_State*)>& body, std::chrono::microseconds budget);

    std::size_t memory_used() const { return used_; }
    /// Counts calls: tables made for one call compare it to know whether their call is over.
    std::uint64_t generation() const { return generation_; }
    std::size_t memory_cap() const { return limits_.max_memory; }

    /// Set around a call, for log lines written by the script.
    std::string_view request_id;

    /// The VM behind a state (its allocator's user data).
    static LuaVm& Of(lua_State* L);

private:
    static void* Allocate(void* ud, void* block, std::size_t old_size, std::size_t new_size);
    static void OnInstructions(lua_State* L, lua_Debug* ar);
    static int Trampoline(lua_State* L);
    static int RethrowBudgetErrors(lua_State* L);
    void OpenSandbox(lua_State* L);

    VmLimits limits_;
    std::size_t used_ = 0;
    lua_State* L_ = nullptr;
    std::chrono::steady_clock::time_point deadline_{};
    std::chrono::microseconds budget_{};
    bool in_call_ = false;
    bool timed_out_ = false;  // raised by the hook: a script's own pcall must not swallow it
    bool too_deep_ = false;
    std::uint64_t generation_ = 0;
    int trampoline_ = -1;  // registry reference: created once, so Run allocates nothing unprotected
};

}  // namespace llmproxy::script
