"""Every error case: clear OpenAI-style errors with the right status, never a hang."""
import socket
import time
import unittest

from harness import CHAT, GatewayTest, free_port, raw_exchange


class Errors(GatewayTest):
    def setUp(self):
        super().setUp()
        self.up = self.mock("m1")
        dead = free_port()  # nothing listens here
        self.gateway(f"""
server: {{ max_body_bytes: 64KiB, header_timeout: 500ms, max_header_bytes: 8KiB }}
providers:
  - name: live
    base_url: http://127.0.0.1:{self.up}/v1
    models: ["gpt-4o", "text-embedding-3-small", "gpt-3.5-turbo-instruct"]
    timeouts: {{ first_byte: 400ms }}
  - name: dead
    base_url: http://127.0.0.1:{dead}/v1
    models: ["dead-model"]
    timeouts: {{ connect: 300ms }}
""")

    def test_invalid_json(self):
        for bad in ['{"model":"gpt-4o",', "not json", '{"model":"gpt-4o","messages":[1 2]}', "[]"]:
            r = self.post("/v1/chat/completions", bad)
            self.assertOpenAIError(r, 400, "invalid_json")

    def test_missing_fields(self):
        self.assertOpenAIError(self.post("/v1/chat/completions", {"model": "gpt-4o"}), 400, "missing_required_parameter")
        r = self.post("/v1/chat/completions", {"messages": []})
        self.assertOpenAIError(r, 400, "missing_required_parameter")
        self.assertEqual(r.json()["error"]["param"], "model")
        self.assertOpenAIError(self.post("/v1/embeddings", {"model": "text-embedding-3-small"}), 400)
        self.assertOpenAIError(self.post("/v1/completions", {"model": "gpt-3.5-turbo-instruct"}), 400)

    def test_unknown_model(self):
        r = self.post("/v1/chat/completions", dict(CHAT, model="no-such-model"))
        self.assertOpenAIError(r, 404, "model_not_found")
        self.assertIn("no-such-model", r.json()["error"]["message"])
        self.assertOpenAIError(self.request("GET", "/v1/models/no-such-model"), 404, "model_not_found")

    def test_unknown_path_and_method(self):
        self.assertOpenAIError(self.request("GET", "/nope"), 404, "unknown_url")
        r = self.request("GET", "/v1/chat/completions")
        self.assertOpenAIError(r, 405, "method_not_allowed")
        self.assertEqual(r.header("allow"), "POST")
        self.assertOpenAIError(self.request("PUT", "/v1/files", "{}"), 405)

    def test_body_too_large(self):
        big = '{"model":"gpt-4o","messages":[{"role":"user","content":"' + "x" * 70000 + '"}]}'
        r = self.post("/v1/chat/completions", big)
        self.assertOpenAIError(r, 413, "request_too_large")

    def test_body_too_large_chunked(self):
        body = b"x" * 70000
        req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
               b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        out = raw_exchange(self.gw_port, req)
        self.assertTrue(out.startswith(b"HTTP/1.1 413"), out[:100])

    def test_upstream_unreachable(self):
        r = self.post("/v1/chat/completions", dict(CHAT, model="dead-model"))
        self.assertOpenAIError(r, 502, "upstream_unreachable")
        self.assertNotIn("127.0.0.1", r.json()["error"]["message"])

    def test_upstream_timeout(self):
        t0 = time.time()
        r = self.post("/v1/chat/completions", CHAT, headers={"x-mock-first-byte-delay-ms": "3000"})
        self.assertOpenAIError(r, 504, "upstream_timeout")
        self.assertLess(time.time() - t0, 2.0)

    def test_upstream_errors_pass_through(self):
        r = self.post("/v1/chat/completions", CHAT, headers={"x-mock-fault": "429", "x-mock-retry-after": "7"})
        self.assertEqual(r.status, 429)
        self.assertEqual(r.header("retry-after"), "7")
        self.assertEqual(r.header("x-ratelimit-remaining-requests"), "0")
        self.assertEqual(r.json()["error"]["code"], "rate_limit_exceeded")
        r = self.post("/v1/chat/completions", CHAT, headers={"x-mock-fault": "500"})
        self.assertEqual(r.status, 500)
        self.assertEqual(r.json()["error"]["code"], "mock_500")

    def test_upstream_reset_before_response(self):
        r = self.post("/v1/chat/completions", CHAT, headers={"x-mock-fault": "reset"})
        self.assertOpenAIError(r, 502)

    def test_slowloris_is_cut(self):
        s = socket.create_connection(("127.0.0.1", self.gw_port), timeout=5)
        try:
            s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
            t0 = time.time()
            data = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                data += b
            self.assertLess(time.time() - t0, 2.0)  # header_timeout is 500ms
            # The deadline cancels the read without closing the socket: the client is told why.
            self.assertTrue(data.startswith(b"HTTP/1.1 408"), data[:80])
            self.assertIn(b"request_timeout", data)
        finally:
            s.close()

    def test_header_too_large(self):
        out = raw_exchange(self.gw_port, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 431"), out[:80])

    def test_malformed_http(self):
        out = raw_exchange(self.gw_port, b"HELLO\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400"), out[:80])

    def test_gateway_still_serves_after_errors(self):
        for _ in range(3):
            self.post("/v1/chat/completions", "garbage")
            self.post("/v1/chat/completions", CHAT, headers={"x-mock-fault": "reset"})
        self.assertEqual(self.post("/v1/chat/completions", CHAT).status, 200)
        self.assertIsNone(self.gw_proc.poll())


if __name__ == "__main__":
    unittest.main()
