#!/usr/bin/env python3
"""Instructions per request, counted by valgrind's callgrind: repeatable whatever else the
machine does (wall-clock benchmarks here move by 2x between runs), so a change's cost on the
request path shows as a number, side by side with a baseline build.

Each build serves N1 then N2 sequential keep-alive requests (auth with rpm/tpm limits, access
log to a file, the mock upstream) under callgrind in separate runs; the difference divided by
N2 - N1 is what one request costs, start-up (tokenizer load) excluded.

    python3 bench/instructions_bench.py --build build --baseline /path/to/other/build
"""
import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, free_port, wait_port  # noqa: E402


def total_instructions(build, requests, stream, mock):
    up = free_port()
    m = subprocess.Popen([mock, "--listen", f"127.0.0.1:{up}", "--name", "m1", "--chunk-delay-ms", "0"],
                         stderr=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "config.yaml")
        with open(config, "w") as f:
            f.write(f"""
providers: [ {{ name: m, base_url: "http://127.0.0.1:{up}/v1" }} ]
auth: {{ keys: [ {{ key: sk-bench-000000000000, name: b,
                    rate_limit: {{ requests_per_minute: 100000000, tokens_per_minute: 1000000000 }} }} ] }}
logging: {{ access_log: "{tmp}/access.log" }}
""")
        out = os.path.join(tmp, "callgrind.out")
        port = free_port()
        g = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                              os.path.join(build, "llm-proxy"), "--config", config, "--listen", f"127.0.0.1:{port}",
                              "--workers", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(up)
            wait_port(port, timeout=120)
            time.sleep(3)  # the tokenizers load in the background
            body = json.dumps({"model": "gpt-4o", "stream": stream,
                               "messages": [{"role": "user", "content": "hi " * 50}]})
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for _ in range(requests):
                c.request("POST", "/v1/chat/completions", body,
                          {"Content-Type": "application/json", "Authorization": "Bearer sk-bench-000000000000"})
                r = c.getresponse()
                r.read()
                if r.status != 200:
                    raise SystemExit(f"{build}: answered {r.status}")
        finally:
            g.terminate()
            g.wait(timeout=60)
            m.terminate()
            m.wait(timeout=10)
        with open(out) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
    raise SystemExit("no callgrind totals")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--baseline", help="another build tree to compare with")
    ap.add_argument("--low", type=int, default=300)
    ap.add_argument("--high", type=int, default=1300)
    args = ap.parse_args()
    mock = os.path.join(args.build, "mock_upstream")
    builds = [("this build", args.build)] + ([("baseline", args.baseline)] if args.baseline else [])
    print("| build | JSON instructions/request | stream instructions/request (the mock's default stream) |")
    print("|---|---|---|")
    for name, build in builds:
        row = []
        for stream in (False, True):
            low = total_instructions(build, args.low, stream, mock)
            high = total_instructions(build, args.high, stream, mock)
            row.append((high - low) // (args.high - args.low))
        print(f"| {name} | {row[0]:,} | {row[1]:,} |")


if __name__ == "__main__":
    main()
