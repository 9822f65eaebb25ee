"""Vendor presets (providers[].preset) against a mock that speaks like each vendor (x-mock-vendor,
sent as the provider's own header): base URL, key variable and health path filled in; request
quirks (Zhipu's rejected parameters), answer quirks (Moonshot's usage inside the choice, DeepSeek's
cache fields, vLLM's `reasoning`, Gemini's and Ollama's tool calls without index, Ollama's and
TGI's error shapes, OpenRouter's comments) absorbed for OpenAI, Anthropic and Responses clients."""
import json
import os
import subprocess
import unittest

from harness import GATEWAY, GatewayTest, access_log_line

ADMIN = {"Authorization": "Bearer sk-admin-presets-0001"}
ANTHROPIC = {"anthropic-version": "2023-06-01"}
VENDORS = ["openai", "anthropic", "deepseek", "volcengine", "dashscope", "qianfan", "gemini", "openrouter",
           "moonshot", "zhipu", "ollama", "vllm", "tgi"]
DEFAULT_URLS = {
    "openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com/v1",
    "deepseek": "https://api.deepseek.com/v1", "volcengine": "https://ark.cn-beijing.volces.com/api/v3",
    "dashscope": "https://dashscope.aliyuncs.com/compatible-mode/v1", "qianfan": "https://qianfan.baidubce.com/v2",
    "gemini": "https://generativelanguage.googleapis.com/v1beta/openai", "openrouter": "https://openrouter.ai/api/v1",
    "moonshot": "https://api.moonshot.ai/v1", "zhipu": "https://open.bigmodel.cn/api/paas/v4",
    "ollama": "http://127.0.0.1:11434/v1", "vllm": "http://127.0.0.1:8000/v1", "tgi": "http://127.0.0.1:3000/v1",
}


def events(body):
    out = []
    for frame in body.decode().split("\n\n"):
        data = [l[6:] for l in frame.split("\n") if l.startswith("data: ")]
        if data and data[0] != "[DONE]":
            out.append(json.loads(data[0]))
    return out


class Presets(GatewayTest):
    def setUp(self):
        super().setUp()
        os.environ["DEEPSEEK_API_KEY"] = "sk-deepseek-from-env"
        self.addCleanup(os.environ.pop, "DEEPSEEK_API_KEY", None)
        self.up = self.mock("vendors")
        self.native = self.mock("responses-native")
        self.log_path = os.path.join(self.tmp.name, "access.log")
        url = f"http://127.0.0.1:{self.up}/v1"
        served = "\n".join(
            f'  - {{ name: {v}, preset: {v}, base_url: "{url if v not in ("openai", "openrouter", "moonshot") else f"http://127.0.0.1:{self.native}/v1"}", '
            f'models: ["{v}-m"], headers: {{ x-mock-vendor: {v} }}{", api_key: sk-" + v if v != "deepseek" else ""} }}'
            for v in VENDORS if v != "anthropic")
        # The same presets with nothing but a name: what the preset fills in.
        bare = "\n".join(f'  - {{ name: bare-{v}, preset: {v}, models: ["never-{v}"] }}' for v in VENDORS)
        self.gateway(f"""
server: {{ admin_key: sk-admin-presets-0001 }}
providers:
{served}
  - {{ name: anthropic, preset: anthropic, base_url: "http://127.0.0.1:{self.up}", api_key: sk-ant, models: ["anthropic-m"] }}
{bare}
logging: {{ access_log: "{self.log_path}" }}
""", workers=1)

    def chat(self, model, headers=None, **extra):
        body = dict({"model": model, "messages": [{"role": "user", "content": "hi"}]}, **extra)
        return self.post("/v1/chat/completions", body, headers=headers)

    def upstream(self, port=None):
        up = self.mock_json(port or self.up, "/mock/last")
        up["json"] = json.loads(up["body"]) if up["body"] else None
        up["headers"] = {k.lower(): v for k, v in up["headers"].items()}
        return up

    def logged(self, request_id):
        line = access_log_line(self.log_path, request_id)
        self.assertIsNotNone(line, request_id)
        return line

    def test_presets_fill_base_url_type_and_health_path(self):
        providers = self.request("GET", "/admin/v1/providers", headers=ADMIN).json()
        rows = providers["data"] if isinstance(providers, dict) else providers
        by_name = {p["name"]: p for p in rows}
        for vendor, url in DEFAULT_URLS.items():
            p = by_name[f"bare-{vendor}"]
            self.assertEqual((p["preset"], p["base_url"]), (vendor, url), vendor)
        self.assertEqual(by_name["bare-anthropic"]["type"], "anthropic")
        self.assertEqual(by_name["bare-ollama"]["health_check_path"], "/api/version")
        self.assertEqual(by_name["bare-vllm"]["health_check_path"], "/health")
        self.assertEqual(by_name["bare-deepseek"]["health_check_path"], "/v1/models")
        self.assertEqual(by_name["bare-gemini"]["health_check_path"], "/v1beta/openai/models")
        # The key came from DEEPSEEK_API_KEY (masked in the view).
        self.assertNotEqual(by_name["bare-deepseek"]["api_key"], by_name["bare-zhipu"]["api_key"])

    def test_unknown_preset_is_a_config_error_naming_the_vendors(self):
        path = self.write_config('providers:\n  - { name: x, preset: nonsuch, models: ["*"] }\n')
        r = subprocess.run([GATEWAY, "--check-config", path], capture_output=True, text=True, timeout=10)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("providers[0].preset", r.stdout + r.stderr)
        self.assertIn("deepseek", r.stdout + r.stderr)

    def test_each_vendor_gets_bearer_auth_on_its_path(self):
        for vendor in ["volcengine", "dashscope", "qianfan", "gemini", "zhipu", "ollama", "vllm", "tgi"]:
            r = self.chat(f"{vendor}-m")
            self.assertEqual(r.status, 200, (vendor, r.body))
            up = self.upstream()
            self.assertEqual(up["target"], "/v1/chat/completions", vendor)
            self.assertEqual(up["headers"]["authorization"], f"Bearer sk-{vendor}", vendor)
        for vendor in ["openai", "openrouter", "moonshot"]:  # these serve /v1/responses themselves
            r = self.post("/v1/responses", {"model": f"{vendor}-m", "input": "hi"})
            self.assertEqual(r.status, 200, (vendor, r.body))
            up = self.upstream(self.native)
            self.assertEqual((up["target"], up["headers"]["authorization"]), ("/v1/responses", f"Bearer sk-{vendor}"))
        self.chat("deepseek-m")
        self.assertEqual(self.upstream()["headers"]["authorization"], "Bearer sk-deepseek-from-env")
        r = self.post("/v1/messages", {"model": "anthropic-m", "max_tokens": 5,
                                       "messages": [{"role": "user", "content": "hi"}]}, headers=ANTHROPIC)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.upstream()["headers"]["x-api-key"], "sk-ant")

    def test_zhipu_never_sees_what_it_rejects(self):
        body = {"model": "zhipu-m", "stream": True, "presence_penalty": 0.5, "frequency_penalty": 0.1,
                "max_completion_tokens": 64, "parallel_tool_calls": True,
                "messages": [{"role": "user", "content": "hi", "name": "alice"}],
                "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}, "strict": True}}]}
        r = self.post("/v1/chat/completions", body)
        self.assertEqual(r.status, 200, r.body)  # the mock answers 400 to any of them
        sent = self.upstream()["json"]
        self.assertEqual(sent["max_tokens"], 64)
        for key in ("presence_penalty", "frequency_penalty", "max_completion_tokens", "stream_options"):
            self.assertNotIn(key, sent)
        self.assertNotIn("name", sent["messages"][0])
        self.assertNotIn("strict", sent["tools"][0]["function"])
        # An Anthropic client's translated request goes through the same edits.
        r = self.post("/v1/messages", {"model": "zhipu-m", "max_tokens": 5, "stream": True,
                                       "messages": [{"role": "user", "content": "hi"}]}, headers=ANTHROPIC)
        self.assertEqual(r.status, 200, r.body)

    def test_moonshot_usage_inside_the_choice_is_metered(self):
        r = self.chat("moonshot-m", headers={"x-request-id": "ms-1", "x-mock-cache-read": "3"}, stream=True)
        self.assertEqual(r.status, 200, r.body)
        line = self.logged("ms-1")
        self.assertEqual((line["completion_tokens"], line["cached_tokens"]), (5, 3))
        r = self.post("/v1/messages", {"model": "moonshot-m", "max_tokens": 5, "stream": True,
                                       "messages": [{"role": "user", "content": "hi"}]}, headers=ANTHROPIC)
        delta = [e for e in events(r.body) if e["type"] == "message_delta"][0]
        self.assertEqual(delta["usage"]["output_tokens"], 5)
        # Moonshot serves the Responses API itself: passed through.
        r = self.post("/v1/responses", {"model": "moonshot-m", "input": "hi"})
        self.assertEqual(r.json()["x_mock_extra"], {"kept": True})
        self.assertEqual(self.upstream(self.native)["target"], "/v1/responses")

    def test_deepseek_cache_fields_and_vllm_reasoning(self):
        r = self.post("/v1/messages", {"model": "deepseek-m", "max_tokens": 5, "stream": True,
                                       "messages": [{"role": "user", "content": "hi"}]},
                      headers=dict(ANTHROPIC, **{"x-mock-thinking": "1", "x-mock-cache-read": "4",
                                                 "x-request-id": "ds-1"}))
        ev = events(r.body)
        self.assertEqual(ev[0]["message"]["usage"]["cache_read_input_tokens"], 0)  # usage comes at the end
        self.assertIn("thinking", [e["content_block"]["type"] for e in ev if e["type"] == "content_block_start"])
        self.assertEqual([e for e in ev if e["type"] == "message_delta"][0]["usage"]["cache_read_input_tokens"], 4)
        self.assertEqual(self.logged("ds-1")["cached_tokens"], 4)
        r = self.post("/v1/responses", {"model": "vllm-m", "input": "hi"}, headers={"x-mock-thinking": "1"})
        out = r.json()["output"]
        self.assertEqual(out[0]["type"], "reasoning")
        self.assertEqual(out[0]["summary"][0]["text"], "Let me think.")
        # vLLM and Ollama serve /v1/messages themselves.
        self.post("/v1/messages", {"model": "vllm-m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
                  headers=ANTHROPIC)
        self.assertEqual(self.upstream()["target"], "/v1/messages")

    def test_tool_calls_without_index_get_one(self):
        ask = {"role": "user", "content": 'go [[tool:shell {"cmd":"ls"}]]'}
        for vendor in ("gemini", "ollama"):
            r = self.post("/v1/chat/completions", {"model": f"{vendor}-m", "stream": True, "messages": [ask]})
            calls = [c for e in events(r.body) for ch in e.get("choices", []) for c in ch["delta"].get("tool_calls", [])]
            self.assertTrue(calls, (vendor, r.body))
            self.assertTrue(all(c.get("index") == 0 for c in calls), (vendor, calls))
            self.assertEqual(json.loads("".join(c["function"].get("arguments", "") for c in calls)), {"cmd": "ls"})
        # The raw upstream really omitted it (not a no-op fix).
        self.assertNotIn('"index"', self.request("POST", "/v1/chat/completions",
                                                 {"model": "m", "stream": True, "messages": [ask]},
                                                 headers={"x-mock-vendor": "gemini"}, port=self.up).body.decode()
                         .split("tool_calls", 1)[1].split("\n")[0])

    def test_vendor_error_shapes_become_openai_errors(self):
        for vendor, message in (("ollama", "model runner has unexpectedly stopped"),
                                ("tgi", "Request failed during generation")):
            r = self.chat(f"{vendor}-m", headers={"x-mock-fault": "500"})
            self.assertGreaterEqual(r.status, 500, r.body)
            err = r.json()["error"]
            self.assertEqual(err["message"], message, vendor)
            self.assertEqual(err["type"], "server_error")

    def test_openrouter_comments_and_usage(self):
        r = self.chat("openrouter-m", headers={"x-request-id": "or-1"}, stream=True)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.logged("or-1")["completion_tokens"], 5)


if __name__ == "__main__":
    unittest.main()
