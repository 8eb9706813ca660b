"""Alibaba Kafka 2019-09-16 beyond the seed (SASL users, ACLs, topic remark/partitions, consumer offsets)
through the unmodified tea SDK `alibabacloud-alikafka20190916` (ACS3-HMAC-SHA256) over plain HTTP."""
import uuid

import pytest
from alibabacloud_alikafka20190916 import models as m
from alibabacloud_alikafka20190916.client import Client
from alibabacloud_tea_openapi import models as tea_models
from alibabacloud_tea_openapi.exceptions import ClientException

REGION = "cn-hangzhou"


@pytest.fixture
def c(localyun):
    cfg = tea_models.Config(access_key_id=localyun.key_id, access_key_secret=localyun.secret, region_id=REGION,
                            endpoint=localyun.http_endpoint, protocol="http")
    return Client(cfg)


@pytest.fixture
def iid(c):
    return c.get_instance_list(m.GetInstanceListRequest(region_id=REGION)).body.instance_list.instance_vo[0].instance_id


def test_sasl_users(c, iid):
    name = "u" + uuid.uuid4().hex[:8]
    c.create_sasl_user(m.CreateSaslUserRequest(instance_id=iid, region_id=REGION, username=name, password="pw-1",
                                               type="scram", mechanism="SCRAM-SHA-256"))
    with pytest.raises(ClientException) as e:
        c.create_sasl_user(m.CreateSaslUserRequest(instance_id=iid, region_id=REGION, username=name, password="pw"))
    assert e.value.code == "InvalidParameter"
    users = c.describe_sasl_users(m.DescribeSaslUsersRequest(instance_id=iid, region_id=REGION)).body
    assert name in [u.username for u in users.sasl_user_list.sasl_user_vo]
    c.delete_sasl_user(m.DeleteSaslUserRequest(instance_id=iid, region_id=REGION, username=name, type="scram"))
    users = c.describe_sasl_users(m.DescribeSaslUsersRequest(instance_id=iid, region_id=REGION)).body
    assert name not in [u.username for u in users.sasl_user_list.sasl_user_vo]


def test_acls(c, iid):
    topic = "acl-" + uuid.uuid4().hex[:8]
    c.create_acl(m.CreateAclRequest(instance_id=iid, region_id=REGION, username="alice", acl_resource_type="Topic",
                                    acl_resource_name=topic, acl_resource_pattern_type="LITERAL",
                                    acl_operation_types="Write,Read"))
    acls = c.describe_acls(m.DescribeAclsRequest(instance_id=iid, region_id=REGION, acl_resource_type="Topic",
                                                 acl_resource_name=topic)).body.kafka_acl_list.kafka_acl_vo
    assert sorted(a.acl_operation_type for a in acls) == ["Read", "Write"]
    assert {a.username for a in acls} == {"alice"}
    c.delete_acl(m.DeleteAclRequest(instance_id=iid, region_id=REGION, username="alice", acl_resource_type="Topic",
                                    acl_resource_name=topic, acl_resource_pattern_type="LITERAL",
                                    acl_operation_type="Write"))
    acls = c.describe_acls(m.DescribeAclsRequest(instance_id=iid, region_id=REGION, acl_resource_type="Topic",
                                                 acl_resource_name=topic)).body.kafka_acl_list.kafka_acl_vo
    assert [a.acl_operation_type for a in acls] == ["Read"]


def test_topic_changes_and_offsets(c, iid):
    topic = "chg-" + uuid.uuid4().hex[:8]
    group = "cg-" + uuid.uuid4().hex[:8]
    c.create_topic(m.CreateTopicRequest(instance_id=iid, region_id=REGION, topic=topic, remark="r1", partition_num="2"))
    c.modify_topic_remark(m.ModifyTopicRemarkRequest(instance_id=iid, region_id=REGION, topic=topic, remark="r2"))
    c.modify_partition_num(m.ModifyPartitionNumRequest(instance_id=iid, region_id=REGION, topic=topic,
                                                       add_partition_num=2))
    topics = c.get_topic_list(m.GetTopicListRequest(instance_id=iid, region_id=REGION, topic=topic)).body
    assert topics.topic_list.topic_vo[0].partition_num == 4 and topics.topic_list.topic_vo[0].remark == "r2"
    c.create_consumer_group(m.CreateConsumerGroupRequest(instance_id=iid, region_id=REGION, consumer_id=group))
    offsets = [m.UpdateConsumerOffsetRequestOffsets(partition=0, offset=0)]
    c.update_consumer_offset(m.UpdateConsumerOffsetRequest(instance_id=iid, region_id=REGION, consumer_id=group,
                                                           topic=topic, reset_type="offset", offsets=offsets))
    with pytest.raises(ClientException) as e:
        c.update_consumer_offset(m.UpdateConsumerOffsetRequest(instance_id=iid, region_id=REGION,
                                                               consumer_id="no-such-group", topic=topic,
                                                               reset_type="timestamp", time="-1"))
    assert e.value.code == "BIZ_SUBSCRIPTION_NOT_FOUND"


def test_allowed_ips(c, iid):
    c.update_allowed_ip(m.UpdateAllowedIpRequest(instance_id=iid, region_id=REGION, update_type="add",
                                                 allowed_list_type="vpc", port_range="9092/9092",
                                                 allowed_list_ip="172.16.0.0/12"))
    listed = c.get_allowed_ip_list(m.GetAllowedIpListRequest(instance_id=iid, region_id=REGION)).body.allowed_list
    vpc = {row.port_range: row.allowed_ip_list for row in listed.vpc_list}
    assert "172.16.0.0/12" in vpc["9092/9092"]
    c.update_allowed_ip(m.UpdateAllowedIpRequest(instance_id=iid, region_id=REGION, update_type="delete",
                                                 allowed_list_type="vpc", port_range="9092/9092",
                                                 allowed_list_ip="172.16.0.0/12"))
    listed = c.get_allowed_ip_list(m.GetAllowedIpListRequest(instance_id=iid, region_id=REGION)).body.allowed_list
    assert "172.16.0.0/12" not in {ip for row in listed.vpc_list for ip in row.allowed_ip_list}
