"""Starts the real localyun binary for the Kafka client tests.

The Kafka listener of the default ap-guangzhou CKafka instance (vport 9092) is moved to a free port with
LOCALYUN_KAFKA_PORT_OFFSET, so the tests never depend on 9092 being free; every other instance's
listeners move by the same offset, and the management APIs answer the moved addresses. TLS (the SASL_SSL
access points) uses a certificate generated into a temporary folder (`Server.ca_pem`). The start sequence
is tests/pyhelpers/localyun_server.py, shared with tests/sdk and tests/clients/rocketmq.
"""
import os
import shutil
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyhelpers"))
import localyun_server  # noqa: E402
from localyun_server import free_port  # noqa: E402,F401  (bench.py imports it from here)

HERE = os.path.dirname(os.path.abspath(__file__))
VPORT = 9092


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
        args = ["--port", str(self.http_port), "--tls-port", str(self.tls_port), "--tls-dir", self.tls_dir,
                "--fixtures", os.path.join(HERE, "fixtures.yaml")]
        if self.data_dir:
            args += ["--data-dir", self.data_dir]
        env = localyun_server.environment({"LOCALYUN_KAFKA_PORT_OFFSET": str(self.offset), "LOCALYUN_LOG_LEVEL": "warn"})
        self.proc = localyun_server.launch(args, env, self.log.name, self.http_port, ports=[self.kafka_port], timeout=20)
        return self

    def restarted(self):
        """A new process on the same data folder and ports (after `kill9`): what a restart looks like."""
        again = Server(data_dir=self.data_dir)
        again.kafka_port, again.http_port = self.kafka_port, self.http_port
        return again.start()

    def kill9(self):
        localyun_server.kill9(self.proc)

    def stop(self):
        localyun_server.stop(self.proc)
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
