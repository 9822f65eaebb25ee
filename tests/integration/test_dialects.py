"""Other gateways' config files served as they are (tests/dialects/*.yaml, the README examples of
the Python llm-proxy, the Go LLMProxy, the LiteLLM multi-vendor proxy, and a LiteLLM config),
with only their addresses pointed at this test's mock upstreams: round robin for the Python one,
the Go one's keys, quota, IP allow-list and per-key limits, the multi-vendor one's model names
reaching the right upstream; convert-config's output served the same; reload under load."""
import json
import os
import re
import signal
import subprocess
import threading
import time
import unittest

from harness import GATEWAY, GatewayTest, eventually, free_port, wait_port
from servers import RedisServer

DIALECTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dialects")
CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


def fixture(name, replacements=()):
    with open(os.path.join(DIALECTS, name)) as f:
        text = f.read()
    for old, new, *count in replacements:
        text = text.replace(old, new, *count)
    return text


class DialectTest(GatewayTest):
    def start(self, text, workers=2, env=None):
        port = free_port()
        path = self.write_config(text)
        check = subprocess.run([GATEWAY, "--check-config", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.config_path = path
        p = self.spawn([GATEWAY, "--config", path, "--listen", f"127.0.0.1:{port}", "--workers", str(workers)],
                       env=dict(os.environ, **(env or {})))
        wait_port(port, p)
        self.gw_port, self.gw_proc = port, p
        return check.stdout

    def chat(self, model="m", key=None, stream=False, headers=None):
        body = dict(CHAT, model=model, stream=stream)
        h = dict(headers or {})
        if key:
            h["Authorization"] = f"Bearer {key}"
        return self.post("/v1/chat/completions", body, headers=h)

    def last(self, port):
        up = self.mock_json(port, "/mock/last")
        up["json"] = json.loads(up["body"]) if up.get("body") else None
        up["headers"] = {k.lower(): v for k, v in up["headers"].items()}
        return up

    def served(self, port):
        return self.mock_json(port, "/mock/stats")["requests"]

    def gateway_log(self):
        with open(self.procs[-1][1], errors="replace") as f:
            return f.read()


class PythonLlmProxy(DialectTest):
    def test_readme_config_round_robin_over_every_provider(self):
        up1, up2 = self.mock("p1"), self.mock("p2")
        out = self.start(fixture("python_readme.yaml", [
            ("https://api.openai.com/v1", f"http://127.0.0.1:{up1}/v1", 1),
            ("https://api.openai.com/v1", f"http://127.0.0.1:{up2}/v1", 1)]), workers=1)  # one turn to take
        self.assertIn("read as a Python llm-proxy config", out)
        for model in ("gpt-4o", "any-model", "gpt-4o", "any-model"):
            r = self.chat(model)
            self.assertEqual(r.status, 200, r.body)
        self.assertEqual((self.served(up1), self.served(up2)), (2, 2))  # in turn, whatever the model
        self.assertEqual(self.last(up1)["headers"]["authorization"], "Bearer sk-your-api-key-1")
        self.assertEqual(self.last(up2)["headers"]["authorization"], "Bearer sk-your-api-key-2")
        r = self.chat("gpt-4o", stream=True)
        self.assertEqual(r.status, 200)
        self.assertIn(b"data: [DONE]", r.body)
        self.assertIn("read as a Python llm-proxy config", self.gateway_log())
        self.assertNotIn("llmproxy_requests_total", self.request("GET", "/metrics").body.decode())


class GoLlmProxy(DialectTest):
    def go_fixture(self, name, backends, extra=()):
        """The fixture with each backend URL (in file order) pointed at a mock."""
        urls = []
        for line in fixture(name).splitlines():
            m = re.match(r'\s*- url: "([^"]+)"', line)
            if m:
                urls.append(m.group(1))
        return fixture(name, [(u, f"http://127.0.0.1:{p}") for u, p in zip(urls, backends)] + list(extra))

    def test_readme_config_serves_names_backends_by_url_and_reports_usage(self):
        b1, b2, billing = self.mock("vllm"), self.mock("tgi"), self.mock("billing")
        text = self.go_fixture("llmproxy_readme.yaml", [b1, b2], [
            ("https://your-billing.com/llm-usage", f"http://127.0.0.1:{billing}/llm-usage"),
            ('["192.168.1.0/24"]', '["127.0.0.1/32"]'),
            ("2026-12-31T23:59:59Z", "2099-12-31T23:59:59Z")])  # README's date: would expire the test
        self.assertIn("read as a Go LLMProxy config", self.start(text, workers=1))
        key = "sk-llmproxy-test123"
        self.assertEqual(self.chat().status, 401)  # auth.enabled
        for _ in range(4):
            self.assertEqual(self.chat(key=key).status, 200)
        # least_connections: one at a time, the first is always the least busy (as there).
        self.assertGreaterEqual(self.served(b1) + self.served(b2), 4)  # and health checks
        r = self.chat(key=key, stream=True)
        self.assertEqual(r.status, 200)
        self.assertIn(b"data: [DONE]", r.body)
        eventually(lambda: self.mock_json(billing, "/mock/stats")["usage_events"] >= 5)
        metrics = self.request("GET", "/metrics").body.decode()
        self.assertIn(f'provider="http://127.0.0.1:{b1}"', metrics)  # named by its URL
        # Its own metric names too (metrics.compat: llmproxy, on for its config), for its dashboards.
        self.assertRegex(metrics, r'llmproxy_requests_total\{path="/v1/chat/completions",stream="false",'
                                  rf'backend="http://127.0.0.1:{b1}",status="200"\}} [1-9]')
        self.assertRegex(metrics, r'llmproxy_latency_ms_bucket\{path="/v1/chat/completions",stream="true",'
                                  rf'backend="http://127.0.0.1:{b1}",le="10000"\}} 1')
        self.assertRegex(metrics, r'llmproxy_usage_tokens_total\{type="completion"\} [1-9]')
        self.assertIn("llmproxy_webhook_success_total", metrics)

    def test_scenario_1_gpu_cluster_fails_over_to_the_other_gpus(self):
        gpus = [self.mock(f"gpu{i}") for i in range(3)]
        self.start(self.go_fixture("llmproxy_scenario1.yaml", gpus))
        self.procs[0][0].kill()  # gpu-1 goes down
        self.procs[0][0].wait(timeout=5)
        for _ in range(6):
            r = self.chat()
            self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.served(gpus[1]) + self.served(gpus[2]), 6)

    def test_scenario_2_file_keys_ip_allow_list_quota_and_per_key_limits(self):
        b1, b2 = self.mock("tgi1"), self.mock("tgi2")
        text = self.go_fixture("llmproxy_scenario2.yaml", [b1, b2], [('["10.0.1.0/24"]', '["127.0.0.0/8"]')])
        self.start(text)
        dev, product = "sk-llmproxy-dev-team-001", "sk-llmproxy-product-team-001"
        self.assertEqual(self.chat(key=dev).status, 200)
        r = self.chat(key=product)  # allowed only from 10.0.2.0/24
        self.assertEqual(r.status, 403, r.body)
        self.assertEqual(self.chat(key="sk-unknown").status, 401)
        # max_concurrent: 5 per key
        slow = {"x-mock-first-byte-delay-ms": "800"}
        results = []
        threads = [threading.Thread(target=lambda: results.append(self.chat(key=dev, headers=slow).status))
                   for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
        self.assertEqual(results.count(200), 5, results)
        self.assertEqual(results.count(429), 3, results)

    def scenario_2(self, replacements):
        b1, b2 = self.mock("b1"), self.mock("b2")
        self.start(self.go_fixture("llmproxy_scenario2.yaml", [b1, b2],
                                   [('["10.0.1.0/24"]', '["127.0.0.0/8"]')] + replacements))
        return "sk-llmproxy-dev-team-001"

    def test_quota_is_enforced(self):
        dev = self.scenario_2([("total_quota: 500000", "total_quota: 40")])
        statuses = []
        for _ in range(12):
            r = self.chat(key=dev)
            statuses.append(r.status)
            if r.status == 429:
                self.assertIn("quota", r.body.decode().lower())
                break
        self.assertEqual(statuses[0], 200)
        self.assertEqual(statuses[-1], 429, statuses)  # the answers' tokens spent the 40

    def test_requests_per_minute_is_enforced(self):
        dev = self.scenario_2([("requests_per_minute: 100", "requests_per_minute: 3")])
        self.assertEqual([self.chat(key=dev).status for _ in range(3)], [200, 200, 200])
        r = self.chat(key=dev)
        self.assertEqual(r.status, 429, r.body)

    def test_typo_in_a_go_config_is_a_positioned_error(self):
        path = self.write_config('listen: ":8000"\nbackends:\n  - url: "http://127.0.0.1:1"\n    wieght: 5\n')
        check = subprocess.run([GATEWAY, "--check-config", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(check.returncode, 1)
        self.assertIn(f"{path}:4:5: backends[0].wieght: unknown key (allowed: models, url, weight)", check.stderr)

    def test_reload_of_a_go_config_under_load(self):
        b1, b2 = self.mock("r1"), self.mock("r2")
        self.start(f'backends:\n  - url: "http://127.0.0.1:{b1}"\n')
        stop, failures, done = threading.Event(), [], [0]

        def load():
            while not stop.is_set():
                r = self.chat(stream=True)
                if r.status != 200 or b"data: [DONE]" not in r.body:
                    failures.append(r.status)
                done[0] += 1

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            with open(self.config_path, "w") as f:
                f.write(f'backends:\n  - url: "http://127.0.0.1:{b1}"\n  - url: "http://127.0.0.1:{b2}"\n')
            self.gw_proc.send_signal(signal.SIGHUP)
            eventually(lambda: self.served(b2) > 0, timeout=10)
            time.sleep(0.3)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=20)
        self.assertEqual(failures, [])
        self.assertGreater(done[0], 10)


class GoLlmProxyRedisKeys(DialectTest):
    """Its third scenario: keys kept in Redis (auth.storage: redis) as its redis auth provider
    reads them (a hash at llmproxy:key:{api_key}, or a JSON string), per-key limits over them."""

    def setUp(self):
        super().setUp()
        self.redis = RedisServer(self.tmp.name)
        self.addCleanup(lambda: self.redis.stop())
        b1, b2 = self.mock("v1"), self.mock("v2")
        text = GoLlmProxy.go_fixture(self, "llmproxy_scenario3.yaml", [b1, b2])
        out = self.start(text, env={"REDIS_URL": self.redis.url})
        self.assertIn("read as a Go LLMProxy config", out)

    def key(self, name, *fields):
        self.redis.cli("HSET", f"llmproxy:key:{name}", *fields)

    def test_keys_in_redis_are_checked_as_there(self):
        self.key("sk-pub-alice", "name", "alice", "user_id", "u1", "status", "0", "total_quota", "1000",
                 "used_quota", "10")
        self.redis.cli("SET", "llmproxy:key:sk-pub-json", '{"name": "bob", "status": "active"}')
        self.key("sk-pub-off", "name", "off", "status", "1")
        self.key("sk-pub-spent", "name", "spent", "total_quota", "100", "used_quota", "100")
        self.key("sk-pub-old", "name", "old", "expires_at", "1700000000")
        self.assertEqual(self.chat(key="sk-pub-alice").status, 200)
        r = self.chat(key="sk-pub-alice", stream=True)
        self.assertEqual(r.status, 200)
        self.assertIn(b"data: [DONE]", r.body)
        self.assertEqual(self.chat(key="sk-pub-json").status, 200)
        self.assertEqual(self.chat().status, 401)
        r = self.chat(key="sk-pub-nobody")
        self.assertEqual(r.status, 401)
        self.assertIn("invalid_api_key", r.body.decode())
        r = self.chat(key="sk-pub-off")
        self.assertEqual(r.status, 403)
        self.assertIn("api_key_disabled", r.body.decode())
        r = self.chat(key="sk-pub-spent")
        self.assertEqual(r.status, 429)
        self.assertIn("insufficient_quota", r.body.decode())
        self.assertIn("api_key_expired", self.chat(key="sk-pub-old").body.decode())

    def test_per_key_limit_holds_across_workers(self):
        self.key("sk-pub-fast", "name", "fast")
        statuses = [self.chat(key="sk-pub-fast").status for _ in range(30)]  # each its own connection
        # per_key.requests_per_second: 10 (burst 10) over both workers, not 10 per worker.
        self.assertLessEqual(statuses.count(200), 14, statuses)
        self.assertGreaterEqual(statuses.count(429), 10, statuses)

    def test_changes_in_redis_are_seen_within_the_cache_ttl(self):
        self.assertEqual(self.chat(key="sk-pub-later").status, 401)
        self.key("sk-pub-later", "name", "later")  # "not there" is remembered for at most 1 s
        eventually(lambda: self.chat(key="sk-pub-later").status == 200, timeout=5)
        self.key("sk-pub-later", "status", "disabled")  # found records for cache_ttl (5 s)
        eventually(lambda: self.chat(key="sk-pub-later").status == 403, timeout=10)

    def test_redis_down_is_503_not_a_wrong_key(self):
        self.redis.stop()
        r = self.chat(key="sk-pub-never-seen")
        self.assertEqual(r.status, 503, r.body)
        self.assertIn("key_store_unavailable", r.body.decode())
        self.assertEqual(r.headers.get("retry-after"), "1")


class MultiVendor(DialectTest):
    def test_readme_config_reaches_each_vendor_under_its_model_name(self):
        volc, openai, anthropic = self.mock("volc"), self.mock("openai"), self.mock("anthropic")
        env = {"VOLCENGINE_API_BASE": f"http://127.0.0.1:{volc}/api/v3",
               "OPENAI_API_BASE": f"http://127.0.0.1:{openai}/v1",
               "ANTHROPIC_API_BASE": f"http://127.0.0.1:{anthropic}"}
        out = self.start(fixture("multivendor_readme.yaml"), env=env)
        self.assertIn("multi-vendor", out)
        for public, port, upstream in (("deepseek-v3-0324", volc, "deepseek-v3-250324"),
                                       ("gpt-3.5-turbo", volc, "deepseek-v3-250324"),
                                       ("gpt-4o-mini", openai, "gpt-4o-mini")):
            r = self.chat(public)
            self.assertEqual(r.status, 200, r.body)
            last = self.last(port)
            self.assertEqual(last["json"]["model"], upstream)
        self.assertEqual(self.last(volc)["headers"]["authorization"], "Bearer your-volcengine-key")
        self.assertTrue(self.last(volc)["target"].startswith("/api/v3/chat/completions"))
        r = self.chat("claude-3-sonnet", stream=True)  # translated to Anthropic's Messages API
        self.assertEqual(r.status, 200, r.body)
        last = self.last(anthropic)
        self.assertEqual(last["json"]["model"], "claude-3-sonnet-20240229")
        self.assertEqual(last["headers"]["x-api-key"], "your-anthropic-key")
        self.assertEqual(self.chat("not-configured").status, 404)


class LiteLlm(DialectTest):
    def test_litellm_config_master_key_deployments_and_fallbacks(self):
        a, b, claude = self.mock("a"), self.mock("b"), self.mock("claude")
        text = fixture("litellm.yaml", [("127.0.0.1:9001", f"127.0.0.1:{a}"), ("127.0.0.1:9002", f"127.0.0.1:{b}"),
                                        ("127.0.0.1:9003", f"127.0.0.1:{claude}")])
        out = self.start(text, env={"OPENAI_API_KEY": "sk-openai-env", "ANTHROPIC_API_KEY": "sk-ant-env"})
        self.assertIn("LiteLLM proxy config", out)
        self.assertEqual(self.chat("gpt-4o").status, 401)  # the master key is the key
        for _ in range(90):
            self.assertEqual(self.chat("gpt-4o", key="sk-1234").status, 200)
        self.assertGreater(self.served(a), self.served(b))  # rpm 6 against 3 (p of failing: < 0.001)
        self.assertGreater(self.served(b), 0)
        self.assertEqual(self.last(a)["headers"]["authorization"], "Bearer sk-openai-env")
        self.assertEqual(self.last(b)["json"]["model"], "gpt-4o-2024-08-06")
        r = self.chat("claude-sonnet", key="sk-1234")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.last(claude)["json"]["model"], "claude-3-5-sonnet-20240620")
        self.assertEqual(self.request("GET", "/admin/v1/providers",
                                      headers={"Authorization": "Bearer sk-1234"}).status, 200)  # admin key too
        # Every gpt-4o deployment down: router_settings.fallbacks sends it to claude-sonnet.
        for proc, _ in self.procs[:2]:
            proc.kill()
            proc.wait(timeout=5)
        r = self.chat("gpt-4o", key="sk-1234")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.served(claude), 2)


class Converted(DialectTest):
    def test_convert_config_output_serves_like_the_original(self):
        up1, up2 = self.mock("c1"), self.mock("c2")
        text = fixture("python_readme.yaml", [("https://api.openai.com/v1", f"http://127.0.0.1:{up1}/v1", 1),
                                              ("https://api.openai.com/v1", f"http://127.0.0.1:{up2}/v1", 1)])
        path = self.write_config(text)
        out = subprocess.run([GATEWAY, "convert-config", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("read as a Python llm-proxy config", out.stdout.splitlines()[0])
        self.assertIn("sk-your-api-key-2", out.stdout)  # secrets as written
        self.assertNotIn("read as", self.start(out.stdout, workers=1))  # native now
        for _ in range(4):
            self.assertEqual(self.chat("x").status, 200)
        self.assertEqual((self.served(up1), self.served(up2)), (2, 2))


if __name__ == "__main__":
    unittest.main()
