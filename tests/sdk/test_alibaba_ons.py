"""The unmodified ONS SDKs against localyun: aliyun-python-sdk-ons (RPC, signature v1) and the tea SDK
alibabacloud_ons20190214 (ACS3-HMAC-SHA256), both at the ONS OpenAPI version 2019-02-14.

The server is shared by the session; every test creates its own instance.
"""
import json
import uuid

import pytest
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkons.request.v20190214 import (
    OnsConsumerAccumulateRequest,
    OnsConsumerResetOffsetRequest,
    OnsGroupConsumerUpdateRequest,
    OnsGroupCreateRequest,
    OnsGroupDeleteRequest,
    OnsGroupListRequest,
    OnsInstanceBaseInfoRequest,
    OnsInstanceCreateRequest,
    OnsInstanceDeleteRequest,
    OnsInstanceInServiceListRequest,
    OnsInstanceUpdateRequest,
    OnsMessageGetByMsgIdRequest,
    OnsRegionListRequest,
    OnsTopicCreateRequest,
    OnsTopicDeleteRequest,
    OnsTopicListRequest,
    OnsTopicStatusRequest,
    OnsTopicSubDetailRequest,
    OnsTopicUpdateRequest,
)

REGION = "cn-hangzhou"


def client(localyun, secret=None, key=None):
    return AcsClient(key or localyun.key_id, secret or localyun.secret, REGION, auto_retry=False, timeout=15)


def call(localyun, request, secret=None, key=None):
    request.set_endpoint(localyun.http_endpoint)
    request.set_protocol_type("http")
    body = json.loads(client(localyun, secret, key).do_action_with_exception(request))
    assert len(body["RequestId"]) == 36
    return body


def error_of(localyun, request, secret=None, key=None):
    with pytest.raises(ServerException) as err:
        call(localyun, request, secret, key)
    return err.value.get_error_code(), err.value.get_http_status()


def unique(prefix):
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def new_instance(localyun, name=None):
    req = OnsInstanceCreateRequest.OnsInstanceCreateRequest()
    req.set_InstanceName(name or unique("sdk-inst-"))
    req.set_Remark("created by the SDK")
    data = call(localyun, req)["Data"]
    assert data["InstanceType"] == 1
    return data["InstanceId"]


def test_region_list(localyun):
    regions = call(localyun, OnsRegionListRequest.OnsRegionListRequest())["Data"]["RegionDo"]
    assert REGION in [r["OnsRegionId"] for r in regions]


def test_instance_lifecycle(localyun):
    iid = new_instance(localyun, "sdk-orders")
    listed = call(localyun, OnsInstanceInServiceListRequest.OnsInstanceInServiceListRequest())
    vo = [i for i in listed["Data"]["InstanceVO"] if i["InstanceId"] == iid]
    assert len(vo) == 1 and vo[0]["InstanceName"] == "sdk-orders" and vo[0]["InstanceStatus"] == 5

    req = OnsInstanceUpdateRequest.OnsInstanceUpdateRequest()
    req.set_InstanceId(iid)
    req.set_InstanceName("sdk-orders-2")
    call(localyun, req)
    req = OnsInstanceBaseInfoRequest.OnsInstanceBaseInfoRequest()
    req.set_InstanceId(iid)
    info = call(localyun, req)["InstanceBaseInfo"]
    assert info["InstanceName"] == "sdk-orders-2" and info["Remark"] == "created by the SDK"
    assert info["Endpoints"]["TcpEndpoint"].startswith("http://")

    req = OnsInstanceDeleteRequest.OnsInstanceDeleteRequest()
    req.set_InstanceId(iid)
    call(localyun, req)
    req = OnsInstanceBaseInfoRequest.OnsInstanceBaseInfoRequest()
    req.set_InstanceId(iid)
    assert error_of(localyun, req) == ("AUTH_RESOURCE_OWNER_ERROR", 404)


def test_topic_and_group_lifecycle(localyun):
    iid = new_instance(localyun)
    topic, group = unique("sdk_topic_"), unique("GID_sdk_")

    req = OnsTopicCreateRequest.OnsTopicCreateRequest()
    req.set_InstanceId(iid)
    req.set_Topic(topic)
    req.set_MessageType(0)
    req.set_Remark("orders")
    call(localyun, req)
    assert error_of(localyun, req) == ("BIZ_TOPIC_EXISTED", 400)

    req = OnsTopicListRequest.OnsTopicListRequest()
    req.set_InstanceId(iid)
    topics = call(localyun, req)["Data"]["PublishInfoDo"]
    assert [(t["Topic"], t["MessageType"], t["Remark"]) for t in topics] == [(topic, 0, "orders")]

    req = OnsTopicUpdateRequest.OnsTopicUpdateRequest()
    req.set_InstanceId(iid)
    req.set_Topic(topic)
    req.set_Perm(4)
    call(localyun, req)
    req = OnsTopicStatusRequest.OnsTopicStatusRequest()
    req.set_InstanceId(iid)
    req.set_Topic(topic)
    status = call(localyun, req)["Data"]
    assert status["Perm"] == 4 and status["TotalCount"] == 0

    req = OnsGroupCreateRequest.OnsGroupCreateRequest()
    req.set_InstanceId(iid)
    req.set_GroupId(group)
    req.set_GroupType("tcp")
    call(localyun, req)
    req = OnsGroupListRequest.OnsGroupListRequest()
    req.set_InstanceId(iid)
    groups = call(localyun, req)["Data"]["SubscribeInfoDo"]
    assert [g["GroupId"] for g in groups] == [group]

    req = OnsGroupConsumerUpdateRequest.OnsGroupConsumerUpdateRequest()
    req.set_InstanceId(iid)
    req.set_GroupId(group)
    req.set_ReadEnable(False)
    call(localyun, req)

    req = OnsConsumerAccumulateRequest.OnsConsumerAccumulateRequest()
    req.set_InstanceId(iid)
    req.set_GroupId(group)
    req.set_Detail(True)
    acc = call(localyun, req)["Data"]
    assert acc["Online"] is False and acc["TotalDiff"] == 0

    req = OnsConsumerResetOffsetRequest.OnsConsumerResetOffsetRequest()
    req.set_InstanceId(iid)
    req.set_GroupId(group)
    req.set_Topic(topic)
    req.set_Type(1)
    req.set_ResetTimestamp(0)
    # The group has no consumer yet, so it subscribes nothing: no offset to reset.
    assert error_of(localyun, req) == ("BIZ_SUBSCRIPTION_NOT_FOUND", 404)

    req = OnsTopicSubDetailRequest.OnsTopicSubDetailRequest()
    req.set_InstanceId(iid)
    req.set_Topic(topic)
    assert call(localyun, req)["Data"]["Topic"] == topic

    req = OnsMessageGetByMsgIdRequest.OnsMessageGetByMsgIdRequest()
    req.set_InstanceId(iid)
    req.set_Topic(topic)
    req.set_MsgId("0A0000010000000000000000000000FF")
    assert error_of(localyun, req) == ("BIZ_NO_MESSAGE", 400)

    req = OnsGroupDeleteRequest.OnsGroupDeleteRequest()
    req.set_InstanceId(iid)
    req.set_GroupId(group)
    call(localyun, req)
    assert error_of(localyun, req) == ("BIZ_SUBSCRIPTION_NOT_FOUND", 404)

    req = OnsTopicDeleteRequest.OnsTopicDeleteRequest()
    req.set_InstanceId(iid)
    req.set_Topic(topic)
    call(localyun, req)
    assert error_of(localyun, req) == ("BIZ_TOPIC_NOT_FOUND", 404)


def test_errors(localyun):
    req = OnsInstanceBaseInfoRequest.OnsInstanceBaseInfoRequest()
    assert error_of(localyun, req) == ("MissingParameter", 400)
    req = OnsInstanceInServiceListRequest.OnsInstanceInServiceListRequest()
    assert error_of(localyun, req, key="AKIDNOSUCHKEY") == ("InvalidAccessKeyId.NotFound", 404)
    req = OnsInstanceInServiceListRequest.OnsInstanceInServiceListRequest()
    with pytest.raises(Exception) as err:
        call(localyun, req, secret="not-the-secret")
    # aliyunsdkcore compares the server's string to sign with its own and reports a mismatch itself when
    # they are equal (the secret is what differs).
    assert "SignatureDoesNotMatch" in str(err.value) or "InvalidAccessKeySecret" in str(err.value)


# ---- the tea SDK (ACS3-HMAC-SHA256 by default)


def tea_client(localyun, secret=None):
    tea_models = pytest.importorskip("alibabacloud_tea_openapi.models")
    tea_client_module = pytest.importorskip("alibabacloud_ons20190214.client")
    cfg = tea_models.Config(
        access_key_id=localyun.key_id,
        access_key_secret=secret or localyun.secret,
        region_id=REGION,
        endpoint=localyun.http_endpoint,
        protocol="http",
    )
    return tea_client_module.Client(cfg)


def test_tea_sdk_lifecycle(localyun):
    m = pytest.importorskip("alibabacloud_ons20190214.models")
    c = tea_client(localyun)
    iid = c.ons_instance_create(m.OnsInstanceCreateRequest(instance_name=unique("tea-inst-"))).body.data.instance_id
    topic = unique("tea_topic_")
    c.ons_topic_create(m.OnsTopicCreateRequest(instance_id=iid, topic=topic, message_type=0, remark="tea"))
    topics = c.ons_topic_list(m.OnsTopicListRequest(instance_id=iid)).body.data.publish_info_do
    assert [(t.topic, t.remark) for t in topics] == [(topic, "tea")]
    info = c.ons_instance_base_info(m.OnsInstanceBaseInfoRequest(instance_id=iid)).body.instance_base_info
    assert info.instance_id == iid and info.instance_status == 5
    c.ons_topic_delete(m.OnsTopicDeleteRequest(instance_id=iid, topic=topic))
    c.ons_instance_delete(m.OnsInstanceDeleteRequest(instance_id=iid))


def test_tea_sdk_errors(localyun):
    m = pytest.importorskip("alibabacloud_ons20190214.models")
    exceptions = pytest.importorskip("alibabacloud_tea_openapi.exceptions")
    c = tea_client(localyun, secret="not-the-secret")
    with pytest.raises(exceptions.ClientException) as err:
        c.ons_instance_in_service_list(m.OnsInstanceInServiceListRequest())
    assert err.value.code == "SignatureDoesNotMatch" and err.value.status_code == 400
    c = tea_client(localyun)
    with pytest.raises(exceptions.ClientException) as err:
        c.ons_topic_status(m.OnsTopicStatusRequest(instance_id="MQ_INST_1_NOPE", topic="t"))
    assert err.value.code == "AUTH_RESOURCE_OWNER_ERROR" and err.value.status_code == 404
