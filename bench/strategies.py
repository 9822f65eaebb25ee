#!/usr/bin/env python3
"""Balancing strategies side by side (issue 3): llm-proxy with each strategy over 2 and 8 mock
targets, against the same run's direct (one mock) and nginx baselines, plus the cost of active
health checks (on vs off). Medians over rounds; throughput at c=64, latency at c=4.

    python3 bench/strategies.py [--rounds 3] [--seconds 4]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import CHAT_BODY, ROOT, free_port, stop_all, wait_port, wrk  # noqa: E402

STRATEGIES = ["round_robin", "weighted_round_robin", "weighted_random", "least_connections", "latency_based"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=4)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="llm-proxy-strategies-")
    procs = []

    def start(cmd):
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        return p

    try:
        mocks = [free_port() for _ in range(8)]
        for port in mocks:
            start([os.path.join(args.build, "mock_upstream"), "--listen", f"127.0.0.1:{port}"])
            wait_port(port)
        nginx_port = free_port()
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""
daemon off; master_process off; worker_processes 1; pid {tmp}/nginx.pid; error_log {tmp}/err error;
events {{ worker_connections 4096; }}
http {{ access_log off; client_body_temp_path {tmp}; proxy_temp_path {tmp};
  upstream mock {{ server 127.0.0.1:{mocks[0]}; server 127.0.0.1:{mocks[1]}; keepalive 128; }}
  server {{ listen 127.0.0.1:{nginx_port};
    location / {{ proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection "";
                 proxy_buffering off; proxy_request_buffering off; }} }} }}
""")
        start([shutil.which("nginx") or "/usr/sbin/nginx", "-c", conf, "-p", tmp])
        wait_port(nginx_port)
        script = os.path.join(tmp, "post.lua")
        with open(script, "w") as f:
            import json
            f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                    f"wrk.body = {json.dumps(CHAT_BODY)}\n")

        targets = {"direct": mocks[0], "nginx (2 targets)": nginx_port}
        for n in (2, 8):
            for strategy in STRATEGIES + (["weighted_round_robin+health_checks"] if n == 2 else []):
                port = free_port()
                health = "health_check: { path: /health, interval: 1s }\n" if "health" in strategy else ""
                providers = "".join(f"  - {{ name: m{i}, base_url: 'http://127.0.0.1:{p}/v1', weight: {1 + i % 3} }}\n"
                                    for i, p in enumerate(mocks[:n]))
                cfg = os.path.join(tmp, f"{strategy}-{n}.yaml")
                with open(cfg, "w") as f:
                    f.write(f"server: {{ listen: '127.0.0.1:{port}', workers: 1 }}\n{health}providers:\n{providers}"
                            f"routing: {{ strategy: {strategy.split('+')[0]} }}\nlogging: {{ level: warn, access_log: 'off' }}\n")
                start([os.path.join(args.build, "llm-proxy"), "--config", cfg])
                wait_port(port)
                targets[f"llm-proxy {strategy} ({n} targets)"] = port
        for port in targets.values():
            wrk(port, 8, 1, script)
        rps = {k: [] for k in targets}
        p50 = {k: [] for k in targets}
        p99 = {k: [] for k in targets}
        for r in range(args.rounds):
            for name, port in targets.items():
                x, _ = wrk(port, 64, args.seconds, script)
                rps[name].append(x)
                _, lat = wrk(port, 4, args.seconds, script)
                p50[name].append(lat[50] * 1000)
                p99[name].append(lat[99] * 1000)
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
        med = lambda v: statistics.median(v)  # noqa: E731
        d50, d99, ng = med(p50["direct"]), med(p99["direct"]), med(rps["nginx (2 targets)"])
        print(f"\n### strategies ({args.rounds} rounds x {args.seconds}s, 1 worker, medians)\n")
        print("| target | RPS c=64 | vs nginx | p50 c=4 (µs) | added p50 | p99 c=4 (µs) | added p99 |")
        print("|---|---|---|---|---|---|---|")
        for k in targets:
            print(f"| {k} | {med(rps[k]):.0f} | {med(rps[k]) / ng:.2f} | {med(p50[k]):.0f} | {med(p50[k]) - d50:+.0f} | "
                  f"{med(p99[k]):.0f} | {med(p99[k]) - d99:+.0f} |")
    finally:
        stop_all(procs, tmp)


if __name__ == "__main__":
    main()
