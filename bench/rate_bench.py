#!/usr/bin/env python3
"""Latency under a fixed load: p50/p99 of non-stream requests at 80% of the saturating rate,
every target at the same rate, open loop (build/rate_load: each request is due at its time
whatever happened to the others, latency counted from then: no coordinated omission).

The saturating rate of each target is measured first, by the same client asked for more than
any target carries; the common rate is 80% of the lowest of the proxies' (so that every one of
them can carry it).
Targets: the mock upstream direct, nginx, HAProxy, llm-proxy bare and with the full pipeline
(pipeline_bench's configurations). Rounds are interleaved; medians are reported.

    python3 bench/rate_bench.py [--workers 1] [--rounds 3] [--seconds 5] [--load 0.8]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import BENCH_KEY, CHAT_BODY, ROOT, stop_all, wrk  # noqa: E402
from pipeline_bench import start_targets, wrk_script  # noqa: E402


def rate_load(build, port, rate, seconds, connections, body_file):
    out = subprocess.run([os.path.join(build, "rate_load"), "--port", str(port), "--rate", str(rate),
                          "--seconds", str(seconds), "--connections", str(connections),
                          "--body-file", body_file, "--header", f"Authorization: Bearer {BENCH_KEY}"],
                         capture_output=True, text=True, timeout=4 * seconds + 30)
    return json.loads(out.stdout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=1, help="llm-proxy workers = nginx worker_processes")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--load", type=float, default=0.8, help="fraction of the lowest saturating rate")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="llm-proxy-rate-bench-")
    procs = []
    try:
        targets, _, _ = start_targets(args, tmp, procs)
        body_file = os.path.join(tmp, "body.json")
        with open(body_file, "w") as f:
            f.write(CHAT_BODY)
        script = wrk_script(tmp, "json", False)
        for port in targets.values():
            wrk(port, 16, 1, script)  # warm-up
        # Saturating: this same client asked for far more than any target carries (wrk would
        # measure it with less client CPU on the same two cores, and overstate what is left).
        saturating = {name: statistics.median(rate_load(args.build, port, 1e6, 3, args.connections, body_file)["achieved"]
                                              for _ in range(2))
                      for name, port in targets.items()}
        rate = round(args.load * min(v for k, v in saturating.items() if k != "direct"))
        print(f"saturating RPS: {json.dumps({k: round(v) for k, v in saturating.items()})}; common rate {rate}",
              file=sys.stderr)
        runs = {name: [] for name in targets}
        for r in range(args.rounds):
            for name, port in targets.items():
                runs[name].append(rate_load(args.build, port, rate, args.seconds, args.connections, body_file))
            print(f"round {r + 1}/{args.rounds}: " + ", ".join(
                f"{k} p99 {v[-1]['p99_us']:.0f}" for k, v in runs.items()), file=sys.stderr)

        def med(name, key):
            return statistics.median(run[key] for run in runs[name])

        print(f"\n### latency at a fixed rate (workers={args.workers}, {rate} RPS = {args.load:.0%} of the lowest "
              f"saturating rate, {args.connections} connections, open loop, {args.rounds} rounds x "
              f"{args.seconds}s, medians)\n")
        print("| target | saturating RPS | achieved RPS | p50 µs | p90 µs | p99 µs | p99.9 µs | p99 vs nginx | errors |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name in targets:
            errors = sum(run["errors"] + run["unfinished"] for run in runs[name])
            print(f"| {name} | {saturating[name]:.0f} | {med(name, 'achieved'):.0f} | {med(name, 'p50_us'):.0f} | "
                  f"{med(name, 'p90_us'):.0f} | {med(name, 'p99_us'):.0f} | {med(name, 'p999_us'):.0f} | "
                  f"{med(name, 'p99_us') / med('nginx', 'p99_us'):.2f} | {errors} |")
        print(f"\nraw p99 per round: {json.dumps({k: [round(x['p99_us']) for x in v] for k, v in runs.items()})}")
    finally:
        stop_all(procs, tmp)


if __name__ == "__main__":
    main()
