"""Process lifecycle: --check-config, graceful shutdown with a stream in flight, weighted balance."""
import collections
import os
import signal
import socket
import subprocess
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from harness import CHAT, GATEWAY, GatewayTest, free_port
from test_streaming import open_stream, read_until


class CheckConfig(GatewayTest):
    def test_valid(self):
        path = self.write_config("providers:\n  - { name: a, base_url: 'http://127.0.0.1:1/v1' }\n")
        r = subprocess.run([GATEWAY, "--check-config", path], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("OK", r.stdout)

    def test_invalid_names_every_problem(self):
        path = self.write_config("server: { listen: nowhere }\nproviders:\n  - { name: a, base_url: 'gopher://x', weight: -2 }\n")
        r = subprocess.run([GATEWAY, "--check-config", path], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("server.listen", r.stderr)
        self.assertIn("providers[0].base_url", r.stderr)
        self.assertIn("providers[0].weight", r.stderr)
        self.assertIn(path + ":", r.stderr)

    def test_start_refuses_bad_config(self):
        path = self.write_config("providers: []\n")
        r = subprocess.run([GATEWAY, "--config", path], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertIn("providers", r.stderr)


class GracefulShutdown(GatewayTest):
    def test_stream_in_flight_finishes_then_exit_0(self):
        up = self.mock("m1")
        port = self.simple_gateway(up)
        s = open_stream(port, chunks=8, delay_ms=100)
        try:
            read_until(s, b"Hello")
            self.gw_proc.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            # No new connections are accepted while draining.
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            rest = read_until(s, b"[DONE]")
            self.assertIn(b"[DONE]", rest)
        finally:
            s.close()
        self.assertEqual(self.gw_proc.wait(timeout=10), 0)

    def test_idle_keepalive_connections_do_not_block_exit(self):
        up = self.mock("m1")
        port = self.simple_gateway(up)
        idle = socket.create_connection(("127.0.0.1", port), timeout=5)
        t0 = time.time()
        self.gw_proc.send_signal(signal.SIGINT)
        self.assertEqual(self.gw_proc.wait(timeout=10), 0)
        self.assertLess(time.time() - t0, 3)
        idle.close()

    def test_drain_timeout_bounds_shutdown(self):
        up = self.mock("m1")
        port = self.gateway(f"""
server: {{ drain_timeout: 500ms }}
providers:
  - {{ name: m, base_url: "http://127.0.0.1:{up}/v1" }}
""")
        s = open_stream(port, chunks=100, delay_ms=100)
        try:
            read_until(s, b"Hello")
            t0 = time.time()
            self.gw_proc.send_signal(signal.SIGTERM)
            self.assertEqual(self.gw_proc.wait(timeout=10), 0)
            self.assertLess(time.time() - t0, 3)
        finally:
            s.close()


class WeightedBalance(GatewayTest):
    def test_1000_requests_follow_weights_within_2_percent(self):
        ports = [self.mock(f"m{i}") for i in range(3)]
        weights = [5, 3, 2]
        providers = "".join(
            f"  - {{ name: p{i}, base_url: 'http://127.0.0.1:{p}/v1', weight: {w} }}\n"
            for i, (p, w) in enumerate(zip(ports, weights)))
        self.gateway("providers:\n" + providers)

        def one(_):
            return self.post("/v1/chat/completions", CHAT).header("x-mock-name")

        with ThreadPoolExecutor(8) as pool:
            names = list(pool.map(one, range(1000)))
        counts = collections.Counter(names)
        for i, w in enumerate(weights):
            share = counts[f"m{i}"] / 1000
            self.assertAlmostEqual(share, w / 10, delta=0.02, msg=str(counts))

    def test_round_robin_ignores_weights(self):
        ports = [self.mock(f"m{i}") for i in range(2)]
        self.gateway(f"""
providers:
  - {{ name: a, base_url: 'http://127.0.0.1:{ports[0]}/v1', weight: 9 }}
  - {{ name: b, base_url: 'http://127.0.0.1:{ports[1]}/v1', weight: 1 }}
routing: {{ strategy: round_robin }}
""", workers=1)
        names = [self.post("/v1/chat/completions", CHAT).header("x-mock-name") for _ in range(10)]
        self.assertEqual(collections.Counter(names), {"m0": 5, "m1": 5})


class EmbeddedDefaults(GatewayTest):
    def test_runs_without_config(self):
        # The embedded config expects the demo upstream on 127.0.0.1:9000 and listens on 8080;
        # only run when both ports are free on this machine.
        for port in (8080, 9000):
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    self.skipTest(f"port {port} busy")
        mock = self.spawn([os.path.join(os.path.dirname(GATEWAY), "mock_upstream"), "--listen", "127.0.0.1:9000"])
        gw = self.spawn([GATEWAY])
        from harness import wait_port
        wait_port(9000, mock)
        wait_port(8080, gw)
        r = self.post("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}, port=8080)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["model"], "demo-model")


if __name__ == "__main__":
    unittest.main()
