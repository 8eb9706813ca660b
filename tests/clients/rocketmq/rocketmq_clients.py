"""The real RocketMQ C++ client (PyPI `rocketmq`, which bundles librocketmq) against localyun's RocketMQ TCP
data plane, with the `/json` Open API showing what the clients did.

Not here: failed consumption (retries, dead letters) and transactions. The binding (rocketmq 0.4.4) re-raises
a callback's exception inside its ctypes callback, which then returns 0 = CONSUME_SUCCESS, so a Python consumer
cannot make a message fail; and it has no transactional producer. tests/it/rocketmq_tcp.rs covers both over the
same protocol.

Each test starts the real localyun binary with the RocketMQ listener on a free port (LOCALYUN_ROCKETMQ_PORT_OFFSET),
Kafka off, topics and groups from fixtures.yaml; the start sequence is tests/pyhelpers/localyun_server.py, shared
with tests/sdk and tests/clients.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import pytest
from rocketmq.client import Message, Producer, PushConsumer
from rocketmq.ffi import _CConsumeStatus as ConsumeStatus

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "pyhelpers"))
import localyun_server  # noqa: E402
from localyun_server import KEY_ID as KEY, SECRET, free_port  # noqa: E402

NAME_SERVER_PORT = 9876


class Server:
    """One localyun process; `name_server` is its RocketMQ address."""

    def __init__(self, data_dir=None):
        self.http_port = free_port()
        self.mq_port = free_port()
        self.data_dir = data_dir
        self.log = tempfile.NamedTemporaryFile(prefix="localyun-rocketmq-", suffix=".log", delete=False)
        self.proc = None

    @property
    def name_server(self):
        return f"127.0.0.1:{self.mq_port}"

    def start(self):
        args = ["--port", str(self.http_port), "--no-tls", "--fixtures", os.path.join(HERE, "fixtures.yaml")]
        if self.data_dir:
            args += ["--data-dir", self.data_dir]
        env = localyun_server.environment({
            "LOCALYUN_ROCKETMQ_PORT_OFFSET": str(self.mq_port - NAME_SERVER_PORT),
            "LOCALYUN_KAFKA": "off",
            "LOCALYUN_LOG_LEVEL": os.environ.get("LOCALYUN_LOG_LEVEL", "warn"),
        })
        self.proc = localyun_server.launch(args, env, self.log.name, self.http_port, ports=[self.mq_port], timeout=20)
        return self

    def kill9(self):
        localyun_server.kill9(self.proc)

    def stop(self):
        localyun_server.stop(self.proc)

    def api(self, route, **params):
        """A signed `/json` Open API call (seed section 2.3)."""
        params.update({"_accesskey": KEY, "__preventCache": str(int(time.time() * 1000)), "_regionId": "mq-private"})
        text = "".join(params[k] for k in sorted(params))
        params["_signature"] = base64.b64encode(hmac.new(SECRET.encode(), text.encode(), hashlib.sha1).digest()).decode()
        url = f"http://127.0.0.1:{self.http_port}/json/{route}?{urllib.parse.urlencode(params)}"
        return json.loads(urllib.request.urlopen(url, timeout=10).read())


@pytest.fixture(scope="module")
def server():
    s = Server().start()
    yield s
    s.stop()


def producer(server, group, secret=SECRET):
    p = Producer(group)
    p.set_namesrv_addr(server.name_server)
    p.set_session_credentials(KEY, secret, "ALIYUN")
    p.start()
    return p


def consumer(server, group, orderly=False):
    c = PushConsumer(group, orderly=orderly)
    c.set_namesrv_addr(server.name_server)
    c.set_session_credentials(KEY, SECRET, "ALIYUN")
    return c


def wait_for(predicate, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_send_and_receive_with_tag_filter_properties_and_the_open_api(server):
    got, lock = [], threading.Lock()

    def on_message(msg):
        with lock:
            got.append((msg.id, msg.tags, msg.keys, msg.body, msg.get_property("color")))
        return ConsumeStatus.CONSUME_SUCCESS

    c = consumer(server, "GID_py")
    c.subscribe("T_py", on_message, "TagA || TagC")
    c.start()
    time.sleep(2)  # the first rebalance assigns the queues
    p = producer(server, "GID_py_producer")
    ids = []
    try:
        for n, tag in enumerate(["TagA", "TagB", "TagC"]):
            m = Message("T_py")
            m.set_tags(tag)
            m.set_keys(f"order-{n}")
            m.set_body(f"body-{n}")
            m.set_property("color", "red")
            r = p.send_sync(m)
            assert r.status == 0
            ids.append(r.msg_id)
        assert wait_for(lambda: len(got) >= 2), got
        time.sleep(0.5)
        by_id = {g[0]: g for g in got}
        assert set(by_id) == {ids[0], ids[2]}, "TagB is filtered out"
        assert by_id[ids[0]][1:] == (b"TagA", b"order-0", b"body-0", b"red")
        assert by_id[ids[2]][1:] == (b"TagC", b"order-2", b"body-2", b"red")

        m = server.api("message/getById", topic="T_py", msgId=ids[1])
        assert m["success"] and m["data"]["body"] == "body-1", m
        m = server.api("message/getByKey", topic="T_py", key="order-2")
        assert m["data"][0]["msgId"] == ids[2], m
        # The consumer commits its offsets (every 5 s in the C++ client): the backlog drops to 0.
        assert wait_for(lambda: server.api("consumer/accumulate", groupId="GID_py")["data"]["totalDiff"] == 0, 20)
        conn = server.api("consumer/getConnection", groupId="GID_py")
        assert conn["success"], conn
        assert server.api("consumer/accumulate", groupId="GID_py")["data"]["onLine"] is True
    finally:
        p.shutdown()
        c.shutdown()


def test_ordered_messages_keep_order_per_key(server):
    got, lock = {}, threading.Lock()

    def on_message(msg):
        with lock:
            got.setdefault(msg.keys.decode(), []).append(int(msg.body.decode().split(":")[1]))
        return ConsumeStatus.CONSUME_SUCCESS

    c = consumer(server, "GID_order", orderly=True)
    c.subscribe("T_order", on_message)
    c.start()
    time.sleep(2)
    p = producer(server, "GID_order_producer")
    try:
        for n in range(30):
            key = f"order-{n % 3}"
            m = Message("T_order")
            m.set_keys(key)
            m.set_body(f"{key}:{n}")
            assert p.send_orderly(m, n % 3).status == 0  # the arg picks the queue (hash % queues)
        assert wait_for(lambda: sum(len(v) for v in got.values()) >= 30), got
        for key, seq in got.items():
            assert seq == sorted(seq), f"{key} out of order: {seq}"
            assert len(seq) == 10
    finally:
        p.shutdown()
        c.shutdown()


def test_a_timed_message_is_not_delivered_early(server):
    got = []

    def on_message(msg):
        got.append((time.time() * 1000, msg.body))
        return ConsumeStatus.CONSUME_SUCCESS

    c = consumer(server, "GID_timed")
    c.subscribe("T_timed", on_message)
    c.start()
    time.sleep(2)
    p = producer(server, "GID_timed_producer")
    try:
        at = int(time.time() * 1000) + 3000
        m = Message("T_timed")
        m.set_body("later")
        m.set_property("__STARTDELIVERTIME", str(at))
        assert p.send_sync(m).status == 0
        assert wait_for(lambda: got, 15), "delivered once due"
        assert got[0][1] == b"later"
        assert got[0][0] >= at, f"delivered {at - got[0][0]:.0f} ms early"
    finally:
        p.shutdown()
        c.shutdown()


def test_a_wrong_secret_is_refused(server):
    p = producer(server, "GID_bad_producer", secret="not-the-secret")
    try:
        m = Message("T_py")
        m.set_body("x")
        with pytest.raises(Exception):
            p.send_sync(m)
    finally:
        p.shutdown()
    # The right secret on the same topic works.
    p = producer(server, "GID_good_producer")
    try:
        m = Message("T_py")
        m.set_body("x")
        assert p.send_sync(m).status == 0
    finally:
        p.shutdown()


def test_a_reset_offset_reaches_the_running_consumer(server):
    """consumer/resetOffset while the group's consumer runs: the broker sends it RESET_CONSUMER_CLIENT_OFFSET,
    so it reads the topic again from the reset offsets instead of committing its own over them."""
    got, lock = [], threading.Lock()

    def on_message(msg):
        with lock:
            got.append(msg.body)
        return ConsumeStatus.CONSUME_SUCCESS

    c = consumer(server, "GID_reset")
    c.subscribe("T_reset", on_message)
    c.start()
    time.sleep(2)
    p = producer(server, "GID_reset_producer")
    try:
        start = int(time.time() * 1000) - 1000
        for n in range(4):
            m = Message("T_reset")
            m.set_body(f"again-{n}")
            assert p.send_sync(m).status == 0
        assert wait_for(lambda: len(got) >= 4), got
        # The consumer committed its offsets: nothing left.
        assert wait_for(lambda: server.api("consumer/accumulate", groupId="GID_reset")["data"]["totalDiff"] == 0, 20)
        r = server.api("consumer/resetOffset", groupId="GID_reset", topic="T_reset", type="1", resetTime=str(start))
        assert r["success"], r
        assert wait_for(lambda: len(got) >= 8, 20), f"the running consumer never re-read: {got}"
        with lock:
            assert sorted(got[4:8]) == sorted(got[:4]) == [b"again-0", b"again-1", b"again-2", b"again-3"]
        # Its later commits start from the reset, and it catches up again (no overwrite, no loss).
        assert wait_for(lambda: server.api("consumer/accumulate", groupId="GID_reset")["data"]["totalDiff"] == 0, 20)
        time.sleep(1)
        assert len(got) == 8, got
    finally:
        p.shutdown()
        c.shutdown()


def test_messages_and_offsets_survive_kill_9_with_a_data_dir():
    data_dir = tempfile.mkdtemp(prefix="localyun-rocketmq-data-")
    s = Server(data_dir).start()
    try:
        # The group consumes once, so it has offsets; then it goes away.
        c = consumer(s, "GID_durable")
        c.subscribe("T_durable", lambda msg: ConsumeStatus.CONSUME_SUCCESS)
        c.start()
        time.sleep(2)
        c.shutdown()
        p = producer(s, "GID_durable_producer")
        ids = []
        for n in range(3):
            m = Message("T_durable")
            m.set_keys(f"durable-{n}")
            m.set_body(f"kept-{n}")
            ids.append(p.send_sync(m).msg_id)
        p.shutdown()
        s.kill9()

        s = Server(data_dir)
        s.http_port, s.mq_port = free_port(), free_port()
        s.start()
        assert s.api("message/getById", topic="T_durable", msgId=ids[1])["data"]["body"] == "kept-1"
        assert s.api("consumer/accumulate", groupId="GID_durable")["data"]["totalDiff"] == 3
        got = []
        c = consumer(s, "GID_durable")
        c.subscribe("T_durable", lambda msg: got.append(msg.body) or ConsumeStatus.CONSUME_SUCCESS)
        c.start()
        try:
            assert wait_for(lambda: len(got) >= 3, 20), got
            assert sorted(got) == [b"kept-0", b"kept-1", b"kept-2"]
        finally:
            c.shutdown()
    finally:
        s.stop()
