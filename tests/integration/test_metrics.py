"""/metrics: valid Prometheus text (promtool), right counts, provider health gauge, and a real
Prometheus server scraping the gateway and answering a PromQL query."""
import json
import os
import re
import shutil
import subprocess
import time
import unittest
import urllib.parse
import urllib.request

from harness import CHAT, MOCK, GatewayTest, eventually, free_port, wait_port

PROMTOOL = shutil.which("promtool")
PROMETHEUS = shutil.which("prometheus")


def metric(text, name, **labels):
    total = 0.0
    found = False
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
            found = True
    return total if found else None


class Metrics(GatewayTest):
    def setUp(self):
        super().setUp()
        self.up = self.mock("m1")
        self.simple_gateway(self.up)

    def scrape(self, expect=None):
        # A request is recorded just after its last byte reached the client: when the test
        # knows what it waits for, poll until it is there.
        if expect:
            eventually(lambda: expect in self.request("GET", "/metrics").body.decode())
        r = self.request("GET", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type").startswith("text/plain; version=0.0.4"))
        return r.body.decode()

    def test_counts_and_labels(self):
        for _ in range(5):
            self.assertEqual(self.post("/v1/chat/completions", CHAT).status, 200)
        self.post("/v1/chat/completions", dict(CHAT, stream=True))
        self.request("GET", "/nope")
        self.post("/v1/chat/completions", "{bad")
        text = self.scrape('status_code="400"} 1')
        self.assertEqual(metric(text, "llm_proxy_requests_total", endpoint="/v1/chat/completions", model="gpt-4o",
                                provider="m", status_code="200"), 6)
        self.assertEqual(metric(text, "llm_proxy_requests_total", endpoint="unknown", status_code="404"), 1)
        self.assertEqual(metric(text, "llm_proxy_requests_total", status_code="404"), 1)
        self.assertEqual(metric(text, "llm_proxy_requests_total", status_code="400"), 1)
        self.assertEqual(metric(text, "llm_proxy_time_to_first_token_seconds_count", model="gpt-4o"), 1)
        self.assertEqual(metric(text, "llm_proxy_request_duration_seconds_count", model="gpt-4o", status_code="200"), 6)
        self.assertEqual(metric(text, "llm_proxy_provider_latency_seconds_count", provider="m"), 6)
        self.assertEqual(metric(text, "llm_proxy_provider_health", provider="m"), 1)
        self.assertNotIn("sk-upstream-secret", text)

    def test_junk_labels_do_not_grow_the_scrape(self):
        # Methods are any token and models any string (this provider serves every name): neither
        # may become a series of its own, before or after auth.
        import socket
        s = socket.create_connection(("127.0.0.1", self.gw_port), timeout=5)
        try:
            for i in range(500):
                s.sendall(f"JUNK{i} /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
                data = b""
                while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
                    chunk = s.recv(65536)
                    self.assertTrue(chunk, "the gateway closed the connection")
                    data += chunk
        finally:
            s.close()
        long_name = "m" * 4000
        for i in range(100):
            self.post("/v1/chat/completions", dict(CHAT, model=f"{long_name}{i}"))
            self.post("/v1/chat/completions", dict(CHAT, model=f"bad model {i} \u00e9\n"))
        text = self.scrape('method="other"')
        self.assertLess(len(text), 64 * 1024)
        self.assertNotIn("JUNK", text)
        self.assertNotIn("mmmmmmmm", text)
        self.assertGreaterEqual(metric(text, "llm_proxy_requests_total", method="other"), 500)
        self.assertEqual(metric(text, "llm_proxy_requests_total", model="other", status_code="200"), 200)

    @unittest.skipUnless(PROMTOOL, "promtool not installed")
    def test_promtool_check_metrics(self):
        self.post("/v1/chat/completions", CHAT)
        self.post("/v1/chat/completions", dict(CHAT, stream=True))
        self.post("/v1/embeddings", {"model": "e", "input": "x"})
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=self.scrape("/v1/embeddings"), capture_output=True,
                           text=True,
                           timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_provider_health_gauge_follows_ejection(self):
        dead = free_port()
        self.gateway(f"""
providers:
  - {{ name: dead, base_url: "http://127.0.0.1:{dead}/v1", circuit_breaker: {{ failure_threshold: 2 }} }}
routing: {{ retry: {{ max_retries: 0 }} }}
""")
        for _ in range(2):
            self.post("/v1/chat/completions", CHAT)
        self.assertEqual(metric(self.scrape('llm_proxy_provider_health{provider="dead"} 0'),
                                "llm_proxy_provider_health", provider="dead"), 0)

    @unittest.skipUnless(PROMETHEUS, "prometheus not installed")
    def test_real_prometheus_scrapes_the_request_count(self):
        prom_port = free_port()
        d = self.tmp.name
        with open(os.path.join(d, "prometheus.yml"), "w") as f:
            f.write(f"""
global: {{ scrape_interval: 1s, evaluation_interval: 1s }}
scrape_configs:
  - job_name: llm-proxy
    static_configs: [ {{ targets: ["127.0.0.1:{self.gw_port}"] }} ]
""")
        p = self.spawn([PROMETHEUS, f"--config.file={d}/prometheus.yml", f"--storage.tsdb.path={d}/tsdb",
                        f"--web.listen-address=127.0.0.1:{prom_port}"])
        wait_port(prom_port, p, timeout=30)
        sent = 17
        for _ in range(sent):
            self.assertEqual(self.post("/v1/chat/completions", CHAT).status, 200)
        query = urllib.parse.quote('sum(llm_proxy_requests_total{status_code="200",endpoint="/v1/chat/completions"})')
        deadline = time.time() + 30
        value = None
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{prom_port}/api/v1/query?query={query}", timeout=5) as r:
                    result = json.load(r)["data"]["result"]
                if result and float(result[0]["value"][1]) == sent:
                    value = float(result[0]["value"][1])
                    break
            except OSError:
                pass
            time.sleep(0.5)
        self.assertEqual(value, sent)



class Usage(GatewayTest):
    def setUp(self):
        super().setUp()
        self.up = self.mock("m1")
        self.log_path = os.path.join(self.tmp.name, "access.log")
        self.gateway(f"""
providers:
  - {{ name: m, base_url: "http://127.0.0.1:{self.up}/v1", models: ["gpt-4o"] }}
  - {{ name: plain, base_url: "http://127.0.0.1:{self.up}/v1", models: ["no-inject"], stream_usage: false }}
logging: {{ access_log: "{self.log_path}" }}
""")

    def events(self, body):
        return [e for e in body.decode().split("\\n\\n") if e]

    def test_stream_usage_is_metered_but_invisible(self):
        injected = self.post("/v1/chat/completions", dict(CHAT, stream=True))
        upstream_body = json.loads(self.mock_json(self.up, "/mock/last")["body"])
        self.assertEqual(upstream_body["stream_options"], {"include_usage": True})
        plain = self.post("/v1/chat/completions", dict(CHAT, model="no-inject", stream=True))
        # The client sees exactly what it would have seen without the injected include_usage.
        self.assertEqual(injected.body.decode().replace("gpt-4o", "X"), plain.body.decode().replace("no-inject", "X"))
        self.assertNotIn("usage", injected.body.decode())
        text = eventually(lambda: (lambda t: t if "llm_proxy_tokens_total{" in t else None)(
            self.request("GET", "/metrics").body.decode()))
        self.assertEqual(metric(text, "llm_proxy_tokens_total", model="gpt-4o", token_type="completion"), 5)
        self.assertIsNone(metric(text, "llm_proxy_tokens_total", model="no-inject", token_type="completion"))

    def test_client_asked_usage_passes_through(self):
        r = self.post("/v1/chat/completions", dict(CHAT, stream=True, stream_options={"include_usage": True}))
        usage_events = [e for e in self.events(r.body) if '"usage":{' in e]
        self.assertEqual(len(usage_events), 1)
        text = eventually(lambda: (lambda t: t if "llm_proxy_tokens_total{" in t else None)(
            self.request("GET", "/metrics").body.decode()))
        self.assertEqual(metric(text, "llm_proxy_tokens_total", model="gpt-4o", token_type="completion"), 5)

    def test_non_stream_usage_and_access_log(self):
        r = self.post("/v1/chat/completions", CHAT, headers={
            "X-Request-ID": "log-me-1", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
        usage = r.json()["usage"]
        text = eventually(lambda: (lambda t: t if "llm_proxy_tokens_total{" in t else None)(
            self.request("GET", "/metrics").body.decode()))
        self.assertEqual(metric(text, "llm_proxy_tokens_total", model="gpt-4o", token_type="prompt"),
                         usage["prompt_tokens"])
        deadline = time.time() + 5
        lines = []
        while time.time() < deadline:
            with open(self.log_path) as f:
                lines = [json.loads(l) for l in f if l.strip()]
            if any(l["request_id"] == "log-me-1" for l in lines):
                break
            time.sleep(0.05)
        entry = next(l for l in lines if l["request_id"] == "log-me-1")
        self.assertEqual(entry["status"], 200)
        self.assertEqual(entry["provider"], "m")
        self.assertEqual(entry["model"], "gpt-4o")
        self.assertEqual(entry["attempts"], "m:200")
        self.assertEqual(entry["total_tokens"], usage["total_tokens"])
        self.assertEqual(entry["client_ip"], "127.0.0.1")
        self.assertEqual(entry["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736")
        self.assertGreater(entry["latency_ms"], 0)

    def test_answers_refused_on_the_head_are_counted_and_logged(self):
        # Hardening #14.15: 400 invalid_path, 501, 400 Host and 431 were neither counted nor logged.
        from harness import raw_exchange
        refusals = {
            b"GET /v1/../admin HTTP/1.1\r\nHost: x\r\n\r\n": 400,
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n": 501,
            b"GET /health HTTP/1.1\r\n\r\n": 400,
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * (20 << 10) + b"\r\n\r\n": 431,
        }
        for raw, status in refusals.items():
            self.assertTrue(raw_exchange(self.gw_port, raw, timeout=3).startswith(b"HTTP/1.1 %d" % status))
        text = eventually(lambda: (lambda t: t if 'status_code="431"' in t else None)(
            self.request("GET", "/metrics").body.decode()))
        self.assertEqual(metric(text, "llm_proxy_requests_total", endpoint="unknown", status_code="400"), 2)
        self.assertEqual(metric(text, "llm_proxy_requests_total", endpoint="unknown", status_code="501"), 1)
        self.assertEqual(metric(text, "llm_proxy_requests_total", endpoint="unknown", status_code="431"), 1)

        def logged():
            with open(self.log_path) as f:
                return [json.loads(l) for l in f if l.strip()]
        self.assertTrue(eventually(lambda: len([l for l in logged() if l["status"] in (400, 431, 501)]) == 4))
        paths = {l["path"] for l in logged() if l["status"] == 400}
        self.assertIn("/v1/../admin", paths)


if __name__ == "__main__":
    unittest.main()
