"""deploy/: Prometheus config and alert rules pass promtool, and every metric the Grafana
dashboard or an alert queries is one a running gateway exports."""
import json
import os
import re
import shutil
import subprocess
import time
import unittest

from harness import CHAT, GatewayTest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DEPLOY = os.path.join(ROOT, "deploy")
PROMTOOL = shutil.which("promtool")


def queried_metrics():
    exprs = []
    with open(os.path.join(DEPLOY, "grafana", "dashboards", "llm-proxy.json")) as f:
        dash = json.load(f)
    for panel in dash["panels"]:
        exprs += [t["expr"] for t in panel["targets"]]
    with open(os.path.join(DEPLOY, "prometheus", "alerts.yml")) as f:
        exprs.append(f.read())
    names = set()
    for e in exprs:
        for m in re.findall(r"\b(llm_proxy_[a-z_]+)", e):
            names.add(re.sub(r"_(bucket|sum|count)$", "", m))
    return names


class Deploy(GatewayTest):
    @unittest.skipUnless(PROMTOOL, "promtool not installed")
    def test_promtool_accepts_config_and_rules(self):
        for args in (["check", "rules", os.path.join(DEPLOY, "prometheus", "alerts.yml")],
                     ["check", "config", os.path.join(DEPLOY, "prometheus", "prometheus.yml")]):
            r = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_every_queried_metric_is_exported(self):
        up = self.mock("m")
        self.simple_gateway(up)
        self.post("/v1/chat/completions", CHAT)
        self.post("/v1/chat/completions", dict(CHAT, stream=True))
        wanted = queried_metrics()
        deadline = time.time() + 3
        while True:  # a request is recorded just after its last byte: poll briefly
            text = self.request("GET", "/metrics").body.decode()
            exported = {re.sub(r"_(bucket|sum|count)$", "", l.split("{")[0].split(" ")[0])
                        for l in text.splitlines() if l and not l.startswith("#")}
            if not (wanted - exported) or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertGreaterEqual(len(wanted), 8)
        self.assertEqual(sorted(wanted - exported), [])

    def test_dashboard_covers_the_essentials(self):
        with open(os.path.join(DEPLOY, "grafana", "dashboards", "llm-proxy.json")) as f:
            titles = " | ".join(p["title"] for p in json.load(f)["panels"]).lower()
        for word in ("request rate", "status", "latency", "first token", "tokens", "provider load", "health",
                     "active requests", "webhook", "rate-limited"):
            self.assertIn(word, titles)


if __name__ == "__main__":
    unittest.main()
