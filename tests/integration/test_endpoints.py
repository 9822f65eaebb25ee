"""Every endpoint, stream and non-stream, model map / prefix strip, byte-exact forwarding."""
import json
import unittest

from harness import CHAT, GatewayTest


class Endpoints(GatewayTest):
    def setUp(self):
        super().setUp()
        self.up = self.mock("m1")
        self.simple_gateway(self.up, extra_provider="""    model_map: { "gpt-3.5-turbo": "Qwen/Qwen2.5-7B-Instruct" }
    headers: { X-Vendor-Extra: yes }""", extra_top="""routing: { strip_prefix: "Proxy/", default_model: dflt-model }""")

    def last(self):
        return self.mock_json(self.up, "/mock/last")

    def test_chat_non_stream(self):
        r = self.post("/v1/chat/completions", CHAT)
        self.assertEqual(r.status, 200, r.body)
        body = r.json()
        self.assertEqual(body["object"], "chat.completion")
        self.assertEqual(body["model"], "gpt-4o")
        self.assertEqual(body["choices"][0]["message"]["content"], "Hello from m1")
        self.assertTrue(r.header("x-request-id").startswith("req_"))
        self.assertEqual(r.header("x-upstream-request-id")[:5], "mock-")

    def test_chat_stream(self):
        r = self.post("/v1/chat/completions", dict(CHAT, stream=True), headers={"x-mock-chunks": "4"})
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type").startswith("text/event-stream"))
        events = [e for e in r.body.decode().split("\n\n") if e]
        self.assertEqual(len(events), 6)  # 4 content + finish + [DONE]
        self.assertEqual(events[-1], "data: [DONE]")
        text = "".join(json.loads(e[6:])["choices"][0]["delta"].get("content", "") for e in events[:-1])
        self.assertEqual(text, "Hello tok1 tok2 tok3")

    def test_stream_usage_when_asked(self):
        r = self.post("/v1/chat/completions", dict(CHAT, stream=True, stream_options={"include_usage": True}))
        events = [e for e in r.body.decode().split("\n\n") if e]
        usage = json.loads(events[-2][6:])["usage"]
        self.assertEqual(usage["completion_tokens"], 5)

    def test_completions_and_embeddings(self):
        r = self.post("/v1/completions", {"model": "gpt-4o", "prompt": "Say hi"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["object"], "text_completion")
        r = self.post("/v1/completions", {"model": "gpt-4o", "prompt": "x", "stream": True})
        self.assertIn(b"data: [DONE]", r.body)
        r = self.post("/v1/embeddings", {"model": "text-embedding-3-small", "input": ["a", "b"]})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(len(r.json()["data"]), 2)

    def test_responses_and_other_v1_pass_through(self):
        # A chat-only upstream: /v1/responses is translated (test_responses has the rest).
        r = self.post("/v1/responses", {"model": "gpt-4o", "input": "hi"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["object"], "response")
        r = self.request("GET", "/v1/files?purpose=batch")
        self.assertEqual(r.status, 200, r.body)  # routed by default_model
        self.assertEqual(r.json()["target"], "/v1/files?purpose=batch")
        r = self.post("/v1/moderations", {"model": "omni-moderation-latest", "input": "x"})
        self.assertEqual(r.json()["target"], "/v1/moderations")

    def test_models(self):
        r = self.request("GET", "/v1/models")
        self.assertEqual(r.status, 200)
        ids = [m["id"] for m in r.json()["data"]]
        self.assertEqual(ids, ["dflt-model", "gpt-3.5-turbo"])
        self.assertEqual(r.json()["object"], "list")
        r = self.request("GET", "/v1/models/gpt-3.5-turbo")
        self.assertEqual(r.json()["id"], "gpt-3.5-turbo")

    def test_health(self):
        r = self.request("GET", "/health")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"status": "ok"})

    def test_model_map_splices_only_the_model(self):
        raw = '{"messages": [{"role":"user","content":"日本 🙂","model":"nested"}],  "model" : "gpt-3.5-turbo", "top_k": 40, "guided_json": {"type":"object"}}'
        r = self.post("/v1/chat/completions", raw)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["model"], "Qwen/Qwen2.5-7B-Instruct")
        expected = raw.replace('"gpt-3.5-turbo"', '"Qwen/Qwen2.5-7B-Instruct"')
        self.assertEqual(self.last()["body"], expected)

    def test_strip_prefix(self):
        r = self.post("/v1/chat/completions", dict(CHAT, model="Proxy/gpt-4o"))
        self.assertEqual(r.json()["model"], "gpt-4o")
        r = self.post("/v1/chat/completions", dict(CHAT, model="Other/gpt-4o"))
        self.assertEqual(r.json()["model"], "Other/gpt-4o")

    def test_default_model_inserted(self):
        r = self.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}]})
        self.assertEqual(r.json()["model"], "dflt-model")
        self.assertEqual(json.loads(self.last()["body"])["model"], "dflt-model")

    def test_unmapped_body_is_forwarded_byte_for_byte(self):
        raw = '{ "model":"gpt-4o",\n "messages":[{"role":"user","content":"a\\u00e9\\"b"}], "vendor_x": [1,2,{"y":null}] }'
        self.post("/v1/chat/completions", raw)
        self.assertEqual(self.last()["body"], raw)

    def test_headers_to_upstream(self):
        self.post("/v1/chat/completions", CHAT, headers={
            "Authorization": "Bearer sk-client-key", "x-api-key": "sk-client-2", "X-Custom": "kept",
            "X-Request-ID": "my-trace-1", "Connection": "keep-alive, X-Hop", "X-Hop": "drop-me"})
        h = {k.lower(): v for k, v in self.last()["headers"].items()}
        self.assertEqual(h["authorization"], "Bearer sk-upstream-secret")
        self.assertNotIn("x-api-key", h)
        self.assertNotIn("x-hop", h)
        self.assertEqual(h["x-custom"], "kept")
        self.assertEqual(h["x-vendor-extra"], "yes")
        self.assertEqual(h["x-request-id"], "my-trace-1")
        self.assertEqual(h["host"], f"127.0.0.1:{self.up}")

    def test_traceparent_propagated_or_created(self):
        tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        self.post("/v1/chat/completions", CHAT, headers={"traceparent": tp})
        h = {k.lower(): v for k, v in self.last()["headers"].items()}
        self.assertEqual(h["traceparent"], tp)
        self.post("/v1/chat/completions", CHAT)
        h = {k.lower(): v for k, v in self.last()["headers"].items()}
        self.assertRegex(h["traceparent"], r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")

    def test_request_id_echoed(self):
        r = self.post("/v1/chat/completions", CHAT, headers={"X-Request-ID": "abc-123"})
        self.assertEqual(r.header("x-request-id"), "abc-123")


if __name__ == "__main__":
    unittest.main()
