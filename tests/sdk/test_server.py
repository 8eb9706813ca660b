"""The binary itself: defaults, HTTPS with the generated or a supplied certificate, health, graceful shutdown."""
import json
import os
import signal
import ssl
import urllib.error
import urllib.request

from conftest import start_localyun, stop_localyun


def https_get(url, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    with urllib.request.urlopen(url, context=ctx, timeout=10) as r:
        return r.status, json.loads(r.read())


def test_health_reports_version_and_services(localyun):
    with urllib.request.urlopen(f"http://127.0.0.1:{localyun.http_port}/_localyun/health", timeout=10) as r:
        body = json.loads(r.read())
    assert r.status == 200
    assert body["status"] == "ok" and body["version"]
    assert set(body["services"]) >= {"tencent-ckafka", "alibaba-kafka", "alibaba-rocketmq", "huawei-eventgrid"}


def test_generated_certificate_is_trusted_for_localhost_and_127_0_0_1_and_stable(localyun):
    for host in ("localhost", "127.0.0.1"):
        status, _ = https_get(f"https://{host}:{localyun.tls_port}/_localyun/health", localyun.ca_path)
        assert status == 200
    before = open(localyun.ca_path, "rb").read()
    # A second start on the same folder reuses the certificate instead of generating a new one.
    tls_dir = os.path.dirname(localyun.ca_path)
    other = start_localyun(tls_dir=tls_dir)
    try:
        assert open(localyun.ca_path, "rb").read() == before
        status, _ = https_get(f"https://localhost:{other.tls_port}/_localyun/health", localyun.ca_path)
        assert status == 200
    finally:
        stop_localyun(other)


def test_a_supplied_certificate_is_used(localyun):
    tls_dir = os.path.dirname(localyun.ca_path)
    cert, key = os.path.join(tls_dir, "cert.pem"), os.path.join(tls_dir, "key.pem")
    other = start_localyun(["--tls-cert", cert, "--tls-key", key], tls_dir="/nonexistent/never-created")
    try:
        status, _ = https_get(f"https://localhost:{other.tls_port}/_localyun/health", localyun.ca_path)
        assert status == 200
        assert not os.path.exists("/nonexistent/never-created")
    finally:
        stop_localyun(other)


def test_sigterm_shuts_down_gracefully():
    server = start_localyun()
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=10) == 0
    stop_localyun(server)


def test_start_up_prints_the_default_key_and_the_certificate_path():
    server = start_localyun()
    server.proc.send_signal(signal.SIGINT)
    server.proc.wait(timeout=10)
    out = server.output()
    assert "AKIDLOCAL / local-secret" in out
    assert "ca.pem" in out
    assert "local-secret" not in out.split("default key:")[0], "no secret before the documented default key line"


def admin_status(port, path, method="GET", headers=None, data=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/_localyun/{path}", data=data, method=method)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_the_admin_api_refuses_web_pages_and_rebound_names(localyun):
    port = localyun.http_port
    wipe = b'{"localyun_state_format":1,"models":{}}'
    # issue 13's curl: a text/plain import from another origin, as a browser would send it without preflight.
    assert admin_status(port, "state", "POST", {"Content-Type": "text/plain", "Origin": "http://evil.example"}, wipe) == 403
    assert admin_status(port, "state", "POST", {"Content-Type": "text/plain"}, wipe) == 415
    assert admin_status(port, "state", headers={"Host": "attacker.example"}) == 403
    assert admin_status(port, "state") == 200
    assert localyun.admin("state")["models"]["accounts"]["provisioned"], "nothing was wiped"


def test_the_admin_token_from_the_environment():
    server = start_localyun(extra_env={"LOCALYUN_ADMIN_TOKEN": "tok-env"})
    try:
        port = server.http_port
        assert admin_status(port, "health") == 200
        assert admin_status(port, "requests") == 401
        assert admin_status(port, "requests", headers={"Authorization": "Bearer tok-env"}) == 200
        assert "tok-env" not in server.output(), "the token is never printed"
    finally:
        stop_localyun(server)
