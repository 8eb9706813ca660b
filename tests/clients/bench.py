"""Single-producer produce and single-consumer fetch rates of localyun's Kafka data plane, with
confluent-kafka (librdkafka), 100-byte records, against the loopback limit (a bare TCP stream between two
threads of this process) and, when TANSU_BIN names a tansu binary, against tansu (in-memory storage) in the
same run; plus localyun's start-up time (process start to the Kafka port accepting) and idle RSS. Not part
of the test run: `scripts/bench-kafka.sh` (or `python tests/clients/bench.py [N]` with LOCALYUN_BIN
pointing at a release build). Prints Markdown tables for BENCHMARKS.md."""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

from conftest import VPORT, Server, free_port  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
VALUE = b"x" * 100


def produce(bootstrap, topic, acks):
    p = Producer({"bootstrap.servers": bootstrap, "acks": acks, "linger.ms": 5, "batch.size": 1_000_000,
                  "queue.buffering.max.messages": 2_000_000, "compression.type": "none"})
    t = time.perf_counter()
    for i in range(N):
        while True:
            try:
                p.produce(topic, VALUE, partition=0)
                break
            except BufferError:
                p.poll(0.001)
    assert p.flush(120) == 0
    return N / (time.perf_counter() - t)


def consume(bootstrap, topic, count):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{time.time()}", "enable.auto.commit": False,
                  "fetch.max.bytes": 50_000_000, "max.partition.fetch.bytes": 10_000_000})
    c.assign([TopicPartition(topic, 0, 0)])
    got, t = 0, time.perf_counter()
    while got < count:
        msgs = c.consume(100_000, 1.0)
        got += len(msgs)
    rate = count / (time.perf_counter() - t)
    c.close()
    return rate


def loopback_mb_s(total=1 << 30):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]

    def sink():
        conn, _ = srv.accept()
        left = total
        while left > 0:
            left -= len(conn.recv(1 << 20))
        conn.close()

    th = threading.Thread(target=sink)
    th.start()
    out = socket.create_connection(("127.0.0.1", port))
    chunk = b"\0" * (1 << 20)
    t = time.perf_counter()
    for _ in range(total >> 20):
        out.sendall(chunk)
    th.join()
    secs = time.perf_counter() - t
    out.close()
    return total / secs / 1e6


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def wait_port(port, proc, deadline_s=20):
    """Seconds until the port accepts (polled every millisecond)."""
    t = time.perf_counter()
    while time.perf_counter() - t < deadline_s:
        if proc.poll() is not None:
            raise RuntimeError("the broker exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.05):
                return time.perf_counter() - t
        except OSError:
            time.sleep(0.001)
    raise RuntimeError(f"port {port} never accepted")


def localyun_startup(runs=7):
    """Process start to the default instance's Kafka port accepting (median), and idle RSS 1 s later."""
    binary = os.environ.get("LOCALYUN_BIN", "target/release/localyun")
    times, rss = [], []
    tls_dir = tempfile.mkdtemp(prefix="localyun-bench-tls-")
    for i in range(runs + 1):
        kafka_port = free_port()
        args = [binary, "--port", str(free_port()), "--tls-port", str(free_port()), "--tls-dir", tls_dir]
        env = dict(os.environ, LOCALYUN_KAFKA_PORT_OFFSET=str(kafka_port - VPORT), LOCALYUN_LOG_LEVEL="warn")
        t = time.perf_counter()
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        try:
            wait_port(kafka_port, proc)
            took = time.perf_counter() - t
            time.sleep(1)
            if i > 0:  # the first start generates the TLS certificate
                times.append(took)
                rss.append(rss_mib(proc.pid))
        finally:
            proc.terminate()
            proc.wait(10)
    return statistics.median(times) * 1000, statistics.median(rss)


class Tansu:
    """tansu's broker with in-memory storage on a free port; topics created through CreateTopics."""

    def __init__(self, binary):
        self.port = free_port()
        url = f"tcp://127.0.0.1:{self.port}"
        args = [binary, "broker", "--kafka-listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/"]
        self.log = tempfile.NamedTemporaryFile(prefix="tansu-", suffix=".log", delete=False)
        t = time.perf_counter()
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        self.startup_ms = wait_port(self.port, self.proc) * 1000
        time.sleep(1)
        self.idle_rss = rss_mib(self.proc.pid)
        self.bootstrap = f"127.0.0.1:{self.port}"
        from confluent_kafka.admin import AdminClient, NewTopic
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        for f in admin.create_topics([NewTopic(t, 1, 1) for t in ("durable", "idem")]).values():
            f.result(30)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


def main():
    rows = []
    lb = loopback_mb_s()
    for label, data_dir in [("memory", None), ("--data-dir", tempfile.mkdtemp(prefix="localyun-bench-"))]:
        s = Server(data_dir=data_dir).start()
        try:
            for acks, topic in [("1", "durable"), ("all", "idem")]:
                prate = produce(s.bootstrap, topic, acks)
                crate = consume(s.bootstrap, topic, N)
                rows.append(("localyun", label, acks, prate, crate))
        finally:
            s.stop()
    tansu_bin = os.environ.get("TANSU_BIN")
    tansu_note = "tansu not measured (set TANSU_BIN)"
    if tansu_bin:
        t = Tansu(tansu_bin)
        try:
            for acks, topic in [("1", "durable"), ("all", "idem")]:
                prate = produce(t.bootstrap, topic, acks)
                crate = consume(t.bootstrap, topic, N)
                rows.append(("tansu", "memory", acks, prate, crate))
        finally:
            t.stop()
        tansu_note = f"tansu start-up {t.startup_ms:.1f} ms, idle RSS {t.idle_rss:.1f} MiB"
    start_ms, idle = localyun_startup()
    print(f"Loopback limit (bare TCP, one stream, 1 MiB writes): {lb:,.0f} MB/s "
          f"(~{lb * 1e6 / 170:,.0f} records/s at ~170 wire bytes per 100-byte record)\n")
    print(f"localyun start-up to the Kafka port accepting: {start_ms:.1f} ms (median of 7), idle RSS "
          f"{idle:.1f} MiB; {tansu_note}\n")
    print("| broker | storage | acks | produce (records/s) | produce (MB/s payload) | consume (records/s) |")
    print("|---|---|---|---|---|---|")
    for broker, label, acks, p, c in rows:
        print(f"| {broker} | {label} | {acks} | {p:,.0f} | {p * 100 / 1e6:,.1f} | {c:,.0f} |")


if __name__ == "__main__":
    main()
