"""The control plane: the admin API (ours and the Python llm-proxy's calls verbatim), providers,
routes and keys in SQLite and a real PostgreSQL, hot reload from every source (admin write,
another instance, the file changing), validation that refuses and changes nothing, migrations
up and down, the OpenAPI document and /docs rendered by headless Chromium."""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time
import unittest

from harness import CHAT, GATEWAY, GatewayTest, eventually, free_port, wait_port
from servers import PostgresServer

ADMIN = "adm-key-for-tests"
AUTH = {"Authorization": f"Bearer {ADMIN}"}


class AdminBase(GatewayTest):
    def admin(self, method, path, body=None, port=None, key=ADMIN):
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        return self.request(method, path, body, headers=headers, port=port)

    def admin_ok(self, method, path, body=None, port=None, status=(200, 201)):
        r = self.admin(method, path, body, port=port)
        self.assertIn(r.status, status, r.body)
        return r.json()

    def chat(self, key, model="gpt-4", port=None, extra=None):
        body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
        body.update(extra or {})
        return self.post("/v1/chat/completions", body, headers={"Authorization": f"Bearer {key}"}, port=port)

    def last_headers(self, up):
        return {k.lower(): v for k, v in self.mock_json(up, "/mock/last")["headers"].items()}

    def env_gateway(self, db_url, extra_env=None):
        """The Python llm-proxy service's way: no --config, everything from the environment."""
        port = free_port()
        env = dict(os.environ, DB_URL=db_url, ADMIN_KEY=ADMIN, PORT=str(port))
        env.update(extra_env or {})
        p = self.spawn([GATEWAY, "--workers", "2"], env=env)
        wait_port(port, p)
        self.gw_port = port
        self.gw_proc = p
        return port

    def store_gateway(self, db_url, providers="", extra=""):
        return self.gateway(f"""
server: {{ admin_key: "{ADMIN}" }}
providers: [{providers}]
auth: {{ enabled: true }}
database: {{ url: "{db_url}", poll_interval: 200ms, sync_interval: 200ms }}
{extra}
""")

    def curl(self, port, *args):
        """Runs a curl command of the Python llm-proxy README (its host:port replaced)."""
        args = [a.replace("http://localhost:18000", f"http://127.0.0.1:{port}") for a in args]
        r = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", *args], capture_output=True, text=True,
                           timeout=30, env=dict(os.environ, ADMIN_KEY=ADMIN))
        self.assertEqual(r.returncode, 0, r.stderr)
        body, _, code = r.stdout.rpartition("\n")
        return int(code), json.loads(body) if body else None


class AdminAccess(AdminBase):
    def test_no_admin_key_configured_means_refused_never_open(self):
        up = self.mock("m1")
        self.simple_gateway(up)
        for path in ("/admin/v1/providers", "/admin/v1/config", "/config"):
            r = self.admin("GET", path)
            self.assertOpenAIError(r, 403, "admin_key_not_configured")
        r = self.admin("POST", "/config/reload")
        self.assertOpenAIError(r, 403, "admin_key_not_configured")

    def test_missing_or_wrong_key_is_401_and_an_api_key_is_not_the_admin_key(self):
        up = self.mock("m1")
        self.simple_gateway(up, extra_top=f"""
server: {{ admin_key: "{ADMIN}" }}
auth:
  keys: [ {{ name: k, key: sk-user-key-1234 }} ]
""")
        self.assertOpenAIError(self.admin("GET", "/admin/v1/providers", key=None), 401, "invalid_admin_key")
        self.assertOpenAIError(self.admin("GET", "/admin/v1/providers", key="wrong"), 401, "invalid_admin_key")
        self.assertOpenAIError(self.admin("GET", "/admin/v1/providers", key="sk-user-key-1234"), 401,
                               "invalid_admin_key")
        r = self.admin("GET", "/admin/v1/providers")
        self.assertEqual(r.status, 200, r.body)
        names = [p["name"] for p in r.json()["data"]]
        self.assertEqual(names, ["m"])
        self.assertEqual(r.json()["data"][0]["source"], "file")
        self.assertNotIn("sk-upstream-secret", r.body.decode())
        # The multi-vendor proxy's aliases need the key too, and mask every secret.
        self.assertEqual(self.admin("GET", "/config", key=None).status, 401)
        cfg = self.admin_ok("GET", "/config")
        text = json.dumps(cfg)
        for secret in ("sk-upstream-secret", ADMIN, "sk-user-key-1234"):
            self.assertNotIn(secret, text)
        self.assertEqual(cfg["providers"][0]["source"], "file")
        # Without a store, writes say what is missing.
        r = self.admin("POST", "/admin/v1/providers", {"name": "x", "base_url": "http://127.0.0.1:1/v1"})
        self.assertOpenAIError(r, 409, "store_not_configured")
        # Unknown admin path and wrong method.
        self.assertEqual(self.admin("GET", "/admin/v1/nothing").status, 404)
        r = self.admin("PATCH", "/admin/v1/providers")
        self.assertEqual(r.status, 405)
        self.assertEqual(r.header("allow"), "GET, POST")

    def test_admin_key_from_the_environment(self):
        up = self.mock("m1")
        port = free_port()
        path = self.write_config(f"""
providers: [ {{ name: m, base_url: "http://127.0.0.1:{up}/v1" }} ]
""")
        p = self.spawn([GATEWAY, "--config", path, "--listen", f"127.0.0.1:{port}", "--workers", "1"],
                       env=dict(os.environ, LLM_PROXY_ADMIN_KEY="from-env-key"))
        wait_port(port, p)
        self.assertEqual(self.admin("GET", "/admin/v1/config/version", port=port, key="from-env-key").status, 200)
        self.assertEqual(self.admin("GET", "/admin/v1/config/version", port=port).status, 401)


class PythonLlmProxyCalls(AdminBase):
    """Its README's curl calls, verbatim but for host and port, against DB_URL/ADMIN_KEY/PORT."""

    def setUp(self):
        super().setUp()
        self.up1 = self.mock("m1")
        self.up2 = self.mock("m2")
        self.db_path = os.path.join(self.tmp.name, "llm_proxy.db")

    def test_readme_calls_verbatim(self):
        port = self.env_gateway("sqlite://" + self.db_path, {"PROVIDER_SUFFIX": "Proxy"})
        # A gateway with a store starts with no provider at all.
        code, body = self.curl(port, "-X", "POST", "http://localhost:18000/admin/v1/credentials",
                               "-H", "Authorization: Bearer $ADMIN_KEY".replace("$ADMIN_KEY", ADMIN),
                               "-H", "Content-Type: application/json",
                               "-d", """{
    "key": "sk-my-secret-key",
    "name": "Default Key",
    "allowed_models": ["*"],
    "is_enabled": true
  }""")
        self.assertEqual(code, 201, body)
        self.assertOpenAIError(self.chat("sk-my-secret-key", port=port), 404, "model_not_found")

        code, body = self.curl(port, "-X", "POST", "http://localhost:18000/admin/v1/providers",
                               "-H", f"Authorization: Bearer {ADMIN}",
                               "-H", "Content-Type: application/json",
                               "-d", f"""{{
    "provider_key": "openai-main",
    "provider_type": "openai",
    "api_base": "http://127.0.0.1:{self.up1}/v1",
    "api_key": "sk-xxx",
    "model_mapping": {{}},
    "is_enabled": true
  }}""")
        self.assertEqual(code, 201, body)
        self.assertEqual(body["id"], 1)
        self.assertEqual(body["provider_key"], "openai-main")
        self.assertNotEqual(body["api_key"], "sk-xxx")
        # Live at once, with the PROVIDER_SUFFIX prefix or without.
        for model in ("gpt-4", "Proxy/gpt-4"):
            r = self.chat("sk-my-secret-key", model=model, port=port)
            self.assertEqual(r.status, 200, r.body)
            self.assertIn("m1", r.json()["choices"][0]["message"]["content"])
        self.assertEqual(self.last_headers(self.up1)["authorization"], "Bearer sk-xxx")

        code, body = self.curl(port, "http://localhost:18000/admin/v1/providers", "-H", f"Authorization: Bearer {ADMIN}")
        self.assertEqual(code, 200)
        self.assertEqual([p["provider_key"] for p in body["data"]], ["openai-main"])
        code, body = self.curl(port, "http://localhost:18000/admin/v1/providers/1", "-H", f"Authorization: Bearer {ADMIN}")
        self.assertEqual((code, body["provider_key"]), (200, "openai-main"))
        code, by_name = self.curl(port, "http://localhost:18000/admin/v1/providers/openai-main", "-H",
                                  f"Authorization: Bearer {ADMIN}")
        self.assertEqual((code, by_name["id"]), (200, 1))

        code, body = self.curl(port, "-X", "PUT", "http://localhost:18000/admin/v1/providers/1",
                               "-H", f"Authorization: Bearer {ADMIN}",
                               "-H", "Content-Type: application/json",
                               "-d", f"""{{
    "api_base": "http://127.0.0.1:{self.up2}/v1",
    "api_key": "sk-new-key",
    "model_mapping": {{"gpt-4": "gpt-4-turbo"}},
    "is_enabled": true
  }}""")
        self.assertEqual(code, 200, body)
        r = self.chat("sk-my-secret-key", port=port)
        self.assertEqual(r.status, 200, r.body)
        self.assertIn("m2", r.json()["choices"][0]["message"]["content"])
        last = self.mock_json(self.up2, "/mock/last")
        self.assertEqual(json.loads(last["body"])["model"], "gpt-4-turbo")
        self.assertEqual(self.last_headers(self.up2)["authorization"], "Bearer sk-new-key")

        code, body = self.curl(port, "http://localhost:18000/admin/v1/credentials", "-H", f"Authorization: Bearer {ADMIN}")
        self.assertEqual(code, 200)
        self.assertEqual([c["name"] for c in body["data"]], ["Default Key"])
        code, body = self.curl(port, "-X", "POST", "http://localhost:18000/admin/v1/config/reload",
                               "-H", f"Authorization: Bearer {ADMIN}")
        self.assertEqual((code, body["status"]), (200, "ok"))
        code, version = self.curl(port, "http://localhost:18000/admin/v1/config/version",
                                  "-H", f"Authorization: Bearer {ADMIN}")
        self.assertEqual(code, 200)
        self.assertEqual(version["version"], body["version"])

        # Secrets: never returned after creation, the credential stored only as its hash.
        listing = self.admin("GET", "/admin/v1/providers").body.decode() + \
            self.admin("GET", "/admin/v1/credentials").body.decode() + self.admin("GET", "/config").body.decode()
        for secret in ("sk-new-key", "sk-xxx", "sk-my-secret-key", ADMIN):
            self.assertNotIn(secret, listing)
        with sqlite3.connect(self.db_path) as db:
            dump = "\n".join(db.iterdump())
        self.assertNotIn("sk-my-secret-key", dump)

        code, body = self.curl(port, "-X", "DELETE", "http://localhost:18000/admin/v1/providers/1",
                               "-H", f"Authorization: Bearer {ADMIN}")
        self.assertEqual(code, 200, body)
        self.assertOpenAIError(self.chat("sk-my-secret-key", port=port), 404, "model_not_found")
        # Every change is in the audit log, without a secret.
        audit = self.admin_ok("GET", "/admin/v1/audit")["data"]
        actions = [(a["action"], a["target"]) for a in audit]
        self.assertIn(("create", "provider openai-main"), actions)
        self.assertIn(("delete", "provider openai-main"), actions)
        self.assertIn(("create", "key Default Key"), actions)
        self.assertNotIn("sk-", json.dumps(audit))

    def test_credential_rate_limit_zero_refuses_everything_and_null_is_unlimited(self):
        port = self.env_gateway("sqlite://" + self.db_path)
        self.admin_ok("POST", "/admin/v1/providers",
                      {"provider_key": "p", "provider_type": "openai", "api_base": f"http://127.0.0.1:{self.up1}/v1",
                       "api_key": "sk-up", "model_mapping": {}, "is_enabled": True})
        for name, key, limit in (("zero", "sk-zero-key-0000", 0), ("free", "sk-free-key-0000", None),
                                 ("two", "sk-two-key-00000", 2)):
            body = {"key": key, "name": name, "allowed_models": ["*"], "is_enabled": True}
            if limit is not None or name == "free":
                body["rate_limit"] = limit
            self.admin_ok("POST", "/admin/v1/credentials", body)
        self.assertOpenAIError(self.chat("sk-zero-key-0000", port=port), 429, "rate_limit_exceeded")
        self.assertEqual([self.chat("sk-free-key-0000", port=port).status for _ in range(10)], [200] * 10)
        statuses = [self.chat("sk-two-key-00000", port=port).status for _ in range(6)]
        self.assertIn(429, statuses)
        self.assertEqual(statuses[0], 200)
        listed = {c["name"]: c["rate_limit"] for c in self.admin_ok("GET", "/admin/v1/credentials")["data"]}
        self.assertEqual(listed, {"zero": 0, "free": None, "two": 2})
        # A disabled credential is refused.
        self.admin_ok("POST", "/admin/v1/keys/free/disable")
        self.assertOpenAIError(self.chat("sk-free-key-0000", port=port), 403, "api_key_disabled")


class SqliteAdmin(AdminBase):
    def setUp(self):
        super().setUp()
        self.up1 = self.mock("m1")
        self.up2 = self.mock("m2")
        self.db = "sqlite://" + os.path.join(self.tmp.name, "admin.db")

    def provider(self, name, up, **extra):
        body = {"name": name, "base_url": f"http://127.0.0.1:{up}/v1", "api_key": f"sk-{name}-secret"}
        body.update(extra)
        return body

    def test_invalid_changes_are_refused_naming_the_field_and_change_nothing(self):
        self.store_gateway(self.db, f'{{ name: filep, base_url: "http://127.0.0.1:{self.up1}/v1" }}')
        before = self.admin_ok("GET", "/admin/v1/config/version")["version"]
        r = self.admin("POST", "/admin/v1/providers", self.provider("bad", self.up2, type="mystery"))
        self.assertOpenAIError(r, 400, "invalid_config")
        self.assertEqual(r.json()["error"]["param"], "type")
        r = self.admin("POST", "/admin/v1/providers", self.provider("bad", self.up2, base_url="ftp://x"))
        self.assertOpenAIError(r, 400, "invalid_config")
        self.assertEqual(r.json()["error"]["param"], "base_url")
        r = self.admin("POST", "/admin/v1/providers", self.provider("bad", self.up2, wieght=3))
        self.assertOpenAIError(r, 400, "invalid_config")
        self.assertEqual(r.json()["error"]["param"], "wieght")
        r = self.admin("POST", "/admin/v1/routes", {"model": "gpt-x", "targets": [{"provider": "ghost"}]})
        self.assertOpenAIError(r, 400, "invalid_config")
        self.assertIn("ghost", r.json()["error"]["message"])
        self.assertEqual(r.json()["error"]["param"], "routing.models.gpt-x.targets[0].provider")
        r = self.admin("POST", "/admin/v1/providers", "{not json")
        self.assertOpenAIError(r, 400, "invalid_json")
        r = self.admin("POST", "/admin/v1/keys", {"name": "k", "allowed_ips": ["not-an-ip"]})
        self.assertOpenAIError(r, 400, "invalid_value")
        self.assertEqual(r.json()["error"]["param"], "allowed_ips")
        r = self.admin("POST", "/admin/v1/providers", {"provider_key": "a", "name": "b", "base_url": "http://h/v1"})
        self.assertOpenAIError(r, 400, "conflicting_fields")
        # Nothing changed: same version, same providers, no route, no key.
        self.assertEqual(self.admin_ok("GET", "/admin/v1/config/version")["version"], before)
        self.assertEqual([p["name"] for p in self.admin_ok("GET", "/admin/v1/providers")["data"]], ["filep"])
        self.assertEqual(self.admin_ok("GET", "/admin/v1/routes")["data"], [])
        self.assertEqual(self.admin_ok("GET", "/admin/v1/keys")["data"], [])
        # A route needing a provider cannot lose it.
        self.admin_ok("POST", "/admin/v1/providers", self.provider("p2", self.up2))
        self.admin_ok("POST", "/admin/v1/routes", {"model": "gpt-x", "targets": [{"provider": "p2"}],
                                                   "fallback_models": []})
        r = self.admin("DELETE", "/admin/v1/providers/p2")
        self.assertOpenAIError(r, 400, "invalid_config")
        self.assertEqual(self.admin("GET", "/admin/v1/providers/p2").status, 200)
        # A file provider is not deleted here.
        self.assertOpenAIError(self.admin("DELETE", "/admin/v1/providers/filep"), 409, "defined_in_file")

    def test_keys_lifecycle_secret_once_and_changes_live_at_once(self):
        self.store_gateway(self.db, f'{{ name: m, base_url: "http://127.0.0.1:{self.up1}/v1" }}')
        created = self.admin_ok("POST", "/admin/v1/keys", {"name": "alice", "user_id": "u-1",
                                                           "allowed_models": ["gpt-*"], "metadata": {"team": "ml"}})
        secret = created["key"]
        self.assertRegex(secret, r"^sk-[A-Za-z0-9]{48}$")
        for view in (self.admin_ok("GET", "/admin/v1/keys"), self.admin_ok("GET", "/admin/v1/keys/alice")):
            self.assertNotIn(secret, json.dumps(view))
        self.assertEqual(self.chat(secret).status, 200)  # serving when the answer came
        self.assertEqual(self.chat(secret, model="o1").status, 403)
        self.admin_ok("PATCH", "/admin/v1/keys/alice", {"allowed_models": ["o1"]})
        self.assertEqual(self.chat(secret, model="o1").status, 200)
        self.assertEqual(self.chat(secret).status, 403)
        self.admin_ok("POST", "/admin/v1/keys/alice/disable")
        self.assertOpenAIError(self.chat(secret, model="o1"), 403, "api_key_disabled")
        self.admin_ok("POST", "/admin/v1/keys/alice/enable")
        self.assertEqual(self.chat(secret, model="o1").status, 200)
        # Quota: used up, reset, usable again.
        self.admin_ok("PATCH", "/admin/v1/keys/alice", {"total_quota": 20, "quota_period": "monthly"})
        statuses = [self.chat(secret, model="o1").status for _ in range(4)]
        self.assertIn(429, statuses)
        used = self.admin_ok("GET", "/admin/v1/keys/alice")["quota_used"]
        self.assertGreaterEqual(used, 20)
        self.admin_ok("POST", "/admin/v1/keys/alice/reset-quota")
        eventually(lambda: self.chat(secret, model="o1").status == 200, timeout=3)
        # Usage of the key, from the ledger.
        usage = self.admin_ok("GET", "/admin/v1/keys/alice/usage")
        self.assertGreater(usage["total"]["requests"], 0)
        by_model = self.admin_ok("GET", "/admin/v1/usage?group_by=model")
        self.assertIn("o1", [row["model"] for row in by_model["data"]])
        self.assertEqual(self.admin("GET", "/admin/v1/usage?group_by=color").status, 400)
        self.admin_ok("DELETE", "/admin/v1/keys/alice")
        self.assertEqual(self.chat(secret, model="o1").status, 401)
        self.assertEqual(self.admin("GET", "/admin/v1/keys/alice").status, 404)

    def test_routes_with_weights_and_provider_enable_disable(self):
        self.store_gateway(self.db)
        self.admin_ok("POST", "/admin/v1/providers", self.provider("a", self.up1))
        self.admin_ok("POST", "/admin/v1/providers", self.provider("b", self.up2))
        route = self.admin_ok("POST", "/admin/v1/routes", {
            "model": "team/model", "strategy": "weighted_round_robin",
            "targets": [{"provider": "a", "model": "up-a", "weight": 1}, {"provider": "b", "model": "up-b",
                                                                             "weight": 0}]})
        self.assertEqual(route["source"], "store")
        key = self.admin_ok("POST", "/admin/v1/keys", {"name": "k"})["key"]

        def served_by(n=6):
            names = set()
            for _ in range(n):
                r = self.chat(key, model="team/model")
                self.assertEqual(r.status, 200, r.body)
                names.add(r.json()["choices"][0]["message"]["content"].split()[-1])
            return names

        self.assertEqual(served_by(), {"m1"})
        self.assertEqual(json.loads(self.mock_json(self.up1, "/mock/last")["body"])["model"], "up-a")
        self.admin_ok("PATCH", "/admin/v1/routes/team/model", {"targets": [{"provider": "a", "weight": 0},
                                                                          {"provider": "b", "weight": 1}]})
        self.assertEqual(served_by(), {"m2"})
        self.admin_ok("POST", "/admin/v1/providers/b/disable")
        r = self.chat(key, model="team/model")
        self.assertEqual(r.status, 404, r.body)  # its only live target is off
        self.admin_ok("POST", "/admin/v1/providers/b/enable")
        self.assertEqual(served_by(2), {"m2"})
        # /admin/v1/models is the same list.
        self.assertEqual(self.admin_ok("GET", "/admin/v1/models")["data"][0]["model"], "team/model")
        self.admin_ok("DELETE", "/admin/v1/routes/team/model")
        self.assertEqual(self.admin_ok("GET", "/admin/v1/routes")["data"], [])

    def test_the_file_changing_reloads_without_a_signal_and_a_broken_file_keeps_serving(self):
        up = self.up1
        path = self.write_config(f"""
server: {{ admin_key: "{ADMIN}" }}
providers: [ {{ name: one, base_url: "http://127.0.0.1:{up}/v1" }} ]
""")
        port = free_port()
        p = self.spawn([GATEWAY, "--config", path, "--listen", f"127.0.0.1:{port}", "--workers", "1"])
        wait_port(port, p)
        self.gw_port = port
        v1 = self.admin_ok("GET", "/admin/v1/config/version")["version"]
        # Written the way editors do: a new file renamed over the old one.
        with open(path + ".tmp", "w") as f:
            f.write(f"""
server: {{ admin_key: "{ADMIN}" }}
providers: [ {{ name: two, base_url: "http://127.0.0.1:{self.up2}/v1" }} ]
""")
        os.replace(path + ".tmp", path)
        eventually(lambda: self.admin_ok("GET", "/admin/v1/config/version")["version"] > v1, timeout=3)
        self.assertEqual([x["name"] for x in self.admin_ok("GET", "/admin/v1/providers")["data"]], ["two"])
        v2 = self.admin_ok("GET", "/admin/v1/config/version")["version"]
        with open(path, "w") as f:
            f.write("providers: [ { name: broken, base_url: nope } ]\n")
        time.sleep(1.0)
        self.assertEqual(self.admin_ok("GET", "/admin/v1/config/version")["version"], v2)
        r = self.admin("POST", "/admin/v1/config/reload")
        self.assertOpenAIError(r, 400, "invalid_config")
        self.assertIn("base_url", r.json()["error"]["message"])
        metrics = self.request("GET", "/metrics").body.decode()
        self.assertRegex(metrics, r'llm_proxy_config_reloads_total\{result="invalid"\} [2-9]')
        self.assertRegex(metrics, r'llm_proxy_config_reloads_total\{result="success"\} [1-9]')
        self.assertIn(f"llm_proxy_config_version {v2}\n", metrics)
        self.assertEqual(self.post("/v1/chat/completions", CHAT).status, 200)

    def test_a_configmap_style_symlink_swap_reloads_and_other_files_do_not(self):
        # Kubernetes mounts config.yaml -> ..data/config.yaml and swaps the ..data symlink.
        root = os.path.join(self.tmp.name, "mounted")
        os.makedirs(os.path.join(root, "v1"))
        os.makedirs(os.path.join(root, "v2"))
        for version, up in (("v1", self.up1), ("v2", self.up2)):
            with open(os.path.join(root, version, "config.yaml"), "w") as f:
                f.write(f'server: {{ admin_key: "{ADMIN}" }}\n'
                        f'providers: [ {{ name: {version}, base_url: "http://127.0.0.1:{up}/v1" }} ]\n')
        os.symlink("v1", os.path.join(root, "..data"))
        os.symlink(os.path.join("..data", "config.yaml"), os.path.join(root, "config.yaml"))
        port = free_port()
        p = self.spawn([GATEWAY, "--config", os.path.join(root, "config.yaml"), "--listen", f"127.0.0.1:{port}",
                        "--workers", "1"])
        wait_port(port, p)
        self.gw_port = port
        v1 = self.admin_ok("GET", "/admin/v1/config/version")["version"]
        with open(os.path.join(root, "unrelated.txt"), "w") as f:  # an event, same content: no reload
            f.write("x")
        time.sleep(0.6)
        self.assertEqual(self.admin_ok("GET", "/admin/v1/config/version")["version"], v1)
        os.symlink("v2", os.path.join(root, "..data_tmp"))
        os.replace(os.path.join(root, "..data_tmp"), os.path.join(root, "..data"))
        eventually(lambda: [x["name"] for x in self.admin_ok("GET", "/admin/v1/providers")["data"]] == ["v2"],
                   timeout=3)

    def test_reload_under_load_fails_no_request_and_cuts_no_stream(self):
        self.store_gateway(self.db)
        self.admin_ok("POST", "/admin/v1/providers", self.provider("base", self.up1))
        key = self.admin_ok("POST", "/admin/v1/keys", {"name": "load"})["key"]
        stop = threading.Event()
        failures, completed = [], [0]

        def client():
            while not stop.is_set():
                body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
                try:
                    r = self.post("/v1/chat/completions", body, headers={
                        "Authorization": f"Bearer {key}", "x-mock-chunks": "8", "x-mock-chunk-delay-ms": "5"})
                    text = r.body.decode()
                    if r.status != 200 or "data: [DONE]" not in text:
                        failures.append((r.status, text[-200:]))
                    else:
                        completed[0] += 1
                except Exception as e:  # noqa: BLE001 - any exception is a failed request
                    failures.append(repr(e))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for i in range(20):
                name = f"extra{i % 3}"
                if i % 3 == 2:
                    self.admin("DELETE", f"/admin/v1/providers/extra{(i - 1) % 3}")
                self.admin("PUT" if i % 2 else "POST", f"/admin/v1/providers{'' if i % 2 == 0 else '/' + name}",
                           self.provider(name, self.up2 if i % 2 else self.up1, weight=1 + i % 4))
                self.admin_ok("PATCH", "/admin/v1/providers/base", {"weight": 1 + (i % 5)})
                time.sleep(0.05)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        self.assertEqual(failures, [])
        self.assertGreater(completed[0], 20)
        # Traffic follows the new weights at once: base alone (weight 0 for the rest).
        for p in self.admin_ok("GET", "/admin/v1/providers")["data"]:
            if p["name"] != "base":
                self.admin_ok("DELETE", f"/admin/v1/providers/{p['name']}")
        self.mock_json(self.up2, "/mock/stats")
        self.request("POST", "/mock/reset", port=self.up2)
        for _ in range(5):
            self.assertEqual(self.chat(key, model="m").status, 200)
        self.assertEqual(self.mock_json(self.up2, "/mock/stats").get("requests", 0), 0)


class SqliteReplaced(AdminBase):
    def test_store_file_replaced_under_every_connection_is_no_crash(self):
        """The sync thread, the control thread and the usage ledger each hold a connection to the
        file; a file moved over it must not leave one of them on the old, truncated -shm."""
        up = self.mock("m1")
        path = os.path.join(self.tmp.name, "s.db")
        self.store_gateway("sqlite://" + path, f'{{ name: m, base_url: "http://127.0.0.1:{up}/v1" }}',
                           extra="logging: { access_log: off }")
        key = self.admin_ok("POST", "/admin/v1/keys", {"name": "k", "key": "sk-replaced-0000"})["key"]
        stop = threading.Event()

        def hammer(method, path, body=None, headers=None):
            while not stop.is_set():
                try:
                    self.request(method, path, body, headers=headers or AUTH)
                except OSError:
                    pass

        threads = [threading.Thread(target=hammer, args=("GET", "/admin/v1/providers")),
                   threading.Thread(target=hammer, args=("GET", "/admin/v1/audit")),
                   threading.Thread(target=hammer, args=("POST", "/v1/chat/completions", CHAT,
                                                         {"Authorization": f"Bearer {key}"}))]
        for t in threads:
            t.start()
        try:
            for i in range(25):
                other = os.path.join(self.tmp.name, f"o{i}.db")
                subprocess.run([GATEWAY, "keys", "--database", "sqlite://" + other, "add", "--name", f"k{i}"],
                               capture_output=True, timeout=30, check=True)
                os.replace(other, path)
                time.sleep(0.1)
                self.assertIsNone(self.gw_proc.poll(), "the gateway died")
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=30)
        self.assertEqual(self.admin("GET", "/admin/v1/keys").status, 200)


class PostgresAdmin(SqliteAdmin):
    """The same suite against a real PostgreSQL: both stores behave alike."""

    def setUp(self):
        super().setUp()
        self.pg = PostgresServer(self.tmp.name)
        self.addCleanup(self.pg.stop)
        self.db = self.pg.url

    test_the_file_changing_reloads_without_a_signal_and_a_broken_file_keeps_serving = None  # no store involved


class Migrations(AdminBase):
    def migrate(self, url, *args):
        r = subprocess.run([GATEWAY, "migrate", "--database", url, *args], capture_output=True, text=True, timeout=30)
        return r

    def check_up_and_down(self, url, tables):
        r = self.migrate(url, "version")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "0"), r.stderr)
        r = self.migrate(url, "up")
        self.assertEqual(r.returncode, 0, r.stderr)
        latest = int(self.migrate(url, "version").stdout)
        self.assertGreaterEqual(latest, 4)
        self.assertIn("providers", tables())
        status = self.migrate(url, "status").stdout
        self.assertEqual(status.count("applied"), latest)
        self.assertEqual(self.migrate(url, "down").returncode, 0)
        self.assertEqual(int(self.migrate(url, "version").stdout), latest - 1)
        self.assertEqual(self.migrate(url, "down", "--to", "3").returncode, 0)  # step 4 added providers
        self.assertEqual(int(self.migrate(url, "version").stdout), 3)
        self.assertNotIn("providers", tables())
        self.assertIn("usage_ledger", tables())
        self.assertEqual(self.migrate(url, "down", "--to", "0").returncode, 0)
        self.assertEqual(self.migrate(url, "version").stdout.strip(), "0")
        self.assertEqual(tables() - {"schema_version"}, set())
        self.assertEqual(self.migrate(url, "up").returncode, 0)
        self.assertEqual(int(self.migrate(url, "version").stdout), latest)
        self.assertNotEqual(self.migrate(url, "down", "--to", str(latest + 1)).returncode, 0)

    def test_sqlite_up_and_down_from_empty(self):
        path = os.path.join(self.tmp.name, "m.db")

        def tables():
            with sqlite3.connect(path) as db:
                return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND "
                                                  "name NOT LIKE 'sqlite_%'")}
        self.check_up_and_down("sqlite://" + path, tables)

    def test_postgres_up_and_down_from_empty(self):
        pg = PostgresServer(self.tmp.name)
        self.addCleanup(pg.stop)

        def tables():
            out = subprocess.run(["psql", pg.url, "-Atc", "SELECT tablename FROM pg_tables WHERE schemaname = "
                                  "'public'"], capture_output=True, text=True, timeout=30, check=True).stdout
            return set(out.split())
        self.check_up_and_down(pg.url, tables)


class Fleet(AdminBase):
    """Two instances on one PostgreSQL: a change through either serves on both within a second."""

    def setUp(self):
        super().setUp()
        self.up1 = self.mock("m1")
        self.pg = PostgresServer(self.tmp.name)
        self.addCleanup(self.pg.stop)

    def test_keys_and_providers_follow_across_instances_within_a_second(self):
        # A long poll interval: what is seen within a second came by LISTEN/NOTIFY.
        extra = "database: { url: \"%s\", poll_interval: 30s, sync_interval: 200ms }" % self.pg.url
        a = self.gateway(f"""
server: {{ admin_key: "{ADMIN}" }}
providers: []
auth: {{ enabled: true }}
{extra}
""")
        b = self.gateway(f"""
server: {{ admin_key: "{ADMIN}" }}
providers: []
auth: {{ enabled: true }}
{extra}
""")
        self.admin_ok("POST", "/admin/v1/providers", {"name": "p", "base_url": f"http://127.0.0.1:{self.up1}/v1"},
                      port=a)
        t0 = time.time()
        key = self.admin_ok("POST", "/admin/v1/keys", {"name": "shared"}, port=a)["key"]
        eventually(lambda: self.chat(key, model="any", port=b).status == 200, timeout=1.0)
        seen_after = time.time() - t0
        self.admin_ok("POST", "/admin/v1/keys/shared/disable", port=b)
        self.assertEqual(self.chat(key, model="any", port=b).status, 403)
        eventually(lambda: self.chat(key, model="any", port=a).status == 403, timeout=1.0)
        self.assertLess(seen_after, 1.0)
        # The provider list agrees.
        self.assertEqual([p["name"] for p in self.admin_ok("GET", "/admin/v1/providers", port=b)["data"]], ["p"])


class OpenApiAndDocs(AdminBase):
    def test_openapi_lists_every_endpoint_and_docs_render_offline(self):
        up = self.mock("m1")
        self.simple_gateway(up, extra_top=f'server: {{ admin_key: "{ADMIN}" }}')
        doc = self.request("GET", "/openapi.json").json()
        self.assertEqual(doc["openapi"], "3.1.0")
        for path, method in (("/v1/chat/completions", "post"), ("/v1/models/{model}", "get"),
                             ("/admin/v1/providers/{id}", "put"), ("/admin/v1/credentials", "post"),
                             ("/admin/v1/config/reload", "post"), ("/metrics", "get"), ("/v1/tokenize", "post")):
            self.assertIn(method, doc["paths"][path], path)
        self.assertEqual(doc["paths"]["/admin/v1/keys"]["post"]["security"], [{"AdminKey": []}])
        for page, marker in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
            r = self.request("GET", page)
            self.assertEqual(r.status, 200)
            self.assertIn(marker, r.body.decode())
            self.assertNotIn("https://", r.body.decode())  # nothing from a CDN
        js = self.request("GET", "/docs/assets/swagger-ui-bundle.js")
        self.assertEqual(js.status, 200)
        self.assertGreater(len(js.body), 500_000)
        self.assertEqual(self.request("GET", "/docs/assets/nothing.js").status, 404)
        chromium = shutil.which("chromium")
        if not chromium:
            self.skipTest("chromium is not installed (scripts/install-deps.sh installs it)")
        out = os.environ.get("LP_TEST_OUTPUT", self.tmp.name)
        os.makedirs(out, exist_ok=True)
        build = os.path.basename(os.path.normpath(os.environ.get("LP_BIN_DIR", "build")))
        shot = os.path.join(out, f"docs-{build}.png")  # kept with the test output
        # Every host but the gateway's resolves nowhere: the page must render from the binary alone.
        common = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--virtual-time-budget=15000",
                  f"--user-data-dir={os.path.join(self.tmp.name, 'chromium')}"]
        dom = subprocess.run(common + ["--dump-dom", f"http://127.0.0.1:{self.gw_port}/docs"], capture_output=True,
                             text=True, timeout=90).stdout
        self.assertIn("opblock", dom)  # Swagger UI rendered operations
        self.assertIn("/admin/v1/providers", dom)
        self.assertIn("/v1/chat/completions", dom)
        subprocess.run(common + [f"--screenshot={shot}", "--window-size=1280,2000",
                                 f"http://127.0.0.1:{self.gw_port}/docs"], capture_output=True, timeout=90)
        self.assertTrue(os.path.exists(shot) and os.path.getsize(shot) > 10_000)
        print(f"\n/docs screenshot: {shot}")
        dom = subprocess.run(common + ["--dump-dom", f"http://127.0.0.1:{self.gw_port}/redoc"], capture_output=True,
                             text=True, timeout=90).stdout
        self.assertIn("/admin/v1/credentials", dom)


if __name__ == "__main__":
    unittest.main()
