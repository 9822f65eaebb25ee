"""Limits shared by two llm-proxy instances through a real redis-server (rate_limit.storage:
redis): per-key rps/rpm admitted across both within 2% over 10 s, max_concurrent across both,
quota counters in Redis surviving a restart of both instances, and Redis killed or frozen
mid-run (fail_open admits, fail_closed answers 503, both recover when Redis returns)."""
import http.client
import json
import signal
import threading
import time
import unittest

from harness import CHAT, GatewayTest, eventually
from servers import RedisServer

BODY = json.dumps(CHAT).encode()


def metric_value(text, line_prefix):
    for line in text.splitlines():
        if line.startswith(line_prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


class RedisLimits(GatewayTest):
    def setUp(self):
        super().setUp()
        self.up = self.mock("m1")
        self.redis = RedisServer(self.tmp.name)
        self.addCleanup(lambda: self.redis.stop())  # the server in self.redis when the test ends (a test may replace it)

    def shared_gateway(self, keys, on_error="fail_open", workers=2):
        return self.gateway(f"""
providers: [ {{ name: m, base_url: "http://127.0.0.1:{self.up}/v1" }} ]
auth:
  keys:
{keys}
redis: {{ url: "{self.redis.url}", timeout: 200ms, connect_timeout: 200ms }}
rate_limit: {{ storage: redis, on_redis_error: {on_error} }}
database: {{ sync_interval: 100ms }}
""", workers=workers)

    def chat(self, key, port, headers=None):
        h = {"Authorization": f"Bearer {key}"}
        h.update(headers or {})
        return self.post("/v1/chat/completions", CHAT, headers=h, port=port)

    def hammer(self, ports, keys, seconds):
        """Keep-alive clients on every port, each cycling over `keys`, for `seconds`. Returns
        {key: (admitted, refused, first_send, last_send)}."""
        lock = threading.Lock()
        stats = {k: [0, 0, None, None] for k in keys}
        stop_at = time.time() + seconds
        errors = []

        def client(port, offset):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            i = offset
            try:
                while time.time() < stop_at:
                    key = keys[i % len(keys)]
                    i += 1
                    sent = time.time()
                    conn.request("POST", "/v1/chat/completions", body=BODY,
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
                    r = conn.getresponse()
                    r.read()
                    with lock:
                        s = stats[key]
                        if r.status == 200:
                            s[0] += 1
                            s[2] = sent if s[2] is None else min(s[2], sent)
                            s[3] = sent if s[3] is None else max(s[3], sent)
                        elif r.status == 429:
                            s[1] += 1
                        else:
                            errors.append(r.status)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
            finally:
                conn.close()

        threads = [threading.Thread(target=client, args=(p, j)) for p in ports for j in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 30)
        self.assertEqual(errors, [])
        return stats

    def test_two_instances_share_rps_and_rpm_within_two_percent(self):
        keys = """    - { key: sk-rps-000000000000, name: rps, rate_limit: { requests_per_second: 20 } }
    - { key: sk-rpm-000000000000, name: rpm, rate_limit: { requests_per_minute: 300 } }"""
        a = self.shared_gateway(keys)
        b = self.shared_gateway(keys)
        stats = self.hammer([a, b], ["sk-rps-000000000000", "sk-rpm-000000000000"], 10)
        for key, rate, burst in (("sk-rps-000000000000", 20.0, 20), ("sk-rpm-000000000000", 5.0, 300)):
            admitted, refused, first, last = stats[key]
            # GCRA: a full bucket (burst) at the start, then `rate` per second.
            expected = burst + rate * (last - first)
            self.assertGreater(refused, admitted, (key, stats[key]))  # the offered load was well over the limit
            self.assertLessEqual(abs(admitted - expected), 0.02 * expected, (key, admitted, expected, stats[key]))

    def test_busy_key_is_admitted_from_leases(self):
        # 4000 rps: each round trip leases 20 requests (4000/s x 5 ms) for the instance.
        keys = "    - { key: sk-busy-00000000000, name: busy, rate_limit: { requests_per_second: 4000 } }"
        port = self.shared_gateway(keys, workers=1)
        self.redis.cli("CONFIG", "RESETSTAT")
        codes = [self.chat("sk-busy-00000000000", port).status for _ in range(200)]
        self.assertEqual(codes, [200] * 200)
        stats = self.redis.cli("INFO", "commandstats")
        calls = int(stats.split("cmdstat_evalsha:calls=")[1].split(",")[0])
        self.assertLessEqual(calls, 200 // 20 + 2, stats)
        self.assertGreater(calls, 0)

    def test_max_concurrent_across_instances(self):
        keys = "    - { key: sk-conc-00000000000, name: conc, rate_limit: { max_concurrent: 3 } }"
        a = self.shared_gateway(keys)
        b = self.shared_gateway(keys)
        statuses = []
        lock = threading.Lock()
        stream = dict(CHAT, stream=True)

        def one(port):
            r = self.post("/v1/chat/completions", stream, port=port,
                          headers={"Authorization": "Bearer sk-conc-00000000000", "x-mock-chunks": "10",
                                   "x-mock-chunk-delay-ms": "100"})
            with lock:
                statuses.append(r.status)

        threads = [threading.Thread(target=one, args=(p,)) for p in [a, b] * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        self.assertEqual(statuses.count(200), 3, statuses)
        self.assertEqual(statuses.count(429), 5, statuses)
        # The slots were given back when the streams ended.
        self.assertEqual(self.chat("sk-conc-00000000000", a).status, 200)
        self.assertTrue(eventually(lambda: self.redis.cli("EXISTS", self.conc_key()) == "0"))

    def test_slot_release_survives_a_redis_outage(self):
        # The stream ends while Redis is away; Redis comes back with its data: the slot must be
        # freed (the release was kept and sent after the reconnect), not held until its lease ends.
        self.redis.stop()
        self.redis = RedisServer(self.tmp.name, persistent=True)
        keys = "    - { key: sk-conc-00000000000, name: conc, rate_limit: { max_concurrent: 1 } }"
        port = self.shared_gateway(keys, workers=1)
        done = []
        stream = dict(CHAT, stream=True)
        t = threading.Thread(target=lambda: done.append(self.post(
            "/v1/chat/completions", stream, port=port, headers={"Authorization": "Bearer sk-conc-00000000000",
                                                                "x-mock-chunks": "10", "x-mock-chunk-delay-ms": "100"})))
        t.start()
        self.assertTrue(eventually(lambda: self.redis.cli("ZCARD", self.conc_key()) == "1"))
        self.redis.stop()
        t.join(timeout=10)
        self.assertEqual(done[0].status, 200)
        self.redis.start()
        self.assertEqual(self.redis.cli("ZCARD", self.conc_key()), "1")  # still taken in the data...
        self.assertTrue(eventually(lambda: self.redis.cli("ZCARD", self.conc_key()) == "0", timeout=10))
        self.assertEqual(self.chat("sk-conc-00000000000", port).status, 200)  # ...until the deferred release

    def conc_key(self):
        for k in self.redis.cli("KEYS", "llmproxy:*").splitlines():
            if k.endswith(":conc"):
                return k
        return "llmproxy:none"

    def test_quota_in_redis_survives_restart_of_both(self):
        keys = "    - { key: sk-quota-0000000000, name: q, total_quota: 60, quota_reset_period: monthly }"
        a = self.shared_gateway(keys)
        proc_a = self.gw_proc
        b = self.shared_gateway(keys)
        proc_b = self.gw_proc
        passed = 0
        for i in range(100):
            r = self.chat("sk-quota-0000000000", [a, b][i % 2])
            if r.status == 429:
                self.assertOpenAIError(r, 429, "insufficient_quota")
                break
            passed += 1
            time.sleep(0.12)  # one sync interval: both instances see the shared total
        self.assertGreater(passed, 0)
        self.assertLess(passed, 100)
        for p in (proc_a, proc_b):
            p.terminate()
            p.wait(timeout=10)
        a = self.shared_gateway(keys)
        b = self.shared_gateway(keys)
        self.assertOpenAIError(self.chat("sk-quota-0000000000", a), 429, "insufficient_quota")
        self.assertOpenAIError(self.chat("sk-quota-0000000000", b), 429, "insufficient_quota")

    def test_redis_killed_mid_run_fail_open_then_recovers(self):
        keys = "    - { key: sk-rps-000000000000, name: rps, rate_limit: { requests_per_second: 5 } }"
        port = self.shared_gateway(keys)
        codes = [self.chat("sk-rps-000000000000", port).status for _ in range(10)]
        self.assertIn(429, codes)
        self.redis.stop()
        time.sleep(0.3)  # past the last refusal's Retry-After, which is remembered locally
        started = time.time()
        codes = [self.chat("sk-rps-000000000000", port).status for _ in range(20)]
        self.assertEqual(codes, [200] * 20)  # fail_open: admitted, not hung
        self.assertLess(time.time() - started, 10)
        text = self.request("GET", "/metrics", port=port).body.decode()
        self.assertGreater(metric_value(text, 'llm_proxy_rate_limit_store_errors_total{outcome="admitted"}'), 0)
        self.redis.start()  # same port, empty: the limits apply again once reconnected

        def limited_again():
            return 429 in [self.chat("sk-rps-000000000000", port).status for _ in range(8)]
        self.assertTrue(eventually(limited_again, timeout=10, interval=0.3))

    def test_redis_frozen_answers_within_the_timeout(self):
        # 100 rps earns less than one request per lease window: every request asks Redis.
        keys = "    - { key: sk-rps-000000000000, name: rps, rate_limit: { requests_per_second: 100 } }"
        port = self.shared_gateway(keys, workers=1)
        self.assertEqual(self.chat("sk-rps-000000000000", port).status, 200)
        self.redis.proc.send_signal(signal.SIGSTOP)  # connected, but never answers
        try:
            started = time.time()
            r = self.chat("sk-rps-000000000000", port)
            elapsed = time.time() - started
        finally:
            self.redis.proc.send_signal(signal.SIGCONT)
        self.assertEqual(r.status, 200)
        self.assertLess(elapsed, 1.5)  # redis.timeout is 200 ms
        self.assertGreaterEqual(elapsed, 0.15)
        self.assertTrue(eventually(lambda: self.chat("sk-rps-000000000000", port).status == 200))

    def test_fail_closed_refuses_with_503_and_recovers(self):
        keys = "    - { key: sk-rps-000000000000, name: rps, rate_limit: { requests_per_second: 100 } }"
        port = self.shared_gateway(keys, on_error="fail_closed")
        self.assertEqual(self.chat("sk-rps-000000000000", port).status, 200)
        self.redis.stop()
        r = self.chat("sk-rps-000000000000", port)
        self.assertOpenAIError(r, 503, "rate_limit_store_unavailable")
        text = self.request("GET", "/metrics", port=port).body.decode()
        self.assertGreater(metric_value(text, 'llm_proxy_rate_limit_store_errors_total{outcome="refused"}'), 0)
        self.redis.start()
        self.assertTrue(eventually(lambda: self.chat("sk-rps-000000000000", port).status == 200, timeout=10))

    def test_fail_closed_freeze_leaks_no_concurrency_slot(self):
        # Redis frozen (SIGSTOP) for 4 s with fail_closed: the admit calls that timed out run
        # when it wakes and take slots; each must be given back, or the key is locked out for
        # the slot lease (minutes). Also: past a few timeouts in a row the breaker answers at
        # once instead of making every request wait the full timeout.
        keys = "    - { key: sk-conc-00000000000, name: conc, rate_limit: { max_concurrent: 2 } }"
        port = self.shared_gateway(keys, on_error="fail_closed", workers=1)
        self.assertEqual(self.chat("sk-conc-00000000000", port).status, 200)
        latencies, codes = [], []
        self.redis.proc.send_signal(signal.SIGSTOP)
        try:
            frozen_until = time.time() + 4
            while time.time() < frozen_until:
                started = time.time()
                r = self.chat("sk-conc-00000000000", port)
                latencies.append(time.time() - started)
                codes.append(r.status)
                if r.status == 503:
                    self.assertOpenAIError(r, 503, "rate_limit_store_unavailable")
                time.sleep(0.05)
        finally:
            self.redis.proc.send_signal(signal.SIGCONT)
        self.assertEqual(set(codes), {503}, codes)
        self.assertGreater(len(codes), 10)
        self.assertLess(sorted(latencies)[len(latencies) // 2], 0.1, latencies)  # the breaker, not 200 ms each
        # After the thaw: the key gets its 2 slots back (no 429 "too many concurrent requests").
        time.sleep(0.5)
        self.assertTrue(eventually(lambda: self.chat("sk-conc-00000000000", port).status == 200, timeout=3))
        after = [self.chat("sk-conc-00000000000", port).status for _ in range(10)]
        self.assertEqual(after, [200] * 10)
        self.assertTrue(eventually(lambda: self.redis.cli("ZCARD", self.conc_key()) == "0"), self.redis.cli("ZRANGE", self.conc_key(), "0", "-1"))


if __name__ == "__main__":
    unittest.main()
