"""Resilience with real processes: failover while an upstream dies, retries, 429 cool-down,
timeouts with fallback, least_connections, latency_based, health checks bringing a target back."""
import collections
import json
import os
import signal
import socket
import subprocess
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from harness import CHAT, MOCK, GatewayTest, eventually, free_port, wait_port
from test_streaming import open_stream, read_until


def provider(name, port, extra=""):
    return f"  - {{ name: {name}, base_url: 'http://127.0.0.1:{port}/v1'{extra} }}\n"


class Resilience(GatewayTest):
    def mock_at(self, port, name, *extra):
        p = self.spawn([MOCK, "--listen", f"127.0.0.1:{port}", "--name", name, *extra])
        wait_port(port, p)
        return p

    def served_by(self, r):
        return r.header("x-llm-proxy-provider")

    def detailed(self):
        return {p["name"]: p for p in self.request("GET", "/health/detailed").json()["providers"]}

    def test_kill_one_of_three_under_load_loses_nothing(self):
        ports = [free_port() for _ in range(3)]
        procs = [self.mock_at(p, f"m{i}") for i, p in enumerate(ports)]
        self.gateway("providers:\n" + "".join(provider(f"p{i}", p) for i, p in enumerate(ports)) +
                     "routing: { retry: { max_retries: 2, initial_wait: 10ms } }\n")

        def one(i):
            if i == 500:
                procs[1].kill()
            r = self.post("/v1/chat/completions", CHAT)
            return r.status, self.served_by(r)

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(one, range(2000)))
        statuses = collections.Counter(s for s, _ in results)
        self.assertEqual(statuses, {200: 2000}, statuses)
        late = collections.Counter(p for _, p in results[1000:])
        self.assertEqual(late.get("p1", 0), 0, late)  # ejected after the kill
        self.assertEqual(self.detailed()["p1"]["breaker"], "open")

    def test_reset_before_first_byte_is_retried_elsewhere(self):
        a, b = free_port(), free_port()
        self.mock_at(a, "bad", "--fault", "reset")
        self.mock_at(b, "good")
        self.gateway("providers:\n" + provider("a", a) + provider("b", b) +
                     "routing: { strategy: round_robin, retry: { initial_wait: 5ms } }\n")
        for _ in range(6):
            r = self.post("/v1/chat/completions", CHAT)
            self.assertEqual(r.status, 200, r.body)
            self.assertEqual(self.served_by(r), "b")

    def test_reset_after_first_byte_is_not_replayed(self):
        a, b = free_port(), free_port()
        self.mock_at(a, "bad", "--fault", "reset_mid_stream")
        self.mock_at(b, "good")
        self.gateway("providers:\n" + provider("a", a, ", weight: 1000") + provider("b", b, ", weight: 1"))
        r = self.post("/v1/chat/completions", dict(CHAT, stream=True))
        self.assertEqual(self.served_by(r), "a")
        self.assertIn(b"upstream_stream_interrupted", r.body)
        self.assertNotIn(b"[DONE]", r.body)
        self.assertEqual(self.mock_json(b, "/mock/stats")["requests"], 0)

    def test_429_retry_after_cools_the_target(self):
        a, b = free_port(), free_port()
        self.mock_at(a, "limited", "--fault", "429")
        self.mock_at(b, "good")
        self.gateway("providers:\n" + provider("a", a, ", weight: 10") + provider("b", b, ", weight: 1") +
                     "routing: { retry: { initial_wait: 5ms } }\n")
        r = self.post("/v1/chat/completions", CHAT, headers={"x-mock-retry-after": "30"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.served_by(r), "b")
        self.assertGreater(self.detailed()["a"]["cooldown_ms"], 20000)
        before = self.mock_json(a, "/mock/stats")["requests"]
        for _ in range(20):
            self.assertEqual(self.served_by(self.post("/v1/chat/completions", CHAT)), "b")
        self.assertEqual(self.mock_json(a, "/mock/stats")["requests"], before)  # honoured: no traffic

    def test_slow_first_byte_times_out_then_falls_back(self):
        a, b = free_port(), free_port()
        self.mock_at(a, "slow", "--first-byte-delay-ms", "3000")
        self.mock_at(b, "good")
        self.gateway(f"""
providers:
  - {{ name: a, base_url: 'http://127.0.0.1:{a}/v1', models: ["gpt-4o"], timeouts: {{ first_byte: 300ms }} }}
  - {{ name: b, base_url: 'http://127.0.0.1:{b}/v1', models: ["other"] }}
routing:
  retry: {{ initial_wait: 5ms }}
  fallback: [ {{ primary: a, fallback: [b] }} ]
""")
        t0 = time.time()
        r = self.post("/v1/chat/completions", CHAT)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.served_by(r), "b")
        self.assertEqual(r.header("x-llm-proxy-attempts"), "2")
        self.assertLess(time.time() - t0, 1.5)

    def test_model_fallback_uses_the_fallback_models_mapping(self):
        a, b = free_port(), free_port()
        self.mock_at(a, "broken", "--fault", "500")
        self.mock_at(b, "good")
        self.gateway(f"""
providers:
  - {{ name: a, base_url: 'http://127.0.0.1:{a}/v1', models: ["big"] }}
  - {{ name: b, base_url: 'http://127.0.0.1:{b}/v1', models: ["small"], model_map: {{ small: "Qwen/small-7B" }} }}
routing:
  retry: {{ initial_wait: 5ms }}
  models: {{ big: {{ fallback_models: [small] }} }}
""")
        r = self.post("/v1/chat/completions", dict(CHAT, model="big"))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["model"], "Qwen/small-7B")
        self.assertEqual(self.served_by(r), "b")

    def test_fallback_models_respect_the_keys_allowed_models(self):
        # Hardening #14.3: a key allowed only "big" must not be served "small" by the fallback.
        a, b = free_port(), free_port()
        self.mock_at(a, "broken", "--fault", "500")
        self.mock_at(b, "good")
        self.gateway(f"""
providers:
  - {{ name: a, base_url: 'http://127.0.0.1:{a}/v1', models: ["big"] }}
  - {{ name: b, base_url: 'http://127.0.0.1:{b}/v1', models: ["small"] }}
routing:
  retry: {{ initial_wait: 5ms }}
  models: {{ big: {{ fallback_models: [small] }} }}
auth:
  keys:
    - {{ key: sk-only-big-000000, name: only-big, allowed_models: ["big"] }}
    - {{ key: sk-any-model-00000, name: any }}
""")
        r = self.post("/v1/chat/completions", dict(CHAT, model="big"), headers={"Authorization": "Bearer sk-only-big-000000"})
        self.assertEqual(r.status, 500, r.body)
        self.assertEqual(self.mock_json(b, "/mock/stats")["requests"], 0)
        r = self.post("/v1/chat/completions", dict(CHAT, model="big"), headers={"Authorization": "Bearer sk-any-model-00000"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.served_by(r), "b")

    def test_no_retry_budget_no_amplification(self):
        a = free_port()
        self.mock_at(a, "broken", "--fault", "500")
        self.gateway("providers:\n" + provider("a", a) +
                     "routing: { retry: { max_retries: 2, initial_wait: 1ms, budget: { ratio: 0.0, min_per_second: 0 } } }\n",
                     workers=1)
        for _ in range(30):
            self.assertEqual(self.post("/v1/chat/completions", CHAT).status, 500)
        # The budget starts with 10 tokens and gets none back: 30 requests, at most 10 retries.
        self.assertLessEqual(self.mock_json(a, "/mock/stats")["requests"], 30 + 10 + 3)

    def test_single_target_5xx_is_retried_then_relayed_unchanged(self):
        a = free_port()
        self.mock_at(a, "broken", "--fault", "500")
        self.gateway("providers:\n" + provider("a", a) + "routing: { retry: { max_retries: 2, initial_wait: 1ms } }\n")
        r = self.post("/v1/chat/completions", CHAT)
        self.assertEqual(r.status, 500)
        self.assertEqual(r.json()["error"]["code"], "mock_500")  # the upstream's own body
        self.assertEqual(r.header("x-llm-proxy-attempts"), "3")

    def test_least_connections_avoids_the_busy_target(self):
        a, b = free_port(), free_port()
        self.mock_at(a, "busy")
        self.mock_at(b, "idle")
        port = self.gateway(f"""
providers:
  - {{ name: a, base_url: 'http://127.0.0.1:{a}/v1', models: ["gpt-4o", "only-a"] }}
  - {{ name: b, base_url: 'http://127.0.0.1:{b}/v1', models: ["gpt-4o"] }}
routing: {{ strategy: least_connections }}
""")
        streams = []
        body = json.dumps(dict(CHAT, model="only-a", stream=True)).encode()
        for _ in range(6):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"x-mock-chunks: 100\r\nx-mock-chunk-delay-ms: 50\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            streams.append(s)
        try:
            for s in streams:
                read_until(s, b"Hello")
            self.assertEqual(self.detailed()["a"]["in_flight"], 6)
            names = collections.Counter(self.served_by(self.post("/v1/chat/completions", CHAT)) for _ in range(20))
            self.assertEqual(names, {"b": 20})
        finally:
            for s in streams:
                s.close()

    def test_latency_based_prefers_the_fast_target(self):
        a, b = free_port(), free_port()
        self.mock_at(a, "slow", "--first-byte-delay-ms", "50")
        self.mock_at(b, "fast", "--first-byte-delay-ms", "5")
        self.gateway("providers:\n" + provider("a", a) + provider("b", b) + "routing: { strategy: latency_based }\n",
                     workers=1)
        names = collections.Counter(self.served_by(self.post("/v1/chat/completions", CHAT)) for _ in range(150))
        self.assertGreaterEqual(names["b"] / 150, 0.8, names)
        self.assertGreater(names["a"], 0, names)  # still probed now and then

    def test_restarted_upstream_returns_within_one_health_interval(self):
        a, b = free_port(), free_port()
        pa = self.mock_at(a, "flaky")
        self.mock_at(b, "steady")
        self.gateway(f"""
health_check: {{ path: /health, interval: 300ms, timeout: 200ms, unhealthy_threshold: 1, healthy_threshold: 1 }}
providers:
""" + provider("a", a) + provider("b", b) + "routing: { strategy: round_robin, retry: { initial_wait: 5ms } }\n")
        pa.kill()
        pa.wait()
        deadline = time.time() + 3
        while time.time() < deadline and self.detailed()["a"]["healthy"]:
            time.sleep(0.05)
        self.assertFalse(self.detailed()["a"]["healthy"])
        for _ in range(6):  # all served by b, none fails
            r = self.post("/v1/chat/completions", CHAT)
            self.assertEqual((r.status, self.served_by(r)), (200, "b"))
        self.mock_at(a, "flaky-restarted")
        t0 = time.time()
        while time.time() - t0 < 2 and not self.detailed()["a"]["healthy"]:
            time.sleep(0.02)
        self.assertLess(time.time() - t0, 0.6)  # one interval (300 ms) plus slack
        names = collections.Counter(self.served_by(self.post("/v1/chat/completions", CHAT)) for _ in range(10))
        self.assertGreater(names["a"], 0, names)

    def test_a_provider_unhealthy_at_a_reload_comes_back(self):
        # Hardening #14.5: the verdict carried over a reload said "unhealthy" while the new check
        # loop believed it healthy, so its passing checks never cleared it. The provider comes
        # back between two checks of the old loop, and the reload comes before the next one.
        a, b = free_port(), free_port()
        self.mock_at(b, "steady")
        check = "health_check: { path: /health, interval: 2s, timeout: 200ms, unhealthy_threshold: 1, healthy_threshold: 1 }\n"
        text = "providers:\n" + provider("a", a) + provider("b", b) + "routing: { strategy: round_robin }\n"
        self.gateway(check + text)
        config_path = self.procs[-1][0].args[2]  # --config <path>
        self.assertTrue(eventually(lambda: not self.detailed()["a"]["healthy"], timeout=3))  # the first check
        self.mock_at(a, "back")
        with open(config_path, "w") as f:
            f.write(check + text + "# touched\n")  # same check: the verdict carries over
        self.gw_proc.send_signal(signal.SIGHUP)
        # The new loop checks at once and passes.
        self.assertTrue(eventually(lambda: self.detailed()["a"]["healthy"], timeout=1.5))
        names = collections.Counter(self.served_by(self.post("/v1/chat/completions", CHAT)) for _ in range(10))
        self.assertGreater(names["a"], 0, names)

    def test_a_removed_health_check_clears_its_verdict(self):
        a, b = free_port(), free_port()
        pa = self.mock_at(a, "flaky")
        self.mock_at(b, "steady")
        check = "health_check: { path: /health, interval: 200ms, timeout: 200ms, unhealthy_threshold: 1 }\n"
        text = "providers:\n" + provider("a", a) + provider("b", b) + "routing: { strategy: round_robin }\n"
        self.gateway(check + text)
        config_path = self.procs[-1][0].args[2]
        pa.kill()
        pa.wait()
        self.assertTrue(eventually(lambda: not self.detailed()["a"]["healthy"], timeout=3))
        self.mock_at(a, "back")
        with open(config_path, "w") as f:
            f.write(text)  # no health check any more
        self.gw_proc.send_signal(signal.SIGHUP)
        self.assertTrue(eventually(lambda: self.detailed()["a"]["healthy"], timeout=3))
        names = collections.Counter(self.served_by(self.post("/v1/chat/completions", CHAT)) for _ in range(10))
        self.assertGreater(names["a"], 0, names)

    def test_request_timeout_header(self):
        a = free_port()
        self.mock_at(a, "slow", "--first-byte-delay-ms", "2000")
        self.gateway("providers:\n" + provider("a", a) + "routing: { retry: { max_retries: 0 } }\n")
        t0 = time.time()
        r = self.post("/v1/chat/completions", CHAT, headers={"x-llm-proxy-timeout": "300ms"})
        self.assertOpenAIError(r, 504, "upstream_timeout")
        self.assertLess(time.time() - t0, 1.5)

    def test_health_detailed_probe(self):
        a, dead = free_port(), free_port()
        self.mock_at(a, "alive")
        self.gateway(f"""
server: {{ admin_key: sk-admin-test-0000000 }}
health_check: {{ path: /health, interval: 1h, timeout: 300ms }}
providers:
""" + provider("a", a) + provider("d", dead), workers=1)
        # On-demand probes send the providers' keys upstream: the admin key is required.
        self.assertOpenAIError(self.request("GET", "/health/detailed?probe=true"), 401, "invalid_admin_key")
        admin = {"Authorization": "Bearer sk-admin-test-0000000"}
        t0 = time.time()
        d = {p["name"]: p for p in self.request("GET", "/health/detailed?probe=true", headers=admin).json()["providers"]}
        self.assertLess(time.time() - t0, 2)
        self.assertTrue(d["a"]["probe"]["ok"])
        self.assertFalse(d["d"]["probe"]["ok"])
        self.assertIn("refused", d["d"]["probe"]["error"])
        self.assertNotIn("probe", self.detailed()["a"])
        # Concurrent callers share one round, and a round serves for a second: 50 calls within
        # it reach the live provider's /health at most twice, not 50 times.
        time.sleep(1.1)  # past the first round's second
        before = self.mock_json(a, "/mock/stats")["requests"]
        results = []
        threads = [threading.Thread(target=lambda: results.append(
            self.request("GET", "/health/detailed?probe=true", headers=admin).status)) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
        self.assertEqual(results, [200] * 50)
        self.assertLessEqual(self.mock_json(a, "/mock/stats")["requests"] - before, 2)

    def test_health_detailed_shape(self):
        a = self.mock("m")
        self.simple_gateway(a)
        self.post("/v1/chat/completions", CHAT)
        d = eventually(lambda: (lambda j: j if j["providers"][0]["ewma_ttfb_ms"] > 0 else None)(
            self.request("GET", "/health/detailed").json()))
        self.assertIsNotNone(d)
        self.assertEqual(d["status"], "ok")
        p = d["providers"][0]
        for key in ("name", "available", "healthy", "breaker", "ejected_for_ms", "in_flight", "ewma_ttfb_ms", "last_error"):
            self.assertIn(key, p)
        self.assertEqual(p["breaker"], "closed")
        self.assertGreater(p["ewma_ttfb_ms"], 0)


if __name__ == "__main__":
    unittest.main()
