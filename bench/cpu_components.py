#!/usr/bin/env python3
"""Where a request's CPU goes, per component: µs per request for parse, auth, limits, route,
forward, relay, finish, the session loop, the event loop and the kernel (split by system call), for llm-proxy with its full pipeline (key with limits, usage webhook,
access log; 1 worker) in front of an nginx upstream, with nginx as a plain reverse proxy's
total in the same run for scale.

The process's CPU per request comes from /proc over the whole wrk run; the split comes from
`perf record --call-graph dwarf` samples taken in the middle of it. A sample belongs to the
first frame (leaf to root) that names a component; coroutine resumptions carry their actor's
name (e.g. Exchange::RelayPieces), so work the event loop resumes is still attributed.

    python3 bench/cpu_components.py --seconds 4 [--mode json|stream]
"""
import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, cpu_seconds, free_port, stop_all, wait_port, wrk  # noqa: E402
import pipeline_bench as pb  # noqa: E402

# Leaf-to-root, the first frame matching one of these names the sample's component. Order
# matters only within one frame (the most specific first).
COMPONENTS = [
    ("finish", r"pipeline::Finish|FinishRequest|AccessLog|usage::ToJson|AppendJson|WebhookSink::Enqueue|"
               r"SendUsageEvent|WriteRequestLog|Metrics::|ObserveRequest|RecordRequest"),
    ("auth", r"AuthStage|StoredKeyStage|SHA256|sha256|KeySet|HashKey|ConstantTime|KeyHash"),
    ("limits", r"LimitStage|RateLimiter|Admission|EstimateTokens|TokenBucket|SharedLimit|QuotaStage"),
    ("route", r"RouteStage|RouteTable|MakeTraceparent|Resolve\("),
    ("relay", r"RelayPieces|RelayWhole|Exchange::Send|WriteToClient|BuildClientHead|FrameForClient|ResponseChain|"
              r"UsageObserver|SseFramer|StreamTokenCounter|Exchange::ReadSome|Exchange::End|Exchange::Observe|"
              r"TakePieces|RelayBody|ClientWatch"),
    ("forward", r"BuildUpstreamHead|UpstreamPool|Exchange::Connect|ReadFinalHeader|UpstreamConnection|RunAttempt|"
                r"ForwardStage|AttemptPolicy|TargetSelector|Exchange::Run|stages::Forward|Prepare|ShowHead|HeldBack"),
    ("parse", r"ReadRequest|CheckRequestHead|ParseStage|ScanBody|BodyInfo|simdjson|ReadBody|RequestBody|"
              r"basic_parser<true>|RequestParser|MakeRequestId"),
    ("session", r"RunSession|HandleRequest|Pipeline::|WriteLocalReply|SessionHost|RequestContext|Accept"),
    ("event loop", r"scheduler::|epoll_reactor|awaitable_thread|DelayedStarts|timer_queue"),
]
COMPILED = [(name, re.compile(pattern)) for name, pattern in COMPONENTS]




def classify(frames):
    """frames: [(symbol, is_kernel)] leaf first. Returns the component's name. Kernel time is
    split by the system call it serves (loopback delivery runs inside the sender's sendmsg)."""
    if not any("Worker::Start" in s or "io_context::run" in s for s, _ in frames):
        return "background threads (webhook, log writer, metrics)"
    if frames and frames[0][1]:
        # The system call: the libc wrapper that entered the kernel (the first user frame).
        user = next((sym for sym, in_kernel in frames if not in_kernel), None)
        if user and any(sym == "entry_SYSCALL_64_after_hwframe" for sym, _ in frames):
            return "kernel: " + re.sub(r"^(__GI___|__libc_|__)", "", user)
        return "kernel: other (interrupts, scheduling)"
    for sym, _ in frames:
        for name, rx in COMPILED:
            if rx.search(sym):
                return name
    return "other"


def samples(perf_data):
    out = subprocess.run(["perf", "script", "-i", perf_data, "-F", "ip,sym,dso", "--no-inline"],
                         capture_output=True, text=True, timeout=600).stdout
    frames = []
    for line in out.splitlines() + [""]:
        if not line.strip():
            if frames:
                yield frames
            frames = []
            continue
        m = re.match(r"\s*[0-9a-f]+\s+(.*?)\s+\(([^)]*)\)\s*$", line)
        if m:
            frames.append((m.group(1), "kernel" in m.group(2)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--mode", choices=["json", "stream"], default="json")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--show", type=int, default=0, help="print this many stacks of the unattributed rows")
    args = ap.parse_args()
    if not shutil.which("perf"):
        sys.exit("perf is not installed (apt-get install linux-perf)")
    tmp = tempfile.mkdtemp(prefix="llm-proxy-cpu-components-")
    procs = []
    try:
        up, hook, ngx, gw = (free_port() for _ in range(4))
        pb.start_upstream(tmp, up, procs)
        nginx = pb.start_nginx_proxy(tmp, 1, ngx, up, procs)
        procs.append(subprocess.Popen([os.path.join(args.build, "mock_upstream"), "--listen", f"127.0.0.1:{hook}",
                                       "--threads", "1"], stderr=subprocess.DEVNULL))
        conf = os.path.join(tmp, "gateway.yaml")
        with open(conf, "w") as f:
            f.write(pb.full_pipeline_config(gw, up, hook, tmp))
        procs.append(subprocess.Popen([os.path.join(args.build, "llm-proxy"), "--config", conf],
                                      stderr=subprocess.DEVNULL))
        gpid = procs[-1].pid
        for port in (up, hook, ngx, gw):
            wait_port(port)
        time.sleep(0.5)
        script = pb.wrk_script(tmp, args.mode, args.mode == "stream")
        per_request = {}
        for name, pid, port in (("nginx", nginx.pid, ngx), ("llm-proxy full pipeline", gpid, gw)):
            wrk(port, 16, 1, script)  # warm-up
            before = cpu_seconds(pid)
            url = f"http://127.0.0.1:{port}/v1/chat/completions"
            w = subprocess.Popen(["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds}s", "-s", script, url],
                                 stdout=subprocess.PIPE, text=True)
            if name != "nginx":
                time.sleep(args.seconds / 2 - 0.5)
                subprocess.run(["perf", "record", "-F", "2000", "--call-graph", "dwarf,8192", "-p", str(pid), "-o",
                                os.path.join(tmp, "perf.data"), "--", "sleep", "1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
            text, _ = w.communicate(timeout=args.seconds + 120)
            n = int(re.search(r"(\d+) requests in", text).group(1))
            per_request[name] = (cpu_seconds(pid) - before) * 1e6 / n
        counts = collections.Counter()
        shown = 0
        for frames in samples(os.path.join(tmp, "perf.data")):
            name = classify(frames)
            counts[name] += 1
            if shown < args.show and name in ("other", "kernel: other (interrupts, scheduling)"):
                shown += 1
                print(f"--- {name}\n" + "\n".join(f"  {s[:160]}" for s, _ in frames[:40]), file=sys.stderr)
        total = sum(counts.values())
        us = per_request["llm-proxy full pipeline"]
        print(f"### CPU per {args.mode} request by component (llm-proxy full pipeline, 1 worker, wrk -c{args.connections}; "
              f"{total} perf samples)\n")
        print(f"nginx as a plain reverse proxy, same run: {per_request['nginx']:.1f} µs/request; "
              f"llm-proxy full pipeline: {us:.1f} µs/request\n")
        print("| component | share | µs/request |\n|---|---|---|")
        for name, c in counts.most_common():
            print(f"| {name} | {100 * c / total:.1f}% | {us * c / total:.1f} |")
    finally:
        stop_all(procs, tmp)


if __name__ == "__main__":
    main()
