"""Token counting by the gateway itself: POST /v1/tokenize equals tiktoken's ids, and requests
whose upstream reports no usage, or whose stream is cut (upstream reset, client hang-up), are
still metered from what was asked and what reached the client (usage_source "gateway")."""
import json
import os
import socket
import time
import unittest

from harness import CHAT, GatewayTest, eventually

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = json.load(open(os.path.join(HERE, "../tokenizer/reference.json")))
CORPUS = json.load(open(os.path.join(HERE, "../tokenizer/corpus.json")))


class LocalUsage(GatewayTest):
    def setUp(self):
        super().setUp()
        self.up = self.mock("m1")
        self.log_path = os.path.join(self.tmp.name, "access.log")
        self.gateway(f"""
providers: [ {{ name: m, base_url: "http://127.0.0.1:{self.up}/v1" }} ]
logging: {{ access_log: "{self.log_path}" }}
""")
        # The tokenizers load in the background at start.
        self.assertTrue(eventually(lambda: self.tokenize({"model": "gpt-4o", "input": "x"}).status == 200))

    def tokenize(self, body):
        return self.post("/v1/tokenize", body)

    def log_lines(self):
        with open(self.log_path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def logged(self, request_id):
        def find():
            return next((l for l in self.log_lines() if l["request_id"] == request_id), None)
        line = eventually(find)
        self.assertIsNotNone(line, request_id)
        return line

    def count(self, model, text):
        return self.tokenize({"model": model, "input": text}).json()["count"]

    def test_tokenize_matches_tiktoken(self):
        for i in (0, 3, 4, 5):  # ASCII, CJK, emoji, code
            r = self.tokenize({"model": "gpt-4o-mini", "input": CORPUS[i]})
            self.assertEqual(r.status, 200, r.body)
            body = r.json()
            self.assertEqual(body["encoding"], "o200k_base")
            self.assertEqual(body["tokens"], REFERENCE["o200k_base"][i])
            self.assertEqual(body["count"], len(REFERENCE["o200k_base"][i]))
        r = self.tokenize({"encoding": "cl100k_base", "input": CORPUS[1]})
        self.assertEqual(r.json()["tokens"], REFERENCE["cl100k_base"][1])
        chat = self.tokenize({"model": "gpt-4", "messages": [{"role": "user", "content": "hello world"}]}).json()
        self.assertEqual(chat["count"], 1 + 2 + 3 + 3)  # "user", "hello world", framing, reply priming
        self.assertOpenAIError(self.tokenize({"input": "no model"}), 400, "missing_required_parameter")
        self.assertOpenAIError(self.tokenize({"encoding": "p50k_base", "input": "x"}), 400, "tokenizer_unavailable")
        self.assertOpenAIError(self.post("/v1/tokenize", "{nope"), 400, "invalid_json")

    def test_upstream_without_usage_is_counted_locally(self):
        r = self.post("/v1/chat/completions", CHAT, headers={"x-mock-no-usage": "1"})
        self.assertEqual(r.status, 200)
        self.assertNotIn("usage", r.json())  # the client's body is untouched
        line = self.logged(r.header("x-request-id"))
        self.assertEqual(line["usage_source"], "gateway")
        prompt = self.tokenize({"model": CHAT["model"], "messages": CHAT["messages"]}).json()["count"]
        self.assertEqual(line["prompt_tokens"], prompt)
        self.assertEqual(line["completion_tokens"], self.count("gpt-4o", "Hello from m1"))
        self.assertEqual(line["total_tokens"], line["prompt_tokens"] + line["completion_tokens"])
        # With usage from the upstream, its numbers are used and not marked.
        r = self.post("/v1/chat/completions", CHAT)
        line = self.logged(r.header("x-request-id"))
        self.assertNotIn("usage_source", line)
        self.assertEqual(line["completion_tokens"], 4)

    def test_stream_cut_by_upstream_is_metered_for_what_was_relayed(self):
        r = self.post("/v1/chat/completions", dict(CHAT, stream=True),
                      headers={"x-mock-fault": "reset_mid_stream", "x-mock-reset-after": "2"})
        self.assertIn(b"tok1", r.body)
        line = self.logged(r.header("x-request-id"))
        self.assertEqual(line["usage_source"], "gateway")
        self.assertEqual(line["completion_tokens"], self.count("gpt-4o", "Hello tok1"))
        self.assertGreater(line["prompt_tokens"], 0)

    def test_stream_cancelled_by_client_is_metered(self):
        s = socket.create_connection(("127.0.0.1", self.gw_port), timeout=5)
        body = json.dumps(dict(CHAT, stream=True)).encode()
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"x-request-id: cancel-me\r\nx-mock-chunks: 50\r\nx-mock-chunk-delay-ms: 50\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        got = b""
        while got.count(b"data: ") < 3:
            chunk = s.recv(65536)
            if not chunk:  # the gateway closed (or died): fail instead of spinning
                break
            got += chunk
        s.close()  # hang up mid-stream
        line = self.logged("cancel-me")
        self.assertEqual(line["status"], 499)
        self.assertEqual(line["usage_source"], "gateway")
        self.assertGreaterEqual(line["completion_tokens"], 2)
        self.assertLess(line["completion_tokens"], 50)


if __name__ == "__main__":
    unittest.main()
