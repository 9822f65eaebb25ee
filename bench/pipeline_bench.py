#!/usr/bin/env python3
"""The request path's own cost, side by side in one run: an upstream that costs next to nothing
(nginx answering a fixed JSON body or a fixed 24-event SSE stream), reached directly, through
nginx and HAProxy as plain reverse proxies (the two anchors), through llm-proxy bare, and through llm-proxy with its full
pipeline on (an API key with per-key rps/rpm/tpm/concurrency limits in memory, metering with
include_usage, access log to a file, usage webhook batching to a local receiver).

Reports medians over rounds (interleaved): non-stream and stream throughput (wrk -t1 -c64) and
their ratio to nginx, CPU µs per request of each proxy process (from /proc), and stream
time-to-first-event p50/p99 (a sequential client).

    python3 bench/pipeline_bench.py --workers 1 --rounds 3 --seconds 5
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import (BENCH_KEY, CHAT_BODY, ROOT, cpu_seconds, free_port, pct, read_response, stop_all,  # noqa: E402
                   wait_port, wrk)

import socket  # noqa: E402


def sse_body(events=24):
    # Compact chunks: nginx's `return` takes at most 4 KiB. Each carries "usage":null, as
    # OpenAI's do once stream_options.include_usage is set (which the gateway sets).
    out = []
    for i in range(events):
        chunk = {"id": "c1", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": f"tok{i} "}}],
                 "usage": None}
        out.append("data: " + json.dumps(chunk, separators=(",", ":")) + "\n\n")
    usage = {"id": "c1", "object": "chat.completion.chunk", "choices": [],
             "usage": {"prompt_tokens": 60, "completion_tokens": events, "total_tokens": 60 + events}}
    out.append("data: " + json.dumps(usage, separators=(",", ":")) + "\n\n")
    out.append("data: [DONE]\n\n")
    return "".join(out)


JSON_BODY = json.dumps({"id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
                        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the bench."},
                                     "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 60, "completion_tokens": 6, "total_tokens": 66}},
                       separators=(",", ":"))


def nginx_escape(s):
    return s.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")


def start_nginx(tmp, name, workers, server_block, procs, prefix=()):
    conf = os.path.join(tmp, f"{name}.conf")
    with open(conf, "w") as f:
        f.write(f"""
daemon off; master_process off; worker_processes {workers}; worker_rlimit_nofile 20000;
pid {tmp}/{name}.pid; error_log {tmp}/{name}.err error;
events {{ worker_connections 20000; }}
http {{
  access_log off;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  client_max_body_size 64m; client_body_buffer_size 2m; keepalive_requests 1000000;
  {server_block}
}}
""")
    procs.append(subprocess.Popen([*prefix, shutil.which("nginx") or "/usr/sbin/nginx", "-c", conf, "-p", tmp],
                                  stderr=subprocess.DEVNULL))
    return procs[-1]


def start_upstream(tmp, port, procs):
    """The upstream: nginx answering a fixed JSON body, or the fixed SSE stream when the request
    carries x-bench-stream: 1 (as cheap as a server gets)."""
    return start_nginx(tmp, "upstream", 1, f"""
  server {{
    listen 127.0.0.1:{port};
    location /v1/chat/completions {{
      if ($http_x_bench_stream = "1") {{ rewrite ^ /sse last; }}
      default_type application/json;
      return 200 '{nginx_escape(JSON_BODY)}';
    }}
    location = /sse {{ default_type text/event-stream; return 200 '{nginx_escape(sse_body())}'; }}
  }}""", procs)


def start_nginx_proxy(tmp, workers, port, up_port, procs, prefix=()):
    """nginx as a plain reverse proxy: keep-alive upstream connections, no buffering. `prefix`
    runs it under another program (callgrind)."""
    return start_nginx(tmp, "proxy", workers, f"""
  upstream up {{ server 127.0.0.1:{up_port}; keepalive 256; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering off; proxy_request_buffering off;
    }}
  }}""", procs, prefix)


def full_pipeline_config(port, up_port, hook_port, tmp, workers=1):
    """llm-proxy as users run it: a key with per-key limits in memory, metering with
    include_usage, the access log to a file, the usage webhook batching to a local receiver."""
    return f"""
server: {{ listen: "127.0.0.1:{port}", workers: {workers} }}
providers: [ {{ name: up, base_url: "http://127.0.0.1:{up_port}/v1" }} ]
auth:
  keys:
    - {{ key: {BENCH_KEY}, name: bench,
         rate_limit: {{ requests_per_second: 1000000, requests_per_minute: 1000000000,
                       tokens_per_minute: 1000000000000, max_concurrent: 100000 }} }}
usage_hook: {{ url: "http://127.0.0.1:{hook_port}/usage", batch_size: 100, spool_dir: "{tmp}/spool" }}
logging: {{ level: warn, access_log: "{tmp}/access.log" }}
"""


def start_haproxy(tmp, threads, port, up_port, procs):
    """HAProxy as a plain reverse proxy (keep-alive both sides, connections reused), the second
    anchor beside nginx. None when it is not installed."""
    binary = shutil.which("haproxy") or ("/usr/sbin/haproxy" if os.path.exists("/usr/sbin/haproxy") else None)
    if not binary:
        return None
    conf = os.path.join(tmp, "haproxy.cfg")
    with open(conf, "w") as f:
        f.write(f"""
global
  nbthread {threads}
  maxconn 9000
defaults
  mode http
  option http-keep-alive
  http-reuse always
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend proxy
  bind 127.0.0.1:{port}
  default_backend up
backend up
  server up 127.0.0.1:{up_port}
""")
    procs.append(subprocess.Popen([binary, "-db", "-f", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return procs[-1]


def wrk_script(tmp, name, stream):
    body = json.loads(CHAT_BODY)
    if stream:
        body["stream"] = True
    path = os.path.join(tmp, f"{name}.lua")
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                f'wrk.headers["Authorization"] = "Bearer {BENCH_KEY}"\n'
                + ('wrk.headers["x-bench-stream"] = "1"\n' if stream else "")
                + f"wrk.body = {json.dumps(json.dumps(body))}\n")
    return path


def first_event_us(port, n):
    """Sequential streams on one connection: send -> first 'data:' byte, µs."""
    body = json.loads(CHAT_BODY)
    body["stream"] = True
    raw = json.dumps(body).encode()
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    samples = []
    for i in range(n + 20):
        t0 = time.perf_counter()
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
                  b"Authorization: Bearer " + BENCH_KEY.encode() + b"\r\nx-bench-stream: 1\r\n" +
                  b"Content-Length: %d\r\n\r\n" % len(raw) + raw)
        t_first, _ = read_response(s, b"data: ")
        if i >= 20:
            samples.append((t_first - t0) * 1e6)
    s.close()
    return samples


def read_allocs(tmp, name):
    time.sleep(0.06)  # the counter file is rewritten every 20 ms
    with open(os.path.join(tmp, name.replace(" ", "_") + ".allocs")) as f:
        return int(f.read())


def allocations_per_request(tmp, name, port, script, seconds=2):
    """One connection for `seconds`: (allocations - the idle background) / requests."""
    idle0 = read_allocs(tmp, name)
    time.sleep(0.5)
    idle_rate = (read_allocs(tmp, name) - idle0) / 0.56
    before, t0 = read_allocs(tmp, name), time.monotonic()
    rate, _ = wrk(port, 1, seconds, script)
    after, t1 = read_allocs(tmp, name), time.monotonic()
    return (after - before - idle_rate * (t1 - t0)) / (rate * seconds)


def start_targets(args, tmp, procs):
    """The mock upstream direct, nginx, HAProxy (when installed), llm-proxy bare and with the full
    pipeline, each on its own port: ({name: port}, {name: pid}, {gateway name: (port, config)})."""
    up_port, nginx_port, bare_port, full_port, hook_port, haproxy_port = (free_port() for _ in range(6))
    start_upstream(tmp, up_port, procs)
    start_nginx_proxy(tmp, args.workers, nginx_port, up_port, procs)
    haproxy = start_haproxy(tmp, args.workers, haproxy_port, up_port, procs)
    # The usage webhook's receiver: the mock's /usage endpoint (counts events, answers at once).
    procs.append(subprocess.Popen([os.path.join(args.build, "mock_upstream"), "--listen",
                                   f"127.0.0.1:{hook_port}", "--threads", "1"], stderr=subprocess.DEVNULL))
    gateways = {
        "llm-proxy bare": (bare_port, f"""
server: {{ listen: "127.0.0.1:{bare_port}", workers: {args.workers} }}
providers: [ {{ name: up, base_url: "http://127.0.0.1:{up_port}/v1" }} ]
logging: {{ level: warn, access_log: "off" }}
"""),
        "llm-proxy full pipeline": (full_port, full_pipeline_config(full_port, up_port, hook_port, tmp, args.workers)),
    }
    pids = {"nginx": procs[1].pid}
    if haproxy:
        pids["haproxy"] = haproxy.pid
    for name, (port, text) in gateways.items():
        conf = os.path.join(tmp, name.replace(" ", "_") + ".yaml")
        with open(conf, "w") as f:
            f.write(text)
        env = dict(os.environ)
        if getattr(args, "allocs", False):
            env.update(LD_PRELOAD=os.path.join(args.build, "libmalloc_count.so"),
                       MALLOC_COUNT_FILE=os.path.join(tmp, name.replace(" ", "_") + ".allocs"))
        procs.append(subprocess.Popen([os.path.join(args.build, "llm-proxy"), "--config", conf],
                                      stderr=subprocess.DEVNULL, env=env))
        pids[name] = procs[-1].pid
    for port in (up_port, nginx_port, bare_port, full_port, hook_port) + ((haproxy_port,) if haproxy else ()):
        wait_port(port)
    time.sleep(0.5)  # tokenizers load in the background
    targets = {"direct": up_port, "nginx": nginx_port, **({"haproxy": haproxy_port} if haproxy else {}),
               "llm-proxy bare": bare_port, "llm-proxy full pipeline": full_port}
    return targets, pids, gateways


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=1, help="llm-proxy workers = nginx worker_processes")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--ttft-requests", type=int, default=300)
    ap.add_argument("--allocs", action="store_true",
                    help="run the gateways under the malloc counter (build/libmalloc_count.so) and report "
                         "allocations per request")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="llm-proxy-pipeline-bench-")
    procs = []
    try:
        targets, pids, gateways = start_targets(args, tmp, procs)
        scripts = {"json": wrk_script(tmp, "json", False), "stream": wrk_script(tmp, "stream", True)}
        rps = {(k, m): [] for k in targets for m in scripts}
        cpu = {(k, m): [] for k in targets for m in scripts}
        for port in targets.values():
            for s in scripts.values():
                wrk(port, 16, 1, s)  # warm-up: pools, caches
        for r in range(args.rounds):
            for mode, script in scripts.items():
                for name, port in targets.items():  # interleaved so drift hits all alike
                    before = cpu_seconds(pids[name]) if name in pids else None
                    value, _ = wrk(port, args.connections, args.seconds, script)
                    rps[(name, mode)].append(value)
                    if before is not None:
                        cpu[(name, mode)].append((cpu_seconds(pids[name]) - before) * 1e6 / (value * args.seconds))
            print(f"round {r + 1}/{args.rounds}: " + ", ".join(
                f"{k}/{m} {rps[(k, m)][-1]:.0f}" for k in targets for m in scripts), file=sys.stderr)
        first = {k: first_event_us(p, args.ttft_requests) for k, p in targets.items()}

        print(f"\n### request-path benchmark (workers={args.workers}, wrk -t1 -c{args.connections}, "
              f"{args.rounds} rounds x {args.seconds}s, medians; body {len(CHAT_BODY)} B; stream = 24 events + usage)\n")
        print("| target | JSON RPS | vs nginx | CPU µs/req | stream RPS | vs nginx | CPU µs/stream | "
              "first event p50 (µs) | p99 | added p50 vs direct |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        med = {key: statistics.median(v) for key, v in rps.items()}
        for k in targets:
            cj = f"{statistics.median(cpu[(k, 'json')]):.1f}" if cpu[(k, "json")] else "-"
            cs = f"{statistics.median(cpu[(k, 'stream')]):.1f}" if cpu[(k, "stream")] else "-"
            f50, f99 = pct(first[k], 50), pct(first[k], 99)
            print(f"| {k} | {med[(k, 'json')]:.0f} | {med[(k, 'json')] / med[('nginx', 'json')]:.2f} | {cj} | "
                  f"{med[(k, 'stream')]:.0f} | {med[(k, 'stream')] / med[('nginx', 'stream')]:.2f} | {cs} | "
                  f"{f50:.0f} | {f99:.0f} | {f50 - pct(first['direct'], 50):+.0f} |")
        if args.allocs:
            print("\n| target | allocations per JSON request | per stream (24 events) | per event |\n|---|---|---|---|")
            for name in gateways:
                per = {m: allocations_per_request(tmp, name, targets[name], scripts[m]) for m in scripts}
                print(f"| {name} | {per['json']:.1f} | {per['stream']:.1f} | {(per['stream'] - per['json']) / 24:.2f} |")
        print(f"\nraw RPS per round: {json.dumps({f'{k}/{m}': [round(x) for x in v] for (k, m), v in rps.items()})}")
    finally:
        stop_all(procs, tmp)


if __name__ == "__main__":
    main()
