#!/usr/bin/env python3
"""Instructions per request (or per relayed event) and where they go, counted by callgrind:
repeatable where wall-clock runs on a shared machine are not, so a change on the request path
shows as a number. One worker; after a warm-up the counters are zeroed, N requests are made
on one keep-alive connection, and the counts are dumped.

Workloads:
  json-bare   non-stream requests, no key, default logging (access log to stdout)
  json-plain  the same with the access log off (pipeline_bench's "bare"; nginx's has none either)
  json-full   the full pipeline of pipeline_bench (key with limits, usage webhook, access log)
  stream      24-event streams (pipeline_bench's upstream), bare
  event       one event at a time (the mock, 1 ms apart): (420-event run - 20-event run) / 4,000

    python3 bench/callgrind_profile.py --workload json-full [--requests 1000] [--top 30]
    python3 bench/callgrind_profile.py --target nginx --workload json-plain   (the anchor, same count)
"""
import argparse
import collections
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import BENCH_KEY, CHAT_BODY, ROOT, free_port, stop_all, wait_port  # noqa: E402
import pipeline_bench as pb  # noqa: E402

# Exclusive cost grouped by what it is (first match wins).
GROUPS = [
    ("asio scheduler/reactor", r"^(void )?boost::asio::detail::(scheduler|epoll_reactor|conditionally|posix|timer_queue|"
                               r"reactor_op|scheduler_operation)|pthread_mutex|work_cleanup|task_cleanup"),
    ("asio timers", r"timer|expires"),
    ("coroutines (asio awaitable, frame pool)", r"awaitable|co_spawn|frames::"),
    ("beast HTTP parser and fields", r"beast::http::detail::basic_parser|basic_parser<|parse_field|parse_token|"
                                     r"parse_start|iequals|iless|opt_token|string_to_field|basic_fields"),
    ("asio/beast I/O operations", r"boost::(asio|beast)"),
    ("simdjson", r"simdjson"),
    ("JSON writing (access log, usage event)", r"AccessLog|AppendJson"),
    ("libc memory and string functions", r"mem(cpy|set|move|cmp|chr)|strlen|malloc|free|_int_"),
    ("llm-proxy", r"llmproxy"),
]


def exclusive_costs(path):
    """{function: exclusive instructions} from an uncompressed callgrind file."""
    costs = collections.Counter()
    fn, after_call = None, False
    with open(path) as f:
        for line in f:
            if line.startswith("fn="):
                fn = line[3:].strip()
            elif line.startswith("calls="):
                after_call = True
            elif line[:1].isdigit() or line[:1] in "+-*":
                parts = line.split()
                if after_call:
                    after_call = False  # the callee's inclusive cost, not this function's
                elif fn and len(parts) > 1:
                    costs[fn] += int(parts[1])
    return costs


def gateway_config(workload, tmp, port, up, procs, build):
    if workload == "json-full":
        hook = free_port()
        procs.append(subprocess.Popen([os.path.join(build, "mock_upstream"), "--listen", f"127.0.0.1:{hook}",
                                       "--name", "hook"], stderr=subprocess.DEVNULL))
        return pb.full_pipeline_config(port, up, hook, tmp)
    log = 'access_log: "off"' if workload in ("event", "json-plain") else "level: warn"
    name = "mock" if workload == "event" else "up"
    return (f'server: {{ listen: "127.0.0.1:{port}", workers: 1 }}\n'
            f'providers: [ {{ name: {name}, base_url: "http://127.0.0.1:{up}/v1" }} ]\nlogging: {{ {log} }}\n')


def count(build, workload, requests, events=None, target="llm-proxy"):
    """Runs `requests` requests under callgrind; returns (total instructions, the dump's path).
    `target` nginx: the anchor, a plain reverse proxy (pipeline_bench's), counted the same way."""
    procs, tmp = [], tempfile.mkdtemp()
    try:
        up = free_port()
        if workload == "event":
            procs.append(subprocess.Popen([os.path.join(build, "mock_upstream"), "--listen", f"127.0.0.1:{up}",
                                           "--threads", "1"], stderr=subprocess.DEVNULL))
        else:
            pb.start_upstream(tmp, up, procs)
        wait_port(up)
        port = free_port()
        with open(os.path.join(tmp, "gw.yaml"), "w") as f:
            f.write(gateway_config(workload, tmp, port, up, procs, build))
        out = os.path.join(tmp, "callgrind.out")
        valgrind = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no",
                    "--compress-strings=no", "--compress-pos=no"]
        if target == "nginx":
            g = pb.start_nginx_proxy(tmp, 1, port, up, procs, prefix=valgrind)
        else:
            g = subprocess.Popen([*valgrind, os.path.join(build, "llm-proxy"), "--config", os.path.join(tmp, "gw.yaml")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(g)
        wait_port(port, timeout=120)
        time.sleep(8)  # the tokenizers load in the background (3-5 s under callgrind)
        body = json.loads(CHAT_BODY)
        body["stream"] = workload in ("stream", "event")
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {BENCH_KEY}"}
        if workload == "stream":
            headers["x-bench-stream"] = "1"
        if workload == "event":
            headers.update({"x-mock-chunks": str(events), "x-mock-chunk-delay-ms": "1"})
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def run(n):
            for _ in range(n):
                # nginx under callgrind now and then closes the kept-alive connection before it
                # answers: the request is sent again on a new one (a connect in ~1 of 1000).
                for again in (True, False):
                    try:
                        c.request("POST", "/v1/chat/completions", json.dumps(body), headers)
                        r = c.getresponse()
                        break
                    except http.client.RemoteDisconnected:
                        c.close()
                        if not again:
                            raise
                r.read()
                if r.status != 200:
                    raise SystemExit(f"answered {r.status}")

        run(20)
        subprocess.run(["callgrind_control", "-z", str(g.pid)], capture_output=True, timeout=60)
        run(requests)
        subprocess.run(["callgrind_control", "-d", str(g.pid)], capture_output=True, timeout=60)
        time.sleep(1)
        dump = out + ".1"
        with open(dump) as f:
            total = next(int(line.split()[1]) for line in f if line.startswith(("summary:", "totals:")))
        kept = os.path.join(tempfile.gettempdir(), f"callgrind.{workload}.{os.getpid()}.out")
        os.replace(dump, kept)
        return total, kept
    finally:
        stop_all(procs, tmp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--workload", choices=["json-bare", "json-plain", "json-full", "stream", "event"], default="json-full")
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--top", type=int, default=20, help="functions to list by exclusive cost")
    ap.add_argument("--target", choices=["llm-proxy", "nginx"], default="llm-proxy",
                    help="nginx: the anchor (a plain reverse proxy) under the same count; json-plain, stream, event")
    args = ap.parse_args()
    if args.target == "nginx" and args.workload == "json-full":
        ap.error("nginx has no full pipeline: use json-plain, stream or event")
    if args.workload == "event":
        streams = max(1, args.requests // 100)
        low, _ = count(args.build, "event", streams, events=20, target=args.target)
        high, dump = count(args.build, "event", streams, events=420, target=args.target)
        per = (high - low) / (streams * 400)
        print(f"instructions per relayed event: {per:,.0f}")
        costs = exclusive_costs(dump)
        units = streams * 420  # the split below is over the whole 420-event run
    else:
        total, dump = count(args.build, args.workload, args.requests, target=args.target)
        units = args.requests
        print(f"instructions per request ({args.workload}): {total / units:,.0f}")
        costs = exclusive_costs(dump)
    groups = collections.Counter()
    for fn, c in costs.items():
        groups[next((name for name, pattern in GROUPS if re.search(pattern, fn)), "other (libraries)")] += c
    whole = sum(costs.values())
    print("\n| component | instructions per unit | share |\n|---|---|---|")
    for name, c in groups.most_common():
        print(f"| {name} | {c / units:,.0f} | {100 * c / whole:.1f}% |")
    print(f"\nTop {args.top} functions (exclusive):")
    for fn, c in costs.most_common(args.top):
        print(f"{c / units:9,.0f}  {fn[:150]}")
    print(f"\n(callgrind dump: {dump})")


if __name__ == "__main__":
    main()
