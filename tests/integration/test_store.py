"""Keys and quotas in the persistent store: the `llm-proxy keys` CLI against SQLite and a real
PostgreSQL, the gateway picking up key changes while running, quotas that survive restarts and
are shared by two instances."""
import json
import os
import sqlite3
import re
import subprocess
import unittest

from harness import CHAT, GATEWAY, GatewayTest, eventually
from servers import PostgresServer


class StoreBase(GatewayTest):
    def keys(self, db_url, *args, check=True):
        r = subprocess.run([GATEWAY, "keys", "--database", db_url, *args], capture_output=True, text=True,
                           timeout=30)
        if check:
            self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def add_key(self, db_url, name, *args):
        out = self.keys(db_url, "add", "--name", name, *args).stdout
        m = re.search(r"(sk-[A-Za-z0-9]{48})", out)
        self.assertTrue(m, out)
        return m.group(1)

    def store_gateway(self, db_url, config_keys="", extra=""):
        return self.gateway(f"""
providers: [ {{ name: m, base_url: "http://127.0.0.1:{self.up}/v1" }} ]
auth:
  enabled: true
{config_keys}
database: {{ url: "{db_url}", poll_interval: 100ms, sync_interval: 100ms }}
{extra}
""")

    def usage_totals(self, db_url, by="key"):
        r = subprocess.run([GATEWAY, "usage", "--database", db_url, "--by", by, "--json"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        return {row[by]: row for row in json.loads(r.stdout)}

    def chat(self, key, port=None):
        return self.post("/v1/chat/completions", CHAT, headers={"Authorization": f"Bearer {key}"}, port=port)

    def use_up_quota(self, key, ports):
        """Sends chats round-robin over `ports` until the quota answers 429; returns how many passed."""
        passed = 0
        for i in range(200):
            port = ports[i % len(ports)]
            r = self.chat(key, port)
            if r.status == 429:
                self.assertOpenAIError(r, 429, "insufficient_quota")
                self.assertEqual(r.json()["error"]["type"], "insufficient_quota")
                return passed
            self.assertEqual(r.status, 200, r.body)
            passed += 1
            # Counters are written every 100 ms: let the instances see each other's usage.
            eventually(lambda: False, timeout=0.12)
        self.fail("the quota never ran out")


class SqliteStore(StoreBase):
    def setUp(self):
        super().setUp()
        self.up = self.mock("m1")
        self.db = "sqlite://" + os.path.join(self.tmp.name, "keys.db")

    def test_cli_and_live_key_changes(self):
        key = self.add_key(self.db, "alice", "--user-id", "u-7", "--models", "gpt-*,o1", "--metadata", "team=ml")
        listed = json.loads(self.keys(self.db, "list", "--json").stdout)
        self.assertEqual(listed[0]["name"], "alice")
        self.assertEqual(listed[0]["key"], "sk-..." + key[-4:])
        self.assertEqual(listed[0]["allowed_models"], ["gpt-*", "o1"])
        self.assertNotIn(key, self.keys(self.db, "list").stdout)  # never shown again
        with open(self.db[len("sqlite://"):], "rb") as f:
            self.assertNotIn(key.encode(), f.read())  # only the hash is stored
        self.assertNotEqual(self.keys(self.db, "add", "--name", "alice", check=False).returncode, 0)
        self.assertNotEqual(self.keys(self.db, "disable", "nobody", check=False).returncode, 0)

        self.store_gateway(self.db, "  keys: [ { key: sk-config-key-000001, name: cfg } ]")
        self.assertEqual(self.chat(key).status, 200)
        self.assertEqual(self.chat("sk-config-key-000001").status, 200)  # config keys still work
        self.assertOpenAIError(self.post("/v1/chat/completions", dict(CHAT, model="claude-3"),
                                         headers={"Authorization": f"Bearer {key}"}), 403, "model_not_allowed")

        # Written while the gateway runs: seen within a poll interval.
        bob = self.add_key(self.db, "bob")
        self.assertEqual(eventually(lambda: self.chat(bob).status == 200), True)
        self.keys(self.db, "disable", "alice")
        self.assertTrue(eventually(lambda: self.chat(key).status == 403))
        self.assertOpenAIError(self.chat(key), 403, "api_key_disabled")
        self.keys(self.db, "enable", "alice")
        self.assertTrue(eventually(lambda: self.chat(key).status == 200))
        self.keys(self.db, "delete", "alice")
        self.assertTrue(eventually(lambda: self.chat(key).status == 401))
        self.assertOpenAIError(self.chat(key), 401, "invalid_api_key")

    def test_a_replaced_store_file_is_opened_again(self):
        old_key = self.add_key(self.db, "old")
        self.store_gateway(self.db)
        self.assertEqual(self.chat(old_key).status, 200)
        # Another store file (e.g. a restore) moved over the open one: its keys must apply.
        other = "sqlite://" + os.path.join(self.tmp.name, "other.db")
        new_key = self.add_key(other, "new")
        os.replace(other[len("sqlite://"):], self.db[len("sqlite://"):])
        self.assertTrue(eventually(lambda: self.chat(new_key).status == 200, timeout=5))
        self.assertEqual(self.chat(old_key).status, 401)  # the replaced file's keys are gone
        # Deleted: opened again as a new, empty store (its keys are gone too).
        os.remove(self.db[len("sqlite://"):])
        self.assertTrue(eventually(lambda: self.chat(new_key).status == 401, timeout=5))
        self.assertIsNone(self.gw_proc.poll())

    def test_plain_sql_key_changes_apply_and_bad_names_are_refused(self):
        # Hardening #14.14.
        key = self.add_key(self.db, "alice")
        self.store_gateway(self.db)
        self.assertEqual(self.chat(key).status, 200)
        with sqlite3.connect(self.db[len("sqlite://"):]) as c:  # by hand, not through the CLI
            c.execute("UPDATE api_keys SET status = 'disabled' WHERE name = 'alice'")
        self.assertTrue(eventually(lambda: self.chat(key).status == 403, timeout=3))
        with sqlite3.connect(self.db[len("sqlite://"):]) as c:  # an allowed_ips that is not a JSON list
            c.execute("UPDATE api_keys SET status = 'active', allowed_ips = '127.0.0.1' WHERE name = 'alice'")
        # Refused, not "any address".
        self.assertTrue(eventually(lambda: b"ip_not_allowed" in self.chat(key).body, timeout=3))
        self.assertOpenAIError(self.chat(key), 403, "ip_not_allowed")
        with sqlite3.connect(self.db[len("sqlite://"):]) as c:
            c.execute("UPDATE api_keys SET allowed_ips = '[\"127.0.0.1\"]' WHERE name = 'alice'")
        self.assertTrue(eventually(lambda: self.chat(key).status == 200, timeout=3))
        # Names that would forge lines in `keys list`.
        r = self.keys(self.db, "add", "--name", "evil\nbob      active", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("control characters", r.stderr)
        with sqlite3.connect(self.db[len("sqlite://"):]) as c:  # one written by other means
            c.execute("UPDATE api_keys SET name = 'al\nice\x1b[2J' WHERE name = 'alice'")
        listed = self.keys(self.db, "list").stdout
        self.assertEqual(len(listed.strip().splitlines()), 2, listed)  # the header and one key
        self.assertIn("al\\x0aice\\x1b[2J", listed)

    def test_quota_survives_restart(self):
        key = self.add_key(self.db, "q", "--quota", "60", "--quota-period", "daily")
        self.store_gateway(self.db)
        passed = self.use_up_quota(key, [self.gw_port])
        self.assertGreater(passed, 0)
        self.gw_proc.terminate()
        self.gw_proc.wait(timeout=10)
        self.store_gateway(self.db)  # a new process: the counter comes from the store
        self.assertOpenAIError(self.chat(key), 429, "insufficient_quota")
        other = self.add_key(self.db, "fresh", "--quota", "60")
        self.assertTrue(eventually(lambda: self.chat(other).status == 200))  # quotas are per key


class SqliteLedgerAndRequestLog(StoreBase):
    def setUp(self):
        super().setUp()
        self.up = self.mock("m1")
        self.db_path = os.path.join(self.tmp.name, "ledger.db")
        self.db = "sqlite://" + self.db_path

    def test_usage_ledger_rows_and_usage_command(self):
        key = self.add_key(self.db, "alice")
        self.store_gateway(self.db)
        expected = 0
        for _ in range(3):
            r = self.chat(key)
            expected += r.json()["usage"]["total_tokens"]
        stream = self.post("/v1/chat/completions", dict(CHAT, stream=True), headers={"Authorization": f"Bearer {key}"})
        self.assertEqual(stream.status, 200)
        expected += 5 + self.chat_prompt_tokens()  # the mock streams 5 chunks; prompt as for the others
        totals = eventually(lambda: (t := self.usage_totals(self.db)).get("alice", {}).get("requests") == 4 and t)
        self.assertTrue(totals, self.usage_totals(self.db))
        self.assertEqual(totals["alice"]["total_tokens"], expected)
        with sqlite3.connect(self.db_path) as c:
            rows = c.execute("SELECT request_id, model, provider, is_stream, status, usage_source FROM usage_ledger "
                             "ORDER BY ts_ms").fetchall()
        self.assertEqual(len(rows), 4)
        self.assertEqual(sorted(r[3] for r in rows), [0, 0, 0, 1])  # one stream
        self.assertEqual({r[1] for r in rows}, {"gpt-4o"})
        self.assertEqual({r[2] for r in rows}, {"m"})
        self.assertEqual({r[5] for r in rows}, {"upstream"})
        self.assertEqual(len({r[0] for r in rows}), 4)

    def chat_prompt_tokens(self):
        return self.post("/v1/chat/completions", CHAT, port=self.up).json()["usage"]["prompt_tokens"]

    def test_request_log_file_with_redacted_capped_bodies(self):
        log = os.path.join(self.tmp.name, "requests.log")
        key = self.add_key(self.db, "bob")
        self.store_gateway(self.db, extra=f"""
logging:
  access_log: "off"
  request_log: {{ include_bodies: true, max_body_bytes: 300, output: "{log}", redact_fields: ["password", "api_key"] }}
""")
        body = {"metadata": {"password": "hunter2"}, "model": "gpt-4o",
                "messages": [{"role": "user", "content": "my key sk-proj-SECRETSECRETSECRET9999 " + "x" * 400}]}
        r = self.post("/v1/chat/completions", body, headers={"Authorization": f"Bearer {key}"})
        self.assertEqual(r.status, 200)
        rid = r.header("x-request-id")

        def line():
            if not os.path.exists(log):
                return None
            with open(log) as f:
                return next((json.loads(l) for l in f if rid in l), None)
        entry = eventually(line)
        self.assertIsNotNone(entry)
        self.assertEqual(entry["key_name"], "bob")
        self.assertEqual(entry["status"], 200)
        self.assertIn('"password": "[REDACTED]"', entry["request_body"])
        self.assertNotIn("hunter2", entry["request_body"])
        self.assertNotIn("SECRETSECRETSECRET", entry["request_body"])
        self.assertIn("sk-...9999", entry["request_body"])
        self.assertIn("[truncated", entry["request_body"])
        self.assertIn("Hello from m1", entry["response_body"])
        with open(log) as f:
            self.assertNotIn(key, f.read())  # the caller's own key never reaches the log
        self.assertEqual(os.stat(log).st_mode & 0o777, 0o600)  # prompts: the owner's eyes only

    def test_existing_world_readable_request_log_is_tightened(self):
        log = os.path.join(self.tmp.name, "old-requests.log")
        with open(log, "w") as f:
            f.write('{"from": "an older run"}\n')
        os.chmod(log, 0o664)  # as an older version (or a hand-made file) left it
        self.store_gateway(self.db, extra=f"""
logging:
  request_log: {{ include_bodies: true, output: "{log}" }}
""")
        self.assertEqual(os.stat(log).st_mode & 0o777, 0o660)  # others lose access; the group keeps it
        with open(log) as f:
            self.assertIn("an older run", f.read())  # appended to, not replaced

    def test_request_log_to_the_database(self):
        key = self.add_key(self.db, "carol")
        self.store_gateway(self.db, extra="""
logging:
  request_log: { include_bodies: true, output: database }
""")
        r = self.chat(key)
        rid = r.header("x-request-id")

        def row():
            with sqlite3.connect(self.db_path) as c:
                return c.execute("SELECT key_name, status, request_body, response_body FROM request_log "
                                 "WHERE request_id = ?", (rid,)).fetchone()
        got = eventually(row)
        self.assertIsNotNone(got)
        self.assertEqual(got[0], "carol")
        self.assertEqual(got[1], 200)
        self.assertIn('"messages"', got[2])
        self.assertIn("Hello from m1", got[3])


class PostgresStore(StoreBase):
    def setUp(self):
        super().setUp()
        self.up = self.mock("m1")
        self.pg = PostgresServer(self.tmp.name)
        self.addCleanup(self.pg.stop)

    def test_two_instances_share_keys_and_quota_across_restarts(self):
        key = self.add_key(self.pg.url, "shared", "--quota", "80", "--quota-period", "monthly")
        a = self.store_gateway(self.pg.url)
        proc_a = self.gw_proc
        b = self.store_gateway(self.pg.url)
        proc_b = self.gw_proc
        passed = self.use_up_quota(key, [a, b])
        # Per request usage is prompt + 4 completion tokens (the mock's), so 80 tokens allow a few
        # requests in all: not a few per instance.
        one = self.chat_tokens()
        self.assertLessEqual(passed, 80 // one + 2, passed)
        for p in (proc_a, proc_b):
            p.terminate()
            p.wait(timeout=10)
        a = self.store_gateway(self.pg.url)
        self.assertOpenAIError(self.chat(key, a), 429, "insufficient_quota")
        late = self.add_key(self.pg.url, "late")
        self.assertTrue(eventually(lambda: self.chat(late, a).status == 200))
        # Both instances wrote their requests to the one ledger.
        totals = eventually(lambda: (t := self.usage_totals(self.pg.url)).get("late") and t)
        self.assertEqual(totals["shared"]["requests"], passed)  # refused requests reached no upstream: not metered

    def test_a_key_disabled_by_plain_sql_stops_working(self):
        key = self.add_key(self.pg.url, "bob")
        self.store_gateway(self.pg.url)
        self.assertEqual(self.chat(key).status, 200)
        subprocess.run(["psql", self.pg.url, "-c", "UPDATE api_keys SET status = 'disabled' WHERE name = 'bob'"],
                       check=True, capture_output=True, timeout=30)
        self.assertTrue(eventually(lambda: self.chat(key).status == 403, timeout=3))

    def chat_tokens(self):
        r = self.post("/v1/chat/completions", CHAT, port=self.up)
        return r.json()["usage"]["total_tokens"]


if __name__ == "__main__":
    unittest.main()
