"""The Kafka ACL APIs (DescribeAcls / CreateAcls / DeleteAcls) with real admin clients: confluent-kafka
AdminClient (librdkafka) and kafka-python KafkaAdminClient here, kafkajs admin in node/kafkajs_acls_test.js.
Each test asserts the effect: the rules show in Alibaba's DescribeAcls (one set of rules for both APIs), a
SASL producer is refused after a DENY made with the client and let through once it is deleted, and a SASL
user without rights on the cluster gets CLUSTER_AUTHORIZATION_FAILED.

ACLs are instance-wide and switch authorization on for every SASL user of the instance, so these tests run
their own localyun process (not the session one test_kafka_sasl.py uses)."""
import os
import shutil
import subprocess
import uuid

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, AdminClient,
                                   ResourcePatternType, ResourceType)
from kafka import KafkaAdminClient
from kafka.admin import (ACL, ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern,
                         ResourcePatternFilter)
from kafka.admin import ResourceType as KpResourceType
from kafka import errors as kafka_errors

import mgmt
from conftest import Server

REGION = "cn-hangzhou"


@pytest.fixture(scope="module")
def acl_server():
    s = Server().start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def inst(acl_server):
    """The cn-hangzhou instance: plaintext and SASL_PLAINTEXT addresses, topics, SASL users `ops`, `app`."""
    port = acl_server.http_port
    vo = mgmt.alibaba(port, "GetInstanceList", RegionId=REGION)["InstanceList"]["InstanceVO"][0]
    iid = vo["InstanceId"]
    for topic in ["acl-ck", "acl-kp", "acl-js"]:
        r = mgmt.alibaba(port, "CreateTopic", InstanceId=iid, RegionId=REGION, Topic=topic, Remark="t", PartitionNum=1)
        assert r["Success"], r
    for user in ["ops", "app"]:
        r = mgmt.alibaba(port, "CreateSaslUser", InstanceId=iid, RegionId=REGION, Username=user,
                         Password=f"{user}-secret", Type="plain")
        assert r["Success"], r
    return {
        "id": iid,
        "http_port": port,
        "plaintext": acl_server.kafka_address(vo["EndPoint"]),
        "sasl": acl_server.kafka_address(vo["EndPoint"], plus=2),
    }


def sasl(user):
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanisms": "PLAIN", "sasl.username": user,
            "sasl.password": f"{user}-secret"}


def alibaba_acls(inst):
    r = mgmt.alibaba(inst["http_port"], "DescribeAcls", InstanceId=inst["id"], RegionId=REGION)
    assert r["Success"], r
    return sorted((a["AclResourceType"], a["AclResourceName"], a["AclResourcePatternType"], a["Username"],
                   a["AclOperationType"], a["AclPermissionType"]) for a in r["KafkaAclList"]["KafkaAclVO"])


def produce_error(inst, user, topic):
    """The delivery error of one SASL produce as `user` (None: delivered)."""
    p = Producer(dict(sasl(user), **{"bootstrap.servers": inst["sasl"], "acks": "all", "message.timeout.ms": 5000}))
    results = []
    p.produce(topic, value=uuid.uuid4().hex, on_delivery=lambda e, m: results.append(e))
    p.flush(10)
    assert len(results) == 1
    return results[0]


def test_confluent_kafka_create_describe_delete_acls_and_their_effect(inst):
    admin = AdminClient({"bootstrap.servers": inst["plaintext"]})
    ops = AclBinding(ResourceType.BROKER, "kafka-cluster", ResourcePatternType.LITERAL, "User:ops", "*",
                     AclOperation.ALL, AclPermissionType.ALLOW)
    writes = AclBinding(ResourceType.TOPIC, "acl-", ResourcePatternType.PREFIXED, "User:*", "*",
                        AclOperation.WRITE, AclPermissionType.ALLOW)
    for f in admin.create_acls([ops, writes]).values():
        assert f.result(15) is None
    assert produce_error(inst, "app", "acl-ck") is None

    # describe_acls with a MATCH filter: the rules that apply to the topic.
    match = AclBindingFilter(ResourceType.TOPIC, "acl-ck", ResourcePatternType.MATCH, None, None,
                             AclOperation.ANY, AclPermissionType.ANY)
    assert admin.describe_acls(match).result(15) == [writes]
    assert ("Topic", "acl-", "PREFIXED", "*", "Write", "ALLOW") in alibaba_acls(inst)

    # A DENY made by `ops` over SASL (ALL on the cluster) refuses `app`'s writes; deleting it lets them through.
    ops_admin = AdminClient(dict(sasl("ops"), **{"bootstrap.servers": inst["sasl"]}))
    deny = AclBinding(ResourceType.TOPIC, "acl-ck", ResourcePatternType.LITERAL, "User:app", "*",
                      AclOperation.WRITE, AclPermissionType.DENY)
    (f,) = ops_admin.create_acls([deny]).values()
    assert f.result(15) is None
    err = produce_error(inst, "app", "acl-ck")
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err
    deny_filter = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                                   AclPermissionType.DENY)
    (f,) = ops_admin.delete_acls([deny_filter]).values()
    assert f.result(15) == [deny]
    assert produce_error(inst, "app", "acl-ck") is None

    # `app` has no rights on the cluster: CLUSTER_AUTHORIZATION_FAILED for each creation and filter.
    # (librdkafka 2.16 does not surface DescribeAcls' top-level error code: an empty list comes back; the
    # kafka-python and kafkajs tests and tests/it/kafka_acl_apis.rs check that answer.)
    app_admin = AdminClient(dict(sasl("app"), **{"bootstrap.servers": inst["sasl"]}))
    assert app_admin.describe_acls(match).result(15) == []
    for future in [*app_admin.create_acls([deny]).values(), *app_admin.delete_acls([deny_filter]).values()]:
        with pytest.raises(KafkaException) as e:
            future.result(15)
        assert e.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    assert admin.describe_acls(match).result(15) == [writes], "app's calls changed nothing"

    # An invalid binding (a CLUSTER resource not named kafka-cluster) is refused by the broker.
    bad = AclBinding(ResourceType.BROKER, "other", ResourcePatternType.LITERAL, "User:ops", "*",
                     AclOperation.ALL, AclPermissionType.ALLOW)
    (f,) = admin.create_acls([bad]).values()
    with pytest.raises(KafkaException) as e:
        f.result(15)
    assert e.value.args[0].code() == KafkaError.INVALID_REQUEST

    # Clean up for the other clients' tests: delete everything.
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                                  AclPermissionType.ANY)
    (f,) = admin.delete_acls([everything]).values()
    assert sorted(str(b) for b in f.result(15)) == sorted(str(b) for b in [ops, writes])
    assert alibaba_acls(inst) == []


def test_kafka_python_create_describe_delete_acls_and_their_effect(inst):
    admin = KafkaAdminClient(bootstrap_servers=inst["plaintext"], request_timeout_ms=15000)
    allow = ACL(principal="User:app", host="*", operation=ACLOperation.WRITE,
                permission_type=ACLPermissionType.ALLOW,
                resource_pattern=ResourcePattern(KpResourceType.TOPIC, "acl-kp", ACLResourcePatternType.LITERAL))
    deny = ACL(principal="User:app", host="*", operation=ACLOperation.WRITE,
               permission_type=ACLPermissionType.DENY,
               resource_pattern=ResourcePattern(KpResourceType.TOPIC, "acl-", ACLResourcePatternType.PREFIXED))
    result = admin.create_acls([allow])
    assert (len(result["succeeded"]), result["failed"]) == (1, [])
    assert produce_error(inst, "app", "acl-kp") is None
    result = admin.create_acls([deny])
    assert (len(result["succeeded"]), result["failed"]) == (1, [])
    err = produce_error(inst, "app", "acl-kp")
    assert err is not None and err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED, err

    everything = ACLFilter(principal="User:app", host=None, operation=ACLOperation.ANY,
                           permission_type=ACLPermissionType.ANY,
                           resource_pattern=ResourcePatternFilter(KpResourceType.TOPIC, "acl-kp",
                                                                  ACLResourcePatternType.MATCH))
    acls, error = admin.describe_acls(everything)
    assert error is kafka_errors.NoError
    assert sorted((a.resource_pattern.resource_name, a.permission_type.name) for a in acls) == [
        ("acl-", "DENY"), ("acl-kp", "ALLOW")]
    assert alibaba_acls(inst) == [("Topic", "acl-", "PREFIXED", "app", "Write", "DENY"),
                                  ("Topic", "acl-kp", "LITERAL", "app", "Write", "ALLOW")]

    # A SASL admin without rights on the cluster: DescribeAcls answers CLUSTER_AUTHORIZATION_FAILED.
    app_admin = KafkaAdminClient(bootstrap_servers=inst["sasl"], security_protocol="SASL_PLAINTEXT",
                                 sasl_mechanism="PLAIN", sasl_plain_username="app",
                                 sasl_plain_password="app-secret", request_timeout_ms=15000)
    with pytest.raises(kafka_errors.ClusterAuthorizationFailedError):
        app_admin.describe_acls(everything)
    app_admin.close()

    # Only the DENY goes; app writes again.
    deny_only = ACLFilter(principal=None, host=None, operation=ACLOperation.ANY,
                          permission_type=ACLPermissionType.DENY,
                          resource_pattern=ResourcePatternFilter(KpResourceType.ANY, None, ACLResourcePatternType.ANY))
    ((_, deleted, error),) = admin.delete_acls([deny_only])
    assert error is kafka_errors.NoError
    assert [(a.resource_pattern.resource_name, a.permission_type.name) for a in deleted] == [("acl-", "DENY")]
    assert produce_error(inst, "app", "acl-kp") is None
    assert alibaba_acls(inst) == [("Topic", "acl-kp", "LITERAL", "app", "Write", "ALLOW")]
    ((_, deleted, error),) = admin.delete_acls([ACLFilter(
        principal=None, host=None, operation=ACLOperation.ANY, permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(KpResourceType.ANY, None, ACLResourcePatternType.ANY))])
    assert (error, len(deleted)) == (kafka_errors.NoError, 1)
    admin.close()


@pytest.mark.skipif(shutil.which("node") is None or not os.path.isdir(os.path.join(os.path.dirname(__file__), "node", "node_modules")),
                    reason="node or tests/clients/node/node_modules missing (run.sh runs npm ci)")
def test_kafkajs_create_describe_delete_acls_and_their_effect(inst):
    here = os.path.join(os.path.dirname(__file__), "node")
    r = subprocess.run(["node", "kafkajs_acls_test.js", inst["plaintext"], inst["sasl"]], cwd=here, timeout=90,
                       capture_output=True)
    assert r.returncode == 0, r.stderr.decode() + r.stdout.decode()
    assert b"kafkajs acls ok" in r.stdout
    assert alibaba_acls(inst) == []
