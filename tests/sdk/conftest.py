"""Starts the real localyun binary once per test session for the SDK-driven tests.

The binary is target/debug/localyun unless LOCALYUN_BIN names another. Ports are picked free; the TLS
certificate goes to a temporary folder and SSL_CERT_FILE points at its CA, as a user would set it up. The start
sequence is tests/pyhelpers/localyun_server.py, shared with the client suites under tests/clients.
"""
import json
import os
import shutil
import sys
import tempfile
import urllib.request

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyhelpers"))
import localyun_server  # noqa: E402
from localyun_server import ACCOUNT, KEY_ID, SECRET, free_port  # noqa: E402,F401  (tests import free_port)


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
        return localyun_server.read_log(self.log_path)

    def admin(self, path, method="GET", body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}/_localyun/{path}", data=data, method=method)
        if data is not None:
            req.add_header("content-type", "application/json")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")


def start_localyun(extra_args=(), extra_env=None, tls_dir=None):
    """A localyun on free HTTP and HTTPS ports, its TLS files in `tls_dir` (default: its own temporary
    folder), no LOCALYUN_* setting of the caller's environment but `extra_env`."""
    workdir = tempfile.mkdtemp(prefix="localyun-sdk-")
    http_port, tls_port = free_port(), free_port()
    tls_dir = tls_dir or os.path.join(workdir, "tls")
    args = ["--port", str(http_port), "--tls-port", str(tls_port), "--tls-dir", tls_dir, *extra_args]
    log_path = os.path.join(workdir, "localyun.log")
    proc = localyun_server.launch(args, localyun_server.environment(extra_env), log_path, http_port)
    server = Localyun(http_port, tls_port, os.path.join(tls_dir, "ca.pem"), proc, workdir)
    server.log_path = log_path
    return server


def stop_localyun(server):
    localyun_server.stop(server.proc)
    shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def localyun():
    server = start_localyun()
    # qcloudapi-sdk-python speaks HTTPS only and trusts certificates through the default context.
    os.environ["SSL_CERT_FILE"] = server.ca_path
    yield server
    stop_localyun(server)
