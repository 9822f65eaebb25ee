#!/usr/bin/env python3
"""Many long streams at once, side by side: N concurrent streams (E events, G ms apart) from the
mock upstream, through nginx (plain reverse proxy, proxy_buffering off) and through llm-proxy
with its default provider settings. Reports per target: streams completed, the p99 gap between
consecutive events as the client saw them, the proxy's RSS per stream (its RSS with all
streams open minus its RSS before, divided by N) and its CPU per relayed event (all threads,
over the whole run).

    python3 bench/streams_bench.py --streams 9000 --events 20 --gap-ms 500
    python3 bench/streams_bench.py --streams 2000 --events 1000 --gap-ms 10
"""
import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, cpu_seconds, free_port, pct, rss_mb, stop_all, wait_port  # noqa: E402
from pipeline_bench import start_nginx  # noqa: E402

BODY = json.dumps({"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode()


class StreamClient(asyncio.Protocol):
    """One streaming request; records when each chunk of bytes arrived and whether [DONE] came."""

    def __init__(self, request, done):
        self.request = request
        self.done = done
        self.last = None
        self.max_gap = 0.0
        self.tail = b""
        self.complete = False

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        now = time.monotonic()
        if self.last is not None and b"data: " in data:
            self.max_gap = max(self.max_gap, now - self.last)
        if b"data: " in data:
            self.last = now
        self.tail = (self.tail + data)[-64:]
        if b"[DONE]" in self.tail and not self.complete:
            self.complete = True
            self.transport.close()

    def connection_lost(self, exc):
        if not self.done.done():
            self.done.set_result(self)


async def run(port, n, events, gap_ms, pid, ramp_s):
    loop = asyncio.get_running_loop()
    request = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\n"
               + f"x-mock-chunks: {events}\r\nx-mock-chunk-delay-ms: {gap_ms}\r\n".encode()
               + f"Content-Length: {len(BODY)}\r\nConnection: close\r\n\r\n".encode() + BODY)
    futures, clients = [], []
    rss_before = rss_mb(pid)
    started = time.monotonic()
    for i in range(n):
        done = loop.create_future()
        futures.append(done)
        try:
            _, proto = await loop.create_connection(lambda: StreamClient(request, done), "127.0.0.1", port)
            clients.append(proto)
        except OSError as e:
            done.set_result(None)
            print(f"connect {i} failed: {e}", file=sys.stderr)
        if ramp_s and i % 200 == 199:
            await asyncio.sleep(ramp_s * 200 / n)
    opened = time.monotonic() - started
    # All open; sample RSS while the streams run.
    samples = []
    duration = events * gap_ms / 1000.0
    deadline = time.monotonic() + duration * 0.6
    while time.monotonic() < deadline:
        samples.append(rss_mb(pid))
        await asyncio.sleep(0.2)
    await asyncio.wait(futures, timeout=duration + 60)
    complete = sum(1 for c in clients if c.complete)
    gaps = [c.max_gap * 1000 for c in clients if c.complete]
    return {"complete": complete, "opened_s": opened, "rss_before": rss_before, "rss_peak": max(samples),
            "gap_p99_ms": pct(gaps, 99) if gaps else float("nan"), "gap_max_ms": max(gaps) if gaps else float("nan")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--streams", type=int, default=9000)
    ap.add_argument("--events", type=int, default=20)
    ap.add_argument("--gap-ms", type=int, default=500)
    ap.add_argument("--ramp-s", type=float, default=2.0, help="spread the connects over this long")
    ap.add_argument("--only", choices=["nginx", "llm-proxy"], default=None)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    tmp = tempfile.mkdtemp(prefix="llm-proxy-streams-bench-")
    procs = []
    try:
        mock_port, nginx_port, gw_port = free_port(), free_port(), free_port()
        procs.append(subprocess.Popen([os.path.join(args.build, "mock_upstream"), "--listen",
                                       f"127.0.0.1:{mock_port}", "--threads", "1"], stderr=subprocess.DEVNULL))
        nginx = start_nginx(tmp, "proxy", 1, f"""
  upstream up {{ server 127.0.0.1:{mock_port}; keepalive 256; }}
  server {{
    listen 127.0.0.1:{nginx_port} backlog=20000;
    location / {{
      proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering off; proxy_request_buffering off; proxy_read_timeout 300s;
    }}
  }}""", procs)
        conf = os.path.join(tmp, "gw.yaml")
        with open(conf, "w") as f:
            f.write(f"""
server: {{ listen: "127.0.0.1:{gw_port}", workers: 1 }}
providers: [ {{ name: mock, base_url: "http://127.0.0.1:{mock_port}/v1" }} ]
logging: {{ level: warn, access_log: "off" }}
""")
        gw = subprocess.Popen([os.path.join(args.build, "llm-proxy"), "--config", conf], stderr=subprocess.DEVNULL)
        procs.append(gw)
        for p in (mock_port, nginx_port, gw_port):
            wait_port(p)
        time.sleep(0.5)
        targets = {"nginx": (nginx_port, nginx.pid), "llm-proxy": (gw_port, gw.pid)}
        if args.only:
            targets = {args.only: targets[args.only]}
        print(f"\n### {args.streams} concurrent streams x {args.events} events, {args.gap_ms} ms apart "
              f"(1 worker each, default provider settings)\n")
        print("| target | completed | gap p99 (ms) | gap max (ms) | RSS before (MB) | RSS peak (MB) | KB per stream "
              "| CPU µs per relayed event |")
        print("|---|---|---|---|---|---|---|---|")
        for name, (port, pid) in targets.items():
            cpu_before = cpu_seconds(pid)
            r = asyncio.run(run(port, args.streams, args.events, args.gap_ms, pid, args.ramp_s))
            per = (r["rss_peak"] - r["rss_before"]) * 1024 / args.streams
            # The proxy's CPU (all threads) over the run, connects and closes included.
            per_event = (cpu_seconds(pid) - cpu_before) * 1e6 / (args.streams * args.events)
            print(f"| {name} | {r['complete']}/{args.streams} | {r['gap_p99_ms']:.0f} | {r['gap_max_ms']:.0f} | "
                  f"{r['rss_before']:.1f} | {r['rss_peak']:.1f} | {per:.1f} | {per_event:.1f} |", flush=True)
            time.sleep(2)
    finally:
        stop_all(procs, tmp)


if __name__ == "__main__":
    main()
