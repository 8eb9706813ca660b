"""Starts the real localyun binary once per test session for the SDK-driven tests.

The binary is target/debug/localyun unless LOCALYUN_BIN names another. Ports are picked free; the TLS
certificate goes to a temporary folder and SSL_CERT_FILE points at its CA, as a user would set it up.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY_ID = "AKIDLOCAL"
SECRET = "local-secret"
ACCOUNT = "100000000001"

# The SDKs honour proxy variables even for 127.0.0.1 (see shared/sdk-wire-notes.md): drop them.
for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(var, None)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Localyun:
    def __init__(self, http_port, tls_port, ca_path, proc, workdir):
        self.http_port = http_port
        self.tls_port = tls_port
        self.ca_path = ca_path
        self.proc = proc
        self.workdir = workdir
        self.key_id = KEY_ID
        self.secret = SECRET
        self.account = ACCOUNT

    @property
    def http_endpoint(self):
        return f"127.0.0.1:{self.http_port}"

    @property
    def tls_endpoint(self):
        return f"localhost:{self.tls_port}"

    def output(self):
        """Everything the server printed so far."""
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def admin(self, path, method="GET", body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}/_localyun/{path}", data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")


def start_localyun(extra_args=(), extra_env=None, tls_dir=None):
    binary = os.environ.get("LOCALYUN_BIN", os.path.join(ROOT, "target", "debug", "localyun"))
    if not os.path.exists(binary):
        subprocess.run(["cargo", "build", "--quiet"], cwd=ROOT, check=True)
    workdir = tempfile.mkdtemp(prefix="localyun-sdk-")
    http_port, tls_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALYUN_") or k == "LOCALYUN_BIN"}
    env.update(extra_env or {})
    tls_dir = tls_dir or os.path.join(workdir, "tls")
    args = [binary, "--port", str(http_port), "--tls-port", str(tls_port), "--tls-dir", tls_dir]
    # Output goes to a file: a pipe nobody reads would fill up and stall the server.
    log_path = os.path.join(workdir, "localyun.log")
    log = open(log_path, "wb")
    proc = subprocess.Popen(args + list(extra_args), env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"localyun exited: {open(log_path, 'rb').read().decode(errors='replace')}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/_localyun/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.05)
    else:
        proc.kill()
        raise RuntimeError("localyun did not become healthy in 30 s")
    server = Localyun(http_port, tls_port, os.path.join(tls_dir, "ca.pem"), proc, workdir)
    server.log_path = log_path
    return server


def stop_localyun(server):
    server.proc.terminate()
    try:
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
    shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def localyun():
    server = start_localyun()
    # qcloudapi-sdk-python speaks HTTPS only and trusts certificates through the default context.
    os.environ["SSL_CERT_FILE"] = server.ca_path
    yield server
    stop_localyun(server)
