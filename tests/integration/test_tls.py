"""Real TLS upstreams: nginx terminates TLS in front of mock_upstream (certificates made by
openssl here). Checks verification on by default, custom CA, host name check and opt-out."""
import os
import shutil
import subprocess
import unittest

from harness import CHAT, GatewayTest, free_port, wait_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def make_cert(directory, name, san):
    key, crt = os.path.join(directory, name + ".key"), os.path.join(directory, name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=llm-proxy-test", "-addext", f"subjectAltName={san}"],
                   check=True, capture_output=True, timeout=60)
    return crt, key


@unittest.skipUnless(os.path.exists(NGINX), "nginx not installed")
class TlsUpstream(GatewayTest):
    def start_tls_front(self, upstream_port, crt, key):
        port = free_port()
        d = self.tmp.name
        conf = os.path.join(d, f"nginx{port}.conf")
        with open(conf, "w") as f:
            f.write(f"""
daemon off; master_process off; worker_processes 1;
pid {d}/nginx{port}.pid; error_log {d}/nginx{port}.err warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {d}; proxy_temp_path {d}; fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {crt}; ssl_certificate_key {key};
    location / {{
      proxy_pass http://127.0.0.1:{upstream_port};
      proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off;
    }}
  }}
}}
""")
        p = self.spawn([NGINX, "-c", conf, "-p", d])
        wait_port(port, p)
        return port

    def setUp(self):
        super().setUp()
        self.up = self.mock("tls-backend")
        self.crt, self.key = make_cert(self.tmp.name, "good", "DNS:localhost,IP:127.0.0.1")
        self.tls_port = self.start_tls_front(self.up, self.crt, self.key)

    def gateway_for(self, host, options):
        return self.gateway(f"""
providers:
  - name: secure
    base_url: https://{host}:{self.tls_port}/v1
    api_key: sk-tls-secret
{options}
""")

    def test_custom_ca_and_stream(self):
        self.gateway_for("localhost", f"    ca_file: {self.crt}")
        r = self.post("/v1/chat/completions", CHAT)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["choices"][0]["message"]["content"], "Hello from tls-backend")
        r = self.post("/v1/chat/completions", dict(CHAT, stream=True))
        self.assertIn(b"data: [DONE]", r.body)
        last = self.mock_json(self.up, "/mock/last")
        self.assertEqual(last["headers"].get("Authorization") or last["headers"].get("authorization"),
                         "Bearer sk-tls-secret")

    def test_ip_address_certificate(self):
        self.gateway_for("127.0.0.1", f"    ca_file: {self.crt}")
        self.assertEqual(self.post("/v1/chat/completions", CHAT).status, 200)

    def test_untrusted_certificate_is_refused_by_default(self):
        self.gateway_for("localhost", "")
        r = self.post("/v1/chat/completions", CHAT)
        self.assertOpenAIError(r, 502, "upstream_unreachable")
        self.assertIn("certificate", r.json()["error"]["message"])

    def test_host_name_mismatch_is_refused(self):
        other_crt, other_key = make_cert(self.tmp.name, "other", "DNS:other.example")
        port = self.start_tls_front(self.up, other_crt, other_key)
        self.tls_port = port
        self.gateway_for("localhost", f"    ca_file: {other_crt}")
        self.assertOpenAIError(self.post("/v1/chat/completions", CHAT), 502)

    def test_verification_opt_out(self):
        self.gateway_for("localhost", "    tls_verify: false")
        self.assertEqual(self.post("/v1/chat/completions", CHAT).status, 200)


if __name__ == "__main__":
    unittest.main()
