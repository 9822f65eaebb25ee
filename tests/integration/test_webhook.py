"""Usage webhook: events with the LLMProxy fields and an HMAC signature; nothing lost while the
receiver is down (spooled, then replayed), and a spool left at shutdown is delivered after a
restart. Receivers de-duplicate by event_id (at-least-once)."""
import hashlib
import hmac
import json
import os
import signal
import socket
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import CHAT, GatewayTest, eventually, free_port

SECRET = "whsec-test"


class Receiver:
    def __init__(self, port, delay=0.0, keep_alive=False, reply=b"", status_for=None):
        self.connections = 0  # TCP connections accepted
        self.refused = []  # events of POSTs answered with something else than 200
        self.sockets = []
        self.events = []
        self.bad_signatures = 0
        self.posts = []  # (Idempotency-Key, [event ids], status) of every POST, in order
        self.in_flight = self.max_in_flight = 0  # POSTs being handled at once
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0 (the default) closes after each answer; HTTP/1.1 keeps the connection.
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def setup(self):
                super().setup()
                with outer.lock:
                    outer.connections += 1
                    outer.sockets.append(self.connection)

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with outer.lock:
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                if delay:
                    time.sleep(delay)  # a slow receiver
                with outer.lock:
                    outer.in_flight -= 1
                want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                payload = json.loads(body)
                events = payload if isinstance(payload, list) else [payload]
                status = status_for(events) if status_for else 200
                with outer.lock:
                    outer.posts.append((self.headers.get("Idempotency-Key"), [e.get("event_id") for e in events],
                                        status))
                    if self.headers.get("X-LLM-Proxy-Signature") != want:
                        outer.bad_signatures += 1
                    if status == 200:
                        outer.events += events
                    else:
                        outer.refused += events
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def ids(self):
        with self.lock:
            return {e["request_id"] for e in self.events}

    def stop(self):
        """As a receiver that exits: the listener and every connection it kept close."""
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


class Webhook(GatewayTest):
    def setUp(self):
        super().setUp()
        self.up = self.mock("m1")
        self.hook_port = free_port()
        self.spool = os.path.join(self.tmp.name, "spool")
        self.receivers = []

    def tearDown(self):
        for r in self.receivers:
            r.stop()
        super().tearDown()

    def receiver(self, delay=0.0, keep_alive=False, reply=b"", status_for=None):
        r = Receiver(self.hook_port, delay, keep_alive, reply, status_for)
        self.receivers.append(r)
        return r

    def start_gateway(self, batch=1, extra_hook="", spool=None):
        if spool:
            self.spool = spool
        return self.gateway(f"""
providers:
  - {{ name: m, base_url: "http://127.0.0.1:{self.up}/v1" }}
auth:
  keys: [ {{ key: sk-hook-user-123456, name: billing-test, user_id: u-42 }} ]
usage_hook:
  url: "http://127.0.0.1:{self.hook_port}/usage"
  timeout: 500ms
  retry: 1
  backoff: 300ms
  batch_size: {batch}
  secret: "{SECRET}"
  spool_dir: "{self.spool}"
{extra_hook}
logging: {{ access_log: "off" }}
""")

    def send(self, n, stream_every=0, first=0):
        def one(i):
            body = dict(CHAT, stream=bool(stream_every and i % stream_every == 0))
            r = self.post("/v1/chat/completions", body, headers={"Authorization": "Bearer sk-hook-user-123456",
                                                                  "X-Request-ID": f"evt-{os.getpid()}-{i}"})
            self.assertEqual(r.status, 200)
            return f"evt-{os.getpid()}-{i}"
        with ThreadPoolExecutor(8) as pool:
            return set(pool.map(one, range(first, first + n)))

    def test_request_body_in_events_is_redacted_like_the_request_log(self):
        rec = self.receiver()
        self.start_gateway(extra_hook="  include_request_body: true")
        body = dict(CHAT, user="alice", metadata={"api_key": "sk-live-abcdefghijklmnop1234", "password": "hunter2"},
                    messages=[{"role": "user", "content": "my key is sk-proj-ZYXWVUTSRQPONMLK9876 ok"}])
        r = self.post("/v1/chat/completions", body, headers={"Authorization": "Bearer sk-hook-user-123456",
                                                              "X-Request-ID": "evt-redact-1"})
        self.assertEqual(r.status, 200)
        self.assertTrue(eventually(lambda: "evt-redact-1" in rec.ids()))
        e = next(ev for ev in rec.events if ev["request_id"] == "evt-redact-1")
        text = e["request_body"]
        self.assertNotIn("hunter2", text)
        self.assertNotIn("sk-live-abcdefghijklmnop1234", text)
        self.assertNotIn("ZYXWVUTSRQPONMLK9876", text)
        self.assertIn("my key is", text)  # the rest of the prompt is kept

    def metrics(self):
        text = self.request("GET", "/metrics").body.decode()
        values = {}
        for line in text.splitlines():
            if line.startswith("llm_proxy_webhook"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def test_slow_receiver_spills_to_the_spool_and_loses_nothing(self):
        # 200 ms per POST of 20, one at a time: 100 events/s at most, slower than the gateway
        # produces them even under AddressSanitizer, so the backlog passes the 1,000 in memory.
        rec = self.receiver(delay=0.2)
        self.start_gateway(batch=20, extra_hook="  concurrency: 1")
        sent = self.send(1500)
        self.assertTrue(eventually(lambda: rec.ids() >= sent, timeout=60), len(sent - rec.ids()))
        m = self.metrics()
        self.assertEqual(m['llm_proxy_webhook_deliveries_total{result="dropped"}'], 0)
        self.assertGreater(m['llm_proxy_webhook_deliveries_total{result="spooled"}'], 0)  # the backlog went to disk

    def test_slow_receiver_gets_bounded_concurrent_posts(self):
        rec = self.receiver(delay=0.2)
        self.start_gateway(extra_hook="  concurrency: 3")
        sent = self.send(60)
        started = time.time()
        self.assertTrue(eventually(lambda: rec.ids() >= sent, timeout=30), len(sent - rec.ids()))
        # 60 POSTs of 200 ms: 12 s one at a time; three at a time, never more.
        self.assertEqual(rec.max_in_flight, 3)
        self.assertLess(time.time() - started, 8)
        self.assertEqual(self.metrics()['llm_proxy_webhook_deliveries_total{result="dropped"}'], 0)

    def test_keep_alive_receiver_gets_its_posts_on_a_few_connections(self):
        rec = self.receiver(keep_alive=True)
        self.start_gateway(extra_hook="  concurrency: 2")
        sent = self.send(80)
        self.assertTrue(eventually(lambda: rec.ids() >= sent, timeout=20), len(sent - rec.ids()))
        # One POST per event (batch_size 1), on at most `concurrency` kept-alive connections.
        self.assertGreaterEqual(len(rec.events), 80)
        self.assertLessEqual(rec.connections, 2)
        # The receiver restarts (its connections die while idle in the pool): nothing is lost.
        rec.stop()
        rec2 = self.receiver(keep_alive=True)
        more = self.send(10, first=1000)
        self.assertTrue(eventually(lambda: rec2.ids() >= more, timeout=20), len(more - rec2.ids()))
        m = self.metrics()
        self.assertEqual(m['llm_proxy_webhook_deliveries_total{result="dropped"}'], 0)
        # A connection the old receiver closed is never counted as a failed delivery.
        self.assertEqual(m['llm_proxy_webhook_deliveries_total{result="failure"}'], 0)

    def test_a_2xx_with_a_large_body_counts_as_delivered_once(self):
        rec = self.receiver(keep_alive=True, reply=b"x" * (100 << 10))  # past the 64 KiB read cap
        self.start_gateway()
        sent = self.send(5)
        self.assertTrue(eventually(lambda: rec.ids() >= sent, timeout=10), len(sent - rec.ids()))
        time.sleep(1)  # a retry would arrive within the backoff
        self.assertEqual(len(rec.events), 5)  # each once: the 2xx decided, not the oversized body
        self.assertEqual(self.metrics()['llm_proxy_webhook_deliveries_total{result="failure"}'], 0)

    def test_unwritable_spool_keeps_events_and_says_so(self):
        blocker = os.path.join(self.tmp.name, "not-a-dir")
        with open(blocker, "w") as f:
            f.write("a file where the spool directory should be")
        self.start_gateway(spool=os.path.join(blocker, "spool"))  # receiver down, spool unwritable
        sent = self.send(20)
        self.assertTrue(eventually(lambda: self.metrics().get("llm_proxy_webhook_spool_failing") == 1, timeout=10))
        health = self.request("GET", "/health").json()
        self.assertEqual(health["status"], "degraded")
        self.assertIn("spool", json.dumps(health))
        self.assertEqual(self.metrics()['llm_proxy_webhook_deliveries_total{result="dropped"}'], 0)
        rec = self.receiver()  # the receiver comes back: what was kept in memory is delivered
        self.assertTrue(eventually(lambda: rec.ids() >= sent, timeout=20), len(sent - rec.ids()))

    def test_event_fields_and_signature(self):
        rec = self.receiver()
        self.start_gateway()
        sent = self.send(3, stream_every=3)
        self.assertTrue(eventually(lambda: rec.ids() >= sent))
        e = next(ev for ev in rec.events if ev["is_stream"])
        self.assertEqual(e["user_id"], "u-42")
        self.assertEqual(e["key_name"], "billing-test")
        self.assertEqual(e["api_key"], "sk-...3456")
        self.assertEqual(e["provider"], "m")
        self.assertEqual(e["endpoint"], "/v1/chat/completions")
        self.assertEqual(e["status_code"], 200)
        self.assertEqual(e["usage"]["completion_tokens"], 5)  # metered from the stream
        self.assertIn("timestamp", e)
        self.assertEqual(rec.bad_signatures, 0)
        # Hardening #14.7: the de-duplication key is the gateway's, not the client's X-Request-ID.
        for _ in range(2):
            r = self.post("/v1/chat/completions", CHAT, headers={"Authorization": "Bearer sk-hook-user-123456",
                                                                  "X-Request-ID": "reused-by-the-client"})
            self.assertEqual(r.status, 200)
        self.assertTrue(eventually(lambda: sum(ev["request_id"] == "reused-by-the-client" for ev in rec.events) == 2))
        event_ids = [ev["event_id"] for ev in rec.events]
        self.assertEqual(len(set(event_ids)), len(event_ids))  # one per event, all different
        self.assertTrue(all(i.startswith("evt_") and len(i) == 36 for i in event_ids), event_ids)

    def test_receiver_down_30s_under_load_loses_nothing(self):
        self.start_gateway(batch=20)
        # The receiver is down for 30 s while requests keep coming: everything is spooled.
        sent = set()
        down_until = time.time() + 30
        while time.time() < down_until:
            sent |= self.send(40, stream_every=5, first=len(sent))
            time.sleep(0.2)
        rec = self.receiver()
        self.assertTrue(eventually(lambda: rec.ids() >= sent, timeout=30), len(rec.ids()))
        self.assertEqual(rec.ids(), sent)     # exactly the requests sent, after de-duplication
        self.assertEqual(rec.bad_signatures, 0)

    def test_spool_survives_restart(self):
        self.start_gateway()
        sent = self.send(20)
        self.gw_proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.gw_proc.wait(timeout=15), 0)
        self.assertGreater(os.path.getsize(os.path.join(self.spool, "usage.jsonl")), 0)
        rec = self.receiver()
        self.start_gateway()  # same spool_dir
        self.assertTrue(eventually(lambda: rec.ids() >= sent, timeout=20), len(rec.ids()))

    def test_a_refused_event_is_dead_lettered_and_the_rest_flow(self):
        # Hardening #14.6: one event the receiver refuses for good (413) used to block every
        # later one, re-sent round after round.
        def status_for(events):
            return 413 if any(e["request_id"].endswith("-3") for e in events) else 200

        rec = self.receiver(status_for=status_for)
        self.start_gateway(batch=5)
        sent = self.send(12)
        refused = {i for i in sent if i.endswith("-3")}
        self.assertTrue(eventually(lambda: rec.ids() >= sent - refused, timeout=10), sent - refused - rec.ids())
        self.assertTrue(eventually(lambda: self.metrics().get('llm_proxy_webhook_deliveries_total{result="dead_letter"}') == 1))
        with open(os.path.join(self.spool, "dead-letter.jsonl")) as f:
            dead = [json.loads(line) for line in f]
        self.assertEqual({e["request_id"] for e in dead}, refused)
        later = self.send(3, first=100)  # and the queue still flows
        self.assertTrue(eventually(lambda: rec.ids() >= later, timeout=5))
        with open(self.procs[-1][1]) as f:  # the gateway's log
            log = f.read()
        self.assertIn("answered 413", log)

    def test_a_retried_batch_keeps_its_idempotency_key(self):
        # The key is derived from the batch's events: a batch sent again (after a 503) carries
        # the key it had, and batches of other events carry other keys.
        answered = set()

        def status_for(events):
            first = events[0]["event_id"]
            if first in answered:
                return 200
            answered.add(first)
            return 503

        rec = self.receiver(status_for=status_for)
        self.start_gateway(batch=3)
        sent = self.send(9)
        self.assertTrue(eventually(lambda: rec.ids() >= sent, timeout=10), sent - rec.ids())
        with rec.lock:
            posts = list(rec.posts)
        by_events = {}
        for key, ids, _ in posts:
            self.assertRegex(key or "", r"^[0-9a-f]{64}$")
            by_events.setdefault(tuple(ids), set()).add(key)
        self.assertTrue(any(status == 503 for _, _, status in posts))
        for ids, keys in by_events.items():
            self.assertEqual(len(keys), 1, f"batch {ids} sent with different keys: {keys}")
        all_keys = [next(iter(k)) for k in by_events.values()]
        self.assertEqual(len(set(all_keys)), len(all_keys), "two different batches share a key")

    def test_a_torn_spool_line_is_quarantined(self):
        os.makedirs(self.spool)
        good = {"request_id": "spooled-good-1", "event_id": "evt_1"}, {"request_id": "spooled-good-2", "event_id": "evt_2"}
        with open(os.path.join(self.spool, "usage.jsonl"), "w") as f:
            f.write(json.dumps(good[0]) + "\n" + '{"request_id":"torn-by-a-cr' + "\n" + json.dumps(good[1]))
        rec = self.receiver()
        self.start_gateway(batch=5)
        self.assertTrue(eventually(lambda: rec.ids() >= {"spooled-good-1", "spooled-good-2"}, timeout=10), rec.ids())
        with open(os.path.join(self.spool, "dead-letter.jsonl")) as f:
            self.assertIn("torn-by-a-cr", f.read())
        sent = self.send(3)  # appended after the torn tail: not swallowed by it
        self.assertTrue(eventually(lambda: rec.ids() >= sent, timeout=5))

    def test_stop_does_not_wait_on_a_receiver_that_trickles(self):
        # Hardening #14.9: usage_hook.timeout bounds a whole POST, not each read of its answer.
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.hook_port))
        listener.listen(16)
        listener.settimeout(0.2)
        stop = threading.Event()

        def trickle():
            conns = []
            while not stop.is_set():
                try:
                    c, _ = listener.accept()
                    c.settimeout(0.05)
                    conns.append(c)
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                except OSError:
                    pass
                for c in conns:
                    try:
                        c.recv(65536)  # the POSTs (mostly nothing new: a timeout)
                    except OSError:
                        pass
                    try:
                        c.sendall(b".")  # one byte of the answer's body
                    except OSError:
                        pass
            for c in conns:
                c.close()

        t = threading.Thread(target=trickle)
        t.start()
        try:
            self.start_gateway()
            self.send(3)
            time.sleep(0.5)  # the POSTs are being answered, a byte at a time
            started = time.time()
            self.gw_proc.send_signal(signal.SIGTERM)
            self.assertEqual(self.gw_proc.wait(timeout=15), 0)
            self.assertLess(time.time() - started, 4.0)  # timeout 500 ms, retry 1
        finally:
            stop.set()
            t.join()
            listener.close()


if __name__ == "__main__":
    unittest.main()
