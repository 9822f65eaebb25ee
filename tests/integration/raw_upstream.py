"""A scriptable HTTP/1.1 upstream on raw sockets, for misbehaviour a well-written server never
shows (interim 1xx answers, unasked upgrades, bytes after the body, 204 with a length).

`respond(request)` gets the parsed request (method, target, headers dict with lower-case names,
body, connection number) and returns the bytes to send, or a list of (delay_seconds, bytes)
steps. Connections are kept alive; every socket has a timeout; stop() closes everything.
"""
import socket
import threading
import time

from harness import free_port


class Request:
    def __init__(self, method, target, headers, body, conn_id):
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.conn_id = conn_id


class RawUpstream:
    def __init__(self, respond):
        self.respond = respond
        self.port = free_port()
        self.requests = []
        self.connections = 0
        self._lock = threading.Lock()
        self._socks = []
        self._stopped = False
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", self.port))
        self._listener.listen(128)
        self._listener.settimeout(0.2)
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def stop(self):
        self._stopped = True
        self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            for s in self._socks:
                try:
                    s.close()
                except OSError:
                    pass

    def _accept_loop(self):
        while not self._stopped:
            try:
                s, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                conn_id = self.connections
                self._socks.append(s)
            threading.Thread(target=self._serve, args=(s, conn_id), daemon=True).start()

    def _serve(self, s, conn_id):
        s.settimeout(10)
        buf = b""
        try:
            while not self._stopped:
                while b"\r\n\r\n" not in buf:
                    chunk = s.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0"))
                while len(buf) < length:
                    chunk = s.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                body, buf = buf[:length], buf[length:]
                req = Request(method, target, headers, body, conn_id)
                with self._lock:
                    self.requests.append(req)
                steps = self.respond(req)
                if isinstance(steps, (bytes, bytearray)):
                    steps = [(0, steps)]
                for delay, data in steps:
                    if delay:
                        time.sleep(delay)
                    if data is None:  # close the connection here
                        return
                    s.sendall(data)
        except OSError:
            return
        finally:
            s.close()


def json_response(body, status="200 OK", extra=""):
    data = body.encode() if isinstance(body, str) else body
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}\r\n{extra}\r\n"
            .encode() + data)
