#!/usr/bin/env python3
"""Hot reload under load, and how fast a change made on one instance serves on another.

1. Throughput and latency while the configuration changes every second, side by side with no
   changes (interleaved rounds, same gateway): the gateway as users run it (an API key from the
   store with limits, access log to a file, the store in PostgreSQL), behind it an upstream that
   costs next to nothing (nginx answering a fixed JSON body). Two kinds of change: a full reload
   (POST /admin/v1/config/reload: file + store read, validated, published) and an admin write
   (PATCH a provider's weight: store write + publish; the peer instance reloads too).
2. Propagation: 50 writes on instance A (a new API key; a provider's weight), each timed until it
   serves on instance B (the key authenticates on B; B's config version moved).

    python3 bench/reload_bench.py --rounds 3 --seconds 5
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "integration"))
from bench import BENCH_KEY, ROOT, free_port, pct, stop_all, wait_port, wrk  # noqa: E402
from pipeline_bench import JSON_BODY, nginx_escape, start_nginx, wrk_script  # noqa: E402
from servers import PostgresServer  # noqa: E402

ADMIN = "bench-admin-key"


class Client:
    """One keep-alive connection for admin calls and probes."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def call(self, method, path, body=None, key=ADMIN):
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
        r = self.conn.getresponse()
        data = r.read()
        return r.status, data


def gateway_config(port, up_port, db_url, tmp, name):
    return f"""
server: {{ listen: "127.0.0.1:{port}", workers: 1, admin_key: "{ADMIN}" }}
providers: [ {{ name: up, base_url: "http://127.0.0.1:{up_port}/v1" }} ]
auth: {{ enabled: true }}
database: {{ url: "{db_url}", poll_interval: 5s, sync_interval: 1s }}
logging: {{ level: warn, access_log: "{tmp}/{name}-access.log" }}
"""


def changing(port, kind, stop, counts):
    """Every second: a full reload or an admin write, until `stop`."""
    c = Client(port)
    i = 0
    while not stop.wait(1.0):
        i += 1
        if kind == "reload":
            status, body = c.call("POST", "/admin/v1/config/reload")
        else:
            status, body = c.call("PATCH", "/admin/v1/providers/spare", {"weight": 1 + i % 5})
        counts.append(status)


def propagation(a, b, n):
    """ms from a write answered on A to the change serving on B."""
    ca, cb = Client(a), Client(b)
    keys_ms, weights_ms = [], []
    for i in range(n):
        status, body = ca.call("POST", "/admin/v1/keys", {"name": f"prop{i}-{time.time_ns()}"})
        assert status == 201, body
        secret = json.loads(body)["key"]
        t0 = time.perf_counter()
        while True:
            status, _ = cb.call("GET", "/v1/models", key=secret)
            if status == 200:
                break
            if time.perf_counter() - t0 > 5:
                raise RuntimeError("a key made on A never worked on B")
        keys_ms.append((time.perf_counter() - t0) * 1000)
    for i in range(n):
        _, before = cb.call("GET", "/admin/v1/config/version")
        before = json.loads(before)["version"]
        status, body = ca.call("PATCH", "/admin/v1/providers/spare", {"weight": 2 + i % 7})
        assert status == 200, body
        t0 = time.perf_counter()
        while json.loads(cb.call("GET", "/admin/v1/config/version")[1])["version"] == before:
            if time.perf_counter() - t0 > 5:
                raise RuntimeError("a provider change on A never reached B")
        weights_ms.append((time.perf_counter() - t0) * 1000)
    return keys_ms, weights_ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--writes", type=int, default=50)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="llm-proxy-reload-bench-")
    procs = []
    pg = None
    try:
        pg = PostgresServer(tmp)
        up_port, a_port, b_port = free_port(), free_port(), free_port()
        start_nginx(tmp, "upstream", 1, f"""
  server {{
    listen 127.0.0.1:{up_port};
    location /v1/chat/completions {{ default_type application/json; return 200 '{nginx_escape(JSON_BODY)}'; }}
  }}""", procs)
        for name, port in (("a", a_port), ("b", b_port)):
            conf = os.path.join(tmp, f"{name}.yaml")
            with open(conf, "w") as f:
                f.write(gateway_config(port, up_port, pg.url, tmp, name))
            procs.append(subprocess.Popen([os.path.join(args.build, "llm-proxy"), "--config", conf],
                                          stderr=open(os.path.join(tmp, f"{name}.log"), "w")))
        for port in (up_port, a_port, b_port):
            wait_port(port)
        admin = Client(a_port)
        status, body = admin.call("POST", "/admin/v1/keys", {
            "name": "bench", "key": BENCH_KEY, "requests_per_second": 1e6, "requests_per_minute": 1e9,
            "tokens_per_minute": 1e12, "max_concurrent": 100000})
        assert status == 201, body
        status, body = admin.call("POST", "/admin/v1/providers", {
            "name": "spare", "base_url": f"http://127.0.0.1:{up_port}/v1", "models": ["spare-*"]})
        assert status == 201, body
        time.sleep(0.5)
        script = wrk_script(tmp, "json", False)
        wrk(a_port, 8, 1, script)  # warm-up

        modes = ("no changes", "reload every 1 s", "admin write every 1 s")
        rps = {m: [] for m in modes}
        p50 = {m: [] for m in modes}
        p99 = {m: [] for m in modes}
        change_status = []
        for r in range(args.rounds):
            for mode in modes:
                stop = threading.Event()
                t = None
                if mode != "no changes":
                    t = threading.Thread(target=changing, args=(a_port, "reload" if "reload" in mode else "write",
                                                                 stop, change_status))
                    t.start()
                value, lat = wrk(a_port, args.connections, args.seconds, script)
                stop.set()
                if t:
                    t.join()
                rps[mode].append(value)
                p50[mode].append(lat.get(50, float("nan")))
                p99[mode].append(lat.get(99, float("nan")))
            print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{m} {rps[m][-1]:.0f}" for m in modes), file=sys.stderr)
        keys_ms, weights_ms = propagation(a_port, b_port, args.writes)

        base = statistics.median(rps["no changes"])
        print(f"\n### hot reload under load (1 worker, wrk -t1 -c{args.connections}, {args.rounds} rounds x "
              f"{args.seconds}s, medians; auth key from the PostgreSQL store, access log on)\n")
        print("| mode | RPS | vs no changes | p50 (ms) | p99 (ms) | p99 vs no changes |")
        print("|---|---|---|---|---|---|")
        for m in modes:
            print(f"| {m} | {statistics.median(rps[m]):.0f} | {statistics.median(rps[m]) / base:.3f} | "
                  f"{statistics.median(p50[m]):.3f} | {statistics.median(p99[m]):.3f} | "
                  f"{statistics.median(p99[m]) / statistics.median(p99['no changes']):.2f}x |")
        failed = [s for s in change_status if s != 200]
        print(f"\nchanges made during load: {len(change_status)}, refused: {len(failed)}")
        print(f"\n### write on A -> serving on B ({args.writes} writes each, PostgreSQL LISTEN/NOTIFY, "
              f"poll_interval 5s)\n")
        print("| change | p50 (ms) | p99 (ms) | max (ms) |")
        print("|---|---|---|---|")
        for name, v in (("new API key authenticates on B", keys_ms), ("provider weight published on B", weights_ms)):
            print(f"| {name} | {pct(v, 50):.2f} | {pct(v, 99):.2f} | {max(v):.2f} |")
    finally:
        if pg:
            pg.stop()
        stop_all(procs, tmp)


if __name__ == "__main__":
    main()
