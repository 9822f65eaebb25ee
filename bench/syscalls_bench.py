#!/usr/bin/env python3
"""Syscalls per request, side by side in one run: nginx as a plain reverse proxy, llm-proxy
bare and llm-proxy with its full pipeline (key with limits, usage webhook, access log), each
with 1 worker in front of the same nginx upstream answering a fixed JSON body. Each proxy is
traced with `strace -c -f` while wrk (-c4, keep-alive) runs; the table gives calls per request
for every syscall made more than once per 20 requests, and how many of them failed (EAGAIN).

    python3 bench/syscalls_bench.py --seconds 2
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import BENCH_KEY, ROOT, free_port, stop_all, wait_port  # noqa: E402
import pipeline_bench as pb  # noqa: E402


def trace(pid, port, script, seconds, tmp, name):
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    subprocess.run(["wrk", "-t1", "-c4", "-d1s", "-s", script, url], capture_output=True, timeout=60)  # warm-up
    out = os.path.join(tmp, f"{name}.strace")
    st = subprocess.Popen(["strace", "-c", "-f", "-p", str(pid), "-o", out], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    run = subprocess.run(["wrk", "-t1", "-c4", f"-d{seconds}s", "-s", script, url], capture_output=True, text=True,
                         timeout=seconds + 60)
    time.sleep(0.2)
    st.send_signal(2)
    st.wait(timeout=30)
    n = int(re.search(r"(\d+) requests in", run.stdout).group(1))
    rows = {}
    for line in open(out):
        m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(\d+)?\s*(\w+)\s*$", line)
        if m and m.group(3) != "total":
            rows[m.group(3)] = (int(m.group(1)) / n, int(m.group(2) or 0) / n)
    return n, rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=int, default=2)
    args = ap.parse_args()
    if not shutil.which("strace"):
        sys.exit("strace is not installed (apt-get install strace)")
    tmp = tempfile.mkdtemp(prefix="llm-proxy-syscalls-bench-")
    procs = []
    try:
        up, hook, ngx, bare, full = (free_port() for _ in range(5))
        pb.start_nginx(tmp, "upstream", 1, f"""
  server {{ listen 127.0.0.1:{up};
    location /v1/chat/completions {{ default_type application/json; return 200 '{pb.nginx_escape(pb.JSON_BODY)}'; }} }}""",
                       procs)
        nginx = pb.start_nginx_proxy(tmp, 1, ngx, up, procs)
        procs.append(subprocess.Popen([os.path.join(args.build, "mock_upstream"), "--listen", f"127.0.0.1:{hook}",
                                       "--threads", "1"], stderr=subprocess.DEVNULL))
        common = f'providers: [ {{ name: up, base_url: "http://127.0.0.1:{up}/v1" }} ]\n'
        configs = {
            "llm-proxy bare": (bare, common + "logging: { level: warn, access_log: off }\n"),
            "llm-proxy full pipeline": (full, common + f"""auth:
  keys:
    - {{ key: {BENCH_KEY}, name: bench, rate_limit: {{ requests_per_second: 1000000, max_concurrent: 100000 }} }}
usage_hook: {{ url: "http://127.0.0.1:{hook}/usage", batch_size: 100, spool_dir: "{tmp}/spool" }}
logging: {{ level: warn, access_log: "{tmp}/access.log" }}
"""),
        }
        pids = {"nginx": nginx.pid}
        for name, (port, text) in configs.items():
            conf = os.path.join(tmp, name.replace(" ", "_") + ".yaml")
            with open(conf, "w") as f:
                f.write(f'server: {{ listen: "127.0.0.1:{port}", workers: 1 }}\n' + text)
            procs.append(subprocess.Popen([os.path.join(args.build, "llm-proxy"), "--config", conf],
                                          stderr=subprocess.DEVNULL))
            pids[name] = procs[-1].pid
        for port in (up, hook, ngx, bare, full):
            wait_port(port)
        script = pb.wrk_script(tmp, "json", False)
        ports = {"nginx": ngx, "llm-proxy bare": bare, "llm-proxy full pipeline": full}
        print(f"### syscalls per request (JSON, wrk -t1 -c4 -d{args.seconds}s, strace -c -f, 1 worker each)\n")
        print("| target | requests traced | syscalls per request | failed | largest |")
        print("|---|---|---|---|---|")
        for name, port in ports.items():
            n, rows = trace(pids[name], port, script, args.seconds, tmp, name.replace(" ", "_"))
            total = sum(c for c, _ in rows.values())
            failed = sum(e for _, e in rows.values())
            top = ", ".join(f"{k} {c:.2f}" for k, (c, _) in sorted(rows.items(), key=lambda kv: -kv[1][0]) if c >= 0.05)
            print(f"| {name} | {n} | {total:.2f} | {failed:.2f} | {top} |")
    finally:
        stop_all(procs, tmp)


if __name__ == "__main__":
    main()
