"""Starts the real localyun binary for the Kafka client tests.

The Kafka listener of the default ap-guangzhou CKafka instance (vport 9092) is moved to a free port with
LOCALYUN_KAFKA_PORT_OFFSET, so the tests never depend on 9092 being free; every other instance's
listeners move by the same offset, and the management APIs answer the moved addresses. TLS (the SASL_SSL access points) uses a
certificate generated into a temporary folder (`Server.ca_pem`).
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
VPORT = 9092

for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(var, None)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One localyun process; `bootstrap` is its Kafka address."""

    def __init__(self, data_dir=None):
        self.http_port = free_port()
        self.kafka_port = free_port()
        self.tls_port = free_port()
        self.tls_dir = tempfile.mkdtemp(prefix="localyun-kafka-tls-")
        self.data_dir = data_dir
        self.log = tempfile.NamedTemporaryFile(prefix="localyun-kafka-", suffix=".log", delete=False)
        self.proc = None

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def offset(self):
        return self.kafka_port - VPORT

    @property
    def ca_pem(self):
        return os.path.join(self.tls_dir, "ca.pem")

    def kafka_address(self, endpoint, plus=0):
        """The access point `plus` ports after an address a management API answers (`host:port`, already
        moved by the offset): Alibaba's SASL_PLAINTEXT one is `EndPoint` + 2, which it does not answer."""
        host, port = endpoint.rsplit(":", 1)
        return f"{host}:{int(port) + plus}"

    def start(self):
        binary = os.environ.get("LOCALYUN_BIN", os.path.join(ROOT, "target", "debug", "localyun"))
        args = [binary, "--port", str(self.http_port), "--tls-port", str(self.tls_port), "--tls-dir", self.tls_dir,
                "--fixtures", os.path.join(HERE, "fixtures.yaml")]
        if self.data_dir:
            args += ["--data-dir", self.data_dir]
        env = dict(os.environ, LOCALYUN_KAFKA_PORT_OFFSET=str(self.kafka_port - VPORT), LOCALYUN_LOG_LEVEL="warn")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"localyun exited: {open(self.log.name).read()}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/_localyun/health", timeout=1).read()
                with socket.create_connection(("127.0.0.1", self.kafka_port), timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"localyun did not start: {open(self.log.name).read()}")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.tls_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server():
    s = Server().start()
    yield s
    s.stop()


@pytest.fixture()
def data_dir():
    d = tempfile.mkdtemp(prefix="localyun-kafka-data-")
    yield d
    shutil.rmtree(d, ignore_errors=True)
