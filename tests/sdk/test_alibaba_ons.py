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
    OnsMessageDetailRequest,
    OnsMessageGetByMsgIdRequest,
    OnsMessagePushRequest,
    OnsRegionListRequest,
    OnsTopicCreateRequest,
    OnsTopicDeleteRequest,
    OnsTopicListRequest,
    OnsTopicStatusRequest,
    OnsTopicSubDetailRequest,
    OnsTopicUpdateRequest,
    OnsTraceGetResultRequest,
    OnsTraceQueryByMsgIdRequest,
    OnsTraceQueryByMsgKeyRequest,
    ListTagResourcesRequest,
    TagResourcesRequest,
    UntagResourcesRequest,
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


def new_topic_and_group(localyun, iid, topic, group, group_type=None):
    req = OnsTopicCreateRequest.OnsTopicCreateRequest()
    req.set_InstanceId(iid)
    req.set_Topic(topic)
    req.set_MessageType(0)
    call(localyun, req)
    req = OnsGroupCreateRequest.OnsGroupCreateRequest()
    req.set_InstanceId(iid)
    req.set_GroupId(group)
    if group_type:
        req.set_GroupType(group_type)
    call(localyun, req)


def group_list(localyun, iid, group_type=None, tags=None):
    req = OnsGroupListRequest.OnsGroupListRequest()
    req.set_InstanceId(iid)
    if group_type:
        req.set_GroupType(group_type)
    if tags:
        req.set_Tags(tags)
    return {g["GroupId"]: g for g in call(localyun, req)["Data"]["SubscribeInfoDo"]}


def test_group_type_round_trip(localyun):
    iid = new_instance(localyun)
    new_topic_and_group(localyun, iid, "gt-topic", "GID_gt_http", group_type="http")
    req = OnsGroupCreateRequest.OnsGroupCreateRequest()
    req.set_InstanceId(iid)
    req.set_GroupId("GID_gt_tcp")
    call(localyun, req)
    every = group_list(localyun, iid)
    assert {g: v["GroupType"] for g, v in every.items()} == {"GID_gt_http": "http", "GID_gt_tcp": "tcp"}
    assert list(group_list(localyun, iid, "http")) == ["GID_gt_http"]
    assert list(group_list(localyun, iid, "tcp")) == ["GID_gt_tcp"]
    req = OnsGroupListRequest.OnsGroupListRequest()
    req.set_InstanceId(iid)
    req.set_GroupType("udp")
    assert error_of(localyun, req) == ("InvalidParameter", 400)


def tag_request(cls, kind, ids, iid=None, tags=None, keys=None, all_=None):
    req = cls()
    req.set_ResourceType(kind)
    req.set_ResourceIds(ids)
    if iid:
        req.set_InstanceId(iid)
    if tags is not None:
        req.set_Tags(tags)
    if keys is not None:
        req.set_TagKeys(keys)
    if all_ is not None:
        req.set_All(all_)
    return req


def list_tags(localyun, kind, iid=None, ids=None, tags=None):
    req = ListTagResourcesRequest.ListTagResourcesRequest()
    req.set_ResourceType(kind)
    if iid:
        req.set_InstanceId(iid)
    if ids:
        req.set_ResourceIds(ids)
    if tags:
        req.set_Tags(tags)
    body = call(localyun, req)
    return sorted((r["ResourceType"], r["ResourceId"], r["TagKey"], r["TagValue"]) for r in body["TagResources"])


def test_tags_on_instances_topics_and_groups(localyun):
    iid = new_instance(localyun)
    new_topic_and_group(localyun, iid, "tagged", "GID_tagged")
    env = [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "pay"}]
    call(localyun, tag_request(TagResourcesRequest.TagResourcesRequest, "INSTANCE", [iid], tags=env))
    call(localyun, tag_request(TagResourcesRequest.TagResourcesRequest, "TOPIC", ["tagged"], iid, tags=env[:1]))
    call(localyun, tag_request(TagResourcesRequest.TagResourcesRequest, "GROUP", ["GID_tagged"], iid, tags=env[1:]))

    assert list_tags(localyun, "INSTANCE", ids=[iid]) == [
        ("ALIYUN::MQ::INSTANCE", iid, "env", "prod"), ("ALIYUN::MQ::INSTANCE", iid, "team", "pay")]
    assert list_tags(localyun, "TOPIC", iid) == [("ALIYUN::MQ::TOPIC", "tagged", "env", "prod")]
    assert list_tags(localyun, "GROUP", iid, tags=[{"Key": "team", "Value": "pay"}]) == \
        [("ALIYUN::MQ::GROUP", "GID_tagged", "team", "pay")]
    assert list_tags(localyun, "GROUP", iid, tags=[{"Key": "team", "Value": "other"}]) == []

    # The resource lists show the tags and filter by them.
    req = OnsInstanceInServiceListRequest.OnsInstanceInServiceListRequest()
    req.set_Tags([{"Key": "team", "Value": "pay"}])
    listed = call(localyun, req)["Data"]["InstanceVO"]
    assert [i["InstanceId"] for i in listed] == [iid]
    assert listed[0]["Tags"]["Tag"] == [{"Key": "env", "Value": "prod"}, {"Key": "team", "Value": "pay"}]
    req = OnsTopicListRequest.OnsTopicListRequest()
    req.set_InstanceId(iid)
    req.set_Tags([{"Key": "env", "Value": "prod"}])
    assert [t["Topic"] for t in call(localyun, req)["Data"]["PublishInfoDo"]] == ["tagged"]
    assert list(group_list(localyun, iid, tags=[{"Key": "team"}])) == ["GID_tagged"]
    assert group_list(localyun, iid, tags=[{"Key": "env"}]) == {}

    call(localyun, tag_request(UntagResourcesRequest.UntagResourcesRequest, "INSTANCE", [iid], keys=["env"]))
    assert list_tags(localyun, "INSTANCE", ids=[iid]) == [("ALIYUN::MQ::INSTANCE", iid, "team", "pay")]
    call(localyun, tag_request(UntagResourcesRequest.UntagResourcesRequest, "INSTANCE", [iid], all_=True))
    assert list_tags(localyun, "INSTANCE", ids=[iid]) == []


def test_tag_errors(localyun):
    iid = new_instance(localyun)
    new_topic_and_group(localyun, iid, "tag-errors", "GID_tag_errors")
    tag = TagResourcesRequest.TagResourcesRequest
    one = [{"Key": "k", "Value": "v"}]
    assert error_of(localyun, tag_request(tag, "QUEUE", [iid], tags=one)) == ("InvalidParameter", 400)
    assert error_of(localyun, tag_request(tag, "TOPIC", ["tag-errors"], tags=one)) == ("MissingParameter", 400)
    assert error_of(localyun, tag_request(tag, "INSTANCE", [iid], tags=[])) == ("MissingParameter", 400)
    assert error_of(localyun, tag_request(tag, "INSTANCE", [iid], tags=[{"Key": "aliyun-x", "Value": "v"}])) == \
        ("InvalidParameter", 400)
    assert error_of(localyun, tag_request(tag, "INSTANCE", [iid], tags=[{"Key": "k", "Value": "x" * 129}])) == \
        ("InvalidParameter", 400)
    assert error_of(localyun, tag_request(tag, "INSTANCE", ["MQ_INST_none"], tags=one)) == \
        ("AUTH_RESOURCE_OWNER_ERROR", 404)
    assert error_of(localyun, tag_request(tag, "TOPIC", ["missing"], iid, tags=one)) == ("BIZ_TOPIC_NOT_FOUND", 404)
    assert error_of(localyun, tag_request(tag, "GROUP", ["GID_missing"], iid, tags=one)) == \
        ("BIZ_SUBSCRIPTION_NOT_FOUND", 404)
    twenty = [{"Key": f"k{n}", "Value": "v"} for n in range(20)]
    call(localyun, tag_request(tag, "TOPIC", ["tag-errors"], iid, tags=twenty))
    assert error_of(localyun, tag_request(tag, "TOPIC", ["tag-errors"], iid, tags=[{"Key": "k20", "Value": "v"}])) \
        == ("QuotaExceed.TagsPerResource", 400)
    assert len(list_tags(localyun, "TOPIC", iid)) == 20


def publish(localyun, iid, topic, body, key, tag="TagA"):
    from mq_http_sdk.mq_client import MQClient
    from mq_http_sdk.mq_producer import TopicMessage
    producer = MQClient(f"http://{localyun.http_endpoint}", localyun.key_id, localyun.secret).get_producer(iid, topic)
    msg = TopicMessage(body, tag)
    msg.set_message_key(key)
    return producer.publish_message(msg).message_id


def test_message_detail_traces_and_push(localyun):
    import time
    iid = new_instance(localyun)
    new_topic_and_group(localyun, iid, "traced", "GID_traced")
    msg_id = publish(localyun, iid, "traced", "hello trace", "order-1")

    req = OnsMessageDetailRequest.OnsMessageDetailRequest()
    req.set_InstanceId(iid)
    req.set_Topic("traced")
    req.set_MsgId(msg_id)
    data = call(localyun, req)["Data"]
    assert data["MsgId"] == msg_id and data["BodyStr"] == "hello trace" and data["Topic"] == "traced"
    assert {"Name": "KEYS", "Value": "order-1"} in data["PropertyList"]
    req.set_MsgId("0A0000000000000000000000")
    assert error_of(localyun, req) == ("BIZ_NO_MESSAGE", 400)

    now = int(time.time() * 1000)
    req = OnsTraceQueryByMsgKeyRequest.OnsTraceQueryByMsgKeyRequest()
    req.set_InstanceId(iid)
    req.set_Topic("traced")
    req.set_MsgKey("order-1")
    req.set_BeginTime(now - 60_000)
    req.set_EndTime(now + 60_000)
    query_id = call(localyun, req)["QueryId"]
    get = OnsTraceGetResultRequest.OnsTraceGetResultRequest()
    get.set_QueryId(query_id)
    trace = call(localyun, get)["TraceData"]
    assert trace["QueryId"] == query_id and trace["Status"] == "finish" and trace["MsgKey"] == "order-1"
    assert [(t["MsgId"], t["Topic"], t["Tag"], t["Status"]) for t in trace["TraceList"]["TraceMapDo"]] == \
        [(msg_id, "traced", "TagA", "SEND_SUCCESS")]
    req.set_MsgKey("no-such-key")
    assert error_of(localyun, req) == ("BIZ_NO_MESSAGE", 400)
    get.set_QueryId("not-a-query")
    assert error_of(localyun, get) == ("InvalidParameter", 400)

    by_id = OnsTraceQueryByMsgIdRequest.OnsTraceQueryByMsgIdRequest()
    by_id.set_InstanceId(iid)
    by_id.set_Topic("traced")
    by_id.set_MsgId(msg_id)
    by_id.set_BeginTime(now - 60_000)
    by_id.set_EndTime(now + 60_000)
    get.set_QueryId(call(localyun, by_id)["QueryId"])
    assert [t["MsgId"] for t in call(localyun, get)["TraceData"]["TraceList"]["TraceMapDo"]] == [msg_id]

    # No client of the group is connected (the TCP data plane registers clients): the push is refused.
    push = OnsMessagePushRequest.OnsMessagePushRequest()
    push.set_InstanceId(iid)
    push.set_Topic("traced")
    push.set_GroupId("GID_traced")
    push.set_ClientId("10.0.0.1@1234")
    push.set_MsgId(msg_id)
    assert error_of(localyun, push) == ("BIZ_CONSUMER_NOT_ONLINE", 400)
    push.set_GroupId("GID_missing")
    assert error_of(localyun, push) == ("BIZ_SUBSCRIPTION_NOT_FOUND", 404)


def test_tea_sdk_tags_group_types_and_traces(localyun):
    """The tea SDK (ACS3) flattens lists itself (`ResourceId.1`, `Tag.1.Key`) and reads the answers into its
    models."""
    m = pytest.importorskip("alibabacloud_ons20190214.models")
    exceptions = pytest.importorskip("alibabacloud_tea_openapi.exceptions")
    c = tea_client(localyun)
    iid = c.ons_instance_create(m.OnsInstanceCreateRequest(instance_name=unique("tea-tags-"))).body.data.instance_id
    c.ons_topic_create(m.OnsTopicCreateRequest(instance_id=iid, topic="tea-tagged", message_type=0, remark="t"))
    c.ons_group_create(m.OnsGroupCreateRequest(instance_id=iid, group_id="GID_tea_http", group_type="http"))
    c.tag_resources(m.TagResourcesRequest(instance_id=iid, resource_type="TOPIC", resource_id=["tea-tagged"],
                                          tag=[m.TagResourcesRequestTag(key="env", value="prod")]))
    listed = c.list_tag_resources(m.ListTagResourcesRequest(instance_id=iid, resource_type="TOPIC")).body
    assert [(r.resource_type, r.resource_id, r.tag_key, r.tag_value) for r in listed.tag_resources] == \
        [("ALIYUN::MQ::TOPIC", "tea-tagged", "env", "prod")]
    topics = c.ons_topic_list(m.OnsTopicListRequest(
        instance_id=iid, tag=[m.OnsTopicListRequestTag(key="env", value="prod")])).body.data.publish_info_do
    assert [(t.topic, [(x.key, x.value) for x in t.tags.tag]) for t in topics] == [("tea-tagged", [("env", "prod")])]
    groups = c.ons_group_list(m.OnsGroupListRequest(instance_id=iid, group_type="http")).body.data.subscribe_info_do
    assert [(g.group_id, g.group_type) for g in groups] == [("GID_tea_http", "http")]
    c.untag_resources(m.UntagResourcesRequest(instance_id=iid, resource_type="TOPIC", resource_id=["tea-tagged"],
                                              all=True))
    assert c.list_tag_resources(m.ListTagResourcesRequest(instance_id=iid, resource_type="TOPIC")).body.tag_resources \
        == []
    with pytest.raises(exceptions.ClientException) as err:
        c.ons_trace_get_result(m.OnsTraceGetResultRequest(query_id="not-a-query"))
    assert err.value.code == "InvalidParameter" and err.value.status_code == 400
