"""Tencent CKafka API v2 driven by the unmodified qcloudapi-sdk-python 2.0.15, over HTTPS (its only transport),
trusting localyun's generated certificate through SSL_CERT_FILE (set by the `localyun` fixture)."""
import json

import pytest
from QcloudApi.qcloudapi import QcloudApi

REGION = "ap-guangzhou"


def client(localyun, method="POST", signature_method="HmacSHA256", secret=None, region=REGION):
    return QcloudApi(
        "ckafka",
        {
            "secretId": localyun.key_id,
            "secretKey": secret or localyun.secret,
            "Region": region,
            "method": method,
            "SignatureMethod": signature_method,
            "endpoint": localyun.tls_endpoint,
        },
    )


def call(svc, action, params=None):
    raw = svc.call(action, params or {}, req_timeout=15)
    return json.loads(raw)


def ok(body):
    assert body["code"] == 0, body
    assert body["codeDesc"] == "Success"
    return body


@pytest.fixture(params=[("POST", "HmacSHA256"), ("GET", "HmacSHA1")], ids=["post-sha256", "get-sha1"])
def svc(request, localyun):
    method, sig = request.param
    return client(localyun, method, sig)


def instance_id(svc):
    body = ok(call(svc, "ListInstance"))
    assert body["totalCount"] >= 1
    inst = body["instanceList"][0]
    assert inst["instanceId"].startswith("ckafka-")
    assert inst["status"] == 1
    return inst["instanceId"]


def test_full_topic_lifecycle(svc, request):
    inst = instance_id(svc)
    attrs = ok(call(svc, "GetInstanceAttributes", {"instanceId": inst}))
    assert attrs["instanceId"] == inst and attrs["vport"] > 0

    topic = "sdk-" + request.node.callspec.id.replace("-", "")
    created = ok(call(svc, "CreateTopic", {"instanceId": inst, "topicName": topic, "partitionNum": 2,
                                           "replicaNum": 2, "note": "from-sdk", "enableWhiteList": 1,
                                           "ipWhiteList": ["10.0.0.1", "10.0.0.2"]}))
    assert created["topicId"].startswith("topic-")

    listed = ok(call(svc, "ListTopic", {"instanceId": inst, "searchWord": topic}))
    assert [t["topicName"] for t in listed["topicList"]] == [topic]

    ok(call(svc, "SetTopicAttributes", {"instanceId": inst, "topicName": topic, "note": "changed",
                                        "retentionMs": 3600000, "segmentMs": 86400000}))
    ok(call(svc, "AddPartition", {"instanceId": inst, "topicName": topic, "partitionNum": 4}))
    ok(call(svc, "AddTopicIpwhitelist", {"instanceId": inst, "topicName": topic, "ipWhiteList": ["10.0.0.3"]}))
    ok(call(svc, "DeleteTopicIpwhitelist", {"instanceId": inst, "topicName": topic, "ip": ["10.0.0.1"]}))
    ok(call(svc, "SetForward", {"instanceId": inst, "topicName": topic, "status": 0,
                                "cosBucket": "bucket-1250000000.cos.ap-guangzhou.myqcloud.com", "interval": 300}))

    attrs = ok(call(svc, "GetTopicAttributes", {"instanceId": inst, "topicName": topic}))
    assert attrs["note"] == "changed"
    assert attrs["partitionNum"] == 4 and len(attrs["partitions"]) == 4
    assert attrs["ipWhiteList"] == ["10.0.0.2", "10.0.0.3"]
    assert attrs["enableWhiteList"] == 1

    groups = ok(call(svc, "ListConsumerGroup", {"instanceId": inst}))
    assert "totalCount" in groups["data"]

    ok(call(svc, "SetInstanceAttributes", {"instanceId": inst, "instanceName": "sdk-instance", "msgRetentionTime": 120}))
    assert ok(call(svc, "GetInstanceAttributes", {"instanceId": inst}))["instanceName"] == "sdk-instance"

    ok(call(svc, "DeleteTopic", {"instanceId": inst, "topicName": topic}))
    gone = call(svc, "GetTopicAttributes", {"instanceId": inst, "topicName": topic})
    assert gone["code"] == 5000, gone


def test_documented_errors_through_the_sdk(svc):
    inst = instance_id(svc)
    dup = "dup-topic"
    ok(call(svc, "CreateTopic", {"instanceId": inst, "topicName": dup, "partitionNum": 1, "replicaNum": 1}))
    try:
        again = call(svc, "CreateTopic", {"instanceId": inst, "topicName": dup, "partitionNum": 1, "replicaNum": 1})
        assert again["code"] == 5100, again
    finally:
        ok(call(svc, "DeleteTopic", {"instanceId": inst, "topicName": dup}))
    bad = call(svc, "CreateTopic", {"instanceId": inst, "topicName": "9starts-with-digit", "partitionNum": 1, "replicaNum": 1})
    assert bad["code"] == 4000 and "topicName" in bad["message"], bad
    missing = call(svc, "GetInstanceAttributes", {"instanceId": "ckafka-doesnotx"})
    assert missing["code"] == 5000, missing
    unknown = call(svc, "NoSuchAction")
    assert unknown["code"] == 6100, unknown


def test_wrong_secret_is_rejected_with_4100(localyun):
    for method, sig in (("POST", "HmacSHA256"), ("GET", "HmacSHA1")):
        body = call(client(localyun, method, sig, secret="wrong-secret"), "ListInstance")
        assert body["code"] == 4100, body
