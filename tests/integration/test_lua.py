"""Lua scripts on the request path (#18): the examples in examples/lua/ run as configured
(`scripts.*` and the Go LLMProxy's `hooks.*`), their answers change what happens (routing,
refusals, rewrites, usage fields, error shapes), a failing script fails closed or open as
configured and is counted, and reloading scripts under streaming load drops nothing."""
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import sqlite3
import threading
import time
import unittest
import urllib.request

from harness import CHAT, GatewayTest, access_log_line, eventually, free_port

EXAMPLES = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../examples/lua"))
RESEARCH = {"Authorization": "Bearer sk-research-000000001"}
INTERN = {"Authorization": "Bearer sk-intern-0000000001"}
KEYS = """
auth:
  keys:
    - { key: sk-research-000000001, name: team-research, user_id: u-research }
    - { key: sk-intern-0000000001, name: intern, user_id: u-intern }
"""


def example(name):
    return os.path.join(EXAMPLES, name)


def jwt(claims, secret="change-me-tenant-secret"):
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = b64(hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


class DecisionService:
    """A decision webhook receiver on 127.0.0.1: answers with `decide(payload)`, after `delay` seconds."""

    def __init__(self, decide, delay=0.0):
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        self.payloads = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.payloads.append(payload)
                time.sleep(delay)
                body = json.dumps(decide(payload)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass  # the gateway gave up waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class LuaScripts(GatewayTest):
    def start(self, scripts="", hooks="", extra="", workers=1, fast_args=(), extra_provider="", auth=KEYS):
        self.fast = self.mock("fast", *fast_args)
        self.slow = self.mock("slow")
        self.log_path = os.path.join(self.tmp.name, "access.log")
        self.db_path = os.path.join(self.tmp.name, "ledger.db")
        more = ", " + extra_provider if extra_provider else ""
        return self.gateway(f"""
server: {{ admin_key: sk-admin-lua-0000001 }}
providers:
  - {{ name: fast, base_url: "http://127.0.0.1:{self.fast}/v1", models: ["gpt-4o", "gpt-4o-mini"]{more} }}
  - {{ name: slow, base_url: "http://127.0.0.1:{self.slow}/v1", models: ["gpt-4o", "gpt-4o-mini"]{more} }}
{auth}
logging: {{ access_log: "{self.log_path}" }}
{scripts}
{hooks}
{extra}
""", workers=workers)

    def served_by(self, r):
        return r.header("x-mock-name")

    def test_vip_routing_by_header_and_body_field(self):
        self.start(f'scripts: {{ routing: {{ script_file: "{example("vip_routing.lua")}" }} }}')
        chat = dict(CHAT, user="vip-42")
        self.assertEqual({self.served_by(self.post("/v1/chat/completions", chat, RESEARCH)) for _ in range(6)},
                         {"fast"})
        vip_header = dict(RESEARCH, **{"X-User-Tier": "vip"})
        self.assertEqual({self.served_by(self.post("/v1/chat/completions", CHAT, vip_header)) for _ in range(6)},
                         {"fast"})
        # Everyone else gets the configured strategy (round robin over both).
        self.assertEqual({self.served_by(self.post("/v1/chat/completions", CHAT, RESEARCH)) for _ in range(6)},
                         {"fast", "slow"})

    def test_routing_choice_keeps_fallbacks(self):
        self.start(f'scripts: {{ routing: {{ script: "return \\"fast\\"" }} }}', fast_args=("--fault", "500"))
        r = self.post("/v1/chat/completions", CHAT, RESEARCH)
        # fast fails with 500: the retry goes to the other provider, as without a script.
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.served_by(r), "slow")
        self.assertEqual(self.mock_json(self.fast, "/mock/stats")["requests"], 1)

    def test_model_permission_by_key(self):
        self.start(f'scripts: {{ auth: {{ script_file: "{example("model_permission.lua")}" }} }}')
        r = self.post("/v1/chat/completions", CHAT, INTERN)
        self.assertOpenAIError(r, 403, "script_refused")
        self.assertIn("'intern' may not use gpt-4o", r.json()["error"]["message"])
        self.assertEqual(self.post("/v1/chat/completions", dict(CHAT, model="gpt-4o-mini"), INTERN).status, 200)
        self.assertEqual(self.post("/v1/chat/completions", CHAT, RESEARCH).status, 200)

    def test_request_rewrite_changes_model_and_headers(self):
        self.start(f'scripts: {{ request_transform: {{ script_file: "{example("request_rewrite.lua")}" }} }}')
        r = self.post("/v1/chat/completions", dict(CHAT, model="gpt-4o-mini"), RESEARCH)
        self.assertEqual(r.status, 200, r.body)
        port = self.fast if self.served_by(r) == "fast" else self.slow
        last = self.mock_json(port, "/mock/last")
        body = json.loads(last["body"])
        self.assertEqual(body["model"], "llama-3.1-8b-instruct")
        self.assertEqual(body["temperature"], 0.2)
        headers = {k.lower(): v for k, v in last["headers"].items()}
        self.assertEqual(headers["x-rewritten-by"], "llm-proxy")
        self.assertEqual(headers["x-original-model"], "gpt-4o-mini")
        self.assertEqual(headers["content-length"], str(len(last["body"])))
        # The client still sees its own model name in metering.
        line = access_log_line(self.log_path, r.header("x-request-id"))
        self.assertEqual(line["model"], "gpt-4o-mini")

    def test_response_model_name_mapped_back(self):
        self.start(f'scripts: {{ response_transform: {{ script_file: "{example("response_model_map.lua")}" }} }}',
                   extra_provider='model_map: { "gpt-4o": "backend-model-7" }')
        r = self.post("/v1/chat/completions", CHAT, RESEARCH)
        self.assertEqual(r.status, 200, r.body)
        port = self.fast if self.served_by(r) == "fast" else self.slow
        self.assertEqual(json.loads(self.mock_json(port, "/mock/last")["body"])["model"], "backend-model-7")
        self.assertEqual(r.json()["model"], "gpt-4o")
        self.assertEqual(int(r.header("content-length")), len(r.body))
        # Streams pass untouched.
        r = self.post("/v1/chat/completions", dict(CHAT, stream=True), RESEARCH)
        self.assertEqual(r.status, 200)
        self.assertIn(b"data: ", r.body)

    def test_on_chunk_rewrites_stream_events_only_when_asked(self):
        self.start("""scripts:
  on_chunk:
    rewrite: true
    script: |
      return (string.gsub(chunk, '"content":"', '"content":"[lua]'))
""")
        r = self.post("/v1/chat/completions", dict(CHAT, stream=True), RESEARCH)
        self.assertEqual(r.status, 200)
        self.assertIn(b'"content":"[lua]', r.body)
        self.assertTrue(r.body.rstrip().endswith(b"data: [DONE]"), r.body[-200:])

    def test_on_chunk_observes_by_default(self):
        self.start("scripts: { on_chunk: { script: \"return 'replaced'\" } }")
        r = self.post("/v1/chat/completions", dict(CHAT, stream=True), RESEARCH)
        self.assertEqual(r.status, 200)
        self.assertNotIn(b"replaced", r.body)
        self.assertIn(b"data: [DONE]", r.body)

    def test_failing_response_transform_fails_closed(self):
        self.start("scripts: { response_transform: { script: \"error('nope')\" } }")
        r = self.post("/v1/chat/completions", CHAT, RESEARCH)
        self.assertOpenAIError(r, 500, "script_error")

    def test_transform_cannot_set_credentials_or_break_framing(self):
        script = ('return {headers = {Authorization = "Bearer stolen", ["Content-Length"] = "1", ["X-Ok"] = "1"}}')
        self.start(f"scripts: {{ request_transform: {{ script: '{script}' }} }}")
        r = self.post("/v1/chat/completions", CHAT, RESEARCH)
        self.assertEqual(r.status, 200, r.body)
        port = self.fast if self.served_by(r) == "fast" else self.slow
        headers = {k.lower(): v for k, v in self.mock_json(port, "/mock/last")["headers"].items()}
        self.assertEqual(headers["x-ok"], "1")
        self.assertNotIn("authorization", headers)  # no upstream key configured, and none taken from the script
        self.assertNotEqual(headers["content-length"], "1")

    def test_billing_fields_reach_access_log_and_ledger(self):
        self.start(f'scripts: {{ usage: {{ script_file: "{example("billing_usage.lua")}" }} }}',
                   extra=f'database: {{ url: "sqlite://{self.tmp.name}/ledger.db" }}')
        r = self.post("/v1/chat/completions", CHAT, dict(RESEARCH, **{"X-Billing-Account": "acct-9"}))
        self.assertEqual(r.status, 200)
        line = access_log_line(self.log_path, r.header("x-request-id"))
        custom = line["custom"]
        self.assertEqual(custom["billing_account"], "acct-9")
        self.assertEqual(custom["cost_center"], "ai-platform")
        usage = r.json()["usage"]
        want = (usage["prompt_tokens"] * 2.5 + usage["completion_tokens"] * 10.0) / 1e6
        self.assertAlmostEqual(custom["cost_usd"], want, places=7)

        def ledger_row():
            with sqlite3.connect(os.path.join(self.tmp.name, "ledger.db")) as db:
                rows = db.execute("SELECT custom FROM usage_ledger WHERE request_id = ?",
                                  (r.header("x-request-id"),)).fetchall()
            return rows[0][0] if rows else None
        row = eventually(ledger_row, timeout=5)
        self.assertEqual(json.loads(row)["billing_account"], "acct-9")

    def test_unified_error_format(self):
        self.start(f'scripts: {{ error_handler: {{ script_file: "{example("unified_error.lua")}" }} }}')
        r = self.post("/v1/chat/completions", dict(CHAT, model="nope"), RESEARCH)
        self.assertEqual(r.status, 404)
        body = r.json()
        self.assertEqual(body["success"], False)
        self.assertEqual(body["error"]["code"], "E_REQUEST")
        self.assertEqual(body["request_id"], r.header("x-request-id"))
        r = self.post("/v1/chat/completions", CHAT, {"Authorization": "Bearer sk-wrong"})
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["error"]["code"], "E_AUTH")
        r = self.post("/v1/chat/completions", CHAT, dict(RESEARCH, **{"x-mock-fault": "reset"}))
        self.assertEqual(r.status, 502, r.body)
        self.assertEqual(r.json()["error"]["code"], "E_UPSTREAM")
        # An upstream's own error answer, relayed: the same shape, the upstream's message.
        r = self.post("/v1/chat/completions", CHAT, dict(RESEARCH, **{"x-mock-fault": "429", "x-mock-retry-after": "0"}))
        self.assertEqual(r.status, 429, r.body)
        self.assertEqual(r.json()["error"]["code"], "E_RATE")
        self.assertEqual(int(r.header("content-length")), len(r.body))
        # A stream cut after it started ends with the handler's body as its last event.
        r = self.post("/v1/chat/completions", dict(CHAT, stream=True),
                      dict(RESEARCH, **{"x-mock-fault": "reset_mid_stream"}))
        self.assertEqual(r.status, 200)
        last = [l for l in r.body.decode().split("\n") if l.startswith("data: ")][-1]
        self.assertEqual(json.loads(last[6:])["error"]["code"], "E_UPSTREAM", r.body)

    def test_jwt_tenant_hook(self):
        self.start(hooks=f'hooks: {{ on_request: {{ path: "{example("jwt_tenant.lua")}" }} }}')
        good = jwt({"tenant": "acme", "exp": int(time.time()) + 60})
        r = self.post("/v1/chat/completions", CHAT, dict(RESEARCH, **{"X-Tenant-Token": good}))
        self.assertEqual(r.status, 200, r.body)
        port = self.fast if self.served_by(r) == "fast" else self.slow
        headers = {k.lower(): v for k, v in self.mock_json(port, "/mock/last")["headers"].items()}
        self.assertEqual(headers["x-tenant"], "acme")
        for token, why in ((jwt({"tenant": "acme"}, secret="other"), "signature"),
                           (jwt({"tenant": "acme", "exp": 1}), "expired"), (None, "missing")):
            h = dict(RESEARCH)
            if token:
                h["X-Tenant-Token"] = token
            r = self.post("/v1/chat/completions", CHAT, h)
            self.assertOpenAIError(r, 403, "hook_refused")
            self.assertIn(why, r.json()["error"]["message"])

    def test_go_llmproxy_hook_runs_unchanged(self):
        self.start(hooks=f"""hooks:
  enabled: true
  on_request: {{ enabled: true, path: "{example("block_on_request.lua")}", timeout: 100ms }}
  on_auth: {{ script: "return {{continue = request.headers['X-Block-Auth'] == nil, error = 'blocked in on_auth'}}" }}
  on_route: {{ script: "return {{continue = backends.fast ~= nil}}" }}
  on_complete: {{ script: "shared.done = (shared.done or 0) + 1 log('completed ' .. response.status_code)" }}""")
        r = self.post("/v1/chat/completions", dict(CHAT, messages=[{"role": "user", "content": "forbidden-topic"}]),
                      RESEARCH)
        self.assertOpenAIError(r, 403, "hook_refused")
        self.assertEqual(r.json()["error"]["message"], "This topic is not allowed")
        self.assertEqual(self.post("/v1/chat/completions", CHAT, RESEARCH).status, 200)
        r = self.post("/v1/chat/completions", CHAT, dict(RESEARCH, **{"X-Block-Auth": "1"}))
        self.assertOpenAIError(r, 403, "hook_refused")
        self.assertEqual(r.json()["error"]["message"], "blocked in on_auth")
        with open(self.procs[-1][1]) as f:
            log = f.read()
        self.assertIn("script [", log)
        self.assertIn("on_request POST /v1/chat/completions from 127.0.0.1", log)
        def completed():
            with open(self.procs[-1][1]) as f:
                return "completed 200" in f.read()
        eventually(completed, timeout=3)

    def test_failing_scripts_fail_closed_or_open_and_are_counted(self):
        self.start("""scripts:
  routing: { script: "while true do end", timeout: 20ms }
  usage: { script: "error('usage broke')", on_error: fail_open }
""")
        r = self.post("/v1/chat/completions", CHAT, RESEARCH)
        self.assertOpenAIError(r, 500, "script_error")
        metrics = self.request("GET", "/metrics").body.decode()
        self.assertIn('llm_proxy_script_errors_total{point="routing",reason="timeout"} 1', metrics)
        # A worker stuck in a script would not answer this.
        self.assertEqual(self.request("GET", "/health").status, 200)

    def test_usage_failure_fails_open_when_configured(self):
        self.start("""scripts:
  usage: { script: "error('usage broke')", on_error: fail_open }
""")
        r = self.post("/v1/chat/completions", CHAT, RESEARCH)
        self.assertEqual(r.status, 200)
        metrics = self.request("GET", "/metrics").body.decode()
        self.assertIn('llm_proxy_script_errors_total{point="usage",reason="error"} 1', metrics)

    def test_peak_hour_and_tenant_limits(self):
        self.start(f'scripts: {{ rate_limit: {{ script_file: "{example("peak_hour_limit.lua")}" }} }}')
        tenant = dict(RESEARCH, **{"X-Tenant": "t-1", "X-Tenant-Limit": "3"})
        statuses = [self.post("/v1/chat/completions", CHAT, tenant).status for _ in range(8)]
        self.assertIn(429, statuses)
        self.assertEqual(statuses[:3], [200, 200, 200])  # (unless a minute boundary split them)
        r = self.post("/v1/chat/completions", CHAT, tenant)
        if r.status == 429:
            self.assertOpenAIError(r, 429, "script_rate_limited")
            self.assertTrue(r.header("retry-after"))
        metrics = self.request("GET", "/metrics").body.decode()
        self.assertRegex(metrics, r'llm_proxy_rate_limited_total\{reason="script"\} [1-9]')
        other = dict(RESEARCH, **{"X-Tenant": "t-2", "X-Tenant-Limit": "3"})
        self.assertEqual(self.post("/v1/chat/completions", CHAT, other).status, 200)

    def test_auth_pipeline_lua_step_first_match(self):
        self.start(auth=KEYS + """  pipeline:
    - { name: keys, type: builtin }
    - name: partner
      type: lua
      lua:
        script: |
          log("auth step for " .. request.method .. " " .. request.path .. " from " .. request.ip)
          if string.sub(api_key, 1, 8) == "partner-" and request.headers["X-Partner"] == "yes" then
            return { allow = true, metadata = { partner = true } }
          end
          return { allow = false, message = "unknown partner key" }
""")
        self.assertEqual(self.post("/v1/chat/completions", CHAT, RESEARCH).status, 200)
        partner = {"Authorization": "Bearer partner-123", "X-Partner": "yes"}
        self.assertEqual(self.post("/v1/chat/completions", CHAT, partner).status, 200)
        r = self.post("/v1/chat/completions", CHAT, {"Authorization": "Bearer partner-123"})
        self.assertOpenAIError(r, 401, "invalid_api_key")
        self.assertEqual(r.json()["error"]["message"], "unknown partner key")

    def test_auth_pipeline_all_steps_must_allow(self):
        self.start(auth=KEYS + """  mode: all
  pipeline:
    - { type: builtin }
    - { name: staff-only, type: lua, lua: { script: "return data.name == 'team-research' and key.user_id == 'u-research'" } }
""")
        self.assertEqual(self.post("/v1/chat/completions", CHAT, RESEARCH).status, 200)
        r = self.post("/v1/chat/completions", CHAT, INTERN)
        self.assertOpenAIError(r, 401, "invalid_api_key")
        self.assertIn("staff-only", r.json()["error"]["message"])
        self.assertOpenAIError(self.post("/v1/chat/completions", CHAT, {"Authorization": "Bearer sk-unknown"}),
                               401, "invalid_api_key")

    def test_reloading_scripts_under_streaming_load_drops_nothing(self):
        def scripts(version):
            return f"""scripts:
  routing: {{ script: "shared.v = {version} return nil" }}
  on_chunk: {{ script: "shared.chunks = (shared.chunks or 0) + 1", rewrite: false }}
  usage: {{ script: "return {{version = {version}}}" }}
"""
        self.start(scripts(0), workers=2)
        path = self.procs[-1][0].args[self.procs[-1][0].args.index("--config") + 1]
        with open(path) as f:
            base = f.read().split("scripts:")[0]
        results, stop = [], threading.Event()

        def stream_forever():
            while not stop.is_set():
                r = self.post("/v1/chat/completions", dict(CHAT, stream=True),
                              dict(RESEARCH, **{"x-mock-chunks": "8", "x-mock-chunk-delay-ms": "15"}), timeout=10)
                results.append((r.status, r.body.rstrip().endswith(b"data: [DONE]")))
        threads = [threading.Thread(target=stream_forever) for _ in range(6)]
        for t in threads:
            t.start()
        try:
            for version in range(1, 21):
                with open(path, "w") as f:
                    f.write(base + scripts(version))
                self.gw_proc.send_signal(signal.SIGHUP)
                time.sleep(0.1)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=15)
        self.assertGreater(len(results), 20)
        self.assertEqual([r for r in results if r != (200, True)], [])
        metrics = self.request("GET", "/metrics").body.decode()
        reloads = int(re.search(r'llm_proxy_config_reloads_total\{result="success"\} (\d+)', metrics).group(1))
        self.assertGreaterEqual(reloads, 10)  # signals close together may be taken as one
        self.assertNotIn("llm_proxy_script_errors_total{", metrics)
        # The last version is the one running.
        r = self.post("/v1/chat/completions", CHAT, RESEARCH)
        self.assertEqual(access_log_line(self.log_path, r.header("x-request-id"))["custom"]["version"], 20)

    def service(self, decide, delay=0.0):
        svc = DecisionService(decide, delay)
        self.addCleanup(svc.close)
        return svc

    def test_auth_and_routing_decision_webhooks(self):
        auth = self.service(lambda p: {"allow": p["request"]["key_name"] != "intern", "reason": "interns wait"})
        route = self.service(lambda p: {"backend_url": p["backends"]["slow"]["url"]})
        self.start(hooks=f"""hooks:
  auth_decision: {{ url: "http://127.0.0.1:{auth.port}/auth", timeout: 500ms }}
  routing_decision: {{ url: "http://127.0.0.1:{route.port}/route", timeout: 500ms }}""")
        self.assertEqual({self.served_by(self.post("/v1/chat/completions", CHAT, RESEARCH)) for _ in range(4)},
                         {"slow"})
        r = self.post("/v1/chat/completions", CHAT, INTERN)
        self.assertOpenAIError(r, 403, "decision_refused")
        self.assertEqual(r.json()["error"]["message"], "interns wait")
        sent = auth.payloads[0]
        self.assertEqual(sent["request"]["api_key"], "sk-...0001")  # masked
        self.assertNotIn("Authorization", sent["request"]["headers"])
        self.assertEqual(sent["request"]["body"]["model"], "gpt-4o")
        self.assertEqual(sent["key_info"]["name"], "team-research")
        self.assertEqual(set(route.payloads[0]["backends"]), {"fast", "slow"})

    def test_decision_webhook_down_or_slow_follows_on_failure(self):
        slow = self.service(lambda p: {"allow": False}, delay=2.0)
        closed = free_port()
        self.start(hooks=f"""hooks:
  auth_decision: {{ url: "http://127.0.0.1:{slow.port}/auth", timeout: 200ms, on_failure: use_default }}
  routing_decision: {{ url: "http://127.0.0.1:{closed}/route", timeout: 200ms, retry: 1, on_failure: reject }}""")
        start = time.monotonic()
        r = self.post("/v1/chat/completions", CHAT, RESEARCH)
        took = time.monotonic() - start
        self.assertOpenAIError(r, 503, "decision_unavailable")  # auth went on (use_default), routing rejected
        self.assertLess(took, 1.5)
        self.assertEqual(len(slow.payloads), 1)

    def test_bad_script_fails_the_load(self):
        path = self.write_config(f"""
providers: [ {{ name: m, base_url: "http://127.0.0.1:9/v1" }} ]
scripts: {{ routing: {{ script: "return (" }} }}
""")
        import subprocess
        from harness import GATEWAY
        out = subprocess.run([GATEWAY, "--check-config", path], capture_output=True, text=True, timeout=10)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("scripts.routing", out.stderr + out.stdout)


if __name__ == "__main__":
    unittest.main()
