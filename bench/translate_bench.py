#!/usr/bin/env python3
"""What translation between OpenAI chat, Anthropic Messages and the Responses API adds, side by
side in one run.

An nginx upstream answers fixed bodies in both dialects (a chat completion and a 10-event chat
stream at /v1/chat/completions; a message and its 10-block-delta event stream at /v1/messages),
so the upstream costs next to nothing. One llm-proxy (one worker, auth off, access log off)
serves six paths to it (the upstream also answers /v1/responses, whole and as a 10-delta stream):

    openai -> openai        pass-through  (POST /v1/chat/completions, model gpt)
    anthropic -> anthropic  pass-through  (POST /v1/messages, model claude, type: anthropic)
    anthropic -> openai     translated    (POST /v1/messages, model gpt)
    openai -> anthropic     translated    (POST /v1/chat/completions, model claude)
    responses -> responses  pass-through  (POST /v1/responses, model gpt-native, native_responses)
    responses -> openai     translated    (POST /v1/responses, model gpt: to chat completions)

Each is measured at concurrency 1 (a sequential keep-alive client, as the published anchors
are): whole-response latency p50/p99 (non-stream), time to the first event and to the end of
the stream p50/p99; plus throughput with wrk -c32 (non-stream). Rounds are interleaved and
medians reported; "added" is translated minus the pass-through to the same upstream dialect.

    python3 bench/translate_bench.py --rounds 3 --requests 2000
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import socket
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import ROOT, free_port, pct, read_response, stop_all, wait_port, wrk  # noqa: E402
from pipeline_bench import nginx_escape, start_nginx  # noqa: E402

USER = "Summarise the benefits of a gateway in front of model servers. " * 9
SYSTEM = "You are a helpful assistant. " * 8
EVENTS = 10


def compact(o):
    return json.dumps(o, separators=(",", ":"))


CHAT_JSON = compact({"id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "gpt",
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the bench."},
                                  "finish_reason": "stop"}],
                     "usage": {"prompt_tokens": 60, "completion_tokens": 6, "total_tokens": 66}})
CHAT_SSE = "".join(
    "data: " + compact({"id": "c1", "object": "chat.completion.chunk", "choices": [
        {"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}]}) + "\n\n" for i in range(EVENTS)) + \
    "data: " + compact({"id": "c1", "object": "chat.completion.chunk",
                        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}) + "\n\n" + \
    "data: " + compact({"id": "c1", "object": "chat.completion.chunk", "choices": [],
                        "usage": {"prompt_tokens": 60, "completion_tokens": EVENTS, "total_tokens": 70}}) + "\n\n" + \
    "data: [DONE]\n\n"
MSG_JSON = compact({"id": "msg_bench", "type": "message", "role": "assistant", "model": "claude",
                    "content": [{"type": "text", "text": "Hello from the bench."}], "stop_reason": "end_turn",
                    "stop_sequence": None, "usage": {"input_tokens": 60, "output_tokens": 6,
                                                     "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}})


def event(name, data):
    return f"event: {name}\ndata: {compact(data)}\n\n"


MSG_SSE = event("message_start", {"type": "message_start", "message": {
    "id": "msg_bench", "type": "message", "role": "assistant", "model": "claude", "content": [], "stop_reason": None,
    "stop_sequence": None, "usage": {"input_tokens": 60, "output_tokens": 1}}}) + \
    event("content_block_start", {"type": "content_block_start", "index": 0,
                                  "content_block": {"type": "text", "text": ""}}) + \
    "".join(event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                          "delta": {"type": "text_delta", "text": f"tok{i} "}}) for i in range(EVENTS)) + \
    event("content_block_stop", {"type": "content_block_stop", "index": 0}) + \
    event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                            "usage": {"output_tokens": EVENTS}}) + \
    event("message_stop", {"type": "message_stop"})

RESP_OBJECT = {"id": "resp_bench", "object": "response", "created_at": 1, "status": "completed", "model": "gpt-native",
               "output": [{"type": "message", "id": "msg_b", "role": "assistant", "status": "completed",
                           "content": [{"type": "output_text", "text": "Hello from the bench.", "annotations": []}]}],
               "usage": {"input_tokens": 60, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 6,
                         "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 66}}
RESP_JSON = compact(RESP_OBJECT)
RESP_SSE = event("response.created", {"type": "response.created", "sequence_number": 0,
                                      "response": dict(RESP_OBJECT, status="in_progress", output=[], usage=None)}) + \
    event("response.output_item.added", {"type": "response.output_item.added", "sequence_number": 1, "output_index": 0,
                                         "item": {"type": "message", "id": "msg_b", "role": "assistant",
                                                  "status": "in_progress", "content": []}}) + \
    "".join(event("response.output_text.delta", {"type": "response.output_text.delta", "sequence_number": 2 + i,
                                                 "item_id": "msg_b", "output_index": 0, "content_index": 0,
                                                 "delta": f"tok{i} "}) for i in range(EVENTS)) + \
    event("response.output_item.done", {"type": "response.output_item.done", "sequence_number": 2 + EVENTS,
                                        "output_index": 0, "item": RESP_OBJECT["output"][0]}) + \
    event("response.completed", {"type": "response.completed", "sequence_number": 3 + EVENTS, "response": RESP_OBJECT})

PATHS = {  # name: (client path, model, client dialect)
    "openai -> openai (pass-through)": ("/v1/chat/completions", "gpt", "openai"),
    "anthropic -> anthropic (pass-through)": ("/v1/messages", "claude", "anthropic"),
    "anthropic -> openai (translated)": ("/v1/messages", "gpt", "anthropic"),
    "openai -> anthropic (translated)": ("/v1/chat/completions", "claude", "openai"),
    "responses -> responses (pass-through)": ("/v1/responses", "gpt-native", "responses"),
    "responses -> openai (translated)": ("/v1/responses", "gpt", "responses"),
}
BASELINE = {"anthropic -> openai (translated)": "openai -> openai (pass-through)",
            "openai -> anthropic (translated)": "anthropic -> anthropic (pass-through)",
            "responses -> openai (translated)": "responses -> responses (pass-through)"}


def request_bytes(path, model, dialect, stream):
    anthropic = dialect == "anthropic"
    body = {"model": model, "max_tokens": 128, "messages": [{"role": "user", "content": USER}]}
    if anthropic:
        body["system"] = SYSTEM
    elif dialect == "responses":
        body = {"model": model, "max_output_tokens": 128, "instructions": SYSTEM, "store": False,
                "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": USER}]}]}
    else:
        body["messages"].insert(0, {"role": "system", "content": SYSTEM})
    if stream:
        body["stream"] = True
    raw = compact(body).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            + ("anthropic-version: 2023-06-01\r\n" if anthropic else "")
            + ("x-bench-stream: 1\r\n" if stream else "")
            + f"Content-Length: {len(raw)}\r\n\r\n").encode()
    return head + raw


def sequential(port, path, model, dialect, stream, n):
    """(first event µs, end µs) per request, after a warm-up."""
    data = request_bytes(path, model, dialect, stream)
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    first, end = [], []
    for i in range(n + 50):
        t0 = time.perf_counter()
        s.sendall(data)
        t_first, t_end = read_response(s, b"data: " if stream else b"HTTP/1.1")
        if i >= 50:
            first.append((t_first - t0) * 1e6)
            end.append((t_end - t0) * 1e6)
    s.close()
    return first, end


def wrk_script(tmp, name, path, model, dialect):
    anthropic = dialect == "anthropic"
    body = json.loads(request_bytes(path, model, dialect, False).split(b"\r\n\r\n", 1)[1])
    p = os.path.join(tmp, f"{name}.lua")
    with open(p, "w") as f:
        f.write(f'wrk.method = "POST"\nwrk.path = "{path}"\nwrk.headers["Content-Type"] = "application/json"\n'
                + ('wrk.headers["anthropic-version"] = "2023-06-01"\n' if anthropic else "")
                + f"wrk.body = {json.dumps(compact(body))}\n")
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--seconds", type=int, default=4)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="llm-proxy-translate-bench-")
    procs = []
    try:
        up, gw = free_port(), free_port()
        start_nginx(tmp, "upstream", 1, f"""
  server {{
    listen 127.0.0.1:{up};
    location = /v1/chat/completions {{
      if ($http_x_bench_stream = "1") {{ rewrite ^ /chat-sse last; }}
      default_type application/json; return 200 '{nginx_escape(CHAT_JSON)}';
    }}
    location = /v1/messages {{
      if ($http_x_bench_stream = "1") {{ rewrite ^ /msg-sse last; }}
      default_type application/json; return 200 '{nginx_escape(MSG_JSON)}';
    }}
    location = /v1/responses {{
      if ($http_x_bench_stream = "1") {{ rewrite ^ /resp-sse last; }}
      default_type application/json; return 200 '{nginx_escape(RESP_JSON)}';
    }}
    location = /resp-sse {{ default_type text/event-stream; return 200 '{nginx_escape(RESP_SSE)}'; }}
    location = /chat-sse {{ default_type text/event-stream; return 200 '{nginx_escape(CHAT_SSE)}'; }}
    location = /msg-sse {{ default_type text/event-stream; return 200 '{nginx_escape(MSG_SSE)}'; }}
  }}""", procs)
        conf = os.path.join(tmp, "gw.yaml")
        with open(conf, "w") as f:
            f.write(f"""
server: {{ listen: "127.0.0.1:{gw}", workers: 1 }}
providers:
  - {{ name: openai, base_url: "http://127.0.0.1:{up}/v1", models: ["gpt"] }}
  - {{ name: native, base_url: "http://127.0.0.1:{up}/v1", native_responses: true, models: ["gpt-native"] }}
  - {{ name: anthropic, type: anthropic, base_url: "http://127.0.0.1:{up}", api_key: sk-bench, models: ["claude"] }}
logging: {{ level: warn, access_log: "off" }}
""")
        procs.append(subprocess.Popen([os.path.join(args.build, "llm-proxy"), "--config", conf],
                                      stderr=subprocess.DEVNULL))
        wait_port(up)
        wait_port(gw)
        time.sleep(0.5)
        # Every path answers 200 in the client's dialect before anything is timed.
        for name, (path, model, dialect) in PATHS.items():
            for stream in (False, True):
                s = socket.create_connection(("127.0.0.1", gw))
                s.sendall(request_bytes(path, model, dialect, stream))
                s.settimeout(5)
                answer = b""
                while b"\r\n\r\n" not in answer or len(answer) < 200:
                    piece = s.recv(65536)
                    if not piece:
                        break
                    answer += piece
                s.close()
                marker = {("anthropic", True): b"event: message_start", ("anthropic", False): b'"type":"message"',
                          ("responses", True): b"event: response.created",
                          ("responses", False): b'"object":"response"'}.get((dialect, stream), b"chat.completion")
                if not answer.startswith(b"HTTP/1.1 200") or marker not in answer:
                    raise RuntimeError(f"{name} stream={stream}: {answer[:400]!r}")
        samples = {(n, m): ([], []) for n in PATHS for m in ("json", "stream")}
        rps = {n: [] for n in PATHS}
        scripts = {n: wrk_script(tmp, f"s{i}", *PATHS[n]) for i, n in enumerate(PATHS)}
        for r in range(args.rounds):
            for name, (path, model, dialect) in PATHS.items():
                for mode in ("json", "stream"):
                    first, end = sequential(gw, path, model, dialect, mode == "stream", args.requests)
                    samples[(name, mode)][0].extend(first)
                    samples[(name, mode)][1].extend(end)
                rps[name].append(wrk(gw, 32, args.seconds, scripts[name])[0])
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

        print(f"\n### translation benchmark (llm-proxy 1 worker, concurrency 1: {args.rounds} x {args.requests} "
              f"sequential requests per path and mode; wrk -t1 -c32 {args.seconds}s for RPS; medians)\n")
        print("| path | JSON p50 (µs) | p99 | added p50 / p99 | stream first event p50 | p99 | added p50 / p99 | "
              "stream end p50 | RPS (JSON, c=32) |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name in PATHS:
            j = samples[(name, "json")][1]
            f = samples[(name, "stream")][0]
            e = samples[(name, "stream")][1]
            base = BASELINE.get(name)
            if base:
                bj, bf = samples[(base, "json")][1], samples[(base, "stream")][0]
                add_j = f"{pct(j, 50) - pct(bj, 50):+.0f} / {pct(j, 99) - pct(bj, 99):+.0f}"
                add_f = f"{pct(f, 50) - pct(bf, 50):+.0f} / {pct(f, 99) - pct(bf, 99):+.0f}"
            else:
                add_j = add_f = "(baseline)"
            print(f"| {name} | {pct(j, 50):.0f} | {pct(j, 99):.0f} | {add_j} | {pct(f, 50):.0f} | {pct(f, 99):.0f} | "
                  f"{add_f} | {pct(e, 50):.0f} | {statistics.median(rps[name]):.0f} |")
    finally:
        stop_all(procs, tmp)


if __name__ == "__main__":
    main()
