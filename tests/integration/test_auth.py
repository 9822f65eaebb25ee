"""API keys from the config: the three header forms, 401/403 answers, model and IP allow-lists,
X-Forwarded-For from trusted proxies only, open health/metrics, masked keys in the access log."""
import json
import os
import time
import unittest

from harness import CHAT, GatewayTest, eventually, raw_exchange


class Auth(GatewayTest):
    def setUp(self):
        super().setUp()
        self.up = self.mock("m1")
        self.log_path = os.path.join(self.tmp.name, "access.log")
        self.gateway(f"""
server: {{ trusted_proxies: ["127.0.0.1/32"] }}
providers:
  - {{ name: m, base_url: "http://127.0.0.1:{self.up}/v1", models: ["gpt-4o", "gpt-4o-mini", "claude-3"],
       api_key: sk-upstream-secret }}
auth:
  keys:
    - {{ key: sk-team-a-123456789, name: team-a, user_id: u-1, allowed_models: ["gpt-*"] }}
    - {{ key: sk-disabled-0000000, name: gone, status: disabled }}
    - {{ key: sk-expired-0000000, name: old, expires_at: "2020-01-01T00:00:00Z" }}
    - {{ key: sk-office-000000000, name: office, allowed_ips: ["10.20.0.0/16"] }}
    - {{ key: sk-open-00000000000, name: open }}
    - {{ key: sk-files-admin-0000, name: files-admin, allowed_models: ["gpt-4o"],
         allowed_endpoints: ["/v1/files*", "DELETE /v1/files/*"] }}
    - {{ key: sk-audio-0000000000, name: audio, allowed_models: ["gpt-*"], allowed_endpoints: ["/v1/audio/*"] }}
routing: {{ default_model: gpt-4o }}  # pass-through paths carry no model
logging: {{ access_log: "{self.log_path}" }}
""")

    def auth(self, key):
        return {"Authorization": f"Bearer {key}"}

    def test_header_forms(self):
        for h in ({"Authorization": "Bearer sk-team-a-123456789"}, {"x-api-key": "sk-team-a-123456789"},
                  {"api-key": "sk-team-a-123456789"}):
            self.assertEqual(self.post("/v1/chat/completions", CHAT, headers=h).status, 200, h)

    def test_401_and_403(self):
        r = self.post("/v1/chat/completions", CHAT)
        self.assertOpenAIError(r, 401, "invalid_api_key")
        r = self.post("/v1/chat/completions", CHAT, headers=self.auth("sk-wrong-0000000000"))
        self.assertOpenAIError(r, 401, "invalid_api_key")
        self.assertNotIn("sk-wrong-0000000000", r.body.decode())
        self.assertOpenAIError(self.post("/v1/chat/completions", CHAT, headers=self.auth("sk-disabled-0000000")),
                               403, "api_key_disabled")
        self.assertOpenAIError(self.post("/v1/chat/completions", CHAT, headers=self.auth("sk-expired-0000000")),
                               403, "api_key_expired")
        self.assertOpenAIError(self.post("/v1/chat/completions", dict(CHAT, model="claude-3"),
                                         headers=self.auth("sk-team-a-123456789")), 403, "model_not_allowed")
        self.assertOpenAIError(self.post("/v1/chat/completions", CHAT, headers=self.auth("sk-office-000000000")),
                               403, "ip_not_allowed")
        self.assertEqual(self.mock_json(self.up, "/mock/stats")["requests"], 0)  # none got through

    def raw_post(self, path, body, content_type, extra=""):
        data = body.encode()
        req = (f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-team-a-123456789\r\n"
               f"Content-Type: {content_type}\r\n{extra}Content-Length: {len(data)}\r\nConnection: close\r\n\r\n")
        return raw_exchange(self.gw_port, req.encode() + data)

    def test_a_content_type_does_not_skip_the_model_acl(self):
        # Hardening #14.3: a "multipart/" in the Content-Type used to skip the scan, so routing
        # and allowed_models ran on default_model while the upstream ran the body's model.
        body = json.dumps(dict(CHAT, model="claude-3"))
        for ctype, extra in (('application/json; x="multipart/"', ""),
                             ("multipart/form-data; boundary=x", ""),
                             ("multipart/form-data; boundary=x", "Connection: content-type\r\n"),
                             ("text/plain", "")):
            data = self.raw_post("/v1/chat/completions", body, ctype, extra)
            self.assertTrue(data.startswith(b"HTTP/1.1 403"), (ctype, extra, data[:300]))
            self.assertIn(b"model_not_allowed", data)
        # Pass-through paths are scanned whenever the body is JSON, whatever it is labelled.
        data = self.raw_post("/v1/some/other", body, "multipart/form-data; boundary=x")
        self.assertTrue(data.startswith(b"HTTP/1.1 403"), data[:300])
        # A JSON endpoint refuses what is not JSON, whatever the Content-Type says.
        data = self.raw_post("/v1/chat/completions", "--x\r\nContent-Disposition: form-data; name=model\r\n\r\n"
                             "claude-3\r\n--x--\r\n", "multipart/form-data; boundary=x")
        self.assertTrue(data.startswith(b"HTTP/1.1 400"), data[:300])
        self.assertIn(b"invalid_json", data)
        self.assertEqual(self.mock_json(self.up, "/mock/stats")["requests"], 0)  # none got through
        # The Connection header cannot take Content-Type away from what the upstream sees.
        data = self.raw_post("/v1/chat/completions", json.dumps(CHAT), "application/json", "Connection: content-type\r\n")
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:300])
        h = {k.lower(): v for k, v in self.mock_json(self.up, "/mock/last")["headers"].items()}
        self.assertEqual(h.get("content-type"), "application/json")

    def test_a_multipart_uploads_model_is_checked(self):
        # Hardening #14.3: "a model the ACL did not see is never forwarded", multipart included.
        def upload(*models):
            parts = "".join(f'--XyZ\r\nContent-Disposition: form-data; name="model"\r\n\r\n{m}\r\n' for m in models)
            body = ('--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
                    "Content-Type: audio/wav\r\n\r\nRIFF0000\r\n" + parts + "--XyZ--\r\n")
            req = (f"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-audio-0000000000\r\n"
                   f"Content-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {len(body)}\r\n"
                   f"Connection: close\r\n\r\n{body}")
            return raw_exchange(self.gw_port, req.encode())

        data = upload("claude-3")
        self.assertTrue(data.startswith(b"HTTP/1.1 403"), data[:300])
        self.assertIn(b"model_not_allowed", data)
        data = upload("gpt-4o", "claude-3")
        self.assertTrue(data.startswith(b"HTTP/1.1 400"), data[:300])
        self.assertIn(b"invalid_multipart", data)
        self.assertEqual(self.mock_json(self.up, "/mock/stats")["requests"], 0)
        data = upload("gpt-4o")
        self.assertIn(b"x-llm-proxy-provider: m", data)  # relayed (the mock itself only reads JSON)
        self.assertIn(b"RIFF0000", self.mock_json(self.up, "/mock/last")["body"].encode())  # forwarded unchanged

    def test_a_refused_key_gets_no_100_continue(self):
        # Hardening #14.12: refuse first; 100 Continue would invite a body that is then refused.
        body = json.dumps(CHAT)
        data = self.raw_post("/v1/chat/completions", body, "application/json", "Expect: 100-continue\r\n")
        self.assertTrue(data.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200"), data[:200])  # an allowed key gets one...
        req = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-wrong-0000000000\r\n"
               f"Content-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: {len(body)}\r\n\r\n")
        data = raw_exchange(self.gw_port, req.encode(), timeout=3)
        self.assertTrue(data.startswith(b"HTTP/1.1 401"), data[:200])  # ...a refused one only its 401
        self.assertNotIn(b"100 Continue", data)

    def test_pass_through_is_granted_per_key(self):
        # Hardening #14.8: pass-through reaches the provider's whole account with its key.
        def call(method, path, key):
            return self.request(method, path, headers=self.auth(key)).status

        self.assertEqual(call("GET", "/v1/files", "sk-team-a-123456789"), 403)  # model-limited: none by default
        r = self.request("GET", "/v1/batches?limit=1", headers=self.auth("sk-team-a-123456789"))
        self.assertOpenAIError(r, 403, "endpoint_not_allowed")
        self.assertEqual(call("DELETE", "/v1/files/file-other-tenant", "sk-open-00000000000"), 403)  # DELETE: never by default
        self.assertEqual(self.mock_json(self.up, "/mock/stats")["requests"], 0)  # none reached the provider
        self.assertEqual(call("GET", "/v1/files", "sk-open-00000000000"), 200)  # no model limits: the rest is open
        self.assertEqual(call("GET", "/v1/files?purpose=batch", "sk-files-admin-0000"), 200)
        self.assertEqual(call("DELETE", "/v1/files/file-1", "sk-files-admin-0000"), 200)  # granted explicitly
        self.assertEqual(call("GET", "/v1/batches", "sk-files-admin-0000"), 403)  # not in its grants
        self.assertEqual(self.mock_json(self.up, "/mock/stats")["requests"], 3)

    def test_account_headers_are_not_forwarded(self):
        h = dict(self.auth("sk-team-a-123456789"), **{"OpenAI-Organization": "org-other", "OpenAI-Project": "proj-x"})
        self.assertEqual(self.post("/v1/chat/completions", CHAT, headers=h).status, 200)
        got = {k.lower() for k in self.mock_json(self.up, "/mock/last")["headers"]}
        self.assertNotIn("openai-organization", got)
        self.assertNotIn("openai-project", got)

    def test_forwarded_for_from_trusted_proxy(self):
        h = dict(self.auth("sk-office-000000000"), **{"X-Forwarded-For": "10.20.3.4"})
        self.assertEqual(self.post("/v1/chat/completions", CHAT, headers=h).status, 200)

    def test_models_list_is_filtered_and_open_endpoints(self):
        r = self.request("GET", "/v1/models", headers=self.auth("sk-team-a-123456789"))
        self.assertEqual([m["id"] for m in r.json()["data"]], ["gpt-4o", "gpt-4o-mini"])
        self.assertOpenAIError(self.request("GET", "/v1/models"), 401)
        self.assertEqual(self.request("GET", "/health").status, 200)
        self.assertEqual(self.request("GET", "/metrics").status, 200)

    def test_client_key_never_forwarded_and_log_is_masked(self):
        r = self.post("/v1/chat/completions", CHAT, headers=dict(self.auth("sk-team-a-123456789"),
                                                                 **{"X-Request-ID": "auth-log-1"}))
        self.assertEqual(r.status, 200)
        h = {k.lower(): v for k, v in self.mock_json(self.up, "/mock/last")["headers"].items()}
        self.assertEqual(h["authorization"], "Bearer sk-upstream-secret")
        deadline = time.time() + 5
        entry = None
        while time.time() < deadline and entry is None:
            with open(self.log_path) as f:
                for line in f:
                    if '"auth-log-1"' in line:
                        entry = json.loads(line)
            time.sleep(0.05)
        self.assertEqual(entry["key_name"], "team-a")
        self.assertEqual(entry["user_id"], "u-1")
        self.assertEqual(entry["api_key"], "sk-...6789")
        with open(self.log_path) as f:
            text = f.read()
        self.assertNotIn("sk-team-a-123456789", text)
        self.assertNotIn("sk-upstream-secret", text)



class Limits(GatewayTest):
    def setUp(self):
        super().setUp()
        self.up = self.mock("m1")
        self.gateway(f"""
providers:
  - {{ name: m, base_url: "http://127.0.0.1:{self.up}/v1" }}
auth:
  keys:
    - {{ key: sk-rpm-00000000000, name: rpm, rate_limit: {{ requests_per_minute: 5 }} }}
    - {{ key: sk-conc-0000000000, name: conc, rate_limit: {{ max_concurrent: 2 }} }}
    - {{ key: sk-tpm-00000000000, name: tpm, rate_limit: {{ tokens_per_minute: 250 }} }}
logging: {{ access_log: "off" }}
""")

    def test_requests_per_minute(self):
        h = {"Authorization": "Bearer sk-rpm-00000000000"}
        for i in range(5):
            self.assertEqual(self.post("/v1/chat/completions", CHAT, headers=h).status, 200, i)
        r = self.post("/v1/chat/completions", CHAT, headers=h)
        self.assertOpenAIError(r, 429, "rate_limit_exceeded")
        self.assertEqual(r.header("x-ratelimit-limit-requests"), "5")
        self.assertEqual(r.header("x-ratelimit-remaining-requests"), "0")
        self.assertTrue(r.header("x-ratelimit-reset-requests"))
        self.assertGreaterEqual(int(r.header("retry-after")), 1)
        time.sleep(0.1)
        text = self.request("GET", "/metrics").body.decode()
        self.assertIn('llm_proxy_rate_limited_total{reason="key_rpm"} 1', text)
        self.assertEqual(self.mock_json(self.up, "/mock/stats")["requests"], 5)

    def test_max_concurrent_streams(self):
        from test_streaming import open_stream, read_until
        key = b"Authorization: Bearer sk-conc-0000000000\r\n"
        streams = [open_stream(self.gw_port, chunks=40, delay_ms=50, extra_headers=key) for _ in range(2)]
        try:
            for s in streams:
                read_until(s, b"Hello")
            r = self.post("/v1/chat/completions", CHAT, headers={"Authorization": "Bearer sk-conc-0000000000"})
            self.assertOpenAIError(r, 429, "rate_limit_exceeded")
        finally:
            for s in streams:
                s.close()
        deadline = time.time() + 3
        status = 0
        while time.time() < deadline and status != 200:  # slots come back when the streams end
            status = self.post("/v1/chat/completions", CHAT, headers={"Authorization": "Bearer sk-conc-0000000000"}).status
            time.sleep(0.05)
        self.assertEqual(status, 200)

    def test_tokens_per_minute_admits_on_estimate_then_corrects(self):
        h = {"Authorization": "Bearer sk-tpm-00000000000"}
        body = dict(CHAT, max_tokens=150)  # estimate ~170; the mock reports ~15 real tokens
        self.assertEqual(self.post("/v1/chat/completions", body, headers=h).status, 200)
        # Without the correction, 2 x 170 > 250 would be refused. The correction lands when the
        # first request finishes, just after its last byte reached us (a refusal charges nothing,
        # so asking again until then is harmless).
        self.assertTrue(eventually(lambda: self.post("/v1/chat/completions", body, headers=h).status == 200,
                                   timeout=2))
        big = dict(CHAT, max_tokens=1000)
        self.assertOpenAIError(self.post("/v1/chat/completions", big, headers=h), 429, "rate_limit_exceeded")

    def test_one_number_cannot_reset_the_tpm_limit(self):
        # Hardening #14.4: max_tokens of 1e11 overflowed the GCRA arithmetic: admitted with the
        # bucket full, and left empty when the upstream refused it.
        h = {"Authorization": "Bearer sk-tpm-00000000000"}
        for bad in (1e11, 100000000000, 2 ** 63, -5, 2.5, 1e300):
            r = self.post("/v1/chat/completions", dict(CHAT, max_tokens=bad), headers=h)
            self.assertOpenAIError(r, 400, "invalid_value")
            self.assertEqual(r.json()["error"]["param"], "max_tokens")
        # Valid, but more than the whole bucket: never admissible, and said so.
        r = self.post("/v1/chat/completions", dict(CHAT, max_tokens=2_000_000_000), headers=h)
        self.assertOpenAIError(r, 429, "rate_limit_exceeded")
        self.assertIn("can never be admitted", r.json()["error"]["message"])
        self.assertEqual(self.mock_json(self.up, "/mock/stats")["requests"], 0)
        # The bucket is untouched: ~110 + ~110 tokens fit in 250 at once (the correction to the
        # real usage lands only when each request ends), a third does not.
        body = dict(CHAT, max_tokens=100.0)  # an integer written as a float is accepted
        self.assertEqual(self.post("/v1/chat/completions", body, headers=h).status, 200)
        self.assertEqual(self.post("/v1/chat/completions", body, headers=h).status, 200)


if __name__ == "__main__":
    unittest.main()
