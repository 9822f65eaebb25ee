"""Test harness: starts real llm-proxy and mock_upstream processes on 127.0.0.1.

Binaries come from $LP_BIN_DIR (set by ctest). Every process is stopped in tearDown; every
socket operation has a timeout so a broken gateway fails a test instead of hanging it.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest

BIN_DIR = os.environ.get("LP_BIN_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
GATEWAY = os.path.join(BIN_DIR, "llm-proxy")
MOCK = os.path.join(BIN_DIR, "mock_upstream")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"port {port} did not open")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name.lower())


class GatewayTest(unittest.TestCase):
    """Base class: self.mock(), self.gateway(), self.request()."""

    def setUp(self):
        self.procs = []
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        problems = []
        for p, log in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)  # a clean exit lets LeakSanitizer report
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=5)
            with open(log, errors="replace") as f:
                text = f.read()
            # Sanitizer reports (ASan/UBSan builds) and crashes fail the test that caused them.
            for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                           "double free", "Segmentation fault"):
                if marker in text:
                    problems.append(f"{os.path.basename(p.args[0])}: {marker}\n{text[-4000:]}")
            if p.returncode is not None and p.returncode < 0 and p.returncode not in (-signal.SIGKILL, -signal.SIGTERM):
                problems.append(f"{os.path.basename(p.args[0])} died with signal {-p.returncode}\n{text[-4000:]}")
        self.tmp.cleanup()
        if problems:
            self.fail("\n".join(problems))

    def spawn(self, args, **kw):
        log = os.path.join(self.tmp.name, f"proc{len(self.procs)}.log")
        with open(log, "w") as f:
            p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=f, **kw)
        self.procs.append((p, log))
        # tearDown stops it and reads its log; this covers a setUp that failed after spawning
        # (then tearDown never runs, cleanups still do).
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait(timeout=5)))
        return p

    def mock(self, name="mock", *extra):
        port = free_port()
        p = self.spawn([MOCK, "--listen", f"127.0.0.1:{port}", "--name", name, *extra])
        wait_port(port, p)
        return port

    def write_config(self, text):
        path = os.path.join(self.tmp.name, f"config{len(self.procs)}.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def gateway(self, config_text, workers=2, extra_args=()):
        port = free_port()
        path = self.write_config(config_text)
        p = self.spawn([GATEWAY, "--config", path, "--listen", f"127.0.0.1:{port}",
                        "--workers", str(workers), *extra_args])
        wait_port(port, p)
        self.gw_port = port
        self.gw_proc = p
        return port

    def simple_gateway(self, mock_port, extra_provider="", extra_top="", workers=2):
        return self.gateway(f"""
providers:
  - name: m
    base_url: http://127.0.0.1:{mock_port}/v1
    api_key: sk-upstream-secret
{extra_provider}
{extra_top}
""", workers=workers)

    def request(self, method, path, body=None, headers=None, port=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.gw_port, timeout=timeout)
        try:
            h = {"Content-Type": "application/json"}
            h.update(headers or {})
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode("utf-8")
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def post(self, path, body, headers=None, **kw):
        return self.request("POST", path, body, headers, **kw)

    def mock_json(self, port, path):
        return self.request("GET", path, port=port).json()

    def assertOpenAIError(self, r, status, code=None):
        self.assertEqual(r.status, status, r.body)
        err = r.json()["error"]
        for key in ("message", "type", "param", "code"):
            self.assertIn(key, err)
        if code is not None:
            self.assertEqual(err["code"], code, r.body)
        self.assertTrue(r.header("x-request-id"))
        self.assertEqual(err["request_id"], r.header("x-request-id"))


def sse_events(body):
    """(event name, data) pairs of an SSE body; data is parsed JSON, or the raw text ([DONE])."""
    out = []
    for frame in body.decode().split("\n\n"):
        if not frame.strip():
            continue
        name, data = None, None
        for line in frame.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        out.append((name, json.loads(data) if data and data != "[DONE]" else data))
    return out


def access_log_line(path, request_id):
    """The access log's line for a request (waiting for it to be written), or None."""
    def find():
        if not os.path.exists(path):
            return None
        with open(path) as f:
            lines = [json.loads(l) for l in f if l.strip()]
        return next((l for l in lines if l["request_id"] == request_id), None)
    return eventually(find)


def eventually(fn, timeout=5.0, interval=0.02):
    """Polls fn() until it returns a truthy value (returned) or timeout (returns the last value).
    Metrics, health and logs are recorded just after a response's last byte, so a test that
    reads them right after a response must wait a moment rather than race."""
    deadline = time.time() + timeout
    value = fn()
    while not value and time.time() < deadline:
        time.sleep(interval)
        value = fn()
    return value


def raw_exchange(port, data, timeout=5.0, until_close=True):
    """Sends raw bytes, returns everything read until the peer closes (or timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                b = s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            chunks.append(b)
            if not until_close:
                break
        return b"".join(chunks)
    finally:
        s.close()


CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
