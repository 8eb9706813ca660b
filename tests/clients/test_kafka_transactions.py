"""Kafka transactions (KIP-98) with real clients: confluent-kafka (librdkafka) and kafka-python transactional
producers, read_committed / read_uncommitted consumers, consume-transform-produce with
send_offsets_to_transaction, fencing by a second producer of the same transactional.id, and outcomes
(plus an open transaction aborted) across a kill -9 with a data dir. Topics come from fixtures.yaml."""
import os
import shutil
import subprocess
import time

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer

from conftest import Server


def read(bootstrap, topic, isolation, expected, timeout=15, partitions=None):
    """Every record value of a topic (assigned partitions from the beginning) at an isolation level, once
    `expected` arrived or the partitions' ends were reached after `timeout`."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{topic}-{time.time()}",
                  "isolation.level": isolation, "enable.auto.commit": False,
                  "enable.partition.eof": True, "auto.offset.reset": "earliest"})
    parts = partitions if partitions is not None else [0]
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    got, eof = [], set()
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            assert m.error().code() == KafkaError._PARTITION_EOF, m.error()
            eof.add(m.partition())
            if len(got) >= expected and eof == set(parts):
                break
            continue
        got.append(m.value().decode())
    c.close()
    return got


def transactional(bootstrap, txn_id, **extra):
    conf = {"bootstrap.servers": bootstrap, "transactional.id": txn_id, "transaction.timeout.ms": 60000}
    conf.update(extra)
    p = Producer(conf)
    p.init_transactions(15)
    return p


def test_confluent_kafka_commit_and_abort_seen_by_read_committed_and_read_uncommitted(server):
    p = transactional(server.bootstrap, "ck-commit-abort")
    p.begin_transaction()
    for i in range(5):
        p.produce("txn-ck", value=f"committed-{i}", partition=i % 2)
    p.commit_transaction(15)
    p.begin_transaction()
    for i in range(3):
        p.produce("txn-ck", value=f"aborted-{i}", partition=i % 2)
    p.flush(10)
    p.abort_transaction(15)
    p.begin_transaction()
    p.produce("txn-ck", value="committed-last", partition=0)
    p.commit_transaction(15)

    committed = read(server.bootstrap, "txn-ck", "read_committed", 6, partitions=[0, 1])
    assert sorted(committed) == sorted([f"committed-{i}" for i in range(5)] + ["committed-last"])
    everything = read(server.bootstrap, "txn-ck", "read_uncommitted", 9, partitions=[0, 1])
    assert sorted(everything) == sorted(committed + [f"aborted-{i}" for i in range(3)])
    # The markers take offsets: partition 0 holds 3 + 2 + 1 records and 3 markers.
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "ck-watermarks"})
    low, high = c.get_watermark_offsets(TopicPartition("txn-ck", 0), timeout=10)
    c.close()
    assert (low, high) == (0, 9)


def test_confluent_kafka_open_transaction_is_invisible_to_read_committed_until_commit(server):
    p = transactional(server.bootstrap, "ck-open")
    p.begin_transaction()
    p.produce("txn-ck-open", value="pending", partition=0)
    p.flush(10)
    assert read(server.bootstrap, "txn-ck-open", "read_committed", 1, timeout=3) == []
    assert read(server.bootstrap, "txn-ck-open", "read_uncommitted", 1) == ["pending"]
    p.commit_transaction(15)
    assert read(server.bootstrap, "txn-ck-open", "read_committed", 1) == ["pending"]


def test_confluent_kafka_second_producer_with_the_same_id_fences_the_first(server):
    first = transactional(server.bootstrap, "ck-fenced")
    first.begin_transaction()
    first.produce("txn-ck-fence", value="zombie", partition=0)
    first.flush(10)
    second = transactional(server.bootstrap, "ck-fenced")
    with pytest.raises(KafkaException) as raised:
        first.commit_transaction(15)
    err = raised.value.args[0]
    assert err.fatal(), err
    assert err.code() in (KafkaError._FENCED, KafkaError.PRODUCER_FENCED, KafkaError.INVALID_PRODUCER_EPOCH), err
    # The zombie's open transaction was aborted by the second init; the second producer works.
    second.begin_transaction()
    second.produce("txn-ck-fence", value="survivor", partition=0)
    second.commit_transaction(15)
    got = read(server.bootstrap, "txn-ck-fence", "read_committed", 1)
    assert "zombie" not in got and "survivor" in got


def test_confluent_kafka_consume_transform_produce_commits_offsets_with_the_transaction(server):
    seed = Producer({"bootstrap.servers": server.bootstrap})
    for i in range(6):
        seed.produce("txn-ck-in", value=f"in-{i}", partition=0)
    assert seed.flush(10) == 0
    group = "ck-ctp"
    consumer = Consumer({"bootstrap.servers": server.bootstrap, "group.id": group, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    consumer.assign([TopicPartition("txn-ck-in", 0, 0)])
    p = transactional(server.bootstrap, "ck-ctp")

    def step(n, commit):
        taken = []
        deadline = time.time() + 15
        while len(taken) < n and time.time() < deadline:
            m = consumer.poll(0.5)
            if m is not None and not m.error():
                taken.append(m)
        assert len(taken) == n
        p.begin_transaction()
        for m in taken:
            p.produce("txn-ck-out", value=m.value().decode().replace("in-", "out-"), partition=0)
        p.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                      consumer.consumer_group_metadata(), 15)
        if commit:
            p.commit_transaction(15)
        else:
            p.abort_transaction(15)

    def committed_offset():
        c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": group})
        tp = c.committed([TopicPartition("txn-ck-in", 0)], timeout=10)[0]
        c.close()
        return tp.offset

    step(4, commit=True)
    assert committed_offset() == 4
    step(2, commit=False)
    assert committed_offset() == 4, "an aborted transaction's offsets are dropped"
    consumer.close()
    assert read(server.bootstrap, "txn-ck-out", "read_committed", 4) == [f"out-{i}" for i in range(4)]


def test_kafka_python_transactional_producer_commit_and_abort(server):
    p = KafkaProducer(bootstrap_servers=server.bootstrap, transactional_id="kp-tx")
    p.init_transactions()
    p.begin_transaction()
    for i in range(3):
        p.send("txn-kp", value=f"kp-committed-{i}".encode(), partition=0)
    p.commit_transaction()
    p.begin_transaction()
    p.send("txn-kp", value=b"kp-aborted", partition=0)
    p.flush()
    p.abort_transaction()
    p.close()
    c = KafkaConsumer(bootstrap_servers=server.bootstrap, isolation_level="read_committed",
                      auto_offset_reset="earliest", consumer_timeout_ms=4000, enable_auto_commit=False)
    from kafka import TopicPartition as KTP
    c.assign([KTP("txn-kp", 0)])
    c.seek_to_beginning()
    got = [m.value.decode() for m in c]
    c.close()
    assert got == [f"kp-committed-{i}" for i in range(3)]
    assert sorted(read(server.bootstrap, "txn-kp", "read_uncommitted", 4)) == sorted(got + ["kp-aborted"])


def test_transaction_outcomes_survive_kill_9_and_an_open_one_is_aborted_by_the_restart(data_dir):
    s = Server(data_dir=data_dir).start()
    try:
        p = transactional(s.bootstrap, "durable-tx")
        p.begin_transaction()
        p.produce("txn-durable", value="kept", partition=0)
        p.commit_transaction(15)
        p.begin_transaction()
        p.produce("txn-durable", value="dropped", partition=0)
        p.flush(10)
        p.abort_transaction(15)
        p.begin_transaction()
        p.produce("txn-durable", value="in-flight", partition=0)
        assert p.flush(10) == 0
    finally:
        s.kill9()
    s2 = s.restarted()
    try:
        assert read(s2.bootstrap, "txn-durable", "read_committed", 1) == ["kept"]
        assert read(s2.bootstrap, "txn-durable", "read_uncommitted", 3) == ["kept", "dropped", "in-flight"]
        # Nothing stays open: the last stable offset reached the end (3 records, 3 markers).
        c = Consumer({"bootstrap.servers": s2.bootstrap, "group.id": "durable-tx-w", "isolation.level": "read_committed"})
        assert c.get_watermark_offsets(TopicPartition("txn-durable", 0), timeout=10) == (0, 6)
        c.close()
        # The same transactional.id works again after the restart.
        p = transactional(s2.bootstrap, "durable-tx")
        p.begin_transaction()
        p.produce("txn-durable", value="after", partition=0)
        p.commit_transaction(15)
        assert read(s2.bootstrap, "txn-durable", "read_committed", 2) == ["kept", "after"]
    finally:
        s2.stop()


@pytest.mark.skipif(shutil.which("node") is None or not os.path.isdir(os.path.join(os.path.dirname(__file__), "node", "node_modules")),
                    reason="node or tests/clients/node/node_modules missing (run.sh runs npm ci)")
def test_kafkajs_transaction_send_offsets_commit_and_abort(server):
    here = os.path.join(os.path.dirname(__file__), "node")
    r = subprocess.run(["node", "kafkajs_txn_test.js", server.bootstrap], cwd=here, timeout=90, capture_output=True)
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    assert b"kafkajs transactions ok" in r.stdout
