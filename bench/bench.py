#!/usr/bin/env python3
"""Side-by-side benchmark on 127.0.0.1: mock upstream direct vs nginx (plain reverse proxy,
keepalive upstream, proxy_buffering off) vs llm-proxy (auth off), in the same run.

Reports, as medians over rounds: non-stream throughput (wrk, c=64) and its ratio to nginx,
latency at moderate load (wrk, c=4: p50/p99 and added over direct), stream time-to-first-token
(sequential streaming client), a 1 MiB request body, and llm-proxy's idle RSS.
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHAT_BODY = json.dumps({
    "model": "gpt-4o-mini",
    "messages": [{"role": "system", "content": "You are a helpful assistant. " * 8},
                 {"role": "user", "content": "Summarise the benefits of a gateway in front of model servers. " * 9}],
    "temperature": 0.2, "max_tokens": 128,
})


BENCH_KEY = "sk-bench-0123456789abcdef"


def redis_ping_p50_us(port):
    """One client's PING round trip, p50 in µs, as redis-benchmark measures it."""
    text = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "ping_mbulk", "-n", "20000", "-c", "1", "-q",
                           "--precision", "3"], capture_output=True, text=True, timeout=60).stdout
    m = re.search(r"p50=([\d.]+) msec", text)
    return float(m.group(1)) * 1000 if m else float("nan")


_given_ports = set()


def free_port():
    # Never the same port twice in one run: the kernel may hand a just-closed port out again,
    # and two servers told the same port make one of them fail to start (seen: a "gateway"
    # measured at 0 CPU while another process answered on its port).
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _given_ports:
            _given_ports.add(port)
            return port


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"port {port} did not open")


def parse_latency(text):
    units = {"us": 1e-3, "ms": 1.0, "s": 1000.0}
    out = {}
    for pct, value, unit in re.findall(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        out[int(pct)] = float(value) * units[unit]
    return out


def wrk(port, connections, seconds, script):
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script,
           f"http://127.0.0.1:{port}/v1/chat/completions"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    text = run.stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not m:
        raise RuntimeError(f"wrk failed on port {port}:\n{text}\n{run.stderr}")
    rps = float(m.group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if errors:
        raise RuntimeError(f"wrk saw {errors.group(1)} non-2xx responses:\n{text}")
    return rps, parse_latency(text)


def http_post_raw(sock, body, stream=False, extra=b""):
    head = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n" +
            b"Authorization: Bearer " + BENCH_KEY.encode() + b"\r\n" + extra +
            b"Content-Length: %d\r\n\r\n" % len(body))
    sock.sendall(head + body)


def read_response(sock, first_marker):
    """Reads one response; returns (time of first marker, time of end). Chunked or length."""
    buf = b""
    t_first = None
    while True:
        b = sock.recv(262144)
        if not b:
            raise RuntimeError("connection closed")
        buf += b
        if t_first is None and first_marker in buf:
            t_first = time.perf_counter()
        head_end = buf.find(b"\r\n\r\n")
        if head_end < 0:
            continue
        head = buf[:head_end].lower()
        if b"transfer-encoding: chunked" in head:
            if buf.endswith(b"0\r\n\r\n"):
                return t_first, time.perf_counter()
        else:
            m = re.search(rb"content-length: (\d+)", head)
            if m and len(buf) - head_end - 4 >= int(m.group(1)):
                return t_first, time.perf_counter()


def ttft(port, n):
    body = json.dumps({"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}).encode()
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    samples = []
    for i in range(n + 20):
        t0 = time.perf_counter()
        http_post_raw(s, body, extra=b"x-mock-chunks: 3\r\n")
        t_first, _ = read_response(s, b"data: ")
        if i >= 20:  # warm-up
            samples.append((t_first - t0) * 1e6)
    s.close()
    return samples


def big_body(port, n, size):
    filler = "x" * (size - 100)
    body = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": filler}]}).encode()
    s = socket.create_connection(("127.0.0.1", port))
    samples = []
    for i in range(n + 3):
        t0 = time.perf_counter()
        http_post_raw(s, body)
        _, t_end = read_response(s, b"HTTP/1.1")
        if i >= 3:
            samples.append((t_end - t0) * 1e3)
    s.close()
    return samples


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def cpu_seconds(pid):
    """User + system CPU time of a process (all threads) from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def stop_all(procs, tmp):
    """Ends every process a benchmark started and removes its scratch folder."""
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=1, help="llm-proxy workers = nginx worker_processes")
    ap.add_argument("--ttft-requests", type=int, default=300)
    ap.add_argument("--limits", action="store_true",
                    help="add llm-proxy with auth + memory limits and with auth + Redis limits (starts redis-server)")
    ap.add_argument("--metering", action="store_true",
                    help="add llm-proxy with metering on (access log to a file + usage webhook, batch 100)")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="llm-proxy-bench-")
    procs = []
    try:
        mock_port, nginx_port, gw_port = free_port(), free_port(), free_port()
        procs.append(subprocess.Popen([os.path.join(args.build, "mock_upstream"), "--listen",
                                       f"127.0.0.1:{mock_port}", "--threads", "1"], stderr=subprocess.DEVNULL))
        wait_port(mock_port)
        nginx_conf = os.path.join(tmp, "nginx.conf")
        with open(nginx_conf, "w") as f:
            f.write(f"""
daemon off; master_process off; worker_processes {args.workers};
pid {tmp}/nginx.pid; error_log {tmp}/nginx.err error;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {tmp}; proxy_temp_path {tmp}; fastcgi_temp_path {tmp}; uwsgi_temp_path {tmp}; scgi_temp_path {tmp};
  client_max_body_size 64m; client_body_buffer_size 2m;
  upstream mock {{ server 127.0.0.1:{mock_port}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{nginx_port};
    location / {{
      proxy_pass http://mock; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_buffering off; proxy_request_buffering off;
    }}
  }}
}}
""")
        procs.append(subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c", nginx_conf, "-p", tmp],
                                      stderr=subprocess.DEVNULL))
        wait_port(nginx_port)
        gw_conf = os.path.join(tmp, "gw.yaml")
        with open(gw_conf, "w") as f:
            f.write(f"""
server: {{ listen: "127.0.0.1:{gw_port}", workers: {args.workers}, max_body_bytes: 64MiB }}
providers:
  - {{ name: mock, base_url: "http://127.0.0.1:{mock_port}/v1", models: ["*"] }}
logging: {{ level: warn, access_log: "off" }}
""")
        gw = subprocess.Popen([os.path.join(args.build, "llm-proxy"), "--config", gw_conf], stderr=subprocess.DEVNULL)
        procs.append(gw)
        pids = {"nginx": procs[1].pid, "llm-proxy": gw.pid}
        wait_port(gw_port)
        time.sleep(0.3)
        idle_rss = rss_mb(gw.pid)

        script = os.path.join(tmp, "post.lua")
        with open(script, "w") as f:
            f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                    f'wrk.headers["Authorization"] = "Bearer {BENCH_KEY}"\n'
                    f"wrk.body = {json.dumps(CHAT_BODY)}\n")

        targets = {"direct": mock_port, "nginx": nginx_port, "llm-proxy": gw_port}
        if args.metering:
            # The mock's /usage endpoint is the webhook receiver (counts events, answers at once).
            hook_port = mock_port
            metered_port = free_port()
            metered_conf = os.path.join(tmp, "metered.yaml")
            with open(metered_conf, "w") as f:
                f.write(f"""
server: {{ listen: "127.0.0.1:{metered_port}", workers: {args.workers}, max_body_bytes: 64MiB }}
providers:
  - {{ name: mock, base_url: "http://127.0.0.1:{mock_port}/v1", models: ["*"] }}
usage_hook: {{ url: "http://127.0.0.1:{hook_port}/usage", batch_size: 100, spool_dir: "{tmp}/spool" }}
logging: {{ level: warn, access_log: "{tmp}/access.log" }}
""")
            procs.append(subprocess.Popen([os.path.join(args.build, "llm-proxy"), "--config", metered_conf],
                                          stderr=subprocess.DEVNULL))
            pids["llm-proxy metering on"] = procs[-1].pid
            wait_port(metered_port)
            targets["llm-proxy metering on"] = metered_port
        redis_rtt = None
        if args.limits:
            redis_port = free_port()
            procs.append(subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                                           "--save", "", "--appendonly", "no", "--dir", tmp],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_port(redis_port)
            redis_rtt = redis_ping_p50_us(redis_port)
            variants = (("llm-proxy auth+memory limits", "memory", ", max_concurrent: 100000"),
                        ("llm-proxy auth+redis rate limits", "redis", ""),
                        ("llm-proxy auth+redis limits+max_concurrent", "redis", ", max_concurrent: 100000"))
            for i, (name, storage, concurrency) in enumerate(variants):
                port = free_port()
                conf = os.path.join(tmp, f"limits-{i}.yaml")
                with open(conf, "w") as f:
                    f.write(f"""
server: {{ listen: "127.0.0.1:{port}", workers: {args.workers}, max_body_bytes: 64MiB }}
providers:
  - {{ name: mock, base_url: "http://127.0.0.1:{mock_port}/v1", models: ["*"] }}
auth:
  keys:
    - {{ key: {BENCH_KEY}, name: bench, allowed_models: ["gpt-*"],
         rate_limit: {{ requests_per_second: 1000000, requests_per_minute: 1000000000,
                       tokens_per_minute: 1000000000000{concurrency} }} }}
redis: {{ url: "redis://127.0.0.1:{redis_port}/0" }}
rate_limit: {{ storage: {storage}, global: {{ requests_per_second: 1000000, max_concurrent: 100000 }} }}
logging: {{ level: warn, access_log: "off" }}
""")
                with open(os.path.join(tmp, f"limits-{i}.log"), "w") as log:
                    procs.append(subprocess.Popen([os.path.join(args.build, "llm-proxy"), "--config", conf],
                                                  stderr=log))
                pids[name] = procs[-1].pid
                wait_port(port)
                targets[name] = port
        thr = {k: [] for k in targets}
        cpu = {k: [] for k in targets}  # CPU µs per request of the proxy process (all its threads)
        lat = {k: {50: [], 99: []} for k in targets}
        for port in targets.values():  # warm-up: pools, caches
            wrk(port, 16, 1, script)
        for r in range(args.rounds):
            for name, port in targets.items():  # interleaved so drift hits all alike
                before = cpu_seconds(pids[name]) if name in pids else None
                rps, _ = wrk(port, 64, args.seconds, script)
                thr[name].append(rps)
                if before is not None:
                    cpu[name].append((cpu_seconds(pids[name]) - before) * 1e6 / (rps * args.seconds))
                _, l = wrk(port, 4, args.seconds, script)
                lat[name][50].append(l[50])
                lat[name][99].append(l[99])
            print(f"round {r + 1}/{args.rounds}: " +
                  ", ".join(f"{k} {thr[k][-1]:.0f} rps" for k in targets), file=sys.stderr)

        ttfts = {k: ttft(p, args.ttft_requests) for k, p in targets.items()}
        bigs = {k: big_body(p, 30, 1 << 20) for k, p in targets.items()}
        loaded_rss = rss_mb(gw.pid)

        med = {k: statistics.median(v) for k, v in thr.items()}
        p50 = {k: statistics.median(v[50]) * 1000 for k, v in lat.items()}  # µs
        p99 = {k: statistics.median(v[99]) * 1000 for k, v in lat.items()}
        print(f"\n### llm-proxy benchmark ({args.rounds} rounds x {args.seconds}s, workers={args.workers}, "
              f"body {len(CHAT_BODY)} B, medians)\n")
        print("| target | RPS c=64 | vs nginx | CPU µs/req | p50 c=4 (µs) | p99 c=4 (µs) | added p50 | added p99 | "
              "TTFT p50 (µs) | TTFT p99 (µs) | added TTFT p50 | 1 MiB body p50 (ms) | added |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for k in targets:
            t50, t99 = pct(ttfts[k], 50), pct(ttfts[k], 99)
            b50 = statistics.median(bigs[k])
            c = f"{statistics.median(cpu[k]):.1f}" if cpu[k] else "-"
            print(f"| {k} | {med[k]:.0f} | {med[k] / med['nginx']:.2f} | {c} | {p50[k]:.0f} | {p99[k]:.0f} | "
                  f"{p50[k] - p50['direct']:+.0f} | {p99[k] - p99['direct']:+.0f} | {t50:.0f} | {t99:.0f} | "
                  f"{t50 - pct(ttfts['direct'], 50):+.0f} | {b50:.2f} | {b50 - statistics.median(bigs['direct']):+.2f} |")
        if args.limits:
            print("\nadded over the core path (llm-proxy, auth off), c=4:")
            for k in targets:
                if k.startswith("llm-proxy auth"):
                    print(f"- {k}: p50 {p50[k] - p50['llm-proxy']:+.0f} µs, p99 {p99[k] - p99['llm-proxy']:+.0f} µs, "
                          f"CPU {statistics.median(cpu[k]) - statistics.median(cpu['llm-proxy']):+.1f} µs/request, "
                          f"throughput {med[k] / med['nginx']:.2f}x nginx, {med[k] / med['llm-proxy']:.2f}x llm-proxy")
            print(f"- Redis PING round trip p50 {redis_rtt:.0f} µs (redis-benchmark -c 1)")
        if args.metering:
            k = "llm-proxy metering on"
            print(f"\nmetering on vs off: throughput {med[k] / med['llm-proxy']:.2f}x, p50 {p50[k] - p50['llm-proxy']:+.0f} µs, "
                  f"CPU {statistics.median(cpu[k]) - statistics.median(cpu['llm-proxy']):+.1f} µs/request, "
                  f"TTFT p50 {pct(ttfts[k], 50) - pct(ttfts['llm-proxy'], 50):+.0f} µs")
        print(f"\nllm-proxy RSS: idle {idle_rss:.1f} MB, after load {loaded_rss:.1f} MB")
        print(f"raw RPS per round: {json.dumps({k: [round(x) for x in v] for k, v in thr.items()})}")
    finally:
        stop_all(procs, tmp)


if __name__ == "__main__":
    main()
