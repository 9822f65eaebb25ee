"""Memory per stream must not grow with the stream's length: the relay keeps no copy of what
it relays (token counting is incremental). 200 concurrent streams of 20 events and 200 of 2000
events, each lasting ~3 s, measured in the gateway's RSS while all are open."""
import asyncio
import json
import time

from harness import CHAT, GatewayTest
from test_hostile_clients import RSS_TESTS, rss_kib

STREAMS = 200


async def one_stream(port, chunks, delay_ms, opened, results):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = json.dumps(dict(CHAT, stream=True)).encode()
    writer.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 + f"x-mock-chunks: {chunks}\r\nx-mock-chunk-delay-ms: {delay_ms}\r\n".encode()
                 + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    await writer.drain()
    opened.append(1)
    total = b""
    while True:
        data = await asyncio.wait_for(reader.read(65536), timeout=20)
        if not data:
            break
        total += data[-64:] if len(total) > 64 else data  # keep only the tail: we look for [DONE]
        total = total[-128:]
    writer.close()
    results.append(b"[DONE]" in total)


async def run_streams(port, pid, chunks, delay_ms, measure_at):
    opened, results, samples = [], [], []

    async def sampler():
        await asyncio.sleep(measure_at)
        for _ in range(5):
            samples.append(rss_kib(pid))
            await asyncio.sleep(0.1)

    tasks = [asyncio.create_task(one_stream(port, chunks, delay_ms, opened, results)) for _ in range(STREAMS)]
    sample_task = asyncio.create_task(sampler())
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    await sample_task
    return results, max(samples)


class StreamMemory(GatewayTest):
    @RSS_TESTS
    def test_memory_per_stream_is_flat_in_stream_length(self):
        up = self.mock("m1")
        port = self.simple_gateway(up, workers=1)
        time.sleep(0.5)  # tokenizers load in the background at start
        # Warm-up: pools, caches and allocator arenas as they are under load.
        results, _ = asyncio.run(run_streams(port, self.gw_proc.pid, 20, 50, 0.5))
        self.assertEqual(results.count(True), STREAMS)
        base = min(rss_kib(self.gw_proc.pid) for _ in range(3))
        short_results, short_peak = asyncio.run(run_streams(port, self.gw_proc.pid, 20, 150, 1.5))
        long_results, long_peak = asyncio.run(run_streams(port, self.gw_proc.pid, 2000, 1, 1.5))
        self.assertEqual(short_results.count(True), STREAMS)
        self.assertEqual(long_results.count(True), STREAMS)
        short_kib = (short_peak - base) / STREAMS
        long_kib = (long_peak - base) / STREAMS
        print(f"\nRSS per stream: 20 events {short_kib:.1f} KiB, 2000 events {long_kib:.1f} KiB (base {base} KiB)")
        # 2000 events of ~150 bytes are ~300 KiB a stream: a copy of them would show at once.
        self.assertLess(long_kib, short_kib + 16, (short_kib, long_kib, base, short_peak, long_peak))
