"""The unmodified MQ HTTP SDK (mq_http_sdk) against localyun's MQ HTTP protocol, with the `/json` Open API
(signed here from the seed, section 2.3.1) creating the topic and group and reading what was stored."""
import base64
import hashlib
import hmac
import json
import time
import urllib.parse
import urllib.request
import uuid

import pytest
from conftest import start_localyun, stop_localyun
from mq_http_sdk.mq_client import MQClient
from mq_http_sdk.mq_exception import MQServerException
from mq_http_sdk.mq_producer import TopicMessage


def open_api(localyun, route, **params):
    """A signed `/json` call: HmacSHA1 over the values in ascending key order, Base64."""
    pairs = {"_accesskey": localyun.key_id, "__preventCache": str(int(time.time() * 1000)), "_regionId": "mq-private"}
    pairs.update(params)
    joined = "".join(v for _, v in sorted(pairs.items()))
    digest = hmac.new(localyun.secret.encode(), joined.encode(), hashlib.sha1).digest()
    pairs["_signature"] = base64.b64encode(digest).decode()
    url = f"http://127.0.0.1:{localyun.http_port}/json/{route}?{urllib.parse.urlencode(pairs)}"
    with urllib.request.urlopen(url, timeout=10) as r:
        body = json.loads(r.read())
    assert body["success"] is True, body
    return body["data"]


@pytest.fixture
def env(localyun):
    """A fresh topic and group on the default instance; returns (client, instance id, topic, group)."""
    instance = open_api(localyun, "instance/list")[0]["instanceId"]
    suffix = uuid.uuid4().hex[:8]
    topic, group = f"T_http_{suffix}", f"GID_http_{suffix}"
    open_api(localyun, "topic/create", instanceId=instance, topic=topic, orderType="0")
    open_api(localyun, "group/create", instanceId=instance, groupId=group)
    client = MQClient(f"http://{localyun.http_endpoint}", localyun.key_id, localyun.secret)
    return client, instance, topic, group


def consume(consumer, batch=16, wait=1, orderly=False):
    try:
        if orderly:
            return consumer.consume_message_orderly(batch, wait)
        return consumer.consume_message(batch, wait)
    except MQServerException as e:
        assert e.type == "MessageNotExist", e
        return []


def test_send_receive_with_tag_filter_properties_and_ack(env, localyun):
    client, instance, topic, group = env
    producer = client.get_producer(instance, topic)
    msg = TopicMessage("hello http", "TagA")
    msg.set_message_key("key-1")
    msg.put_property("color", "red")
    sent = producer.publish_message(msg)
    assert sent.message_body_md5 == hashlib.md5(b"hello http").hexdigest().upper()
    producer.publish_message(TopicMessage("not for us", "TagB"))

    consumer = client.get_consumer(instance, topic, group, "TagA")
    got = consume(consumer)
    assert [m.message_id for m in got] == [sent.message_id]
    m = got[0]
    assert (m.message_body, m.message_tag, m.consumed_times) == ("hello http", "TagA", 1)
    assert m.get_message_key() == "key-1"
    assert m.get_property("color") == "red"
    consumer.ack_message([m.receipt_handle])
    with pytest.raises(MQServerException) as e:
        consumer.ack_message([m.receipt_handle])
    assert e.value.type == "ReceiptHandleError"
    assert consume(consumer) == []

    # The Open API finds the message by id and key, and the group has nothing left.
    assert open_api(localyun, "message/getById", instanceId=instance, topic=topic, msgId=sent.message_id)["body"] == "hello http"
    assert open_api(localyun, "message/getByKey", instanceId=instance, topic=topic, key="key-1")[0]["msgId"] == sent.message_id
    assert open_api(localyun, "consumer/accumulate", instanceId=instance, groupId=group)["totalDiff"] == 0


def test_timed_message_is_not_delivered_early(env):
    client, instance, topic, group = env
    at = int(time.time() * 1000) + 2500
    msg = TopicMessage("later", "")
    msg.set_start_deliver_time(at)
    client.get_producer(instance, topic).publish_message(msg)
    consumer = client.get_consumer(instance, topic, group)
    assert consume(consumer, wait=1) == []
    got = consume(consumer, wait=5)
    assert int(time.time() * 1000) >= at
    assert [m.message_body for m in got] == ["later"]
    assert got[0].get_start_deliver_time() == at


def test_order_is_kept_per_sharding_key(env):
    client, instance, topic, group = env
    producer = client.get_producer(instance, topic)
    for key in ("a", "b"):
        for i in range(3):
            msg = TopicMessage(f"{key}{i}", "")
            msg.set_sharding_key(key)
            producer.publish_message(msg)
    consumer = client.get_consumer(instance, topic, group)
    seen = {"a": [], "b": []}
    for _ in range(10):
        batch = consume(consumer, orderly=True)
        if not batch:
            break
        for m in batch:
            seen[m.get_sharding_key()].append(m.message_body)
        consumer.ack_message([m.receipt_handle for m in batch])
    assert seen == {"a": ["a0", "a1", "a2"], "b": ["b0", "b1", "b2"]}


def test_transaction_commit_and_rollback(env):
    client, instance, topic, group = env
    producer = client.get_trans_producer(instance, topic, group)
    yes = TopicMessage("commit-me", "")
    yes.set_trans_check_immunity_time(10)
    no = TopicMessage("drop-me", "")
    no.set_trans_check_immunity_time(10)
    yes, no = producer.publish_message(yes), producer.publish_message(no)
    assert yes.receipt_handle and no.receipt_handle
    consumer = client.get_consumer(instance, topic, group)
    assert consume(consumer) == [], "half messages are invisible"
    producer.commit(yes.receipt_handle)
    producer.rollback(no.receipt_handle)
    got = consume(consumer)
    assert [(m.message_body, m.message_id) for m in got] == [("commit-me", yes.message_id)]


def test_unresolved_transaction_is_checked_back(env):
    client, instance, topic, group = env
    producer = client.get_trans_producer(instance, topic, group)
    msg = TopicMessage("undecided", "")
    msg.set_trans_check_immunity_time(1)
    producer.publish_message(msg)
    time.sleep(1.1)
    half = producer.consume_half_message(16, 3)
    assert [m.message_body for m in half] == ["undecided"]
    producer.commit(half[0].receipt_handle)
    assert [m.message_body for m in consume(client.get_consumer(instance, topic, group))] == ["undecided"]


def test_wrong_secret_is_refused(env, localyun):
    _, instance, topic, group = env
    bad = MQClient(f"http://{localyun.http_endpoint}", localyun.key_id, "wrong-secret")
    with pytest.raises(MQServerException) as e:
        bad.get_producer(instance, topic).publish_message(TopicMessage("x", ""))
    assert e.value.type == "SignatureDoesNotMatch"


def test_unknown_topic_is_refused(env):
    client, instance, _, _ = env
    with pytest.raises(MQServerException) as e:
        client.get_producer(instance, "T_nowhere").publish_message(TopicMessage("x", ""))
    assert e.value.type == "TopicNotExist"


def test_messages_survive_kill_9_with_a_data_dir(tmp_path):
    data_dir = str(tmp_path / "data")
    server = start_localyun(["--data-dir", data_dir])
    try:
        instance = open_api(server, "instance/list")[0]["instanceId"]
        open_api(server, "topic/create", instanceId=instance, topic="T_durable", orderType="0")
        open_api(server, "group/create", instanceId=instance, groupId="GID_durable")
        client = MQClient(f"http://{server.http_endpoint}", server.key_id, server.secret)
        producer = client.get_producer(instance, "T_durable")
        first = producer.publish_message(TopicMessage("consumed before the crash", "A"))
        consumer = client.get_consumer(instance, "T_durable", "GID_durable")
        got = consume(consumer)
        assert [m.message_id for m in got] == [first.message_id]
        consumer.ack_message([m.receipt_handle for m in got])
        second = producer.publish_message(TopicMessage("waiting", "A"))
        server.proc.kill()  # SIGKILL: no shutdown path runs
        server.proc.wait(timeout=10)
    finally:
        stop_localyun(server)  # after the kill: only removes its folder
    again = start_localyun(["--data-dir", data_dir])
    try:
        client = MQClient(f"http://{again.http_endpoint}", again.key_id, again.secret)
        got = consume(client.get_consumer(instance, "T_durable", "GID_durable"))
        assert [(m.message_id, m.message_body) for m in got] == [(second.message_id, "waiting")]
        assert open_api(again, "message/getById", instanceId=instance, topic="T_durable", msgId=first.message_id)["body"] == "consumed before the crash"
    finally:
        stop_localyun(again)
