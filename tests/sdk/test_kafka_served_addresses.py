"""With LOCALYUN_KAFKA_PORT_OFFSET the Kafka addresses the management APIs answer are the ones served: the
Tencent v2 `vip:vport` (qcloudapi-sdk-python), the v3 `Vip:Vport` (tencentcloud-sdk-python-ckafka) and the
Alibaba `EndPoint` (aliyun-python-sdk-alikafka) are given to a real Kafka client (kafka-python) as they are,
which produces and consumes through them and whose Metadata names the same address."""
import json
import os
import time
import uuid

import pytest
from aliyunsdkalikafka.request.v20190916 import GetInstanceListRequest
from aliyunsdkcore.client import AcsClient
from QcloudApi.qcloudapi import QcloudApi
from tencentcloud.ckafka.v20190819 import ckafka_client, models
from tencentcloud.common import credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

from conftest import free_port, start_localyun, stop_localyun

DEFAULT_VPORT = 9092  # the default ap-guangzhou CKafka instance's stored vport (README "Kafka data plane")
ALIBABA_VPORT = 9302  # the default cn-hangzhou Alibaba instance's


@pytest.fixture(scope="module")
def moved(localyun, tmp_path_factory):
    """A localyun whose Kafka listeners are moved so the default instance serves a free port; it shares the
    session server's TLS folder, whose CA SSL_CERT_FILE already names (qcloudapi speaks HTTPS only)."""
    fixtures = tmp_path_factory.mktemp("served") / "topics.yaml"
    fixtures.write_text(
        "kafka:\n  instances:\n"
        "    - cloud: tencent\n      region: ap-guangzhou\n      topics:\n"
        "        - {name: served-t, partitions: 1, replicas: 1}\n"
        "    - cloud: alibaba\n      region: cn-hangzhou\n      topics:\n"
        "        - {name: served-a, partitions: 1, note: served}\n")
    offset = free_port() - DEFAULT_VPORT
    server = start_localyun(["--fixtures", str(fixtures)], {"LOCALYUN_KAFKA_PORT_OFFSET": str(offset)},
                            tls_dir=os.path.dirname(localyun.ca_path))
    server.offset = offset
    yield server
    stop_localyun(server)


def round_trip(bootstrap, topic):
    """Produces one record through `bootstrap` and reads it back; returns the brokers Metadata named."""
    from kafka import KafkaConsumer, KafkaProducer

    value = uuid.uuid4().hex.encode()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    producer.send(topic, value=value).get(timeout=15)
    producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None, consumer_timeout_ms=500)
    got, deadline = [], time.time() + 15
    try:
        while value not in got and time.time() < deadline:
            got.extend(r.value for r in consumer)
        brokers = {f"{b.host}:{b.port}" for b in consumer._client.cluster.brokers()}
    finally:
        consumer.close()
    assert value in got, f"{topic} via {bootstrap}"
    return brokers


def test_tencent_v2_vport_is_where_clients_connect(moved):
    svc = QcloudApi("ckafka", {"secretId": moved.key_id, "secretKey": moved.secret, "Region": "ap-guangzhou",
                               "method": "POST", "SignatureMethod": "HmacSHA256", "endpoint": moved.tls_endpoint})
    listed = json.loads(svc.call("ListInstance", {}, req_timeout=15))
    assert listed["code"] == 0, listed
    assert len(listed["instanceList"]) == 1, listed
    instance = listed["instanceList"][0]["instanceId"]
    attrs = json.loads(svc.call("GetInstanceAttributes", {"instanceId": instance}, req_timeout=15))
    assert attrs["code"] == 0 and attrs["vport"] == DEFAULT_VPORT + moved.offset, attrs
    address = f"{attrs['vip']}:{attrs['vport']}"
    assert round_trip(address, "served-t") == {address}


def test_tencent_v3_vport_is_where_clients_connect(moved):
    cred = credential.Credential(moved.key_id, moved.secret)
    profile = ClientProfile(httpProfile=HttpProfile(protocol="http", endpoint=moved.http_endpoint, reqTimeout=15))
    ck = ckafka_client.CkafkaClient(cred, "ap-guangzhou", profile)
    req = models.DescribeInstancesDetailRequest()
    req.from_json_string("{}")
    detail = ck.DescribeInstancesDetail(req).Result.InstanceList
    assert len(detail) == 1
    vport = detail[0].Vport
    assert vport == str(DEFAULT_VPORT + moved.offset) and detail[0].VipList[0].Vport == vport
    req = models.DescribeInstanceAttributesRequest()
    req.from_json_string(json.dumps({"InstanceId": detail[0].InstanceId}))
    attrs = ck.DescribeInstanceAttributes(req).Result
    assert (attrs.Vip, attrs.Vport) == (detail[0].Vip, vport)
    address = f"{attrs.Vip}:{vport}"
    assert round_trip(address, "served-t") == {address}


def test_alibaba_endpoint_is_where_clients_connect(moved):
    request = GetInstanceListRequest.GetInstanceListRequest()
    request.set_endpoint(moved.http_endpoint)
    request.set_protocol_type("http")
    client = AcsClient(moved.key_id, moved.secret, "cn-hangzhou", auto_retry=False, timeout=15)
    body = json.loads(client.do_action_with_exception(request))
    vo = body["InstanceList"]["InstanceVO"][0]
    host = "127.0.0.1"
    assert vo["EndPoint"] == vo["DomainEndpoint"] == f"{host}:{ALIBABA_VPORT + moved.offset}", vo
    assert vo["SslEndPoint"] == vo["SslDomainEndpoint"] == f"{host}:{ALIBABA_VPORT + 1 + moved.offset}", vo
    assert round_trip(vo["EndPoint"], "served-a") == {vo["EndPoint"]}
