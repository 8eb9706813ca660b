"""The Kafka admin APIs with real admin clients: confluent-kafka AdminClient (librdkafka) and kafka-python
KafkaAdminClient here, kafkajs admin in node/kafkajs_admin_test.js. Each test asserts the effect (a consumer
from the beginning starts at the new log start, a deleted group is gone from the Tencent management API,
DescribeConfigs answers what was altered) and the documented error codes. Topics come from fixtures.yaml."""
import os
import shutil
import subprocess
import time

import pytest
from confluent_kafka import (Consumer, ConsumerGroupTopicPartitions, KafkaError, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType
from kafka import KafkaAdminClient, KafkaConsumer
from kafka import TopicPartition as KpTopicPartition
from kafka.admin import ConfigResource as KpConfigResource
from kafka.admin import ConfigResourceType
from kafka import errors as kafka_errors

import mgmt
from conftest import Server


def produce(bootstrap, topic, values, partition=0):
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for v in values:
        p.produce(topic, value=v, partition=partition)
    assert p.flush(10) == 0


def from_beginning(bootstrap, topic, expected, partition=0, timeout=15):
    """(offset, value) of every record a new group reads from the beginning (auto.offset.reset earliest)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"fresh-{topic}-{time.time()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, partition, -2)])  # OFFSET_BEGINNING: the log start
    got = []
    deadline = time.time() + timeout
    while len(got) < expected and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        assert not m.error(), m.error()
        got.append((m.offset(), m.value().decode()))
    c.close()
    return got


def error_code(future):
    """The Kafka error code a future of the admin client failed with (None when it succeeded)."""
    try:
        future.result(15)
        return None
    except KafkaException as e:
        return e.args[0].code()


def admin(server):
    return AdminClient({"bootstrap.servers": server.bootstrap})


def tencent_instance(server):
    return mgmt.tencent(server.http_port, "ListInstance")["instanceList"][0]["instanceId"]


def test_confluent_kafka_delete_records_moves_where_consumers_start(server):
    produce(server.bootstrap, "admin-ck", [f"v{i}" for i in range(10)])
    a = admin(server)
    done = a.delete_records([TopicPartition("admin-ck", 0, 6)])
    (result,) = [f.result(15) for f in done.values()]
    assert result.low_watermark == 6
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "admin-ck-wm"})
    assert c.get_watermark_offsets(TopicPartition("admin-ck", 0), timeout=10) == (6, 10)
    c.close()
    # A consumer from the beginning starts at the new log start.
    assert from_beginning(server.bootstrap, "admin-ck", 4) == [(i, f"v{i}") for i in range(6, 10)]
    # Beyond the high watermark: OFFSET_OUT_OF_RANGE; an unknown partition: UNKNOWN_TOPIC_OR_PART.
    (bad,) = a.delete_records([TopicPartition("admin-ck", 0, 99)]).values()
    assert error_code(bad) == KafkaError.OFFSET_OUT_OF_RANGE
    # -1 (OFFSET_END): up to the high watermark.
    (end,) = a.delete_records([TopicPartition("admin-ck", 0, -1)]).values()
    assert end.result(15).low_watermark == 10
    produce(server.bootstrap, "admin-ck", ["after"])
    assert from_beginning(server.bootstrap, "admin-ck", 1) == [(10, "after")]


def test_confluent_kafka_group_offsets_and_delete_consumer_groups(server):
    produce(server.bootstrap, "admin-ck-groups", ["a", "b", "c"])
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "ck-doomed", "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition("admin-ck-groups", 0, 2), TopicPartition("admin-ck-groups", 1, 0)],
             asynchronous=False)
    c.close()
    a = admin(server)
    # list / alter consumer group offsets (OffsetFetch / OffsetCommit through the admin client).
    (listed,) = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions("ck-doomed")]).values()
    offsets = {(tp.topic, tp.partition): tp.offset for tp in listed.result(15).topic_partitions}
    assert offsets == {("admin-ck-groups", 0): 2, ("admin-ck-groups", 1): 0}
    (altered,) = a.alter_consumer_group_offsets(
        [ConsumerGroupTopicPartitions("ck-doomed", [TopicPartition("admin-ck-groups", 0, 3)])]).values()
    altered.result(15)
    inst = tencent_instance(server)
    r = mgmt.tencent(server.http_port, "ListConsumerGroup", instanceId=inst, groupName="ck-doomed")
    assert r["code"] == 0 and "ck-doomed" in r["data"]["groupList"], r

    # A group with an active member: NON_EMPTY_GROUP.
    busy = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "ck-busy", "auto.offset.reset": "earliest"})
    busy.subscribe(["admin-ck-groups"])
    deadline = time.time() + 20
    while not busy.assignment() and time.time() < deadline:
        busy.poll(0.5)
    assert busy.assignment()
    futures = a.delete_consumer_groups(["ck-doomed", "ck-busy", "ck-never"])
    assert error_code(futures["ck-doomed"]) is None
    assert error_code(futures["ck-busy"]) == KafkaError.NON_EMPTY_GROUP
    assert error_code(futures["ck-never"]) == KafkaError.GROUP_ID_NOT_FOUND
    busy.close()
    # Gone from the management API, its offsets with it.
    r = mgmt.tencent(server.http_port, "ListConsumerGroup", instanceId=inst, groupName="ck-doomed")
    assert "ck-doomed" not in r["data"].get("groupList", {}), r
    (listed,) = a.list_consumer_group_offsets([ConsumerGroupTopicPartitions("ck-doomed")]).values()
    assert [tp.offset for tp in listed.result(15).topic_partitions if tp.offset >= 0] == []
    # The busy group, once its member left, can go too.
    (later,) = a.delete_consumer_groups(["ck-busy"]).values()
    assert error_code(later) is None


def test_confluent_kafka_topic_configs_and_describe_cluster(server):
    a = admin(server)
    topic = ConfigResource(ResourceType.TOPIC, "admin-ck-cfg", incremental_configs=[
        ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND)])
    for f in a.incremental_alter_configs([topic]).values():
        f.result(15)
    (described,) = a.describe_configs([ConfigResource(ResourceType.TOPIC, "admin-ck-cfg")]).values()
    configs = described.result(15)
    assert configs["retention.ms"].value == "3600000" and not configs["retention.ms"].is_default
    assert configs["cleanup.policy"].value == "delete,compact"
    assert not configs["retention.ms"].is_read_only
    # validate_only changes nothing; an unknown name is INVALID_CONFIG.
    check = ConfigResource(ResourceType.TOPIC, "admin-ck-cfg", incremental_configs=[
        ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)])
    for f in a.incremental_alter_configs([check], validate_only=True).values():
        f.result(15)
    unknown = ConfigResource(ResourceType.TOPIC, "admin-ck-cfg", incremental_configs=[
        ConfigEntry("retention.forever", "1", incremental_operation=AlterConfigOpType.SET)])
    (f,) = a.incremental_alter_configs([unknown]).values()
    assert error_code(f) == KafkaError.INVALID_CONFIG
    (described,) = a.describe_configs([ConfigResource(ResourceType.TOPIC, "admin-ck-cfg")]).values()
    assert described.result(15)["retention.ms"].value == "3600000"
    # AlterConfigs (the whole set): cleanup.policy is not named, so it returns to delete.
    whole = ConfigResource(ResourceType.TOPIC, "admin-ck-cfg", set_config={"retention.ms": "7200000"})
    for f in a.alter_configs([whole]).values():
        f.result(15)
    (described,) = a.describe_configs([ConfigResource(ResourceType.TOPIC, "admin-ck-cfg")]).values()
    configs = described.result(15)
    assert (configs["retention.ms"].value, configs["cleanup.policy"].value) == ("7200000", "delete")
    # The management API shows the topic's new retention.
    r = mgmt.tencent(server.http_port, "GetTopicAttributes", instanceId=tencent_instance(server), topicName="admin-ck-cfg")
    assert r["code"] == 0 and r.get("data", r)["config"]["retentionMs"] == 7200000, r

    cluster = a.describe_cluster(request_timeout=15).result(15)
    assert cluster.cluster_id == tencent_instance(server)
    assert cluster.controller.id == 0
    assert [(n.id, n.host, n.port) for n in cluster.nodes] == [(0, "127.0.0.1", server.kafka_port)]


def test_kafka_python_admin_client(server):
    produce(server.bootstrap, "admin-kp", [f"kp{i}" for i in range(6)])
    a = KafkaAdminClient(bootstrap_servers=server.bootstrap, request_timeout_ms=15000)
    try:
        result = a.delete_records({KpTopicPartition("admin-kp", 0): 4})
        assert result[KpTopicPartition("admin-kp", 0)]["low_watermark"] == 4, result
        consumer = KafkaConsumer(bootstrap_servers=server.bootstrap, auto_offset_reset="earliest",
                                 enable_auto_commit=False, consumer_timeout_ms=5000)
        consumer.assign([KpTopicPartition("admin-kp", 0)])
        consumer.seek_to_beginning()
        assert [(m.offset, m.value) for m in consumer] == [(4, b"kp4"), (5, b"kp5")]
        consumer.close()

        # Group offsets: delete one partition's, then the group.
        c = KafkaConsumer(bootstrap_servers=server.bootstrap, group_id="kp-doomed", enable_auto_commit=False)
        from kafka.structs import OffsetAndMetadata
        c.commit({KpTopicPartition("admin-kp", 0): OffsetAndMetadata(5, "", -1)})
        c.close()
        deleted = a.delete_group_offsets("kp-doomed", [KpTopicPartition("admin-kp", 0)])
        assert deleted == {KpTopicPartition("admin-kp", 0): kafka_errors.NoError}, deleted
        offsets = a.list_group_offsets({"kp-doomed": None})
        assert not offsets.get("kp-doomed"), offsets
        assert a.delete_groups(["kp-doomed", "kp-never"]) == {"kp-doomed": "OK", "kp-never": "GroupIdNotFoundError"}

        # Configs: alter (IncrementalAlterConfigs on this broker), describe, log dirs.
        a.alter_configs([KpConfigResource(ConfigResourceType.TOPIC, "admin-kp", configs={"retention.ms": "86400000"})])
        described = a.describe_configs([KpConfigResource(ConfigResourceType.TOPIC, "admin-kp")], config_filter="all")
        entry = described["topic"]["admin-kp"]["retention.ms"]
        assert entry["value"] == "86400000", described
        # Only what was altered comes back with the default filter (non-default values).
        modified = a.describe_configs([KpConfigResource(ConfigResourceType.TOPIC, "admin-kp")])
        assert "retention.ms" in modified["topic"]["admin-kp"] and "cleanup.policy" not in modified["topic"]["admin-kp"], modified
        # The log dir holds what is left of the partition: the batch holding offset 4 (the producer sent
        # the six records in one batch), nothing once every record is deleted.
        def size():
            (broker,) = a.describe_log_dirs(topic_partitions={"admin-kp": [0]})
            (log_dir,) = broker["log_dirs"]
            assert log_dir["log_dir"] == "(in memory)"
            (topic,) = log_dir["topics"]
            assert topic["name"] == "admin-kp"
            return topic["partitions"][0]["partition_size"]
        assert size() > 0
        a.delete_records({KpTopicPartition("admin-kp", 0): -1})
        assert size() == 0
    finally:
        a.close()


def test_delete_records_configs_and_group_deletions_survive_kill_9(data_dir):
    s = Server(data_dir=data_dir).start()
    try:
        produce(s.bootstrap, "admin-durable", [f"d{i}" for i in range(5)])
        a = admin(s)  # kept referenced: the futures of a collected client never complete
        (f,) = a.delete_records([TopicPartition("admin-durable", 0, 3)]).values()
        assert f.result(15).low_watermark == 3
        # A config change and a group deletion are stored like any management change.
        cfg = ConfigResource(ResourceType.TOPIC, "admin-durable", incremental_configs=[
            ConfigEntry("retention.ms", "5400000", incremental_operation=AlterConfigOpType.SET)])
        for f in a.incremental_alter_configs([cfg]).values():
            f.result(15)
        c = Consumer({"bootstrap.servers": s.bootstrap, "group.id": "durable-doomed", "enable.auto.commit": False})
        c.commit(offsets=[TopicPartition("admin-durable", 0, 4)], asynchronous=False)
        c.close()
        (f,) = a.delete_consumer_groups(["durable-doomed"]).values()
        assert error_code(f) is None
    finally:
        s.kill9()
    s2 = s.restarted()
    try:
        c = Consumer({"bootstrap.servers": s2.bootstrap, "group.id": "durable-wm"})
        assert c.get_watermark_offsets(TopicPartition("admin-durable", 0), timeout=10) == (3, 5)
        c.close()
        assert from_beginning(s2.bootstrap, "admin-durable", 2) == [(3, "d3"), (4, "d4")]
        a = admin(s2)
        (described,) = a.describe_configs([ConfigResource(ResourceType.TOPIC, "admin-durable")]).values()
        assert described.result(15)["retention.ms"].value == "5400000"
        (f,) = a.delete_consumer_groups(["durable-doomed"]).values()
        assert error_code(f) == KafkaError.GROUP_ID_NOT_FOUND, "the deletion survived the restart"
    finally:
        s2.stop()


@pytest.mark.skipif(shutil.which("node") is None or not os.path.isdir(os.path.join(os.path.dirname(__file__), "node", "node_modules")),
                    reason="node or tests/clients/node/node_modules missing (run.sh runs npm ci)")
def test_kafkajs_admin_delete_records_groups_and_configs(server):
    here = os.path.join(os.path.dirname(__file__), "node")
    r = subprocess.run(["node", "kafkajs_admin_test.js", server.bootstrap], cwd=here, timeout=90, capture_output=True)
    assert r.returncode == 0, (r.stdout.decode(), r.stderr.decode())
    assert b"kafkajs admin ok" in r.stdout
