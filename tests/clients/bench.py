"""Single-producer produce and single-consumer fetch rates of localyun's Kafka data plane, with
confluent-kafka (librdkafka), 100-byte records, against the loopback limit (a bare TCP stream between two
threads of this process). Not part of the test run: `python tests/clients/bench.py [N]` with
LOCALYUN_BIN pointing at a release build. Prints a Markdown table for BENCHMARKS.md."""
import os
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402

from conftest import Server  # noqa: E402

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


def main():
    rows = []
    lb = loopback_mb_s()
    for label, data_dir in [("memory", None), ("--data-dir", tempfile.mkdtemp(prefix="localyun-bench-"))]:
        s = Server(data_dir=data_dir).start()
        try:
            for acks, topic in [("1", "durable"), ("all", "idem")]:
                prate = produce(s.bootstrap, topic, acks)
                crate = consume(s.bootstrap, topic, N)
                rows.append((label, acks, prate, crate))
        finally:
            s.stop()
    print(f"Loopback limit (bare TCP, one stream, 1 MiB writes): {lb:,.0f} MB/s "
          f"(~{lb * 1e6 / 170:,.0f} records/s at ~170 wire bytes per 100-byte record)\n")
    print(f"| storage | acks | produce (records/s) | produce (MB/s payload) | consume (records/s) |")
    print("|---|---|---|---|---|")
    for label, acks, p, c in rows:
        print(f"| {label} | {acks} | {p:,.0f} | {p * 100 / 1e6:,.1f} | {c:,.0f} |")


if __name__ == "__main__":
    main()
