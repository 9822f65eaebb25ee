// The Lua layer: sandbox, budgets, helpers and the typed script points (script/).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <lua.hpp>

#include "core/config.hpp"
#include "script/lua_vm.hpp"
#include "script/script_set.hpp"

namespace llmproxy::script {
namespace {

using namespace std::chrono_literals;

core::ScriptConfig Script(std::string name, std::string code, std::chrono::milliseconds timeout = 100ms) {
    core::ScriptConfig c;
    c.enabled = true;
    c.name = std::move(name);
    c.code = std::move(code);
    c.timeout = timeout;
    return c;
}

// Runs `code` as the usage script (its return table comes back as JSON members) - the easiest
// point for evaluating an expression.
struct Eval {
    explicit Eval(const std::string& code, std::chrono::milliseconds timeout = 100ms) {
        scripts.usage = Script("scripts.usage", code, timeout);
        set = std::make_unique<ScriptSet>(scripts, hooks);
    }
    Answer<std::string> Run(std::string_view body = "{}") {
        RequestView request;
        request.id = "req-1";
        request.body = body;
        return set->Usage(request, UsageView{});
    }
    std::string Value(std::string_view body = "{}") {
        auto a = Run(body);
        if (a.failure) return "FAILED: " + a.failure->message;
        return a.value.value_or("(nil)");
    }
    core::ScriptsConfig scripts;
    core::HooksConfig hooks;
    std::unique_ptr<ScriptSet> set;
};

TEST(ScriptLibrary, JsonRoundTripKeepsArraysAndNumbers) {
    Eval e(R"(local t = json.decode('{"a":[],"b":[1,2.5,"x"],"c":{"d":true},"e":12345678901}')
              return {out = json.encode(t), n = #t.b, big = t.e})");
    const std::string v = e.Value();
    EXPECT_NE(v.find(R"(\"a\":[])"), std::string::npos) << v;
    EXPECT_NE(v.find(R"(\"b\":[1,2.5,\"x\"])"), std::string::npos) << v;
    EXPECT_NE(v.find(R"("n":3)"), std::string::npos) << v;
    EXPECT_NE(v.find(R"("big":12345678901)"), std::string::npos) << v;
}

TEST(ScriptLibrary, JsonDecodeOfGarbageReturnsNilAndMessage) {
    Eval e(R"(local v, err = json.decode('{"a":') return {isnil = v == nil, has_err = type(err) == "string"})");
    const std::string v = e.Value();
    EXPECT_TRUE(v.find(R"("isnil":true)") != std::string::npos && v.find(R"("has_err":true)") != std::string::npos)
        << v;
}

TEST(ScriptLibrary, JsonEncodeRefusesFunctionsAndCycles) {
    Eval f("return {x = json.encode({f = print})}");
    EXPECT_NE(f.Value().find("cannot encode a function"), std::string::npos);
    Eval c("local t = {} t.self = t return {x = json.encode(t)}");
    EXPECT_NE(c.Value().find("deeper than"), std::string::npos);
}

TEST(ScriptLibrary, StringUtils) {
    Eval e(R"(local p = string_utils.split("a,b,,c", ",")
              return {n = #p, third = p[3], trim = string_utils.trim("  x y \n"),
                      sw = string_utils.starts_with("Bearer abc", "Bearer "), ew = string_utils.ends_with("a.json", ".json"),
                      c = string_utils.contains("gpt-4o-mini", "4o"), l = string_utils.lower("AbC"), u = string_utils.upper("aBc")})");
    const std::string v = e.Value();
    for (const char* want : {R"("n":4)", R"("third":"")", R"("trim":"x y")", R"("sw":true)", R"("ew":true)",
                             R"("c":true)", R"("l":"abc")", R"("u":"ABC")"}) {
        EXPECT_NE(v.find(want), std::string::npos) << want << " in " << v;
    }
}

TEST(ScriptLibrary, TimeFormatAndParseUseGoLayouts) {
    Eval e(R"(local ts = time.parse("2026-01-30 12:34:56")
              local bad, err = time.parse("yesterday")
              return {ts = ts, back = time.format(ts), day = time.format(ts, "2006/01/02"), bad = bad, err = err ~= nil,
                      now_ok = math.abs(time.now() - now()) <= 1, ms_ok = now_ms() >= now() * 1000})");
    const std::string v = e.Value();
    for (const char* want : {R"("ts":1769776496)", R"("back":"2026-01-30 12:34:56")", R"("day":"2026/01/30")",
                             R"("bad":0)", R"("err":true)", R"("now_ok":true)", R"("ms_ok":true)"}) {
        EXPECT_NE(v.find(want), std::string::npos) << want << " in " << v;
    }
}

TEST(ScriptLibrary, HashesAndBase64) {
    Eval e(R"(return {md5 = hash.md5("abc"), sha = hash.sha256("abc"),
                      hmac = hash.hmac_sha256("key", "The quick brown fox jumps over the lazy dog"),
                      raw = #hash.hmac_sha256("k", "m", "raw"),
                      b64 = base64.encode("hi?>"), url = base64.url_encode("hi?>"), dec = base64.url_decode("aGk_Pg"),
                      bad = base64.decode("%%") == nil})");
    const std::string v = e.Value();
    for (const char* want :
         {R"("md5":"900150983cd24fb0d6963f7d28e17f72")",
          R"("sha":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")",
          R"("hmac":"f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")", R"("raw":32)",
          R"("b64":"aGk/Pg==")", R"("url":"aGk_Pg")", R"("dec":"hi?>")", R"("bad":true)"}) {
        EXPECT_NE(v.find(want), std::string::npos) << want << " in " << v;
    }
}

TEST(ScriptLibrary, LogIsCallableAndHasLevelsUuidAndShared) {
    Eval e(R"(log("hooks form") log.info("scripts form") log.warn("w") log.error("e")
              shared.calls = (shared.calls or 0) + 1
              local id = generate_uuid()
              return {calls = shared.calls, uuid = #id == 36 and id:sub(15, 15) == "4"})");
    std::string v = e.Value();
    EXPECT_TRUE(v.find(R"("calls":1)") != std::string::npos && v.find(R"("uuid":true)") != std::string::npos) << v;
    v = e.Value();
    EXPECT_NE(v.find(R"("calls":2)"), std::string::npos) << v;  // shared survives between calls
}

// --- the sandbox ------------------------------------------------------------------------------

TEST(ScriptSandbox, EscapesAreRefused) {
    const char* attempts[] = {
        "return {x = io.open('/etc/passwd')}",
        "return {x = os.execute('true')}",
        "return {x = os.getenv('HOME')}",
        "return {x = require('ffi')}",
        "return {x = string.dump(print)}",
        "return {x = load(string.dump(function() end))}",
        "return {x = loadstring('return 1')}",
        "return {x = dofile('/etc/passwd')}",
        "return {x = debug.sethook()}",
        "return {x = jit.on()}",
        "return {x = package.loadlib('libc.so.6', 'system')}",
        "setmetatable(_G, {__index = function() return 1 end}) return {}",
        "return {x = getmetatable('').__index.rep}",
        "return {x = getfenv(0).io}",
        "collectgarbage('stop') return {}",
        "return {x = ('x'):dump()}",
    };
    for (const char* code : attempts) {
        Eval e(code);
        EXPECT_TRUE(e.Value().starts_with("FAILED:")) << code << " gave " << e.Value();
    }
    Eval allowed("return {t = type(os.time()), d = os.date('!%Y', 0), c = type(os.clock()), mt = getmetatable('')}");
    const std::string v = allowed.Value();
    for (const char* want : {R"("t":"number")", R"("d":"1970")", R"("c":"number")", R"("mt":false)"}) {
        EXPECT_NE(v.find(want), std::string::npos) << want << " in " << v;
    }
}

struct Timed {
    std::string value;
    std::chrono::milliseconds took;
};
Timed RunTimed(Eval& e) {
    const auto start = std::chrono::steady_clock::now();
    std::string v = e.Value();
    return {v, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)};
}

TEST(ScriptSandbox, TimeBudgetStopsEveryKindOfLoop) {
    const char* loops[] = {
        "while true do end",
        "local x = 0 for i = 1, 1e15 do x = x + i end return {x = x}",  // hot: the JIT would compile it
        "local function f(n) return f(n + 1) end return {x = f(1)}",    // a tail call loop
        "while true do pcall(function() while true do end end) end",    // catching the timeout
        "local co = coroutine.create(function() while true do end end) while true do coroutine.resume(co) end",
        "while true do local ok = xpcall(function() while true do end end, function(m) return m end) end",
    };
    for (const char* code : loops) {
        Eval e(code, 50ms);
        const Timed t = RunTimed(e);
        EXPECT_TRUE(t.value.starts_with("FAILED:") && t.value.find("timeout") != std::string::npos)
            << code << " gave " << t.value;
        EXPECT_LT(t.took, 1000ms) << code;
        EXPECT_EQ(e.Value().find("timeout") != std::string::npos, true);  // and again: the state still works
    }
}

TEST(ScriptSandbox, MemoryCapAndDepthLimitFailTheCallNotTheWorker) {
    Eval bomb("local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end return {}", 2000ms);
    auto a = bomb.Run();
    ASSERT_TRUE(a.failure);
    EXPECT_NE(a.failure->message.find("memory"), std::string::npos) << a.failure->message;
    EXPECT_LE(bomb.set->memory_used(), 10u << 20);
    Eval big("return {x = #string.rep('x', 64 * 1024 * 1024)}");
    EXPECT_TRUE(big.Value().starts_with("FAILED:"));
    Eval deep("local function f(n) return 1 + f(n + 1) end return {x = f(1)}");
    const std::string v = deep.Value();
    EXPECT_TRUE(v.find("call depth") != std::string::npos || v.find("stack overflow") != std::string::npos) << v;
    // The state is usable after each.
    Eval ok("shared.n = (shared.n or 0) + 1 return {n = shared.n}");
    EXPECT_EQ(ok.Value(), R"("n":1)");
}

TEST(ScriptSandbox, CompileErrorsNameTheScript) {
    core::Config config;
    config.scripts.routing = Script("scripts.routing", "return (");
    const auto errors = CheckScripts(config);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("scripts.routing:1:"), std::string::npos) << errors[0];
    config.scripts.routing = Script("scripts.routing", "\x1bLJ bytecode");
    EXPECT_EQ(CheckScripts(config).size(), 1u);
}

// --- the points -------------------------------------------------------------------------------

struct Points {
    core::ScriptsConfig scripts;
    core::HooksConfig hooks;
    HeadFields headers;
    RequestView request;
    std::string body = R"({"model":"gpt-4o","user":"vip-7","messages":[{"role":"user","content":"hi"}]})";
    Points() {
        headers.set("x-user-tier", "gold");
        headers.set("Content-Type", "application/json");
        request.id = "req-9";
        request.method = "POST";
        request.path = "/v1/chat/completions";
        request.api_key = "sk-...abcd";
        request.model = "gpt-4o";
        request.headers = &headers;
        request.body = body;
    }
    ScriptSet Make() { return ScriptSet(scripts, hooks); }
};

TEST(ScriptPoints, RoutingSeesHeadersBodyAndBackends) {
    Points p;
    p.scripts.routing = Script("scripts.routing", R"(
        if request.headers["X-User-Tier"] == "gold" and request.body.user:sub(1, 3) == "vip"
           and backends.fast.healthy and backends.fast.latency_ms == 12 then return "fast" end
        return nil)");
    auto set = p.Make();
    std::vector<BackendView> backends{{"fast", "http://127.0.0.1:1/v1", true, 1, 12, 3},
                                      {"slow", "http://x", true, 1, 0, 0}};
    auto a = set.Routing(p.request, backends);
    ASSERT_FALSE(a.failure) << a.failure->message;
    EXPECT_EQ(a.value.value_or(""), "fast");
    p.headers.set("x-user-tier", "free");
    EXPECT_FALSE(set.Routing(p.request, backends).value);
}

TEST(ScriptPoints, BodyIsBuiltOnlyWhenRead) {
    Points p;
    p.body = "not json at all";
    p.request.body = p.body;
    p.scripts.routing = Script("scripts.routing", "shared.req = request return request.headers['x-user-tier']");
    auto set = p.Make();
    EXPECT_EQ(set.Routing(p.request, {}).value.value_or(""), "gold");
    // A request table kept past its call reads nothing of a later request.
    p.scripts.routing = Script("scripts.routing", "");
    core::ScriptsConfig s2;
    s2.routing = Script("scripts.routing", R"(
        if shared.old then return tostring(shared.old.body) .. "/" .. tostring(shared.old.headers) end
        shared.old = request return nil)");
    ScriptSet stash(s2, p.hooks);
    EXPECT_FALSE(stash.Routing(p.request, {}).value);
    EXPECT_EQ(stash.Routing(p.request, {}).value.value_or(""), "nil/nil");
}

TEST(ScriptPoints, AuthAndRateLimitDecisions) {
    Points p;
    p.scripts.auth = Script("scripts.auth", R"(
        if request.body.model == "gpt-4o" and key_info.name == "intern" then
            return {allow = false, reason = "model not allowed for interns", status_code = 403} end
        return {allow = standard_checks.quota_available})");
    p.scripts.rate_limit = Script("scripts.rate_limit", R"(
        if rate_limit_status.key_remaining < 5 and current_time.hour >= 0 then
            return {allow = false, reason = "peak", retry_after = 30} end)");
    auto set = p.Make();
    KeyInfo key;
    key.name = "intern";
    key.total_quota = 10;
    key.used_quota = 3;
    auto a = set.Auth(p.request, key);
    ASSERT_TRUE(a.value);
    EXPECT_FALSE(a.value->allow);
    EXPECT_EQ(a.value->reason, "model not allowed for interns");
    EXPECT_EQ(a.value->status_code, 403u);
    key.name = "staff";
    EXPECT_TRUE(set.Auth(p.request, key).value->allow);
    key.used_quota = 10;
    EXPECT_FALSE(set.Auth(p.request, key).value->allow);
    auto r = set.RateLimit(p.request, key, LimitStatus{100, 2, 1});
    ASSERT_TRUE(r.value);
    EXPECT_FALSE(r.value->allow);
    EXPECT_EQ(r.value->retry_after, 30);
    EXPECT_FALSE(set.RateLimit(p.request, key, LimitStatus{100, 50, 1}).value);
}

TEST(ScriptPoints, RequestTransformReturnsBodyAndCheckedHeaders) {
    Points p;
    p.scripts.request_transform = Script("scripts.request_transform", R"(
        local b = request.body b.model = "llama-3" b.messages[1].content = "hello"
        return {body = b, headers = {["X-Tenant"] = "acme"}})");
    auto set = p.Make();
    auto a = set.RequestTransform(p.request);
    ASSERT_TRUE(a.value) << (a.failure ? a.failure->message : "");
    EXPECT_NE(a.value->body->find(R"("model":"llama-3")"), std::string::npos) << *a.value->body;
    EXPECT_NE(a.value->body->find(R"("messages":[{)"), std::string::npos) << *a.value->body;
    ASSERT_EQ(a.value->headers.size(), 1u);
    EXPECT_EQ(a.value->headers[0].first, "X-Tenant");
    p.scripts.request_transform =
        Script("scripts.request_transform", R"(return {headers = {["X-A"] = "1\r\nX-B: 2"}})");
    auto bad = p.Make().RequestTransform(p.request);
    ASSERT_TRUE(bad.failure);
    EXPECT_FALSE(bad.failure->fail_open);  // scripts fail closed unless on_error: fail_open
}

TEST(ScriptPoints, UsageAndErrorHandler) {
    Points p;
    p.scripts.usage = Script("scripts.usage", R"(
        return {prompt_tokens = usage.prompt_tokens, cost_usd = usage.total_tokens * 0.001,
                tier = request.headers["x-user-tier"], stream = metadata.is_stream})");
    p.scripts.error_handler = Script("scripts.error_handler", R"(
        return {status_code = error.status_code, body = {error = {code = error.type, msg = error.message}}})");
    auto set = p.Make();
    auto u = set.Usage(p.request, UsageView{10, 20, 30, {}, "http://b", 5, true});
    ASSERT_TRUE(u.value);
    for (const char* want : {R"("prompt_tokens":10)", R"("cost_usd":0.03)", R"("tier":"gold")", R"("stream":true)"}) {
        EXPECT_NE(u.value->find(want), std::string::npos) << *u.value;
    }
    auto e = set.ErrorHandler(p.request, ErrorView{"rate_limit", "slow down", "", 429, 0});
    ASSERT_TRUE(e.value);
    EXPECT_EQ(e.value->status_code, 429u);
    EXPECT_TRUE(e.value->body->starts_with(R"({"error":{)")) << *e.value->body;
    EXPECT_NE(e.value->body->find(R"("code":"rate_limit")"), std::string::npos) << *e.value->body;
    EXPECT_NE(e.value->body->find(R"("msg":"slow down")"), std::string::npos) << *e.value->body;
}

TEST(ScriptPoints, HooksKeepTheGoContract) {
    Points p;
    p.hooks.enabled = true;
    p.hooks.on_request = Script("hooks.on_request", R"(
        local ok = type(request.body) == "string" and request.body:find('"vip%-7"') ~= nil
        if request.headers["X-User-Tier"] ~= "gold" then return {continue = false, error = "gold only"} end
        log("on_request for " .. request.method .. " " .. request.path .. " at " .. timestamp)
        return {continue = ok, modified = true, headers = {["X-Hooked"] = "yes"}, metadata = metadata})");
    p.hooks.on_request.fail_open = true;
    p.hooks.on_error = Script("hooks.on_error", "error('boom')");
    p.hooks.on_error.fail_open = true;
    auto set = p.Make();
    HookInput in;
    in.request = &p.request;
    in.timestamp = 1700000000;
    auto a = set.Hook(Point::kOnRequest, in);
    ASSERT_TRUE(a.value);
    EXPECT_FALSE(a.value->stop);
    ASSERT_EQ(a.value->headers.size(), 1u);
    EXPECT_EQ(a.value->headers[0].second, "yes");
    p.headers.set("x-user-tier", "free");
    auto refused = set.Hook(Point::kOnRequest, in);
    EXPECT_TRUE(refused.value->stop);
    EXPECT_EQ(refused.value->error, "gold only");
    auto failed = set.Hook(Point::kOnError, in);
    ASSERT_TRUE(failed.failure);
    EXPECT_TRUE(failed.failure->fail_open);
    EXPECT_NE(failed.failure->message.find("hooks.on_error:1: boom"), std::string::npos) << failed.failure->message;
}

TEST(ScriptPoints, ResponseTransformAndAuthStep) {
    Points p;
    p.scripts.response_transform = Script("scripts.response_transform", R"(
        local b = response.body b.model = request.model
        return {status_code = response.status_code + 1, body = b})");
    core::AuthPipelineEntry step;
    step.type = core::AuthStepType::kLua;
    step.script = Script("auth.pipeline.partner", R"(
        if data.name == "staff" and key.name == "staff" and request.ip == "10.0.0.1" and metadata.team == "ml" then
            return {allow = true} end
        if api_key == "partner-1" and request.headers["x-partner"] == "yes" then return true end
        return {allow = false, message = "no: " .. request.method .. " " .. request.path})");
    script::ScriptSet set(p.scripts, p.hooks, {core::AuthPipelineEntry{}, step});
    script::ResponseView response;
    response.status_code = 200;
    response.body = R"({"model":"backend-7","choices":[]})";
    auto r = set.ResponseTransform(p.request, response);
    ASSERT_TRUE(r.value) << (r.failure ? r.failure->message : "");
    EXPECT_EQ(r.value->status_code, 201u);
    EXPECT_NE(r.value->body->find(R"("model":"gpt-4o")"), std::string::npos) << *r.value->body;
    EXPECT_NE(r.value->body->find(R"("choices":[])"), std::string::npos) << *r.value->body;

    p.headers.set("x-partner", "yes");
    p.request.client_ip = "10.0.0.1";
    EXPECT_FALSE(set.AuthStep(0, {"partner-1", &p.request}).value);  // a builtin step: no script
    EXPECT_TRUE(set.AuthStep(1, {"partner-1", &p.request}).value->allow);
    KeyInfo staff;
    staff.name = "staff";
    const std::map<std::string, std::string> metadata{{"team", "ml"}};
    EXPECT_TRUE(set.AuthStep(1, {"sk-x", &p.request, &staff, &metadata}).value->allow);
    auto denied = set.AuthStep(1, {"sk-x", &p.request});
    ASSERT_TRUE(denied.value);
    EXPECT_FALSE(denied.value->allow);
    EXPECT_EQ(denied.value->message, "no: POST /v1/chat/completions");
}

// examples/lua/redact_stream.lua, as configured: masks card numbers in a block of events and
// leaves other blocks alone (nil).
TEST(ScriptPoints, RedactStreamExampleMasksCardNumbers) {
    std::ifstream file(std::string(LP_SOURCE_DIR) + "/examples/lua/redact_stream.lua");
    std::stringstream code;
    code << file.rdbuf();
    ASSERT_FALSE(code.str().empty());
    Points p;
    p.scripts.on_chunk = Script("scripts.on_chunk", code.str());
    auto set = p.Make();
    const std::string event = R"(data: {"choices":[{"delta":{"content":"card 4111 1111 1111 1234 ok"}}]})"
                              "\n\n";
    auto masked = set.OnChunk(p.request, event, 0);
    ASSERT_TRUE(masked.value) << (masked.failure ? masked.failure->message : "nil");
    EXPECT_NE(masked.value->find("card ****-****-****-1234 ok"), std::string::npos) << *masked.value;
    EXPECT_EQ(masked.value->find("4111"), std::string::npos);
    EXPECT_FALSE(set.OnChunk(p.request, "data: {\"x\":1}\n\n", 1).value);
}

TEST(ScriptPoints, FailuresAreCountedByPointAndReason) {
    Points p;
    p.scripts.routing = Script("scripts.routing", "while true do end", 20ms);
    p.scripts.auth = Script("scripts.auth", "return 42");
    auto set = p.Make();
    observe::MetricsShard metrics(1);
    set.SetMetrics(&metrics);
    EXPECT_TRUE(set.Routing(p.request, {}).failure);
    EXPECT_TRUE(set.Auth(p.request, KeyInfo{}).failure);
    EXPECT_EQ(metrics.script_errors(static_cast<std::size_t>(Point::kRouting), 1), 1u);  // timeout
    EXPECT_EQ(metrics.script_errors(static_cast<std::size_t>(Point::kAuth), 0), 1u);     // error
}

}  // namespace
}  // namespace llmproxy::script
