"""Tencent Cloud API v3 for CKafka (2019-08-19) driven by the unmodified tencentcloud-sdk-python-ckafka over
plain HTTP (`HttpProfile(protocol="http")`), TC3-HMAC-SHA256 signed by the SDK; plus the cross-check that
API v2 (qcloudapi-sdk-python) lists what v3 created."""
import json

import pytest
from QcloudApi.qcloudapi import QcloudApi
from tencentcloud.ckafka.v20190819 import ckafka_client, models
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

REGION = "ap-guangzhou"


def client(localyun, key_id=None, secret=None, sign_method=None, req_method="POST"):
    """TC3-HMAC-SHA256 by default; sign_method "HmacSHA1"/"HmacSHA256" makes the SDK send its older form
    (every parameter form-encoded in a POST body, or in the query with req_method="GET", signature v1)."""
    cred = credential.Credential(key_id or localyun.key_id, secret or localyun.secret)
    http = HttpProfile(protocol="http", endpoint=localyun.http_endpoint, reqTimeout=15, reqMethod=req_method)
    profile = ClientProfile(httpProfile=http, signMethod=sign_method) if sign_method else ClientProfile(httpProfile=http)
    return ckafka_client.CkafkaClient(cred, REGION, profile)


def req(model, **fields):
    r = model()
    r.from_json_string(json.dumps(fields))
    return r


@pytest.fixture
def ck(localyun):
    return client(localyun)


@pytest.fixture
def inst(ck):
    resp = ck.DescribeInstances(req(models.DescribeInstancesRequest))
    assert resp.Result.TotalCount >= 1
    first = resp.Result.InstanceList[0]
    assert first.InstanceId.startswith("ckafka-") and first.Status == 1
    assert resp.RequestId
    return first.InstanceId


def code_of(call):
    with pytest.raises(TencentCloudSDKException) as e:
        call()
    assert e.value.get_request_id()
    return e.value.get_code()


def test_instances_regions_zones(ck, inst):
    attrs = ck.DescribeInstanceAttributes(req(models.DescribeInstanceAttributesRequest, InstanceId=inst))
    assert attrs.Result.InstanceId == inst
    detail = ck.DescribeInstancesDetail(req(models.DescribeInstancesDetailRequest, InstanceId=inst))
    assert detail.Result.TotalCount == 1 and detail.Result.InstanceList[0].InstanceId == inst
    regions = ck.DescribeRegion(req(models.DescribeRegionRequest))
    assert REGION in [r.RegionName for r in regions.Result]
    zones = ck.DescribeCkafkaZone(req(models.DescribeCkafkaZoneRequest))
    assert len(zones.Result.ZoneList) == 3


def test_topic_lifecycle_and_v2_sees_it(ck, inst, localyun):
    created = ck.CreateTopic(req(models.CreateTopicRequest, InstanceId=inst, TopicName="v3-orders",
                                 PartitionNum=2, ReplicaNum=2, Note="from-v3"))
    assert created.Result.TopicId
    assert code_of(lambda: ck.CreateTopic(req(models.CreateTopicRequest, InstanceId=inst, TopicName="v3-orders",
                                               PartitionNum=1, ReplicaNum=1))) == \
        "InvalidParameterValue.TopicNameAlreadyExist"

    # API v2 through its own SDK lists the topic: one model.
    v2 = QcloudApi("ckafka", {"secretId": localyun.key_id, "secretKey": localyun.secret, "Region": REGION,
                              "method": "POST", "SignatureMethod": "HmacSHA256", "endpoint": localyun.tls_endpoint})
    listed = json.loads(v2.call("ListTopic", {"instanceId": inst, "searchWord": "v3-orders"}, req_timeout=15))
    assert [t["topicName"] for t in listed["topicList"]] == ["v3-orders"]

    topics = ck.DescribeTopic(req(models.DescribeTopicRequest, InstanceId=inst, SearchWord="v3-orders"))
    assert [(t.TopicName, t.TopicId, t.Note) for t in topics.Result.TopicList] == \
        [("v3-orders", created.Result.TopicId, "from-v3")]
    ck.ModifyTopicAttributes(req(models.ModifyTopicAttributesRequest, InstanceId=inst, TopicName="v3-orders",
                                 Note="changed", RetentionMs=3600000))
    attrs = ck.DescribeTopicAttributes(req(models.DescribeTopicAttributesRequest, InstanceId=inst,
                                           TopicName="v3-orders"))
    assert attrs.Result.Note == "changed" and attrs.Result.Config.Retention == 3600000
    ck.CreatePartition(req(models.CreatePartitionRequest, InstanceId=inst, TopicName="v3-orders", PartitionNum=4))
    detail = ck.DescribeTopicDetail(req(models.DescribeTopicDetailRequest, InstanceId=inst, SearchWord="v3-orders"))
    assert detail.Result.TopicList[0].PartitionNum == 4
    ck.DeleteTopic(req(models.DeleteTopicRequest, InstanceId=inst, TopicName="v3-orders"))
    assert code_of(lambda: ck.DeleteTopic(req(models.DeleteTopicRequest, InstanceId=inst,
                                               TopicName="v3-orders"))) == "ResourceNotFound"


def test_groups(ck, inst):
    ck.CreateTopic(req(models.CreateTopicRequest, InstanceId=inst, TopicName="v3-g", PartitionNum=1, ReplicaNum=1))
    ck.CreateConsumer(req(models.CreateConsumerRequest, InstanceId=inst, GroupName="v3-group", TopicName="v3-g"))
    groups = ck.DescribeGroup(req(models.DescribeGroupRequest, InstanceId=inst, SearchWord="v3-group"))
    assert [g.Group for g in groups.Result.GroupList] == ["v3-group"]
    info = ck.DescribeGroupInfo(req(models.DescribeGroupInfoRequest, InstanceId=inst, GroupList=["v3-group"]))
    assert info.Result[0].Group == "v3-group" and info.Result[0].State == "Empty"
    subs = ck.DescribeTopicSubscribeGroup(req(models.DescribeTopicSubscribeGroupRequest, InstanceId=inst,
                                              TopicName="v3-g"))
    assert [g.Group for g in subs.Result.GroupsInfo] == ["v3-group"]
    ck.ModifyGroupOffsets(req(models.ModifyGroupOffsetsRequest, InstanceId=inst, Group="v3-group", Strategy=3))
    cg = ck.DescribeConsumerGroup(req(models.DescribeConsumerGroupRequest, InstanceId=inst, GroupName="v3-group"))
    assert cg.Result.GroupList[0].ConsumerGroupName == "v3-group"
    assert cg.Result.GroupList[0].SubscribedInfo[0].TopicName == "v3-g"
    ck.DeleteGroup(req(models.DeleteGroupRequest, InstanceId=inst, Group="v3-group"))
    assert code_of(lambda: ck.DeleteGroup(req(models.DeleteGroupRequest, InstanceId=inst,
                                               Group="v3-group"))) == "ResourceNotFound"


def test_users_and_acls(ck, inst):
    ck.CreateUser(req(models.CreateUserRequest, InstanceId=inst, Name="v3-user", Password="pass-1234"))
    assert code_of(lambda: ck.CreateUser(req(models.CreateUserRequest, InstanceId=inst, Name="v3-user",
                                              Password="pass-1234"))) == "InvalidParameterValue.RepetitionValue"
    users = ck.DescribeUser(req(models.DescribeUserRequest, InstanceId=inst, SearchWord="v3-user"))
    assert [u.Name for u in users.Result.Users] == ["v3-user"]
    ck.ModifyPassword(req(models.ModifyPasswordRequest, InstanceId=inst, Name="v3-user", Password="pass-1234",
                          PasswordNew="pass-5678"))
    ck.CreateAcl(req(models.CreateAclRequest, InstanceId=inst, ResourceType=2, ResourceName="v3-acl", Operation=3,
                     PermissionType=3, Principal="User:v3-user"))
    acls = ck.DescribeACL(req(models.DescribeACLRequest, InstanceId=inst, ResourceType=2, ResourceName="v3-acl"))
    assert [(a.Principal, a.Operation, a.PermissionType, a.Host) for a in acls.Result.AclList] == \
        [("User:v3-user", 3, 3, "*")]
    ck.DeleteAcl(req(models.DeleteAclRequest, InstanceId=inst, ResourceType=2, ResourceName="v3-acl"))
    acls = ck.DescribeACL(req(models.DescribeACLRequest, InstanceId=inst, ResourceType=2, ResourceName="v3-acl"))
    assert acls.Result.TotalCount == 0
    ck.DeleteUser(req(models.DeleteUserRequest, InstanceId=inst, Name="v3-user"))
    assert code_of(lambda: ck.DeleteUser(req(models.DeleteUserRequest, InstanceId=inst,
                                              Name="v3-user"))) == "ResourceNotFound"


def test_documented_errors(localyun, inst):
    bad_secret = client(localyun, secret="wrong-secret")
    assert code_of(lambda: bad_secret.DescribeTopic(req(models.DescribeTopicRequest, InstanceId=inst))) == \
        "AuthFailure.SignatureFailure"
    unknown = client(localyun, key_id="AKIDunknown")
    assert code_of(lambda: unknown.DescribeTopic(req(models.DescribeTopicRequest, InstanceId=inst))) == \
        "AuthFailure.SecretIdNotFound"
    ck = client(localyun)
    assert code_of(lambda: ck.call_json("DescribeNothing", {})) == "InvalidAction"
    assert code_of(lambda: ck.DescribeTopic(req(models.DescribeTopicRequest, InstanceId="ckafka-nothere"))) == \
        "InvalidParameterValue.InstanceNotExist"
    assert code_of(lambda: ck.CreateTopic(req(models.CreateTopicRequest, InstanceId=inst, TopicName="x",
                                               ReplicaNum=1))) == "MissingParameter"


def test_stale_timestamp(localyun, inst, monkeypatch):
    import time as real_time
    from tencentcloud.common import abstract_client
    ck = client(localyun)
    an_hour_and_more_ago = real_time.time() - 7200
    monkeypatch.setattr(abstract_client.time, "time", lambda: an_hour_and_more_ago)
    assert code_of(lambda: ck.DescribeTopic(req(models.DescribeTopicRequest, InstanceId=inst))) == \
        "AuthFailure.SignatureExpire"


# The older form: signature v1 (HmacSHA1 / HmacSHA256) over form-encoded POST bodies and GET queries.
FORMS = [("HmacSHA1", "POST"), ("HmacSHA256", "POST"), ("HmacSHA1", "GET"), ("HmacSHA256", "GET")]


@pytest.mark.parametrize("sign_method,req_method", FORMS)
def test_older_form_signature_lifecycle(localyun, inst, sign_method, req_method):
    ck = client(localyun, sign_method=sign_method, req_method=req_method)
    topic = f"form-{sign_method.lower()}-{req_method.lower()}"
    created = ck.CreateTopic(req(models.CreateTopicRequest, InstanceId=inst, TopicName=topic, PartitionNum=2,
                                 ReplicaNum=1, Note="older-form", IpWhiteList=["10.0.0.1", "10.0.0.2"]))
    assert created.Result.TopicId and created.RequestId
    # The TC3 client (JSON) sees the same topic: one model, integers sent as strings typed alike.
    tc3 = client(localyun)
    attrs = tc3.DescribeTopicAttributes(req(models.DescribeTopicAttributesRequest, InstanceId=inst, TopicName=topic))
    assert attrs.Result.PartitionNum == 2 and attrs.Result.Note == "older-form"
    listed = ck.DescribeTopic(req(models.DescribeTopicRequest, InstanceId=inst, SearchWord=topic, Limit=5))
    assert [t.TopicName for t in listed.Result.TopicList] == [topic]
    ck.CreateConsumer(req(models.CreateConsumerRequest, InstanceId=inst, GroupName=topic + "-g", TopicName=topic))
    info = ck.DescribeGroupInfo(req(models.DescribeGroupInfoRequest, InstanceId=inst, GroupList=[topic + "-g"]))
    assert [g.Group for g in info.Result] == [topic + "-g"]
    assert code_of(lambda: ck.CreateTopic(req(models.CreateTopicRequest, InstanceId=inst, TopicName=topic,
                                               PartitionNum=1, ReplicaNum=1))) == \
        "InvalidParameterValue.TopicNameAlreadyExist"
    ck.DeleteGroup(req(models.DeleteGroupRequest, InstanceId=inst, Group=topic + "-g"))
    ck.DeleteTopic(req(models.DeleteTopicRequest, InstanceId=inst, TopicName=topic))
    assert code_of(lambda: ck.DeleteTopic(req(models.DeleteTopicRequest, InstanceId=inst, TopicName=topic))) == \
        "ResourceNotFound"
    regions = ck.DescribeRegion(req(models.DescribeRegionRequest))
    assert REGION in [r.RegionName for r in regions.Result]


@pytest.mark.parametrize("sign_method,req_method", FORMS)
def test_older_form_signature_errors(localyun, inst, sign_method, req_method, monkeypatch):
    def bad(**kw):
        return client(localyun, sign_method=sign_method, req_method=req_method, **kw)
    describe = models.DescribeTopicRequest
    assert code_of(lambda: bad(secret="wrong").DescribeTopic(req(describe, InstanceId=inst))) == \
        "AuthFailure.SignatureFailure"
    assert code_of(lambda: bad(key_id="AKIDunknown").DescribeTopic(req(describe, InstanceId=inst))) == \
        "AuthFailure.SecretIdNotFound"
    ck = bad()
    assert code_of(lambda: ck.call_json("DescribeNothing", {})) == "InvalidAction"
    assert code_of(lambda: ck.DescribeTopic(req(describe, InstanceId="ckafka-nothere"))) == \
        "InvalidParameterValue.InstanceNotExist"
    assert code_of(lambda: ck.DescribeTopic(req(describe, InstanceId=inst, Limit=1000))) == "InvalidParameterValue"
    import time as real_time
    from tencentcloud.common import abstract_client
    an_hour_and_more_ago = real_time.time() - 7200
    monkeypatch.setattr(abstract_client.time, "time", lambda: an_hour_and_more_ago)
    assert code_of(lambda: ck.DescribeTopic(req(describe, InstanceId=inst))) == "AuthFailure.SignatureExpire"


def test_older_form_nonce_replay(localyun, inst, monkeypatch):
    """The SDK draws a random Nonce per request; pinned, the second request within the window is a replay."""
    from tencentcloud.common import abstract_client
    import types
    monkeypatch.setattr(abstract_client, "random", types.SimpleNamespace(randint=lambda a, b: 424242))
    ck = client(localyun, sign_method="HmacSHA256")
    ck.DescribeTopic(req(models.DescribeTopicRequest, InstanceId=inst))
    assert code_of(lambda: ck.DescribeTopic(req(models.DescribeTopicRequest, InstanceId=inst))) == \
        "AuthFailure.SignatureFailure"


def test_v2_changes_are_seen_by_v3_and_back(localyun, inst):
    """API v2 (qcloudapi-sdk-python) and API v3 (both forms) act on one model, in every direction."""
    v2 = QcloudApi("ckafka", {"secretId": localyun.key_id, "secretKey": localyun.secret, "Region": REGION,
                              "method": "GET", "SignatureMethod": "HmacSHA1", "endpoint": localyun.tls_endpoint})
    made = json.loads(v2.call("CreateTopic", {"instanceId": inst, "topicName": "v2-made", "partitionNum": 2,
                                              "replicaNum": 1, "note": "v2note"}, req_timeout=15))
    assert made["code"] == 0, made
    for ck in (client(localyun), client(localyun, sign_method="HmacSHA1")):
        attrs = ck.DescribeTopicAttributes(req(models.DescribeTopicAttributesRequest, InstanceId=inst,
                                               TopicName="v2-made"))
        assert attrs.Result.PartitionNum == 2 and attrs.Result.Note == "v2note"
    client(localyun, sign_method="HmacSHA256").CreatePartition(
        req(models.CreatePartitionRequest, InstanceId=inst, TopicName="v2-made", PartitionNum=4))
    got = json.loads(v2.call("GetTopicAttributes", {"instanceId": inst, "topicName": "v2-made"}, req_timeout=15))
    assert got["partitionNum"] == 4, got
    client(localyun, sign_method="HmacSHA1", req_method="GET").DeleteTopic(
        req(models.DeleteTopicRequest, InstanceId=inst, TopicName="v2-made"))
    listed = json.loads(v2.call("ListTopic", {"instanceId": inst, "searchWord": "v2-made"}, req_timeout=15))
    assert listed["topicList"] == []


def test_tc3_signed_get(localyun, inst):
    """TC3 over GET: the SDK flattens the parameters into the query (`GroupList.0`), all strings."""
    ck = client(localyun, req_method="GET")
    listed = ck.DescribeInstances(req(models.DescribeInstancesRequest, Limit=5))
    assert inst in [i.InstanceId for i in listed.Result.InstanceList]
    info = ck.DescribeGroupInfo(req(models.DescribeGroupInfoRequest, InstanceId=inst, GroupList=["g-a", "g-b"]))
    assert [g.Group for g in info.Result] == ["g-a", "g-b"]
    assert code_of(lambda: ck.DescribeTopic(req(models.DescribeTopicRequest, InstanceId=inst, Limit=1000))) == \
        "InvalidParameterValue"
