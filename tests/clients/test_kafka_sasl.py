"""SASL on real clients (kafka-python and confluent-kafka/librdkafka): PLAIN, SCRAM-SHA-256 and
SCRAM-SHA-512 with the right and a wrong password on the SASL_PLAINTEXT access point (vport + 2) of the
Alibaba cn-hangzhou instance, SASL_SSL (vport + 1, the answered `SslEndPoint`) with the generated CA, an
ACL refusal, and committed offsets visible through both vendors' management APIs."""
import logging
import shutil
import subprocess
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError as PyKafkaError

import mgmt

REGION = "cn-hangzhou"
MECHANISMS = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


@pytest.fixture(scope="module")
def alibaba(server):
    """The default cn-hangzhou instance: its answered endpoints, a topic `secure`, users `app` (plain)
    and `scram-app` (scram)."""
    r = mgmt.alibaba(server.http_port, "GetInstanceList", RegionId=REGION)
    vo = r["InstanceList"]["InstanceVO"][0]
    inst = vo["InstanceId"]
    for topic in ["secure", "secure-tls", "forbidden"]:
        r = mgmt.alibaba(server.http_port, "CreateTopic", InstanceId=inst, RegionId=REGION, Topic=topic, Remark="t",
                         PartitionNum=2)
        assert r["Success"], r
    for user, password, kind in [("app", "app-secret", "plain"), ("scram-app", "scram-secret", "scram")]:
        r = mgmt.alibaba(server.http_port, "CreateSaslUser", InstanceId=inst, RegionId=REGION, Username=user,
                         Password=password, Type=kind)
        assert r["Success"], r
    return {
        "id": inst,
        "plaintext": server.kafka_address(vo["EndPoint"]),
        "sasl_ssl": server.kafka_address(vo["SslEndPoint"]),
        "sasl_plaintext": server.kafka_address(vo["EndPoint"], plus=2),
    }


def user_for(mechanism):
    return ("app", "app-secret") if mechanism == "PLAIN" else ("scram-app", "scram-secret")


def confluent_conf(bootstrap, mechanism, user, password, protocol="SASL_PLAINTEXT", **extra):
    conf = {"bootstrap.servers": bootstrap, "security.protocol": protocol, "sasl.mechanisms": mechanism,
            "sasl.username": user, "sasl.password": password}
    conf.update(extra)
    return conf


def confluent_round_trip(conf, topic, n=5):
    p = Producer(dict(conf, acks="all"))
    acked = []
    tag = uuid.uuid4().hex
    for i in range(n):
        p.produce(topic, key=f"k{i}", value=f"{tag}-{i}", on_delivery=lambda e, m: acked.append(e))
    assert p.flush(20) == 0
    assert acked == [None] * n
    c = Consumer(dict(conf, **{"group.id": f"g-{tag}", "auto.offset.reset": "earliest"}))
    c.subscribe([topic])
    got = []
    deadline = time.time() + 20
    while time.time() < deadline and len(got) < n:
        m = c.poll(0.5)
        if m is not None and m.error() is None and m.value().decode().startswith(tag):
            got.append(m.value().decode())
    c.close()
    assert sorted(got) == sorted(f"{tag}-{i}" for i in range(n))


def confluent_auth_errors(conf, seconds=8):
    errors = []
    p = Producer(dict(conf, error_cb=errors.append))
    p.produce("secure", value="never")
    deadline = time.time() + seconds
    while time.time() < deadline and not any(e.code() == KafkaError._AUTHENTICATION for e in errors):
        p.poll(0.2)
    p.purge()
    return errors


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_confluent_kafka_sasl_with_the_right_password_produces_and_consumes(alibaba, mechanism):
    user, password = user_for(mechanism)
    confluent_round_trip(confluent_conf(alibaba["sasl_plaintext"], mechanism, user, password), "secure")


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_confluent_kafka_sasl_with_a_wrong_password_is_an_authentication_error(alibaba, mechanism):
    user, _ = user_for(mechanism)
    errors = confluent_auth_errors(confluent_conf(alibaba["sasl_plaintext"], mechanism, user, "wrong"))
    auth = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
    assert auth, errors
    assert "Invalid username or password" in auth[0].str(), auth[0].str()


def test_confluent_kafka_without_sasl_on_a_sasl_access_point_gets_nothing(alibaba):
    # A PLAINTEXT client on the SASL port: its Metadata is refused and the connection closed.
    c = Consumer({"bootstrap.servers": alibaba["sasl_plaintext"], "group.id": "nosasl", "socket.timeout.ms": 3000})
    with pytest.raises(Exception):
        c.list_topics(timeout=4)
    c.close()


def test_confluent_kafka_sasl_ssl_with_the_local_ca(server, alibaba):
    conf = confluent_conf(alibaba["sasl_ssl"], "SCRAM-SHA-512", "scram-app", "scram-secret", protocol="SASL_SSL",
                          **{"ssl.ca.location": server.ca_pem})
    confluent_round_trip(conf, "secure-tls")


@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kafka_python_sasl_right_and_wrong_password(alibaba, mechanism, caplog):
    user, password = user_for(mechanism)
    common = dict(bootstrap_servers=alibaba["sasl_plaintext"], security_protocol="SASL_PLAINTEXT",
                  sasl_mechanism=mechanism, sasl_plain_username=user)
    p = KafkaProducer(sasl_plain_password=password, acks="all", **common)
    tag = uuid.uuid4().hex
    md = p.send("secure", key=b"k", value=tag.encode()).get(10)
    p.close()
    c = KafkaConsumer(sasl_plain_password=password, auto_offset_reset="earliest", consumer_timeout_ms=5000,
                      **common)
    c.assign([__import__("kafka").TopicPartition("secure", md.partition)])
    c.seek(__import__("kafka").TopicPartition("secure", md.partition), md.offset)
    got = [m.value for m in c]
    c.close()
    assert got[:1] == [tag.encode()]
    # kafka-python logs the broker's SASL_AUTHENTICATION_FAILED (58) and gives up bootstrapping.
    with caplog.at_level(logging.WARNING, logger="kafka"), pytest.raises(PyKafkaError):
        KafkaProducer(sasl_plain_password="wrong", bootstrap_timeout_ms=4000, **common)
    messages = [r.getMessage() for r in caplog.records]
    assert any("[Error 58] SaslAuthenticationFailedError" in m and "Invalid username or password" in m
               for m in messages), messages


def test_acls_refuse_what_a_sasl_user_was_not_granted(server, alibaba):
    inst = alibaba["id"]
    for name, op in [("secure", "Write"), ("secure", "Read"), ("secure-tls", "Write"), ("secure-tls", "Read")]:
        for user in ["app", "scram-app"]:
            r = mgmt.alibaba(server.http_port, "CreateAcl", InstanceId=inst, RegionId=REGION, Username=user,
                             AclResourceType="Topic", AclResourceName=name, AclResourcePatternType="LITERAL",
                             AclOperationType=op)
            assert r["Success"], r
    for user in ["app", "scram-app"]:
        r = mgmt.alibaba(server.http_port, "CreateAcl", InstanceId=inst, RegionId=REGION, Username=user,
                         AclResourceType="Group", AclResourceName="*", AclResourcePatternType="LITERAL",
                         AclOperationType="Read")
        assert r["Success"], r
    conf = confluent_conf(alibaba["sasl_plaintext"], "PLAIN", "app", "app-secret")
    confluent_round_trip(conf, "secure", n=2)
    p = Producer(dict(conf, acks="all", **{"message.timeout.ms": 5000}))
    results = []
    p.produce("forbidden", value="no", on_delivery=lambda e, m: results.append(e))
    p.flush(10)
    assert results and results[0] is not None
    assert results[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, results[0]


def test_committed_offsets_show_in_both_vendors_management_apis(server, alibaba):
    # Alibaba: a group committing on the cn-hangzhou instance is GetConsumerProgress's consumer offset.
    conf = {"bootstrap.servers": alibaba["plaintext"]}
    p = Producer(dict(conf, acks="all"))
    for i in range(6):
        p.produce("secure", value=f"progress-{i}", partition=0)
    assert p.flush(10) == 0
    c = Consumer(dict(conf, **{"group.id": "progress-group", "enable.auto.commit": False}))
    c.commit(offsets=[TopicPartition("secure", 0, 4)], asynchronous=False)
    c.close()
    r = mgmt.alibaba(server.http_port, "GetConsumerProgress", InstanceId=alibaba["id"], RegionId=REGION,
                     ConsumerId="progress-group")
    assert r["Success"], r
    topics = r["ConsumerProgress"]["TopicList"]["TopicList"]
    secure = [t for t in topics if t["Topic"] == "secure"][0]
    part0 = [o for o in secure["OffsetList"]["OffsetList"] if o["Partition"] == 0][0]
    assert part0["ConsumerOffset"] == 4, part0
    assert part0["BrokerOffset"] >= 6, part0
    assert secure["TotalDiff"] == sum(o["BrokerOffset"] - o["ConsumerOffset"] for o in secure["OffsetList"]["OffsetList"])
    # Tencent: the same on the ap-guangzhou instance, in ListConsumerGroup.
    inst = mgmt.tencent(server.http_port, "ListInstance")["instanceList"][0]["instanceId"]
    c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": "tencent-progress", "enable.auto.commit": False})
    c.commit(offsets=[TopicPartition("keyed", 1, 2)], asynchronous=False)
    c.close()
    r = mgmt.tencent(server.http_port, "ListConsumerGroup", instanceId=inst, groupName="tencent-progress")
    assert r["code"] == 0, r
    data = r.get("data", r)
    # groupList: group -> topic -> committed offset per partition (0 where none), the `keyed` topic has 3.
    assert data["groupList"]["tencent-progress"]["keyed"] == [0, 2, 0], r


@pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat is not installed (run.sh installs it)")
@pytest.mark.parametrize("mechanism", MECHANISMS)
def test_kcat_sasl_right_and_wrong_password(alibaba, mechanism):
    # Debian's kcat links librdkafka 2.0, whose SCRAM final message repeats the client nonce before the
    # server's: Kafka accepts it (the nonce must end with the server's), so localyun must too.
    user, password = user_for(mechanism)
    tag = uuid.uuid4().hex
    base = ["kcat", "-b", alibaba["sasl_plaintext"], "-t", "secure", "-X", "security.protocol=SASL_PLAINTEXT",
            "-X", f"sasl.mechanisms={mechanism}", "-X", f"sasl.username={user}"]
    subprocess.run(base + ["-X", f"sasl.password={password}", "-P"], input=f"{tag}\n".encode(), check=True,
                   timeout=30)
    out = subprocess.run(base + ["-X", f"sasl.password={password}", "-C", "-e", "-o", "beginning"], check=True,
                         timeout=30, capture_output=True).stdout.decode()
    assert tag in out
    wrong = subprocess.run(base + ["-X", "sasl.password=wrong", "-L", "-m", "5"], timeout=30, capture_output=True)
    assert wrong.returncode != 0
    assert b"Authentication failed" in wrong.stderr or b"Invalid username or password" in wrong.stderr, \
        wrong.stderr.decode()
