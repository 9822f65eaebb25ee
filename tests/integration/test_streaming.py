"""Streams: chunk-by-chunk relay, client abort cancels upstream, upstream reset mid-stream."""
import json
import socket
import time
import unittest

from harness import CHAT, GatewayTest


def open_stream(port, chunks, delay_ms, extra_headers=b""):
    body = json.dumps(dict(CHAT, stream=True)).encode()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"x-mock-chunks: %d\r\nx-mock-chunk-delay-ms: %d\r\n" % (chunks, delay_ms) + extra_headers +
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    return s


def read_until(s, marker, timeout=5):
    data = b""
    deadline = time.time() + timeout
    while marker not in data and time.time() < deadline:
        b = s.recv(65536)
        if not b:
            break
        data += b
    return data


class Streaming(GatewayTest):
    def setUp(self):
        super().setUp()
        self.up = self.mock("m1")
        self.simple_gateway(self.up)

    def stats(self):
        return self.mock_json(self.up, "/mock/stats")

    def test_chunks_arrive_as_they_are_produced(self):
        s = open_stream(self.gw_port, chunks=4, delay_ms=300)
        try:
            t0 = time.time()
            first = read_until(s, b"Hello")
            t_first = time.time() - t0
            self.assertIn(b"text/event-stream", first)
            self.assertLess(t_first, 0.25)  # not held until the stream ends (~0.9 s)
            rest = read_until(s, b"[DONE]")
            self.assertGreater(time.time() - t0, 0.8)
            self.assertIn(b"[DONE]", rest)
        finally:
            s.close()

    def test_client_abort_cancels_upstream(self):
        s = open_stream(self.gw_port, chunks=50, delay_ms=100)
        read_until(s, b"Hello")
        self.assertEqual(self.stats()["active_streams"], 1)
        s.close()
        deadline = time.time() + 2
        while time.time() < deadline and self.stats()["active_streams"] != 0:
            time.sleep(0.02)
        st = self.stats()
        self.assertEqual(st["active_streams"], 0)
        self.assertEqual(st["streams_cancelled"], 1)
        self.assertEqual(st["streams_completed"], 0)
        # and the gateway keeps working
        self.assertEqual(self.post("/v1/chat/completions", CHAT).status, 200)

    def test_upstream_reset_mid_stream_is_not_a_clean_end(self):
        r = self.post("/v1/chat/completions", dict(CHAT, stream=True),
                      headers={"x-mock-fault": "reset_mid_stream", "x-mock-reset-after": "3"})
        text = r.body.decode()
        self.assertNotIn("[DONE]", text)
        events = [e for e in text.split("\n\n") if e]
        self.assertEqual(len(events), 4)  # 3 chunks, then our error event
        self.assertTrue(events[-1].startswith("event: error\ndata: "))
        err = json.loads(events[-1].split("data: ", 1)[1])["error"]
        self.assertEqual(err["code"], "upstream_stream_interrupted")

    def test_idle_timeout_mid_stream(self):
        self.gateway(f"""
providers:
  - name: m
    base_url: http://127.0.0.1:{self.up}/v1
    timeouts: {{ idle: 300ms }}
""")
        r = self.post("/v1/chat/completions", dict(CHAT, stream=True),
                      headers={"x-mock-chunks": "3", "x-mock-chunk-delay-ms": "1000"})
        text = r.body.decode()
        self.assertIn("upstream_idle_timeout", text)
        self.assertNotIn("[DONE]", text)

    def test_pipelined_requests(self):
        body = json.dumps(CHAT).encode()
        one = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body) + body)
        s = socket.create_connection(("127.0.0.1", self.gw_port), timeout=5)
        try:
            s.sendall(one + one + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            data = read_until(s, b'{"status":"ok"}')
            self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 3)
            self.assertEqual(data.count(b"Hello from m1"), 2)
        finally:
            s.close()

    def test_expect_100_continue(self):
        body = json.dumps(CHAT).encode()
        s = socket.create_connection(("127.0.0.1", self.gw_port), timeout=5)
        try:
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                      b"Content-Length: %d\r\n\r\n" % len(body))
            self.assertTrue(read_until(s, b"\r\n\r\n").startswith(b"HTTP/1.1 100 Continue"))
            s.sendall(body)
            self.assertIn(b"Hello from m1", read_until(s, b"Hello from m1"))
        finally:
            s.close()

    def test_many_concurrent_streams(self):
        socks = [open_stream(self.gw_port, chunks=5, delay_ms=20) for _ in range(40)]
        try:
            for s in socks:
                self.assertIn(b"[DONE]", read_until(s, b"[DONE]"))
        finally:
            for s in socks:
                s.close()


if __name__ == "__main__":
    unittest.main()
