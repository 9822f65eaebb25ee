#pragma once
// One worker's compiled scripts for one snapshot: the seven script points (`scripts:`), our
// on_chunk, and the Go LLMProxy's lifecycle hooks (`hooks:`), all in one sandboxed state
// (lua_vm.hpp). Each call builds the point's globals, runs the script within its budget and
// reads its answer into plain values; a script that fails is logged with its name and line,
// counted in llm_proxy_script_errors_total{point,reason} and reported to the caller, which
// applies the point's on_error policy. A point without a script costs its caller one branch.
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "observe/metrics.hpp"
#include "script/lua_vm.hpp"
#include "script/request_table.hpp"

namespace llmproxy::script {

enum class Point : std::uint8_t {
    kRouting,
    kAuth,
    kRequestTransform,
    kResponseTransform,
    kRateLimit,
    kUsage,
    kErrorHandler,
    kOnChunk,
    kOnRequest,
    kOnAuth,
    kOnRoute,
    kOnResponse,
    kOnError,
    kOnComplete,
    kAuthPipeline,  // auth.pipeline lua steps (their own slots)
    kCount
};
static_assert(static_cast<std::size_t>(Point::kCount) <= observe::MetricsShard::kScriptPoints);

/// A script that did not give an answer (error, timeout, memory).
struct ScriptFailure {
    std::string message;  // "scripts.routing:3: attempt to index a nil value"
    bool fail_open = false;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// --- inputs -----------------------------------------------------------------------------------

struct BackendView {
    std::string_view name, url;
    bool healthy = true;
    int weight = 1;
    double latency_ms = 0;  // recent mean, 0 before the first answer
    int active_connections = 0;
};

struct KeyInfo {
    std::string_view key;  // masked
    std::string_view name, user_id, status;
    double total_quota = 0, used_quota = 0;
    const std::vector<std::string>* allowed_ips = nullptr;
    double expires_at = 0;
};

struct LimitStatus {
    double global_remaining = -1, key_remaining = -1;  // -1: no such limit
    int concurrent_count = 0;
};

struct UsageView {
    std::int64_t prompt_tokens = 0, completion_tokens = 0, total_tokens = 0;
    std::string_view response_body;  // captured (capped), empty when not captured
    std::string_view backend_url;
    double latency_ms = 0;
    bool is_stream = false;
};

struct ErrorView {
    std::string_view type;  // auth_error | rate_limit | backend_error | timeout | invalid_request | script_error
    std::string_view message, backend_url;
    unsigned status_code = 0;
    int retry_count = 0;
};

struct ResponseView {
    unsigned status_code = 0;
    double latency_ms = 0;
    std::string_view backend_url, body;
    const HeadFields* headers = nullptr;
};

/// The hooks' inputs: request always, the rest where the Go LLMProxy sets them.
struct HookInput {
    const RequestView* request = nullptr;
    const ResponseView* response = nullptr;              // on_response, on_complete
    std::optional<std::string_view> error_message;       // on_error
    const std::vector<BackendView>* backends = nullptr;  // on_route (the Go docs' promise)
    std::int64_t timestamp = 0;                          // unix seconds at request start
};

// --- outputs ----------------------------------------------------------------------------------

/// What an auth.pipeline lua step sees: the presented key itself (custom auth checks it), the
/// record found so far (`data`/`key`), the request's head and earlier steps' metadata.
struct AuthStepInput {
    std::string_view api_key;
    const RequestView* request = nullptr;
    const KeyInfo* found = nullptr;                                // the key store's record, when it had one
    const std::map<std::string, std::string>* metadata = nullptr;  // the record's metadata
};

/// nil -> allow; a boolean; or {allow, message, metadata}.
struct AuthStepVerdict {
    bool allow = true;
    std::string message;
};

/// {continue, modified, error, headers, metadata}: continue=false stops the request.
struct HookResult {
    bool stop = false;
    std::string error;
    HeaderList headers;  // only when modified = true
};

/// {allow, reason, status_code | retry_after}.
struct Decision {
    bool allow = true;
    std::string reason;
    unsigned status_code = 0;
    int retry_after = 0;
};

struct RequestEdit {
    std::optional<std::string> body;  // re-serialised JSON (a string returned is taken as is)
    HeaderList headers;
};

/// response_transform's answer: {status_code, body, headers}.
struct ResponseEdit {
    unsigned status_code = 0;  // 0: keep
    std::optional<std::string> body;
    HeaderList headers;
};

struct ErrorReplacement {
    unsigned status_code = 0;  // 0: keep
    std::optional<std::string> body;
};

template <class T>
struct Answer {
    std::optional<T> value;  // nil: the default behaviour
    std::optional<ScriptFailure> failure;
};

/// How much of a response the usage script and the on_response/on_complete hooks see
/// (`response.body`): the rest is not kept.
inline constexpr std::size_t kMaxResponseBodyForScripts = 1u << 20;

class ScriptSet {
public:
    /// Compiles every enabled script. Throws std::runtime_error naming the first that does not compile.
    ScriptSet(const core::ScriptsConfig& scripts, const core::HooksConfig& hooks,
              const std::vector<core::AuthPipelineEntry>& auth_pipeline = {});

    bool Has(Point point) const { return slots_[Index(point)].chunk.function >= 0; }
    /// The point's script names `backends` (only then is that table worth building).
    bool NamesBackends(Point point) const { return slots_[Index(point)].names_backends; }
    /// A script reads `response.body`: the relay keeps a capped copy of the response.
    bool ReadsResponseBody() const { return Has(Point::kUsage) || Has(Point::kOnResponse) || Has(Point::kOnComplete); }
    void SetMetrics(observe::MetricsShard* metrics) { metrics_ = metrics; }

    Answer<std::string> Routing(const RequestView& request, const std::vector<BackendView>& backends);
    Answer<Decision> Auth(const RequestView& request, const KeyInfo& key);
    Answer<Decision> RateLimit(const RequestView& request, const KeyInfo& key, const LimitStatus& status);
    Answer<RequestEdit> RequestTransform(const RequestView& request);
    /// The returned table as a JSON object's members (`"a":1,"b":"x"`), to add to the usage event.
    Answer<std::string> Usage(const RequestView& request, const UsageView& usage);
    Answer<ErrorReplacement> ErrorHandler(const RequestView& request, const ErrorView& error);
    /// A block of whole SSE events (`chunk`, the text) of a stream; with rewrite on, a string
    /// returned replaces the block (events must stay whole: "data: ...\n\n").
    Answer<std::string> OnChunk(const RequestView& request, std::string_view events, std::int64_t index);
    /// `response.body` is a table when the body is JSON (else the string); `response.raw_body` the text.
    Answer<ResponseEdit> ResponseTransform(const RequestView& request, const ResponseView& response);
    Answer<HookResult> Hook(Point hook, const HookInput& input);
    /// The auth.pipeline step `step` (a lua one).
    Answer<AuthStepVerdict> AuthStep(std::size_t step, const AuthStepInput& input);

    std::size_t memory_used() const { return vm_.memory_used(); }

private:
    struct Slot {
        LuaVm::Chunk chunk;
        std::string name;
        std::chrono::microseconds budget{100'000};
        bool fail_open = false;
        // The script's text names `backends`: only then is that table built per call (a script
        // cannot reach a global its text never names; _G["back" .. "ends"] finds nil).
        bool names_backends = false;
    };
    static std::size_t Index(Point p) { return static_cast<std::size_t>(p); }
    using Step = std::function<void(lua_State*)>;
    /// Sets the script's globals (`set_globals` gets its environment on top of the stack), runs
    /// it and lets `read` take its first result (on top). Failures are logged and counted.
    std::optional<ScriptFailure> Call(Point point, std::string_view request_id, const Step& set_globals,
                                      const Step& read) {
        return Call(point, slots_[Index(point)], request_id, set_globals, read);
    }
    std::optional<ScriptFailure> Call(Point point, const Slot& slot, std::string_view request_id,
                                      const Step& set_globals, const Step& read);
    Slot Compile(const core::ScriptConfig& config);

    LuaVm vm_;
    std::array<Slot, static_cast<std::size_t>(Point::kCount)> slots_;
    std::vector<Slot> auth_steps_;  // by auth.pipeline index (empty slots for builtin steps)
    observe::MetricsShard* metrics_ = nullptr;
};

/// Compiles the config's scripts in a scratch state: the problems, for config validation.
std::vector<std::string> CheckScripts(const core::Config& config);

/// The largest max_memory of the enabled scripts (the state's cap).
std::size_t StateMemoryCap(const core::Config& config);

/// Whether the config has any script (a ScriptSet is built only then).
bool AnyScript(const core::Config& config);

/// The config's ScriptSet (scripts, hooks, auth pipeline steps).
std::shared_ptr<ScriptSet> MakeScriptSet(const core::Config& config);

}  // namespace llmproxy::script
