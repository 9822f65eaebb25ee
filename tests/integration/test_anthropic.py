"""Anthropic Messages both ways through a real llm-proxy: Anthropic clients (/v1/messages) on a
chat-only upstream (translated), on an Anthropic upstream (byte-exact pass-through) and on a
server that serves /v1/messages itself; OpenAI clients on Anthropic models; keys, limits,
metering and logs on /v1/messages exactly as on chat completions; fallback across dialects."""
import json
import os
import sqlite3
import unittest

from harness import GatewayTest, access_log_line, eventually, sse_events, free_port

KEY = "sk-anthropic-user-0001"
AHEADERS = {"anthropic-version": "2023-06-01", "x-api-key": KEY}


events = sse_events


def message(text, **extra):
    return dict({"model": "claude-local", "max_tokens": 256, "messages": [{"role": "user", "content": text}]},
                **extra)


class AnthropicBothWays(GatewayTest):
    def setUp(self):
        super().setUp()
        self.chat = self.mock("chat-only")
        self.claude = self.mock("anthropic")
        self.log_path = os.path.join(self.tmp.name, "access.log")
        self.db_path = os.path.join(self.tmp.name, "ledger.db")
        self.gateway(f"""
providers:
  - {{ name: vllm, base_url: "http://127.0.0.1:{self.chat}/v1", api_key: sk-vllm-secret,
      models: ["claude-local", "gpt-*", "both"] }}
  - {{ name: claude, type: anthropic, base_url: "http://127.0.0.1:{self.claude}", api_key: sk-ant-secret,
      models: ["claude-sonnet-*", "both"], anthropic_betas: ["prompt-caching-*", "context-management-2025-06-27"] }}
  - {{ name: native, base_url: "http://127.0.0.1:{self.chat}/v1", native_messages: true, models: ["qwen-native"] }}
routing:
  models:
    both: {{ targets: [ {{ provider: claude, model: claude-sonnet-4 }}, {{ provider: vllm, model: gpt-4o }} ] }}
auth:
  keys:
    - {{ key: {KEY}, name: claude-user, user_id: u-7 }}
    - {{ key: sk-anthropic-slow-0001, name: slow, rate_limit: {{ requests_per_minute: 1 }} }}
database: {{ url: "sqlite://{self.db_path}" }}
logging: {{ access_log: "{self.log_path}" }}
""")

    def messages(self, body, headers=None):
        h = dict(AHEADERS)
        h.update(headers or {})
        return self.post("/v1/messages", body, headers=h)

    def last_upstream(self, port):
        return self.mock_json(port, "/mock/last")

    def logged(self, request_id):
        line = access_log_line(self.log_path, request_id)
        self.assertIsNotNone(line, request_id)
        return line

    # --- Anthropic clients on a chat-only upstream ---

    def test_message_translated_to_chat_and_back(self):
        r = self.messages(message("hi", system="be brief", metadata={"user_id": "cc-session"}))
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.header("content-type").startswith("application/json"))
        self.assertEqual(int(r.header("content-length")), len(r.body))
        m = r.json()
        self.assertEqual(m["type"], "message")
        self.assertEqual(m["model"], "claude-local")
        self.assertEqual(m["content"], [{"type": "text", "text": "Hello from chat-only"}])
        self.assertEqual(m["stop_reason"], "end_turn")
        self.assertIsNone(m["stop_sequence"])
        self.assertGreater(m["usage"]["input_tokens"], 0)
        up = self.last_upstream(self.chat)
        self.assertEqual(up["target"], "/v1/chat/completions")
        sent = json.loads(up["body"])
        self.assertEqual(sent["messages"][0], {"role": "system", "content": "be brief"})
        self.assertEqual(sent["user"], "cc-session")
        headers = {k.lower(): v for k, v in up["headers"].items()}
        self.assertEqual(headers["authorization"], "Bearer sk-vllm-secret")  # the provider's key, not ours
        self.assertNotIn("x-api-key", headers)
        self.assertNotIn("anthropic-version", headers)  # Anthropic's headers stay with Anthropic

    def test_stream_has_anthropics_exact_event_sequence(self):
        r = self.messages(message("hi", stream=True))
        self.assertEqual(r.status, 200, r.body)
        self.assertTrue(r.header("content-type").startswith("text/event-stream"))
        ev = events(r.body)
        names = [n for n, _ in ev]
        self.assertEqual(names[0], "message_start")
        self.assertEqual(names[-2:], ["message_delta", "message_stop"])
        self.assertTrue(all(n is not None for n in names), "every frame has an event: line")
        start = ev[0][1]["message"]
        for field in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
            self.assertIn(field, start["usage"])
        text = "".join(d["delta"]["text"] for n, d in ev if n == "content_block_delta")
        self.assertEqual(text, "Hello tok1 tok2 tok3 tok4")
        delta = ev[-2][1]
        self.assertEqual(delta["delta"]["stop_reason"], "end_turn")
        self.assertEqual(delta["usage"]["output_tokens"], 5)  # from the upstream's usage chunk
        self.assertGreater(delta["usage"]["input_tokens"], 0)

    def test_tool_round_trip_with_ids_normalised(self):
        tools = [{"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}]
        ask = 'run [[tool:Bash {"command":"ls"}]]'
        r = self.messages(message(ask, stream=True, tools=tools))
        ev = events(r.body)
        starts = [d["content_block"] for n, d in ev if n == "content_block_start"]
        tool = next(b for b in starts if b["type"] == "tool_use")
        self.assertEqual(tool["id"], "functions_Bash_0")  # the upstream sent "functions.Bash:0"
        args = "".join(d["delta"]["partial_json"] for n, d in ev
                       if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta")
        self.assertEqual(json.loads(args), {"command": "ls"})
        self.assertEqual(ev[-2][1]["delta"]["stop_reason"], "tool_use")
        # The client sends the tool's result back with the id it was given.
        follow = message(ask, tools=tools)
        follow["messages"] += [
            {"role": "assistant", "content": [{"type": "tool_use", "id": tool["id"], "name": "Bash",
                                               "input": {"command": "ls"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool["id"], "content": "a.txt"}]}]
        r = self.messages(follow)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["content"][0]["text"], "Tool result: a.txt")
        sent = json.loads(self.last_upstream(self.chat)["body"])
        self.assertEqual(sent["messages"][-1], {"role": "tool", "tool_call_id": "functions_Bash_0", "content": "a.txt"})

    def test_upstream_errors_and_cut_streams_in_anthropics_shape(self):
        r = self.messages(message("x"), headers={"x-mock-fault": "429", "x-mock-retry-after": "0"})
        self.assertEqual(r.status, 429, r.body)
        self.assertEqual(r.json()["type"], "error")
        self.assertEqual(r.json()["error"]["type"], "rate_limit_error")
        r = self.messages(message("x", stream=True), headers={"x-mock-fault": "reset_mid_stream"})
        ev = events(r.body)
        self.assertEqual(ev[0][0], "message_start")
        self.assertEqual(ev[-1][0], "error")  # never an invented message_stop
        self.assertEqual(ev[-1][1]["type"], "error")
        self.assertIn(ev[-1][1]["error"]["type"], ("api_error", "overloaded_error"))

    def test_count_tokens_exact_or_404(self):
        r = self.post("/v1/messages/count_tokens?beta=true", {"model": "claude-local", "messages": [{"role": "user",
                      "content": "x"}]}, headers=AHEADERS)
        self.assertEqual(r.status, 404, r.body)  # a chat-only server has no exact count: never a guess
        self.assertEqual(r.json()["error"]["type"], "not_found_error")
        r = self.post("/v1/messages/count_tokens", {"model": "claude-sonnet-4", "messages": [{"role": "user",
                      "content": "x"}]}, headers=AHEADERS)
        self.assertEqual(r.status, 200, r.body)
        self.assertGreater(r.json()["input_tokens"], 0)
        self.assertEqual(self.last_upstream(self.claude)["target"], "/v1/messages/count_tokens")

    def test_translated_body_over_its_cap_is_refused(self):
        port = self.gateway(f"""
server: {{ max_translated_body: 100 }}
providers: [ {{ name: vllm, base_url: "http://127.0.0.1:{self.chat}/v1" }} ]
""")
        r = self.post("/v1/messages", message("x"), headers={"anthropic-version": "2023-06-01"}, port=port)
        self.assertEqual(r.status, 502, r.body)  # the chat completion is ~250 bytes
        self.assertEqual(r.json()["type"], "error")
        self.assertIn("max_translated_body", r.json()["error"]["message"])
        r = self.post("/v1/messages", message("x", stream=True), headers={"anthropic-version": "2023-06-01"},
                      port=port)
        self.assertEqual(r.status, 200)  # streams are translated event by event, never held
        self.assertEqual(events(r.body)[-1][0], "message_stop")

    # --- the gateway's own answers in Anthropic's shape ---

    def test_refusals_are_anthropic_shaped(self):
        r = self.post("/v1/messages", message("x"), headers={"anthropic-version": "2023-06-01",
                                                              "x-api-key": "sk-wrong-key-000000"})
        self.assertEqual(r.status, 401)
        body = r.json()
        self.assertEqual(body["type"], "error")
        self.assertEqual(body["error"]["type"], "authentication_error")
        self.assertEqual(body["request_id"], r.header("x-request-id"))
        r = self.messages(dict(message("x"), model="no-such-model"))
        self.assertEqual((r.status, r.json()["error"]["type"]), (404, "not_found_error"))
        r = self.messages({"model": "claude-local", "messages": [{"role": "user", "content": "x"}]})
        self.assertEqual((r.status, r.json()["error"]["type"]), (400, "invalid_request_error"))  # max_tokens
        self.assertIn("max_tokens", r.json()["error"]["message"])
        r = self.post("/v1/messages", "{not json", headers=AHEADERS)
        self.assertEqual((r.status, r.json()["type"]), (400, "error"))
        slow = {"anthropic-version": "2023-06-01", "x-api-key": "sk-anthropic-slow-0001"}
        self.assertEqual(self.post("/v1/messages", message("x"), headers=slow).status, 200)
        r = self.post("/v1/messages", message("x"), headers=slow)
        self.assertEqual((r.status, r.json()["error"]["type"]), (429, "rate_limit_error"))
        self.assertTrue(r.header("retry-after"))
        # The same refusals stay OpenAI-shaped for OpenAI clients.
        r = self.post("/v1/chat/completions", {"model": "no-such-model", "messages": []},
                      headers={"Authorization": f"Bearer {KEY}"})
        self.assertOpenAIError(r, 404, "model_not_found")

    def test_models_list_in_the_callers_shape(self):
        r = self.request("GET", "/v1/models?limit=1000", headers=AHEADERS)
        self.assertEqual(r.status, 200)
        body = r.json()
        self.assertIn("has_more", body)
        self.assertTrue(all(m["type"] == "model" and "display_name" in m for m in body["data"]))
        r = self.request("GET", "/v1/models", headers={"Authorization": f"Bearer {KEY}"})
        self.assertEqual(r.json()["object"], "list")

    # --- metering and logs ---

    def test_usage_logged_and_ledgered_like_chat(self):
        r = self.messages(message("meter me", stream=True), headers={"x-request-id": "anth-meter-1",
                                                                     "x-mock-cache-read": "7"})
        self.assertEqual(r.status, 200)
        line = self.logged("anth-meter-1")
        self.assertEqual(line["path"], "/v1/messages")
        self.assertEqual(line["completion_tokens"], 5)
        self.assertGreater(line["prompt_tokens"], 0)
        self.assertEqual(line["key_name"], "claude-user")
        # Native pass-through to the Anthropic upstream: cache reads metered as their own field,
        # and the prompt counts them (input + cache read + cache creation).
        r = self.messages(dict(message("cached", stream=True), model="claude-sonnet-4"),
                          headers={"x-request-id": "anth-meter-2", "x-mock-cache-read": "100",
                                   "x-mock-cache-write": "3"})
        self.assertEqual(r.status, 200)
        start = events(r.body)[0][1]["message"]["usage"]
        line = self.logged("anth-meter-2")
        self.assertEqual(line["cached_tokens"], 100)
        self.assertEqual(line["prompt_tokens"], start["input_tokens"] + 103)
        self.assertEqual(line["completion_tokens"], 5)  # from message_delta, merged with message_start's input

        def ledger():
            try:
                with sqlite3.connect(self.db_path) as c:
                    return c.execute("SELECT prompt_tokens, completion_tokens, cached_tokens, cache_creation_tokens,"
                                     " endpoint FROM usage_ledger WHERE request_id = 'anth-meter-2'").fetchone()
            except sqlite3.OperationalError:
                return None
        row = eventually(ledger, timeout=5)
        self.assertEqual(row, (start["input_tokens"] + 103, 5, 100, 3, "/v1/messages"))
        metrics = self.request("GET", "/metrics").body.decode()
        self.assertIn('llm_proxy_tokens_total{model="claude-sonnet-4",provider="claude",token_type="cached"} 100',
                      metrics)

    # --- Anthropic upstreams ---

    def test_native_pass_through_is_byte_exact_with_allowed_betas(self):
        body = json.dumps({"model": "claude-sonnet-4", "max_tokens": 10, "unknown_field": {"kept": [1, 2]},
                           "context_management": {"edits": []},
                           "system": [{"type": "text", "text": "s", "cache_control": {"type": "ephemeral"}}],
                           "messages": [{"role": "user", "content": "hi"}]}, separators=(",", ":"))
        r = self.post("/v1/messages?beta=true", body, headers=dict(
            AHEADERS, **{"anthropic-beta": "prompt-caching-scope-2026-01-05, oauth-2025-04-20,"
                                           "context-management-2025-06-27"}))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["id"], "msg_mock")
        up = self.last_upstream(self.claude)
        self.assertEqual(up["target"], "/v1/messages?beta=true")
        self.assertEqual(up["body"], body)  # every byte, unknown fields and cache_control included
        headers = {k.lower(): v for k, v in up["headers"].items()}
        self.assertEqual(headers["x-api-key"], "sk-ant-secret")
        self.assertEqual(headers["anthropic-version"], "2023-06-01")
        self.assertEqual(headers["anthropic-beta"], "prompt-caching-scope-2026-01-05,context-management-2025-06-27")
        self.assertNotIn("authorization", headers)

    def test_openai_client_on_an_anthropic_model(self):
        r = self.post("/v1/chat/completions", {"model": "claude-sonnet-4", "messages": [
            {"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]},
            headers={"Authorization": f"Bearer {KEY}", "anthropic-beta": "prompt-caching-scope-2026-01-05"})
        self.assertEqual(r.status, 200, r.body)
        c = r.json()
        self.assertEqual(c["object"], "chat.completion")
        self.assertEqual(c["choices"][0]["message"]["content"], "Hello tok1 tok2 tok3")
        self.assertEqual(c["choices"][0]["finish_reason"], "stop")
        self.assertEqual(c["usage"]["total_tokens"], c["usage"]["prompt_tokens"] + c["usage"]["completion_tokens"])
        up = self.last_upstream(self.claude)
        self.assertEqual(up["target"], "/v1/messages")
        sent = json.loads(up["body"])
        self.assertEqual(sent["system"], [{"type": "text", "text": "sys"}])
        self.assertEqual(sent["max_tokens"], 4096)
        # Stream, with tools and usage asked for.
        r = self.post("/v1/chat/completions", {
            "model": "claude-sonnet-4", "stream": True, "stream_options": {"include_usage": True},
            "tools": [{"type": "function", "function": {"name": "get", "parameters": {"type": "object"}}}],
            "messages": [{"role": "user", "content": 'x [[tool:get {"a":1}]]'}]},
            headers={"Authorization": f"Bearer {KEY}"})
        chunks = [d for _, d in events(r.body)]
        self.assertEqual(chunks[-1], "[DONE]")
        usage = chunks[-2]
        self.assertEqual(usage["choices"], [])
        self.assertEqual(usage["usage"]["completion_tokens"], 5)
        calls = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks[:-2]
                 if c["choices"] and "tool_calls" in c["choices"][0]["delta"]]
        self.assertEqual(calls[0]["id"], "toolu_mock_1")
        self.assertEqual(json.loads("".join(c["function"]["arguments"] for c in calls)), {"a": 1})
        finish = [c["choices"][0]["finish_reason"] for c in chunks[:-2] if c["choices"]]
        self.assertEqual(finish[-1], "tool_calls")
        # An Anthropic error answered to an OpenAI client in OpenAI's shape.
        r = self.post("/v1/chat/completions", {"model": "claude-sonnet-4", "messages": [{"role": "user",
                      "content": "x"}]}, headers={"Authorization": f"Bearer {KEY}", "x-mock-fault": "400"})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["message"], "mock fault 400")

    def test_native_messages_server_gets_the_request_untouched(self):
        body = json.dumps(message("hi", unknown=True), separators=(",", ":")).replace("claude-local", "qwen-native")
        r = self.post("/v1/messages", body, headers=AHEADERS)
        self.assertEqual(r.status, 200, r.body)
        up = self.last_upstream(self.chat)
        self.assertEqual(up["target"], "/v1/messages")
        self.assertEqual(up["body"], body)
        self.assertEqual({k.lower(): v for k, v in up["headers"].items()}["anthropic-version"], "2023-06-01")

    # --- one model, two dialects ---

    def test_fallback_across_dialects_in_both_client_dialects(self):
        # "both" is served by the Anthropic provider first; when it fails (500, retried on the
        # next target), the OpenAI-compatible one answers, translated for either client.
        r = self.messages(dict(message("x"), model="both"), headers={"x-mock-fault": "500"})
        self.assertEqual(r.status, 500)  # both mocks fail on this header: the last answer is relayed
        dead = free_port()
        port = self.gateway(f"""
providers:
  - {{ name: gone, type: anthropic, base_url: "http://127.0.0.1:{dead}", models: ["both"] }}
  - {{ name: vllm, base_url: "http://127.0.0.1:{self.chat}/v1", models: ["both"] }}
routing:
  models:
    both: {{ targets: [ {{ provider: gone, model: claude-sonnet-4 }}, {{ provider: vllm, model: gpt-4o }} ] }}
""", workers=1)
        # One worker's round robin: the dead target first on every other request.
        for client in ("anthropic", "openai"):
            for turn in range(2):
                if client == "anthropic":
                    r = self.post("/v1/messages", dict(message("x"), model="both"),
                                  headers={"anthropic-version": "2023-06-01"}, port=port)
                    self.assertEqual(r.json()["type"], "message", r.body)
                else:
                    r = self.post("/v1/chat/completions", {"model": "both", "messages": [{"role": "user",
                                  "content": "x"}]}, port=port)
                    self.assertEqual(r.json()["object"], "chat.completion", r.body)
                self.assertEqual((r.status, r.header("x-llm-proxy-provider")), (200, "vllm"))
                if turn == 0:
                    self.assertEqual(r.header("x-llm-proxy-attempts"), "2")  # fell back from the Anthropic one
        dead2 = free_port()
        port = self.gateway(f"""
providers:
  - {{ name: gone, base_url: "http://127.0.0.1:{dead2}/v1", models: ["both"] }}
  - {{ name: claude, type: anthropic, base_url: "http://127.0.0.1:{self.claude}", models: ["both"] }}
routing:
  models:
    both: {{ targets: [ {{ provider: gone, model: gpt-4o }}, {{ provider: claude, model: claude-sonnet-4 }} ] }}
""", workers=1)
        r = self.post("/v1/chat/completions", {"model": "both", "messages": [{"role": "user", "content": "x"}]},
                      port=port)
        self.assertEqual((r.status, r.header("x-llm-proxy-provider")), (200, "claude"), r.body)
        self.assertEqual(r.header("x-llm-proxy-attempts"), "2")
        self.assertEqual(r.json()["choices"][0]["message"]["content"], "Hello tok1 tok2 tok3")
        self.post("/v1/messages", dict(message("x"), model="both"), headers={"anthropic-version": "2023-06-01"},
                  port=port)  # (straight to claude: round robin)
        r = self.post("/v1/messages", dict(message("x"), model="both"), headers={"anthropic-version": "2023-06-01"},
                      port=port)
        self.assertEqual((r.status, r.json()["id"], r.header("x-llm-proxy-attempts")), (200, "msg_mock", "2"),
                         r.body)


if __name__ == "__main__":
    unittest.main()
