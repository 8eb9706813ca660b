"""Real Kafka clients against localyun's data plane: kafka-python (pure Python) and confluent-kafka
(librdkafka), plus kcat when installed. Topics come from fixtures.yaml (clients cannot create them)."""
import os
import shutil
import subprocess
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaTimeoutError

from conftest import Server


def consume_all(bootstrap, topic, expected, group=None, timeout=20, **extra):
    conf = {"bootstrap.servers": bootstrap, "group.id": group or f"g-{topic}-{time.time()}",
            "auto.offset.reset": "earliest", "enable.auto.commit": False}
    conf.update(extra)
    c = Consumer(conf)
    c.subscribe([topic])
    got = []
    deadline = time.time() + timeout
    while time.time() < deadline and len(got) < expected:
        m = c.poll(0.5)
        if m is None:
            continue
        assert m.error() is None, m.error()
        got.append(m)
    return c, got


def test_kafka_python_keyed_records_keep_keys_values_and_headers_across_partitions(server):
    p = KafkaProducer(bootstrap_servers=server.bootstrap, acks="all")
    sent = {}
    for i in range(30):
        key = f"user-{i % 6}".encode()
        md = p.send("keyed", key=key, value=f"event-{i}".encode(), headers=[("n", str(i).encode())]).get(10)
        sent[i] = (key, md.partition)
    p.flush()
    p.close()
    # The default partitioner spreads keys over partitions, each key always to the same one.
    assert len({part for _, part in sent.values()}) > 1
    for key in {k for k, _ in sent.values()}:
        assert len({part for k, part in sent.values() if k == key}) == 1
    c = KafkaConsumer("keyed", bootstrap_servers=server.bootstrap, auto_offset_reset="earliest",
                      group_id="kp-keyed", consumer_timeout_ms=5000)
    got = list(c)
    c.commit()
    c.close()
    assert len(got) == 30
    for m in got:
        i = int(m.value.decode().split("-")[1])
        assert m.key == sent[i][0] and m.partition == sent[i][1]
        assert m.headers == [("n", str(i).encode())]
    # Per partition, offsets are consecutive from 0.
    for part in {m.partition for m in got}:
        offs = sorted(m.offset for m in got if m.partition == part)
        assert offs == list(range(len(offs)))


def test_two_consumers_in_one_group_rebalance_and_split_the_partitions(server):
    group = "pair-group"
    consumers = []

    def assigned(c):
        return {tp.partition for tp in c.assignment()}

    def poll_all(deadline_s):
        deadline = time.time() + deadline_s
        while time.time() < deadline:
            for c in consumers:
                c.poll(0.2)
            sets = [assigned(c) for c in consumers]
            if all(sets) and sum(len(s) for s in sets) == 4 and set().union(*sets) == {0, 1, 2, 3}:
                return sets
        return [assigned(c) for c in consumers]

    a = Consumer({"bootstrap.servers": server.bootstrap, "group.id": group, "session.timeout.ms": 6000,
                  "heartbeat.interval.ms": 500, "auto.offset.reset": "earliest"})
    a.subscribe(["pairs"])
    consumers.append(a)
    assert poll_all(15) == [{0, 1, 2, 3}]
    b = Consumer({"bootstrap.servers": server.bootstrap, "group.id": group, "session.timeout.ms": 6000,
                  "heartbeat.interval.ms": 500, "auto.offset.reset": "earliest"})
    b.subscribe(["pairs"])
    consumers.append(b)
    sets = poll_all(30)
    assert all(sets) and sets[0].isdisjoint(sets[1]) and sets[0] | sets[1] == {0, 1, 2, 3}, sets
    # B leaves: A gets everything back.
    b.close()
    consumers.remove(b)
    assert poll_all(30) == [{0, 1, 2, 3}]
    a.close()


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_each_compression_codec_round_trips(server, codec):
    p = Producer({"bootstrap.servers": server.bootstrap, "compression.type": codec, "linger.ms": 20})
    errors = []
    for i in range(50):
        p.produce("codecs", key=f"{codec}-{i}", value=(f"{codec} payload {i} " * 20).encode(),
                  on_delivery=lambda e, m: errors.append(e) if e else None)
    assert p.flush(15) == 0 and errors == []
    c, got = consume_all(server.bootstrap, "codecs", 10_000, timeout=4)
    c.close()
    mine = [m for m in got if m.key().decode().startswith(codec + "-")]
    assert [m.value() for m in mine] == [(f"{codec} payload {i} " * 20).encode() for i in range(50)]


def test_an_idempotent_producer_writes_each_record_once_in_order(server):
    p = Producer({"bootstrap.servers": server.bootstrap, "enable.idempotence": True, "acks": "all",
                  "max.in.flight.requests.per.connection": 5, "linger.ms": 1})
    errors = []
    for i in range(500):
        p.produce("idem", key="same-key", value=str(i), on_delivery=lambda e, m: errors.append(e) if e else None)
        if i % 50 == 0:
            p.poll(0)
    assert p.flush(20) == 0 and errors == []
    c, got = consume_all(server.bootstrap, "idem", 500)
    c.close()
    assert [int(m.value()) for m in got] == list(range(500))


def test_a_topic_that_was_never_created_is_an_error(server):
    p = KafkaProducer(bootstrap_servers=server.bootstrap, max_block_ms=3000)
    with pytest.raises(KafkaTimeoutError):
        p.send("never-created", b"x").get(5)
    p.close()
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "ghost-reader",
                  "topic.metadata.refresh.interval.ms": 500})
    c.subscribe(["never-created"])
    deadline, err = time.time() + 15, None
    while time.time() < deadline and err is None:
        m = c.poll(0.5)
        if m is not None and m.error():
            err = m.error()
    c.close()
    assert err is not None and err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART, err
    # Still not there: metadata never auto-created it.
    admin_c = KafkaConsumer(bootstrap_servers=server.bootstrap)
    assert "never-created" not in admin_c.topics()
    admin_c.close()


def test_a_fetch_waiting_on_an_empty_partition_answers_when_a_record_arrives(server):
    c = KafkaConsumer(bootstrap_servers=server.bootstrap, fetch_max_wait_ms=10_000, enable_auto_commit=False)
    from kafka import TopicPartition as KTP
    tp = KTP("waiting", 0)
    c.assign([tp])
    c.seek_to_end(tp)
    c.position(tp)
    c.poll(timeout_ms=500)  # the consumer now holds a long-poll fetch open
    received = {}

    def consume():
        deadline = time.time() + 20
        while time.time() < deadline and "at" not in received:
            for msgs in c.poll(timeout_ms=200).values():
                if msgs:
                    received["at"] = time.time()
                    received["value"] = msgs[0].value

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(1.5)
    p = KafkaProducer(bootstrap_servers=server.bootstrap)
    p.send("waiting", b"wake-up").get(10)
    sent_at = time.time()
    t.join(25)
    c.close()
    p.close()
    assert received.get("value") == b"wake-up"
    # Far below the 10 s fetch.max.wait: the broker answered the open fetch on the append.
    assert received["at"] - sent_at < 2.0, received["at"] - sent_at


def test_acknowledged_records_survive_kill_9_with_a_data_dir(data_dir):
    s = Server(data_dir=data_dir).start()
    try:
        p = Producer({"bootstrap.servers": s.bootstrap, "acks": "all", "linger.ms": 5})
        acked = []
        for i in range(200):
            p.produce("durable", key=str(i % 7), value=f"durable-{i}",
                      on_delivery=lambda e, m: acked.append(m.value()) if e is None else None)
        assert p.flush(20) == 0
        assert len(acked) == 200
        c, _ = consume_all(s.bootstrap, "durable", 200, group="durable-reader", **{"enable.auto.commit": False})
        c.commit(offsets=[TopicPartition("durable", 0, 3)], asynchronous=False)
        c.close()
    finally:
        s.kill9()
    s2 = s.restarted()
    try:
        c, got = consume_all(s2.bootstrap, "durable", 200)
        c.close()
        assert sorted(m.value() for m in got) == sorted(acked)
        # The committed offset survived too.
        c = Consumer({"bootstrap.servers": s2.bootstrap, "group.id": "durable-reader"})
        committed = c.committed([TopicPartition("durable", 0)], timeout=10)
        c.close()
        assert committed[0].offset == 3
        # New records continue after the recovered ones.
        p = Producer({"bootstrap.servers": s2.bootstrap, "acks": "all"})
        offsets = []
        p.produce("durable", value="after", partition=0, on_delivery=lambda e, m: offsets.append(m.offset()))
        p.flush(10)
        assert offsets and offsets[0] == sum(1 for m in got if m.partition() == 0)
    finally:
        s2.stop()


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed (run.sh installs it)")
def test_kcat_produces_and_consumes(server):
    lines = "\n".join(f"k{i}:v{i}" for i in range(5)) + "\n"
    subprocess.run(["kcat", "-b", server.bootstrap, "-t", "kcat", "-P", "-K:", "-z", "lz4"], input=lines.encode(),
                   check=True, timeout=30)
    out = subprocess.run(["kcat", "-b", server.bootstrap, "-t", "kcat", "-C", "-e", "-o", "beginning",
                          "-f", "%k=%s@%o\n"], check=True, timeout=30, capture_output=True).stdout.decode()
    assert out.splitlines() == [f"k{i}=v{i}@{i}" for i in range(5)]
    listing = subprocess.run(["kcat", "-b", server.bootstrap, "-L", "-t", "kcat"], check=True, timeout=30,
                             capture_output=True).stdout.decode()
    assert "topic \"kcat\" with 1 partitions" in listing


@pytest.mark.skipif(shutil.which("node") is None or not os.path.isdir(os.path.join(os.path.dirname(__file__), "node", "node_modules")),
                    reason="node or tests/clients/node/node_modules missing (run.sh runs npm ci)")
def test_kafkajs_produces_and_consumes_in_a_group(server):
    here = os.path.join(os.path.dirname(__file__), "node")
    r = subprocess.run(["node", "kafkajs_test.js", server.bootstrap], cwd=here, timeout=90, capture_output=True)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
