"""Clients that try to make the gateway spend memory for them: request bodies are read only after
the head passed auth (a keyless upload costs nothing), the bodies held at once are bounded per
worker (503 server_busy beyond), and memory freed after a burst of uploads goes back to the OS."""
import json
import socket
import threading
import time

from harness import CHAT, GatewayTest, eventually

KEY = "sk-hostile-test-0000000000"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def read_response(s, timeout=3.0):
    """Reads one response (head + Content-Length body) from socket s; returns (head, body)."""
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return head.decode("latin-1"), body


class HostileClients(GatewayTest):
    def start(self, server_extra="", workers=1):
        self.up = self.mock("m1")
        return self.gateway(f"""
server: {{ {server_extra} }}
providers: [ {{ name: m, base_url: "http://127.0.0.1:{self.up}/v1", models: ["gpt-4o"] }} ]
auth:
  keys:
    - {{ key: {KEY}, name: t }}
""", workers=workers)

    def upload_head(self, length, key=None, extra=""):
        auth = f"Authorization: Bearer {key}\r\n" if key else ""
        return (f"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{auth}"
                f"Content-Length: {length}\r\n{extra}\r\n").encode()

    def test_keyless_upload_is_refused_on_its_head(self):
        self.start()
        for extra in ("", "Expect: 100-continue\r\n"):
            s = socket.create_connection(("127.0.0.1", self.gw_port), timeout=3)
            try:
                s.sendall(self.upload_head(30 << 20, extra=extra))  # announces 30 MiB, sends none of it
                started = time.time()
                head, body = read_response(s)
                self.assertLess(time.time() - started, 1.0)
                self.assertTrue(head.startswith("HTTP/1.1 401"), head)
                self.assertIn("connection: close", head.lower())
                self.assertNotIn("100 Continue", head)
                self.assertEqual(json.loads(body)["error"]["code"], "invalid_api_key")
            finally:
                s.close()

    def test_refusal_with_a_small_body_keeps_the_connection(self):
        self.start()
        body = json.dumps(CHAT).encode()
        s = socket.create_connection(("127.0.0.1", self.gw_port), timeout=3)
        try:
            s.sendall(self.upload_head(len(body), key="sk-wrong-key-000000") + body)
            head, _ = read_response(s)
            self.assertTrue(head.startswith("HTTP/1.1 401"), head)
            self.assertNotIn("connection: close", head.lower())
            s.sendall(self.upload_head(len(body), key=KEY) + body)  # same connection
            head, reply = read_response(s)
            self.assertTrue(head.startswith("HTTP/1.1 200"), head)
            self.assertIn("choices", json.loads(reply))
        finally:
            s.close()

    def test_keyless_uploads_cost_no_memory(self):
        self.start()
        time.sleep(0.5)  # the tokenizer loads in the background at start
        before = rss_kib(self.gw_proc.pid)
        chunk = b"x" * (1 << 20)

        def upload():
            s = socket.create_connection(("127.0.0.1", self.gw_port), timeout=5)
            try:
                s.sendall(self.upload_head(30 << 20))
                for _ in range(30):
                    s.sendall(chunk)
            except OSError:
                pass  # refused and closed while we were still sending: expected
            finally:
                s.close()

        threads = [threading.Thread(target=upload) for _ in range(16)]
        peak = before
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            peak = max(peak, rss_kib(self.gw_proc.pid))
            time.sleep(0.01)
        for t in threads:
            t.join(timeout=10)
        self.assertLess(peak - before, 16 * 1024, (before, peak))  # 16 x 30 MiB were offered

    def test_bodies_in_flight_are_bounded_per_worker(self):
        self.start("max_body_bytes: 4MiB, max_body_memory: 8MiB")
        # A holds 4 MiB of the worker's 8 MiB by announcing it and sending it slowly.
        a = socket.create_connection(("127.0.0.1", self.gw_port), timeout=5)
        b = None
        try:
            a.sendall(self.upload_head(4 << 20, key=KEY) + b'{"model":"gpt-4o","messages":[],"x":"')
            time.sleep(0.3)
            b = socket.create_connection(("127.0.0.1", self.gw_port), timeout=5)
            b.sendall(self.upload_head(4 << 20, key=KEY))
            head, body = read_response(b)
            self.assertTrue(head.startswith("HTTP/1.1 503"), head)
            self.assertIn("retry-after: 1", head.lower())
            self.assertEqual(json.loads(body)["error"]["code"], "server_busy")
            # A small request still fits beside A.
            self.assertEqual(self.post("/v1/chat/completions", CHAT, headers={"Authorization": f"Bearer {KEY}"}).status, 200)
        finally:
            a.close()
            if b:
                b.close()
        # A is gone: its share is back.
        big = dict(CHAT, pad="y" * (3 << 20))
        self.assertTrue(eventually(lambda: self.post("/v1/chat/completions", big,
                                                      headers={"Authorization": f"Bearer {KEY}"}).status == 200))

    def test_memory_goes_back_after_a_burst_of_uploads(self):
        self.start("max_body_bytes: 24MiB, max_body_memory: 512MiB", workers=2)
        time.sleep(0.5)
        before = rss_kib(self.gw_proc.pid)
        big = json.dumps(dict(CHAT, model="no-such-model", pad="z" * (20 << 20)))
        codes = []

        def one():
            codes.append(self.post("/v1/chat/completions", big, headers={"Authorization": f"Bearer {KEY}"}).status)

        for _ in range(2):
            threads = [threading.Thread(target=one) for _ in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
        self.assertEqual(codes, [404] * 16)
        # 8 x 20 MiB were held at the peak; afterwards the gateway is back near where it was.
        self.assertTrue(eventually(lambda: rss_kib(self.gw_proc.pid) - before < 24 * 1024, timeout=3),
                        (before, rss_kib(self.gw_proc.pid)))
