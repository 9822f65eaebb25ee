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

from harness import CHAT, MOCK, GatewayTest, free_port, wait_port

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

    def scrape(self):
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
        text = self.scrape()
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

    @unittest.skipUnless(PROMTOOL, "promtool not installed")
    def test_promtool_check_metrics(self):
        self.post("/v1/chat/completions", CHAT)
        self.post("/v1/chat/completions", dict(CHAT, stream=True))
        self.post("/v1/embeddings", {"model": "e", "input": "x"})
        r = subprocess.run([PROMTOOL, "check", "metrics"], input=self.scrape(), capture_output=True, text=True,
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
        self.assertEqual(metric(self.scrape(), "llm_proxy_provider_health", provider="dead"), 0)

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


if __name__ == "__main__":
    unittest.main()
