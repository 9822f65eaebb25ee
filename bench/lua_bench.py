#!/usr/bin/env python3
"""What a Lua script point adds to a request, side by side in one run (#18).

An nginx upstream answers a fixed chat completion, so the upstream costs next to nothing. Three
llm-proxy instances (one worker each, auth off, access log off) serve the same request:

    none       no script (the baseline)
    routing    scripts.routing: reads a header and a body field, picks one of two providers
    transform  scripts.request_transform: changes the model and returns the body (re-serialised,
               scanned and charged again)

Each is measured at concurrency 1 (a sequential keep-alive client): whole-response latency
p50/p99; and throughput with wrk -t1 -c32. Rounds are interleaved, medians reported; "added" is
the instance minus `none`. Target (#18): routing <= 3 µs p50 added.

    python3 bench/lua_bench.py --rounds 3 --requests 3000
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, free_port, pct, read_response, stop_all, wait_port, wrk  # noqa: E402
from pipeline_bench import JSON_BODY, nginx_escape, start_nginx  # noqa: E402

USER = "Summarise the benefits of a gateway in front of model servers. " * 9
BODY = json.dumps({"model": "gpt", "user": "vip-17", "max_tokens": 128,
                   "messages": [{"role": "system", "content": "You are a helpful assistant."},
                                {"role": "user", "content": USER}]}, separators=(",", ":"))
ROUTING = """
local tier = request.headers["X-User-Tier"]
local user = request.body and request.body.user or ""
if tier == "vip" or string_utils.starts_with(user, "vip-") then return "fast" end
return nil
"""
TRANSFORM = """
local body = request.body
body.model = "gpt-renamed"
return { body = body }
"""
INSTANCES = {
    "none": "",
    "routing": "scripts:\n  routing:\n    script: |\n" + "".join(f"      {l}\n" for l in ROUTING.strip().split("\n")),
    "transform": "scripts:\n  request_transform:\n    script: |\n"
                 + "".join(f"      {l}\n" for l in TRANSFORM.strip().split("\n")),
}


def request_bytes():
    return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"X-User-Tier: vip\r\nContent-Length: {len(BODY)}\r\n\r\n{BODY}").encode()


def sequential(port, n):
    data = request_bytes()
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    for i in range(n + 100):
        t0 = time.perf_counter()
        s.sendall(data)
        _, t_end = read_response(s, b"HTTP/1.1")
        if i >= 100:
            out.append((t_end - t0) * 1e6)
    s.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--seconds", type=int, default=4)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="llm-proxy-lua-bench-")
    procs = []
    try:
        up = free_port()
        start_nginx(tmp, "upstream", 1, f"""
  server {{
    listen 127.0.0.1:{up};
    location = /v1/chat/completions {{ default_type application/json; return 200 '{nginx_escape(JSON_BODY)}'; }}
  }}""", procs)
        ports = {}
        for name, scripts in INSTANCES.items():
            ports[name] = free_port()
            conf = os.path.join(tmp, f"{name}.yaml")
            with open(conf, "w") as f:
                f.write(f"""
server: {{ listen: "127.0.0.1:{ports[name]}", workers: 1 }}
providers:
  - {{ name: fast, base_url: "http://127.0.0.1:{up}/v1", models: ["gpt"] }}
  - {{ name: slow, base_url: "http://127.0.0.1:{up}/v1", models: ["gpt"] }}
logging: {{ level: warn, access_log: "off" }}
{scripts}""")
            procs.append(subprocess.Popen([os.path.join(args.build, "llm-proxy"), "--config", conf],
                                          stderr=subprocess.DEVNULL))
        wait_port(up)
        for port in ports.values():
            wait_port(port)
        time.sleep(0.5)
        wrk_lua = os.path.join(tmp, "req.lua")
        with open(wrk_lua, "w") as f:
            f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                    f'wrk.headers["X-User-Tier"] = "vip"\nwrk.body = {json.dumps(BODY)}\n')
        for name, port in ports.items():  # each answers 200 before anything is timed
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(request_bytes())
            s.settimeout(5)
            answer = s.recv(65536)
            s.close()
            if not answer.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"{name}: {answer[:300]!r}")
        lat = {n: [] for n in INSTANCES}
        rps = {n: [] for n in INSTANCES}
        for r in range(args.rounds):
            for name, port in ports.items():
                lat[name].extend(sequential(port, args.requests))
                rps[name].append(wrk(port, 32, args.seconds, wrk_lua)[0])
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
        base = lat["none"]
        print(f"\n### Lua script points (llm-proxy 1 worker, {args.rounds} x {args.requests} sequential requests; "
              f"wrk -t1 -c32 {args.seconds}s; medians)\n")
        print("| instance | p50 (µs) | p99 | added p50 / p99 | RPS (c=32) | RPS ratio |")
        print("|---|---|---|---|---|---|")
        base_rps = statistics.median(rps["none"])
        for name in INSTANCES:
            v = lat[name]
            added = "(baseline)" if name == "none" else f"{pct(v, 50) - pct(base, 50):+.1f} / {pct(v, 99) - pct(base, 99):+.1f}"
            r = statistics.median(rps[name])
            print(f"| {name} | {pct(v, 50):.1f} | {pct(v, 99):.1f} | {added} | {r:.0f} | {r / base_rps:.2f} |")
    finally:
        stop_all(procs, tmp)


if __name__ == "__main__":
    main()
