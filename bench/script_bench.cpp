// What one script call costs on the worker's thread, without the network: the routing script of
// bench/lua_bench.py (a header and a body field), the same reading the header only, a
// request_transform that renames the model, and a Go LLMProxy on_request hook.
//   ./build/bench_script --benchmark_min_time=1
#include <benchmark/benchmark.h>

#include "script/script_set.hpp"

namespace {

using namespace llmproxy;

const std::string kBody =
    R"({"model":"gpt","user":"vip-17","max_tokens":128,"messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":")" +
    [] {
        std::string s;
        for (int i = 0; i < 9; ++i) s += "Summarise the benefits of a gateway in front of model servers. ";
        return s;
    }() +
    R"("}]})";

core::ScriptConfig Script(std::string name, std::string code) {
    core::ScriptConfig c;
    c.enabled = true;
    c.name = std::move(name);
    c.code = std::move(code);
    return c;
}

struct Fixture {
    HeadFields headers;
    script::RequestView request;
    std::vector<script::BackendView> backends{{"fast", "http://127.0.0.1:1/v1", true, 1, 0, 0},
                                              {"slow", "http://127.0.0.1:2/v1", true, 1, 0, 0}};
    Fixture() {
        headers.set("Host", "bench");
        headers.set("Content-Type", "application/json");
        headers.set("Authorization", "Bearer sk-bench");
        headers.set("X-User-Tier", "vip");
        request.id = "req-1";
        request.method = "POST";
        request.path = "/v1/chat/completions";
        request.model = "gpt";
        request.headers = &headers;
        request.body = kBody;
    }
};

void Routing(benchmark::State& state, const char* code) {
    Fixture f;
    core::ScriptsConfig scripts;
    scripts.routing = Script("scripts.routing", code);
    script::ScriptSet set(scripts, core::HooksConfig{});
    for (auto _ : state) {
        auto answer = set.Routing(f.request, f.backends);
        benchmark::DoNotOptimize(answer);
        if (!answer.value) state.SkipWithError("no answer");
    }
}

void BM_RoutingHeaderAndBodyField(benchmark::State& state) {
    Routing(state, R"(local tier = request.headers["X-User-Tier"]
local user = request.body and request.body.user or ""
if tier == "vip" or string_utils.starts_with(user, "vip-") then return "fast" end
return nil)");
}
BENCHMARK(BM_RoutingHeaderAndBodyField);

void BM_RoutingHeaderOnly(benchmark::State& state) {
    Routing(state, R"(if request.headers["X-User-Tier"] == "vip" then return "fast" end return nil)");
}
BENCHMARK(BM_RoutingHeaderOnly);

void BM_RequestTransformRenamesModel(benchmark::State& state) {
    Fixture f;
    core::ScriptsConfig scripts;
    scripts.request_transform =
        Script("scripts.request_transform", "local b = request.body b.model = 'renamed' return {body = b}");
    script::ScriptSet set(scripts, core::HooksConfig{});
    for (auto _ : state) {
        auto answer = set.RequestTransform(f.request);
        benchmark::DoNotOptimize(answer);
    }
}
BENCHMARK(BM_RequestTransformRenamesModel);

void BM_OnRequestHook(benchmark::State& state) {
    Fixture f;
    core::HooksConfig hooks;
    hooks.enabled = true;
    hooks.on_request = Script("hooks.on_request",
                              "if string.find(request.body, 'forbidden', 1, true) then return {continue = false} end");
    script::ScriptSet set(core::ScriptsConfig{}, hooks);
    script::HookInput input;
    input.request = &f.request;
    for (auto _ : state) {
        auto answer = set.Hook(script::Point::kOnRequest, input);
        benchmark::DoNotOptimize(answer);
    }
}
BENCHMARK(BM_OnRequestHook);

}  // namespace

BENCHMARK_MAIN();
