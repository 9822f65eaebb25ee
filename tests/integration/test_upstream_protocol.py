"""Upstreams that bend HTTP/1.1: interim (1xx) answers before the final one, an upgrade nobody
asked for, bytes after the body, a 204 with a length. The invariant: every client gets its own
answer, and a connection whose exchange did not end cleanly is never reused."""
import json
import os
import socket
import threading
import time

from harness import CHAT, GatewayTest, eventually, raw_exchange
from raw_upstream import RawUpstream, json_response


def tagged_answer(req):
    """The final answer names the request it answers (its X-Tag header)."""
    return json_response(json.dumps({"tag": req.headers.get("x-tag", ""), "conn": req.conn_id}))


class UpstreamProtocol(GatewayTest):
    def start(self, respond, workers=1):
        self.up = RawUpstream(respond)
        self.addCleanup(self.up.stop)
        self.simple_gateway(self.up.port, workers=workers)

    def chat(self, tag, timeout=10):
        return self.post("/v1/chat/completions", CHAT, headers={"X-Tag": tag}, timeout=timeout)

    def overlapping_clients(self, n=4, gap=0.1):
        """n clients, each starting `gap` after the previous, all on one gateway worker."""
        results = {}

        def one(tag):
            r = self.chat(tag)
            results[tag] = (r.status, r.body)

        threads = []
        for i in range(n):
            t = threading.Thread(target=one, args=(f"client-{i}",))
            t.start()
            threads.append(t)
            time.sleep(gap)
        for t in threads:
            t.join(timeout=20)
        return results

    def assert_each_got_its_own(self, results):
        for tag, (status, body) in results.items():
            self.assertEqual(status, 200, (tag, body))
            self.assertEqual(json.loads(body)["tag"], tag, results)

    def test_early_hints_then_final_answer(self):
        # 103 at once, the real answer 300 ms later: a gateway that takes the 103 as the answer
        # pools the connection with the 200 unread, and the next client receives it.
        self.start(lambda req: [(0, b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"),
                                (0.3, tagged_answer(req))])
        self.assert_each_got_its_own(self.overlapping_clients())
        # Sequential requests reuse the connection and still get their own answers.
        for i in range(3):
            r = self.chat(f"seq-{i}")
            self.assertEqual(json.loads(r.body)["tag"], f"seq-{i}")

    def test_several_interim_answers(self):
        self.start(lambda req: [(0, b"HTTP/1.1 100 Continue\r\n\r\n"),
                                (0.05, b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: <a>\r\n\r\n"),
                                (0.2, tagged_answer(req))])
        self.assert_each_got_its_own(self.overlapping_clients())

    def test_endless_interim_answers_are_a_502(self):
        self.start(lambda req: [(0, b"HTTP/1.1 103 Early Hints\r\n\r\n" * 40), (1, None)])
        r = self.chat("x")
        self.assertOpenAIError(r, 502, "upstream_protocol_error")

    def test_status_outside_100_to_599_is_a_502(self):
        # Beast parses any three digits; relayed as "24" or "999" no client could read the answer.
        for status in ("024", "999"):
            self.start(lambda req, status=status: json_response("{}", status=status + " Odd"))
            r = self.chat("x")
            self.assertOpenAIError(r, 502, "upstream_protocol_error")
            self.assertIn("100-599", r.json()["error"]["message"])

    def test_unasked_upgrade_is_a_502_and_not_reused(self):
        def respond(req):
            if req.headers.get("x-tag") == "upgrade":
                return [(0, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
                        (0.3, tagged_answer(req))]
            return tagged_answer(req)

        self.start(respond)
        r = self.chat("upgrade")
        self.assertOpenAIError(r, 502, "upstream_protocol_error")
        self.assertIn("101", r.json()["error"]["message"])
        time.sleep(0.4)  # the late bytes arrive on that connection
        r = self.chat("after")
        self.assertEqual(r.status, 200)
        self.assertEqual(json.loads(r.body)["tag"], "after")
        self.assertNotEqual(json.loads(r.body)["conn"], 1)  # a new connection

    def test_bytes_after_the_body_poison_the_connection(self):
        # The upstream sends a second, unrequested answer after the first one: the connection
        # must be dropped, not handed to the next request with that answer waiting in it.
        def respond(req):
            extra = json_response(json.dumps({"tag": "stale", "conn": req.conn_id}))
            return [(0, tagged_answer(req)), (0.05, extra)]

        self.start(respond)
        for i in range(4):
            r = self.chat(f"seq-{i}")
            self.assertEqual(r.status, 200)
            self.assertEqual(json.loads(r.body)["tag"], f"seq-{i}")
            time.sleep(0.1)

    def test_204_has_no_content_length(self):
        self.start(lambda req: b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\nX-A: b\r\n\r\n")
        r = self.post("/v1/chat/completions", CHAT)
        self.assertEqual(r.status, 204)
        self.assertIsNone(r.header("content-length"))
        self.assertEqual(r.header("x-a"), "b")


class UpstreamPool(GatewayTest):
    def test_pool_cap_waits_then_answers_503_pool_exhausted(self):
        up = self.mock("m1")
        self.simple_gateway(up, extra_provider="    max_connections: 1\n    pool_timeout: 400ms",
                            extra_top="routing: { retry: { max_retries: 0 } }", workers=1)
        stream = dict(CHAT, stream=True)
        holder = threading.Thread(target=self.post, args=("/v1/chat/completions", stream),
                                  kwargs={"headers": {"x-mock-chunks": "10", "x-mock-chunk-delay-ms": "150"}})
        holder.start()
        time.sleep(0.3)  # the stream holds the only connection
        waiting = []

        def scrape_while_waiting():
            time.sleep(0.2)
            waiting.append(self.request("GET", "/metrics").body.decode())

        scraper = threading.Thread(target=scrape_while_waiting)
        scraper.start()
        started = time.time()
        r = self.post("/v1/chat/completions", CHAT)
        elapsed = time.time() - started
        scraper.join(timeout=5)
        holder.join(timeout=10)
        self.assertOpenAIError(r, 503, "upstream_pool_exhausted")
        self.assertIn("max_connections", r.json()["error"]["message"])
        self.assertNotIn("connecting", r.json()["error"]["message"])
        self.assertGreaterEqual(elapsed, 0.35)
        self.assertLess(elapsed, 2.0)
        self.assertIn('llm_proxy_upstream_pool_waiting{provider="m"} 1', waiting[0])
        # Our own cap is not the provider's failure: it stays healthy and serves the next one.
        text = self.request("GET", "/metrics").body.decode()
        self.assertIn('llm_proxy_provider_health{provider="m"} 1', text)
        self.assertIn('llm_proxy_upstream_pool_waiting{provider="m"} 0', text)
        self.assertEqual(self.post("/v1/chat/completions", CHAT).status, 200)


class StreamWithLength(GatewayTest):
    def test_event_stream_with_content_length_is_rechunked_when_rewritten(self):
        # An upstream that sends its stream with a Content-Length (a static server, a cache): the
        # gateway drops the usage chunk it asked for, so the length is no longer the body's.
        events = "".join(f'data: {{"choices":[{{"index":0,"delta":{{"content":"t{i} "}}}}]}}\n\n' for i in range(5))
        events += 'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}\n\n'
        events += "data: [DONE]\n\n"
        body = events.encode()
        up = RawUpstream(lambda req: b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
        self.addCleanup(up.stop)
        self.simple_gateway(up.port)
        r = self.post("/v1/chat/completions", dict(CHAT, stream=True), timeout=5)
        self.assertEqual(r.status, 200)
        self.assertIn(b"data: [DONE]", r.body)
        self.assertNotIn(b'"usage"', r.body)  # the client did not ask for it
        self.assertIsNone(r.header("content-length"))
        self.assertIn(b"t4 ", r.body)


class RequestDeadline(GatewayTest):
    def test_a_stream_that_keeps_sending_is_cut_at_the_request_deadline(self):
        up = self.mock("m1")
        self.simple_gateway(up)
        started = time.time()
        r = self.post("/v1/chat/completions", dict(CHAT, stream=True),
                      headers={"x-mock-chunks": "100", "x-mock-chunk-delay-ms": "50", "x-llm-proxy-timeout": "600ms"})
        elapsed = time.time() - started
        self.assertEqual(r.status, 200)
        self.assertLess(elapsed, 2.0)  # not the 5 s the upstream would have taken
        self.assertGreater(elapsed, 0.5)
        self.assertIn(b"event: error", r.body)
        self.assertIn(b'"code":"request_timeout"', r.body)  # not upstream_idle_timeout: it never went idle
        self.assertNotIn(b"[DONE]", r.body)

    def test_a_json_body_that_keeps_coming_is_cut_at_the_deadline_and_logged(self):
        # 200 with a 10,000-byte length, then 100 bytes every 50 ms: never idle, done after 5 s.
        def respond(req):
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n"
            return [(0, head)] + [(0.05, b" " * 100) for _ in range(100)]
        up = RawUpstream(respond)
        self.addCleanup(up.stop)
        log = os.path.join(self.tmp.name, "access.log")
        self.gateway(f"""
providers: [ {{ name: m, base_url: "http://127.0.0.1:{up.port}/v1", models: ["gpt-4o"],
               circuit_breaker: {{ failure_threshold: 1 }} }} ]
logging: {{ access_log: "{log}" }}
""", workers=1)
        s = socket.create_connection(("127.0.0.1", self.gw_port), timeout=5)
        body = json.dumps(CHAT).encode()
        started = time.time()
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"x-llm-proxy-timeout: 600ms\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        elapsed = time.time() - started
        self.assertLess(elapsed, 2.0)  # closed at the deadline, not after the upstream's 5 s
        self.assertGreater(elapsed, 0.5)
        head, _, got = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
        self.assertLess(len(got), 10000)  # short of its Content-Length: the client sees the cut

        def entry():
            with open(log) as f:
                lines = [json.loads(l) for l in f if "/v1/chat/completions" in l]
            return lines[0] if lines else None
        e = eventually(entry)
        self.assertIsNotNone(e)
        self.assertEqual(e.get("cut"), "request_timeout")
        # The request's own limit is not the provider's failure (one failure would eject it here).
        text = self.request("GET", "/metrics").body.decode()
        self.assertIn('llm_proxy_provider_health{provider="m"} 1', text)


def ss_lines(pid, state):
    """Sockets of process `pid` in TCP state `state` (ss's names: close-wait, established)."""
    import subprocess
    out = subprocess.run(["ss", "-tanpH", "state", state], capture_output=True, text=True, timeout=5).stdout
    return [line for line in out.splitlines() if f"pid={pid}," in line]


def close_wait_sockets(pid):
    """Sockets of process `pid` in CLOSE_WAIT (the peer closed, we did not)."""
    return ss_lines(pid, "close-wait")


class IdleUpstreamConnections(GatewayTest):
    def test_an_upstream_close_while_idle_closes_our_end(self):
        # The upstream answers with keep-alive, then closes the connection 200 ms later.
        self.up = RawUpstream(lambda req: [(0, tagged_answer(req)), (0.2, None)])
        self.addCleanup(self.up.stop)
        self.simple_gateway(self.up.port, workers=1)
        for i in range(3):
            r = self.post("/v1/chat/completions", CHAT, headers={"X-Tag": f"c{i}"})
            self.assertEqual(r.status, 200)
        time.sleep(0.6)
        self.assertEqual(close_wait_sockets(self.gw_proc.pid), [])
        # The next request gets a fresh connection and its own answer.
        r = self.post("/v1/chat/completions", CHAT, headers={"X-Tag": "after"})
        self.assertEqual(json.loads(r.body)["tag"], "after")

    def test_idle_connections_past_keepalive_idle_are_swept_without_traffic(self):
        # An upstream that never closes idle connections; nobody uses the pool afterwards.
        self.up = RawUpstream(tagged_answer)
        self.addCleanup(self.up.stop)
        self.simple_gateway(self.up.port, extra_provider="    keepalive_idle: 500ms", workers=1)
        threads = [threading.Thread(target=self.post, args=("/v1/chat/completions", CHAT)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)

        def open_upstream_connections():
            text = self.request("GET", "/metrics").body.decode()
            line = next(l for l in text.splitlines() if l.startswith('llm_proxy_upstream_connections{provider="m"}'))
            return int(line.split()[-1])
        self.assertGreaterEqual(open_upstream_connections(), 1)
        # Within two sweeps (keepalive_idle each) they are closed and no longer counted.
        self.assertTrue(eventually(lambda: open_upstream_connections() == 0, timeout=3))
        established = [l for l in ss_lines(self.gw_proc.pid, "established") if f":{self.up.port}" in l]
        self.assertEqual(established, [])


class UpstreamFramingBounds(GatewayTest):
    """Hardening #14.1 and #14.16, the upstream side: a chunk size line (or trailer) that never
    ends and a head over the limit are 502 upstream_protocol_error, not memory without bound."""

    def start(self, respond):
        self.up = RawUpstream(respond)
        self.addCleanup(self.up.stop)
        self.simple_gateway(self.up.port, workers=1)

    def test_a_chunk_line_that_never_ends_is_a_502(self):
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        endless = [(0, head + b"1;ext=")] + [(0.01, b"e" * (64 << 10)) for _ in range(32)]
        self.start(lambda req: endless)
        started = time.time()
        r = self.post("/v1/chat/completions", CHAT)
        self.assertOpenAIError(r, 502, "upstream_protocol_error")
        self.assertIn("chunk", r.json()["error"]["message"])
        self.assertLess(time.time() - started, 2.0)  # refused after ~80 KiB, not after 2 MiB

    def test_a_trailer_that_never_ends_cuts_the_answer(self):
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        endless = [(0, head + b"2\r\n{}\r\n0\r\nX-T: ")] + [(0.01, b"t" * (64 << 10)) for _ in range(32)]
        self.start(lambda req: endless)
        body = json.dumps(CHAT)
        started = time.time()
        data = raw_exchange(self.gw_port, (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                                           f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                                           f"{body}").encode(), timeout=5)
        # The body's bytes went out before the trailer: the answer is cut (the connection closes
        # without the last chunk) soon after ~80 KiB of trailer, never completed.
        self.assertLess(time.time() - started, 2.0)
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])
        self.assertFalse(data.endswith(b"0\r\n\r\n"), data[-50:])

    def test_response_headers_over_the_limit_are_a_502(self):
        big = "".join(f"X-Pad-{i}: {'p' * 1000}\r\n" for i in range(60))  # 60 KB of headers
        self.start(lambda req: json_response("{}", extra=big))
        r = self.post("/v1/chat/completions", CHAT)
        self.assertOpenAIError(r, 502, "upstream_protocol_error")
        self.assertIn("headers", r.json()["error"]["message"])
        # Within the limit it is relayed.
        self.up.respond = lambda req: json_response("{}", extra="".join(f"X-Pad-{i}: {'p' * 100}\r\n" for i in range(20)))
        self.assertEqual(self.post("/v1/chat/completions", CHAT).status, 200)


class CompressedStreams(GatewayTest):
    """Hardening #14.13: an event stream an upstream gzips anyway (we ask for identity) used to
    be held back until its end and not metered."""

    def test_a_gzipped_event_stream_is_relayed_as_it_comes_and_metered(self):
        import zlib
        events = [b'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n',
                  b'data: {"choices":[{"delta":{"content":"lo"}}]}\n\n',
                  b'data: {"choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}\n\n',
                  b"data: [DONE]\n\n"]

        def respond(req):
            z = zlib.compressobj(wbits=31)  # gzip
            steps = [(0, b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Encoding: gzip\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n")]
            for e in events:
                data = z.compress(e) + z.flush(zlib.Z_SYNC_FLUSH)
                steps.append((0.3, b"%x\r\n" % len(data) + data + b"\r\n"))
            tail = z.flush()
            steps.append((0, b"%x\r\n" % len(tail) + tail + b"\r\n0\r\n\r\n"))
            return steps

        self.up = RawUpstream(respond)
        self.addCleanup(self.up.stop)
        log = os.path.join(self.tmp.name, "access.log")
        self.gateway(f"""
providers: [ {{ name: m, base_url: "http://127.0.0.1:{self.up.port}/v1" }} ]
logging: {{ access_log: "{log}" }}
""", workers=1)
        body = json.dumps(dict(CHAT, stream=True))
        s = socket.create_connection(("127.0.0.1", self.gw_port), timeout=5)
        try:
            s.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       f"Accept-Encoding: gzip\r\nContent-Length: {len(body)}\r\n\r\n{body}").encode())
            started = time.time()
            data = s.recv(65536)
            while b"\r\n\r\n" not in data:
                data += s.recv(65536)
            while len(data.split(b"\r\n\r\n", 1)[1]) < 10:  # the first compressed bytes
                data += s.recv(65536)
            self.assertLess(time.time() - started, 0.9)  # not held until the end (1.2 s)
            while not data.endswith(b"0\r\n\r\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        head, rest = data.split(b"\r\n\r\n", 1)
        self.assertIn(b"content-encoding: gzip", head.lower())
        # De-chunk, then the client decompresses exactly what the upstream sent.
        raw = b""
        while rest:
            size_line, rest = rest.split(b"\r\n", 1)
            size = int(size_line, 16)
            if size == 0:
                break
            raw += rest[:size]
            rest = rest[size + 2:]
        self.assertEqual(zlib.decompress(raw, wbits=31), b"".join(events))
        self.assertEqual(self.up.requests[0].headers.get("accept-encoding"), "identity")

        def logged():
            with open(log) as f:
                return [json.loads(line) for line in f if line.strip()]
        self.assertTrue(eventually(lambda: logged()))
        self.assertEqual(logged()[0]["total_tokens"], 18)  # metered from the decompressed stream
