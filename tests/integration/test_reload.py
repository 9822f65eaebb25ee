"""Configuration reload (SIGHUP): a new snapshot is published and picked up by every worker
between requests; requests in flight finish on the snapshot they started with; provider health,
pools and balancers carry over by name; a file that does not validate keeps the running config."""
import http.client
import json
import signal
import threading
import time

from harness import CHAT, GatewayTest, eventually

STREAM = dict(CHAT, stream=True)


class Reload(GatewayTest):
    def config(self, with_b, key="sk-reload-one-00000000", weight=1):
        b = (f'  - {{ name: b, base_url: "http://127.0.0.1:{self.m2}/v1", weight: {weight} }}\n' if with_b else "")
        return f"""
providers:
  - {{ name: a, base_url: "http://127.0.0.1:{self.m1}/v1" }}
{b}
routing: {{ strategy: round_robin }}
auth:
  keys:
    - {{ key: {key}, name: k }}
"""

    def setUp(self):
        super().setUp()
        self.m1 = self.mock("m1")
        self.m2 = self.mock("m2")

    def start(self, text, workers=2):
        port = self.gateway(text, workers=workers)
        self.path = self.procs[-1][0].args[2]  # --config <path>
        return port

    def rewrite(self, text):
        with open(self.path, "w") as f:
            f.write(text)
        self.gw_proc.send_signal(signal.SIGHUP)

    def chat(self, key="sk-reload-one-00000000", body=CHAT, headers=None):
        h = {"Authorization": f"Bearer {key}"}
        h.update(headers or {})
        return self.post("/v1/chat/completions", body, headers=h)

    def test_twenty_swaps_under_streaming_load_fail_nothing(self):
        self.start(self.config(False))
        stop = time.time() + 6
        errors, done, providers = [], [0], set()
        lock = threading.Lock()

        def client():
            conn = http.client.HTTPConnection("127.0.0.1", self.gw_port, timeout=10)
            try:
                while time.time() < stop:
                    conn.request("POST", "/v1/chat/completions", body=json.dumps(STREAM),
                                 headers={"Authorization": "Bearer sk-reload-one-00000000",
                                          "Content-Type": "application/json", "x-mock-chunks": "8",
                                          "x-mock-chunk-delay-ms": "25"})
                    r = conn.getresponse()
                    body = r.read()
                    with lock:
                        if r.status != 200 or b"data: [DONE]" not in body:
                            errors.append((r.status, body[-200:]))
                        else:
                            done[0] += 1
                            providers.add(r.getheader("x-llm-proxy-provider"))
            except Exception as e:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(repr(e))
            finally:
                conn.close()

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        for i in range(20):
            time.sleep(0.25)
            self.rewrite(self.config(i % 2 == 0, weight=1 + i % 3))
        for t in threads:
            t.join(timeout=30)
        self.assertEqual(errors, [])
        self.assertGreater(done[0], 50)
        self.assertEqual(providers, {"a", "b"})  # both configurations served
        self.assertEqual(self.request("GET", "/health").status, 200)

    def test_new_keys_and_providers_apply_and_bad_files_are_refused(self):
        self.start(self.config(False))
        self.assertEqual(self.chat().status, 200)
        self.assertEqual(self.chat(key="sk-reload-two-00000000").status, 401)
        self.rewrite(self.config(True, key="sk-reload-two-00000000"))
        self.assertTrue(eventually(lambda: self.chat(key="sk-reload-two-00000000").status == 200))
        self.assertEqual(self.chat().status, 401)  # the old key is gone with the old config
        seen = {self.chat(key="sk-reload-two-00000000").header("x-llm-proxy-provider") for _ in range(6)}
        self.assertEqual(seen, {"a", "b"})
        # A file that does not validate: the running configuration stays.
        with open(self.path, "w") as f:
            f.write("providers: [ { name: a, base_url: 12 } ]\nnot_a_section: 1\n")
        self.gw_proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        self.assertEqual(self.chat(key="sk-reload-two-00000000").status, 200)
        self.assertIsNone(self.gw_proc.poll())

    def test_body_memory_applies_and_start_only_settings_are_named(self):
        # Hardening #14.10: a reload ignored server.max_body_memory and usage_hook silently.
        import socket
        base = self.config(False).replace("providers:", "server: { max_body_bytes: 1MiB, max_body_memory: %s }\nproviders:")
        self.start(base % "64MiB", workers=1)
        head = ("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-reload-one-00000000\r\n"
                "Content-Type: application/json\r\nContent-Length: 900000\r\n\r\n").encode()

        def second_while_first_holds():
            a = socket.create_connection(("127.0.0.1", self.gw_port), timeout=5)
            b = socket.create_connection(("127.0.0.1", self.gw_port), timeout=5)
            try:
                a.sendall(head + b'{"model":"gpt-4o","messages":[],"x":"' + b"a" * 800000)  # held, not finished
                time.sleep(0.3)
                prefix = b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"x":"'
                b.sendall(head + prefix + b"b" * (900000 - len(prefix) - 2) + b'"}')  # exactly 900000 bytes
                b.settimeout(5)
                return b.recv(100)
            except OSError:
                return b"closed"
            finally:
                a.close()
                b.close()

        self.assertTrue(second_while_first_holds().startswith(b"HTTP/1.1 200"))
        self.rewrite(base % "1MiB" + "usage_hook: { url: 'http://127.0.0.1:9/usage' }\n")
        self.assertTrue(eventually(lambda: second_while_first_holds().startswith(b"HTTP/1.1 503")))
        with open(self.procs[-1][1]) as f:
            log = f.read()
        self.assertIn("usage_hook takes effect at the next start", log)

    def test_a_stream_on_a_removed_provider_finishes(self):
        self.start(self.config(True), workers=1)  # one balancer: round robin alternates
        results = []

        def stream_on_b():
            r = self.chat(body=STREAM, headers={"x-mock-chunks": "20", "x-mock-chunk-delay-ms": "50"})
            results.append((r.status, r.header("x-llm-proxy-provider"), r.body))

        # Round robin: two streams, one of them on b.
        threads = [threading.Thread(target=stream_on_b) for _ in range(2)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        self.rewrite(self.config(False))  # b is removed while its stream runs
        for t in threads:
            t.join(timeout=20)
        self.assertEqual(sorted(p for _, p, _ in results), ["a", "b"])
        for status, _, body in results:
            self.assertEqual(status, 200)
            self.assertIn(b"data: [DONE]", body)
        self.assertTrue(eventually(lambda: {self.chat().header("x-llm-proxy-provider") for _ in range(4)} == {"a"}))
