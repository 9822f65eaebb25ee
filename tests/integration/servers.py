"""Real Redis and PostgreSQL servers for tests, on 127.0.0.1 and a free port, in a temporary
directory; stopped by stop() (tests call it from addCleanup). Every server started is also
registered and stopped at interpreter exit, and redis-server dies with the test process
(PR_SET_PDEATHSIG), so a failed, timed-out or killed test leaves no server behind."""
import atexit
import ctypes
import os
import pwd
import shutil
import signal
import subprocess
import time

from harness import free_port, wait_port

PG_BIN = "/usr/lib/postgresql/15/bin"

_live = []  # servers started and not yet stopped


def _die_with_parent():
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@atexit.register
def stop_all():
    for server in list(_live):
        try:
            server.stop()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass


class RedisServer:
    def __init__(self, workdir, port=None, persistent=False):
        self.port = port or free_port()
        self.dir = workdir
        self.persistent = persistent  # append-only file: data survives stop()/start()
        self.proc = None
        self.start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        # By default no persistence: a restart loses the counters, like a failover would.
        aof = ["--appendonly", "yes", "--appendfsync", "always"] if self.persistent else ["--appendonly", "no"]
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", *aof,
             "--dir", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        if self not in _live:
            _live.append(self)
        wait_port(self.port, self.proc)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            if self.persistent:
                self.proc.terminate()  # a clean shutdown (the AOF is already synced)
                self.proc.wait(timeout=10)
            else:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if self in _live:
            _live.remove(self)

    def cli(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True,
                              timeout=5).stdout.strip()


class PostgresServer:
    """initdb + postgres on a free loopback port. PostgreSQL refuses to run as root, so as root
    the cluster belongs to the 'postgres' system user."""

    def __init__(self, workdir):
        self.port = free_port()
        self.dir = os.path.join(workdir, "pg")
        self.run_as = []
        if os.geteuid() == 0:
            self.run_as = ["runuser", "-u", "postgres", "--"]
        os.makedirs(self.dir)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            os.chmod(workdir, 0o755)  # let the postgres user reach its directory
        subprocess.run(self.run_as + [f"{PG_BIN}/initdb", "-D", self.dir, "-A", "trust", "-U", "llmproxy",
                                      "--no-sync"], check=True, capture_output=True, timeout=120)
        _live.append(self)
        self.proc = subprocess.Popen(
            self.run_as + [f"{PG_BIN}/postgres", "-D", self.dir, "-h", "127.0.0.1", "-p", str(self.port), "-k",
                           self.dir, "-c", "fsync=off"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            r = subprocess.run([f"{PG_BIN}/pg_isready", "-h", "127.0.0.1", "-p", str(self.port)],
                               capture_output=True, timeout=5)
            if r.returncode == 0:
                break
            time.sleep(0.1)
        wait_port(self.port, self.proc)
        subprocess.run([f"{PG_BIN}/createdb" if os.path.exists(f"{PG_BIN}/createdb") else "createdb", "-h",
                        "127.0.0.1", "-p", str(self.port), "-U", "llmproxy", "llmproxy"], check=True,
                       capture_output=True, timeout=30)

    @property
    def url(self):
        return f"postgres://llmproxy@127.0.0.1:{self.port}/llmproxy"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # the runuser wrapper forwards it; postgres does a fast shutdown
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self in _live:
            _live.remove(self)
        shutil.rmtree(self.dir, ignore_errors=True)
