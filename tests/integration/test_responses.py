"""The Responses API through a real llm-proxy: over chat-only upstreams (translated: text, function
and custom tools, reasoning, errors, response.failed), over a server that serves it (byte-exact
pass-through), over an Anthropic upstream (through chat), and over WebSocket (each frame one request
through keys, limits, metering and logs; previous_response_id answered from the connection's own
history; 426 where it is off)."""
import base64
import json
import os
import socket
import sqlite3
import struct
import time
import unittest

from harness import GatewayTest, access_log_line, eventually, sse_events

KEY = "sk-responses-user-0001"
SLOW = "sk-responses-slow-0001"
AUTH = {"Authorization": f"Bearer {KEY}"}


events = sse_events


class WebSocket:
    """A minimal RFC 6455 client (text frames, masked, no extensions), bounded by timeouts."""

    def __init__(self, port, headers, path="/v1/responses", timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
                 f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.head = head.decode()
        self.status = int(self.head.split(" ")[1])

    def send(self, obj):
        payload = (obj if isinstance(obj, str) else json.dumps(obj)).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        """The next text frame as JSON (pings are answered by ignoring them); None on close."""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            opcode = b0 & 0x0F
            if opcode == 0x8:
                return None
            if opcode == 0x1:
                return json.loads(payload)

    def turn(self, request):
        """Sends one response.create and reads frames up to its terminal event or error."""
        self.send(dict(request, type="response.create"))
        frames = []
        while True:
            f = self.recv()
            if f is None:
                return frames
            frames.append(f)
            if f["type"] in ("response.completed", "response.incomplete", "response.failed", "error"):
                return frames

    def close(self):
        self.sock.close()


class ResponsesApi(GatewayTest):
    def setUp(self):
        super().setUp()
        self.chat = self.mock("chat-only")
        self.native = self.mock("responses-native")
        self.claude = self.mock("anthropic")
        self.log_path = os.path.join(self.tmp.name, "access.log")
        self.db_path = os.path.join(self.tmp.name, "ledger.db")
        self.gateway(f"""
providers:
  - {{ name: vllm, base_url: "http://127.0.0.1:{self.chat}/v1", api_key: sk-vllm-secret, models: ["qwen*"] }}
  - {{ name: openai, base_url: "http://127.0.0.1:{self.native}/v1", api_key: sk-openai-secret,
      native_responses: true, models: ["gpt-*"] }}
  - {{ name: claude, type: anthropic, base_url: "http://127.0.0.1:{self.claude}", api_key: sk-ant-secret,
      models: ["claude-*"] }}
auth:
  keys:
    - {{ key: {KEY}, name: codex-user, user_id: u-9 }}
    - {{ key: {SLOW}, name: slow, rate_limit: {{ requests_per_minute: 1 }} }}
database: {{ url: "sqlite://{self.db_path}" }}
logging: {{ access_log: "{self.log_path}" }}
""", workers=1)

    def responses(self, body, headers=None):
        h = dict(AUTH)
        h.update(headers or {})
        return self.post("/v1/responses", body, headers=h)

    def last_upstream(self, port):
        up = self.mock_json(port, "/mock/last")
        up["json"] = json.loads(up["body"]) if up["body"] else None
        return up

    def logged(self, request_id):
        line = access_log_line(self.log_path, request_id)
        self.assertIsNotNone(line, request_id)
        return line

    def log_lines(self):
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path) as f:
            return [json.loads(l) for l in f if l.strip()]

    # --- HTTP, chat-only upstream (translated) ---

    def test_whole_response_translated_from_chat(self):
        r = self.responses({"model": "qwen3-coder", "instructions": "be brief", "input": "hi", "store": False})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(int(r.header("content-length")), len(r.body))
        resp = r.json()
        self.assertEqual((resp["object"], resp["status"], resp["model"]), ("response", "completed", "qwen3-coder"))
        self.assertTrue(resp["id"].startswith("resp_"))
        self.assertEqual(resp["output"][0]["content"][0]["text"], "Hello from chat-only")
        self.assertGreater(resp["usage"]["input_tokens"], 0)
        up = self.last_upstream(self.chat)
        self.assertEqual(up["target"], "/v1/chat/completions")
        self.assertEqual(up["json"]["messages"], [{"role": "system", "content": "be brief"},
                                                  {"role": "user", "content": "hi"}])
        self.assertNotIn("store", up["json"])
        headers = {k.lower(): v for k, v in up["headers"].items()}
        self.assertEqual(headers["authorization"], "Bearer sk-vllm-secret")

    def test_stream_has_the_responses_event_sequence(self):
        r = self.responses({"model": "qwen3-coder", "input": "hi", "stream": True})
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.header("content-type").startswith("text/event-stream"))
        ev = events(r.body)
        names = [n for n, _ in ev]
        self.assertEqual(names[:2], ["response.created", "response.in_progress"])
        self.assertEqual(names[-1], "response.completed")
        self.assertEqual([d["sequence_number"] for _, d in ev], list(range(len(ev))))
        text = "".join(d["delta"] for n, d in ev if n == "response.output_text.delta")
        self.assertEqual(text, "Hello tok1 tok2 tok3 tok4")
        done = ev[-1][1]["response"]
        self.assertEqual(done["output"][0]["content"][0]["text"], text)
        self.assertEqual(done["usage"]["output_tokens"], 5)
        # The gateway asked the upstream for usage; the client sees none of the chat chunks.
        self.assertEqual(self.last_upstream(self.chat)["json"]["stream_options"], {"include_usage": True})
        self.assertNotIn(b"chat.completion.chunk", r.body)

    def test_function_and_custom_tools_round_trip(self):
        tools = [{"type": "function", "name": "shell", "parameters": {"type": "object"}},
                 {"type": "custom", "name": "apply_patch", "description": "Edit files",
                  "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}}]
        ask = 'edit [[tool:apply_patch {"input":"*** Begin Patch\\n*** End Patch\\n"}]]'
        r = self.responses({"model": "qwen3-coder", "input": ask, "tools": tools, "stream": True})
        ev = events(r.body)
        items = [d["item"] for n, d in ev if n == "response.output_item.done"]
        call = next(i for i in items if i["type"] == "custom_tool_call")
        self.assertEqual(call["name"], "apply_patch")
        self.assertEqual(call["input"], "*** Begin Patch\n*** End Patch\n")  # the raw text, not JSON
        sent = self.last_upstream(self.chat)["json"]
        self.assertEqual([t["function"]["name"] for t in sent["tools"]], ["shell", "apply_patch"])
        # The result goes back as custom_tool_call_output; the upstream sees a tool message.
        follow = {"model": "qwen3-coder", "tools": tools, "input": [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": ask}]},
            call, {"type": "custom_tool_call_output", "call_id": call["call_id"], "output": "Done!"}]}
        r = self.responses(follow)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["output"][0]["content"][0]["text"], "Tool result: Done!")
        sent = self.last_upstream(self.chat)["json"]["messages"]
        self.assertEqual(sent[-2]["tool_calls"][0]["id"], call["call_id"])
        self.assertEqual(json.loads(sent[-2]["tool_calls"][0]["function"]["arguments"]),
                         {"input": "*** Begin Patch\n*** End Patch\n"})
        self.assertEqual(sent[-1], {"role": "tool", "tool_call_id": call["call_id"], "content": "Done!"})
        # A function tool, whole.
        r = self.responses({"model": "qwen3-coder", "input": 'go [[tool:shell {"cmd":"ls"}]]', "tools": tools})
        fc = r.json()["output"][0]
        self.assertEqual((fc["type"], fc["name"], json.loads(fc["arguments"])), ("function_call", "shell", {"cmd": "ls"}))

    def test_reasoning_and_cached_tokens_are_metered(self):
        r = self.responses({"model": "qwen3-coder", "input": "think", "stream": True},
                           headers={"x-request-id": "resp-meter-1", "x-mock-thinking": "1", "x-mock-cache-read": "6"})
        ev = events(r.body)
        names = [n for n, _ in ev]
        self.assertIn("response.reasoning_summary_text.delta", names)
        usage = ev[-1][1]["response"]["usage"]
        self.assertEqual(usage["input_tokens_details"]["cached_tokens"], 6)
        self.assertEqual(usage["output_tokens_details"]["reasoning_tokens"], 2)
        line = self.logged("resp-meter-1")
        self.assertEqual((line["path"], line["cached_tokens"], line["reasoning_tokens"]), ("/v1/responses", 6, 2))

        def ledger():
            try:
                with sqlite3.connect(self.db_path) as c:
                    return c.execute("SELECT cached_tokens, endpoint FROM usage_ledger"
                                     " WHERE request_id = 'resp-meter-1'").fetchone()
            except sqlite3.OperationalError:
                return None
        self.assertEqual(eventually(ledger, timeout=5), (6, "/v1/responses"))

    def test_refusals_in_openai_shape(self):
        r = self.responses({"model": "qwen3-coder", "input": "hi", "previous_response_id": "resp_x"})
        self.assertOpenAIError(r, 400, "previous_response_not_found")
        r = self.responses("{not json")
        self.assertEqual(r.status, 400, r.body)
        r = self.post("/v1/responses", {"model": "qwen3-coder", "input": "hi"})
        self.assertOpenAIError(r, 401)
        r = self.responses({"model": "qwen3-coder", "input": "hi"}, headers={"x-mock-fault": "500"})
        self.assertGreaterEqual(r.status, 500, r.body)
        self.assertIn("error", r.json())

    def test_rate_limits_apply(self):
        h = {"Authorization": f"Bearer {SLOW}"}
        self.assertEqual(self.post("/v1/responses", {"model": "qwen3-coder", "input": "a"}, headers=h).status, 200)
        self.assertOpenAIError(self.post("/v1/responses", {"model": "qwen3-coder", "input": "a"}, headers=h), 429)

    def test_upstream_reset_mid_stream_ends_with_response_failed(self):
        r = self.responses({"model": "qwen3-coder", "input": "hi", "stream": True},
                           headers={"x-mock-fault": "reset_mid_stream", "x-mock-reset-after": "2"})
        self.assertEqual(r.status, 200)
        ev = events(r.body)
        self.assertEqual(ev[-1][0], "response.failed")
        self.assertEqual(ev[-1][1]["response"]["id"], ev[0][1]["response"]["id"])
        self.assertEqual(ev[-1][1]["sequence_number"], len(ev) - 1)
        self.assertNotIn("response.completed", [n for n, _ in ev])

    # --- a server that serves /v1/responses ---

    def test_native_pass_through_is_byte_exact(self):
        body = json.dumps({"model": "gpt-5", "input": "hi", "stream": True, "store": False,
                           "unknown_field": {"kept": [1, 2]}, "include": ["reasoning.encrypted_content"]})
        r = self.responses(body, headers={"x-mock-cache-read": "3"})
        self.assertEqual(r.status, 200, r.body)
        up = self.last_upstream(self.native)
        self.assertEqual(up["target"], "/v1/responses")
        self.assertEqual(up["body"], body)  # untouched: no stream_options added, unknown fields kept
        ev = events(r.body)
        self.assertEqual(ev[-1][0], "response.completed")
        self.assertEqual(ev[-1][1]["response"]["x_mock_extra"], {"kept": True})
        whole = self.responses({"model": "gpt-5", "input": "hi"})
        self.assertEqual(whole.json()["x_mock_extra"], {"kept": True})
        # previous_response_id is the upstream's to answer.
        r = self.responses({"model": "gpt-5", "input": "more", "previous_response_id": "resp_mock_1"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.last_upstream(self.native)["json"]["previous_response_id"], "resp_mock_1")

    # --- an Anthropic upstream ---

    def test_anthropic_upstream_through_chat(self):
        r = self.responses({"model": "claude-sonnet-4", "input": "hi", "stream": True, "max_output_tokens": 50})
        self.assertEqual(r.status, 200, r.body)
        ev = events(r.body)
        self.assertEqual(ev[-1][0], "response.completed")
        text = "".join(d["delta"] for n, d in ev if n == "response.output_text.delta")
        self.assertEqual(text, "Hello tok1 tok2 tok3 tok4")
        self.assertGreater(ev[-1][1]["response"]["usage"]["input_tokens"], 0)
        up = self.last_upstream(self.claude)
        self.assertEqual(up["target"], "/v1/messages")
        self.assertEqual(up["json"]["max_tokens"], 50)
        r = self.responses({"model": "claude-sonnet-4", "input": "hi"})
        self.assertEqual(r.json()["output"][0]["content"][0]["text"], "Hello tok1 tok2 tok3")

    # --- WebSocket ---

    def test_websocket_turns_go_through_the_pipeline(self):
        ws = WebSocket(self.gw_port, AUTH)
        self.assertEqual(ws.status, 101, ws.head)
        try:
            frames = ws.turn({"model": "qwen3-coder", "input": 'run [[tool:shell {"cmd":"ls"}]]',
                              "tools": [{"type": "function", "name": "shell", "parameters": {"type": "object"}}]})
            self.assertEqual(frames[0]["type"], "response.created")
            self.assertEqual(frames[-1]["type"], "response.completed")
            call = next(f["item"] for f in frames
                        if f["type"] == "response.output_item.done" and f["item"]["type"] == "function_call")
            first_id = frames[-1]["response"]["id"]
            # The next turn names the previous one and sends only the tool's output.
            frames = ws.turn({"model": "qwen3-coder", "previous_response_id": first_id, "input": [
                {"type": "function_call_output", "call_id": call["call_id"], "output": "a.txt"}]})
            self.assertEqual(frames[-1]["type"], "response.completed", frames)
            text = "".join(f["delta"] for f in frames if f["type"] == "response.output_text.delta")
            self.assertEqual(text, "Tool result: a.txt")
            sent = self.last_upstream(self.chat)["json"]["messages"]
            # The whole history: the question, the answer's text and call (one turn), the output.
            self.assertEqual([m["role"] for m in sent], ["user", "assistant", "tool"])
            self.assertEqual(sent[1]["content"], "Hello")
            # An id the connection never produced, a malformed frame, an acknowledgement.
            frames = ws.turn({"model": "qwen3-coder", "previous_response_id": "resp_other", "input": []})
            self.assertEqual((frames[-1]["type"], frames[-1]["status"]), ("error", 400))
            self.assertEqual(frames[-1]["error"]["code"], "previous_response_not_found")
            ws.send("{nope")
            self.assertEqual(ws.recv()["status"], 400)
            ws.send({"type": "response.processed", "response_id": first_id})
            # A warm-up is answered without the model.
            before = self.mock_json(self.chat, "/mock/stats")["requests"]
            frames = ws.turn({"model": "qwen3-coder", "input": "hi", "generate": False})
            self.assertEqual([f["type"] for f in frames], ["response.created", "response.completed"])
            self.assertEqual(self.mock_json(self.chat, "/mock/stats")["requests"], before)
            frames = ws.turn({"model": "qwen3-coder", "input": "again",
                              "previous_response_id": frames[-1]["response"]["id"]})
            self.assertEqual(frames[-1]["type"], "response.completed")
            self.assertEqual([m["content"] for m in self.last_upstream(self.chat)["json"]["messages"]], ["hi", "again"])
        finally:
            ws.close()
        # Each turn is a POST /v1/responses in the access log, with the key and the client's address.
        def posts():
            lines = [l for l in self.log_lines() if l["path"] == "/v1/responses"]
            return lines if len(lines) >= 5 and any(l["status"] == 101 for l in lines) else None
        lines = eventually(posts, timeout=5)
        self.assertIsNotNone(lines, self.log_lines())
        turns = [l for l in lines if l["method"] == "POST"]
        self.assertTrue(all(l["client_ip"] == "127.0.0.1" for l in turns))
        self.assertTrue(all(l["completion_tokens"] for l in turns if l["status"] == 200))
        self.assertEqual(next(l for l in lines if l["status"] == 101)["method"], "GET")

    def test_websocket_keys_and_limits(self):
        r = self.request("GET", "/v1/responses", headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                                          "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                                                          "Sec-WebSocket-Version": "13"})
        self.assertEqual(r.status, 401, r.body)  # no key: refused before the upgrade
        ws = WebSocket(self.gw_port, {"Authorization": f"Bearer {SLOW}"})
        try:
            self.assertEqual(ws.turn({"model": "qwen3-coder", "input": "a"})[-1]["type"], "response.completed")
            err = ws.turn({"model": "qwen3-coder", "input": "b"})[-1]
            self.assertEqual((err["type"], err["status"]), ("error", 429))
            self.assertIn("retry-after", err["headers"])
        finally:
            ws.close()
        # A plain GET (no upgrade) gets 426 at once, so clients fall back to POST.
        r = self.request("GET", "/v1/responses", headers=AUTH)
        self.assertEqual(r.status, 426, r.body)
        self.assertEqual(r.header("upgrade"), "websocket")

    def test_websocket_client_gone_mid_stream_cancels_the_upstream(self):
        ws = WebSocket(self.gw_port, dict(AUTH, **{"x-mock-chunks": "100", "x-mock-chunk-delay-ms": "30"}))
        ws.send({"type": "response.create", "model": "qwen3-coder", "input": "long"})
        self.assertEqual(ws.recv()["type"], "response.created")
        ws.close()
        stats = eventually(lambda: (lambda st: st if st["streams_cancelled"] >= 1 else None)(
            self.mock_json(self.chat, "/mock/stats")), timeout=5)
        self.assertIsNotNone(stats, self.mock_json(self.chat, "/mock/stats"))
        # The gateway goes on serving.
        self.assertEqual(self.responses({"model": "qwen3-coder", "input": "hi"}).status, 200)

    def test_websocket_events_arrive_as_they_are_made(self):
        ws = WebSocket(self.gw_port, dict(AUTH, **{"x-mock-chunks": "6", "x-mock-chunk-delay-ms": "150"}))
        try:
            start = time.time()
            ws.send({"type": "response.create", "model": "qwen3-coder", "input": "slow"})
            arrivals = []
            while True:
                f = ws.recv()
                arrivals.append((f["type"], time.time() - start))
                if f["type"] == "response.completed":
                    break
            first_delta = next(t for n, t in arrivals if n == "response.output_text.delta")
            self.assertLess(first_delta, 0.5, arrivals)        # not held back until the end...
            self.assertGreater(arrivals[-1][1], 0.7, arrivals)  # ...which comes 5 x 150 ms later
        finally:
            ws.close()

    def test_websocket_frame_over_the_body_limit_closes(self):
        port = self.gateway(f"""
server: {{ max_body_bytes: 4KiB }}
providers:
  - {{ name: vllm, base_url: "http://127.0.0.1:{self.chat}/v1", models: ["*"] }}
""", workers=1)
        ws = WebSocket(port, {})
        self.assertEqual(ws.status, 101)
        ws.send({"type": "response.create", "model": "m", "input": "x" * 8192})
        self.assertIsNone(ws.recv())  # a close frame (1009), not an answer
        ws.close()

    def test_websocket_off_answers_426(self):
        port = self.gateway(f"""
server: {{ responses_websocket: false }}
providers:
  - {{ name: vllm, base_url: "http://127.0.0.1:{self.chat}/v1", models: ["*"] }}
""", workers=1)
        ws = WebSocket(port, {})
        self.assertEqual(ws.status, 426, ws.head)
        ws.close()


if __name__ == "__main__":
    unittest.main()
