"""huaweicloudsdkeg (unmodified, AK/SK credentials) against localyun: channels, sources, subscriptions,
PutEvents delivered to a local webhook, traces, and the documented errors."""
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions import exceptions
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkeg.v1 import *  # noqa: F401,F403 (the SDK's request and model classes)
from huaweicloudsdkeg.v1 import EgClient

PROJECT = "5dd3c0b24cdc4d31952c49589182a89d"  # any 32-hex id: bound to the signing account on first use


def client(server, secret=None, project=PROJECT):
    cfg = HttpConfig.get_default_config()
    cfg.timeout = (5, 15)
    return (
        EgClient.new_builder()
        .with_http_config(cfg)
        .with_credentials(BasicCredentials(server.key_id, secret or server.secret, project))
        .with_endpoints([f"http://{server.http_endpoint}"])
        .build()
    )


@pytest.fixture(scope="module")
def receiver():
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append({"path": self.path, "content_type": self.headers.get("Content-Type"), "body": body.decode()})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    httpd.shutdown()


def test_manage_publish_deliver_trace(localyun, receiver):
    url, received = receiver
    eg = client(localyun)
    suffix = uuid.uuid4().hex[:6]

    channels = eg.list_channels(ListChannelsRequest(limit=100))
    assert any(c.name == "default" and c.provider_type == "OFFICIAL" for c in channels.items)

    channel = eg.create_channel(CreateChannelRequest(body=ChannelCreateReq(name=f"orders-{suffix}", description="sdk")))
    assert channel.name == f"orders-{suffix}" and channel.provider_type == "CUSTOM"
    assert channel.x_request_id  # X-Request-Id reaches the response model
    shown = eg.show_detail_of_channel(ShowDetailOfChannelRequest(channel_id=channel.id))
    assert shown.description == "sdk"
    eg.update_channel(UpdateChannelRequest(channel_id=channel.id, body=ChannelUpdateReq(description="changed")))
    assert eg.show_detail_of_channel(ShowDetailOfChannelRequest(channel_id=channel.id)).description == "changed"

    source = eg.create_event_source(CreateEventSourceRequest(body=CustomizeSourceCreateReq(
        name=f"order-service-{suffix}", description="sdk source", channel_id=channel.id)))
    assert source.provider_type == "CUSTOM" and source.channel_id == channel.id
    sources = eg.list_event_sources(ListEventSourcesRequest(channel_id=channel.id))
    assert [s.name for s in sources.items] == [source.name]

    target = SubscriptionTarget(
        name="WEBHOOK", provider_type="CUSTOM", detail={"url": f"{url}/sdk-{suffix}"}, retry_times=1,
        transform=TransForm(type="VARIABLE", value=json.dumps({"id": "$.id", "count": "$.data.count"}),
                            template='{"event": "${id}", "count": ${count}}'))
    sub = eg.create_subscription(CreateSubscriptionRequest(body=SubscriptionCreateReq(
        name=f"to-hook-{suffix}", channel_id=channel.id,
        sources=[SubscriptionSource(name=source.name, provider_type="CUSTOM",
                                    filter={"source": [{"op": "StringIn", "values": [source.name]}],
                                            "data": {"count": [{"op": "NumberGreaterThan", "value": 1}]}})],
        targets=[target])))
    assert sub.status == "CREATED" and sub.channel_name == channel.name
    listed = eg.list_subscriptions(ListSubscriptionsRequest(channel_id=channel.id))
    assert listed.total == 1 and listed.items[0].id == sub.id
    op = eg.execute_subscription_operation(ExecuteSubscriptionOperationRequest(
        body=SubscriptionOperateReq(subscription_ids=[sub.id], operation="ENABLE")))
    assert op.failed_count == 0

    started = int(time.time() * 1000) - 1000
    put = eg.put_events(PutEventsRequest(channel_id=channel.id, body=PutEventsReq(events=[
        CloudEvents(id="in-1", source=source.name, specversion="1.0", type="order.created", data={"count": 5}),
        CloudEvents(id="out-1", source=source.name, specversion="1.0", type="order.created", data={"count": 1}),
    ])))
    assert put.failed_count == 0 and len(put.events) == 2
    trace_id = put.events[0].event_id

    trace = None
    for _ in range(200):
        trace = eg.show_detail_of_event_trace(ShowDetailOfEventTraceRequest(trace_id=trace_id, channel_id=channel.id))
        if trace.deliver_list and trace.deliver_list[0].deliver_target_list[0].deliver_status != "PENDING":
            break
        time.sleep(0.05)
    assert trace.event_id == trace_id and trace.channel_name == channel.name
    delivery = trace.deliver_list[0]
    assert delivery.subscription_name == sub.name and delivery.success_counts == 1
    assert delivery.deliver_target_list[0].deliver_status == "SUCCESS"
    assert delivery.deliver_target_list[0].deliver_detail_list[0].deliver_rsp_code == "200"

    hooked = [r for r in received if r["path"] == f"/sdk-{suffix}"]
    assert [json.loads(r["body"]) for r in hooked] == [{"event": "in-1", "count": 5}]

    traced = eg.list_traced_events(ListTracedEventsRequest(
        channel_id=channel.id, start_time=started, end_time=int(time.time() * 1000) + 1000))
    assert {r.event_id for r in traced.result} == {put.events[0].event_id, put.events[1].event_id}
    assert any(r.subscription_name == sub.name for r in traced.result)
    detail = eg.show_detail_of_event(ShowDetailOfEventRequest(trace_id=trace_id))
    assert json.loads(detail.body)["id"] == "in-1"

    eg.delete_subscription(DeleteSubscriptionRequest(subscription_id=sub.id))
    eg.delete_event_source(DeleteEventSourceRequest(source_id=source.id))
    eg.delete_channel(DeleteChannelRequest(channel_id=channel.id))
    with pytest.raises(exceptions.ClientRequestException) as err:
        eg.show_detail_of_channel(ShowDetailOfChannelRequest(channel_id=channel.id))
    assert err.value.status_code == 404 and err.value.error_code == "EG.00514001"
    assert err.value.request_id


def test_documented_errors_reach_the_sdk(localyun):
    eg = client(localyun)
    name = f"dup-{uuid.uuid4().hex[:6]}"
    eg.create_channel(CreateChannelRequest(body=ChannelCreateReq(name=name)))
    with pytest.raises(exceptions.ClientRequestException) as err:
        eg.create_channel(CreateChannelRequest(body=ChannelCreateReq(name=name)))
    assert (err.value.status_code, err.value.error_code, err.value.error_msg) == (400, "EG.00513001", "name duplicated")

    with pytest.raises(exceptions.ClientRequestException) as err:
        client(localyun, secret="wrong").list_channels(ListChannelsRequest())
    assert err.value.status_code == 401 and err.value.error_code == "APIGW.0301"

    quotas = eg.list_quotas(ListQuotasRequest(type="CHANNEL"))
    assert quotas.quotas.resources[0].type == "CHANNEL" and quotas.quotas.resources[0].used >= 1
    versions = eg.list_api_versions(ListApiVersionsRequest())
    assert versions.versions[0].id == "v1"


def test_event_schemas_and_discovery(localyun):
    eg = client(localyun)
    name = f"file.upload.{uuid.uuid4().hex[:6]}"
    definition = json.dumps({"$schema": "http://json-schema.org/draft-06/schema#", "type": "object",
                             "properties": {"data": {"type": "object"}}})
    schema = eg.create_event_schema(CreateEventSchemaRequest(body=CustomizeSchemaCreateReq(
        name=name, description="sdk", compatibility="NONE", format="JSON_SCHEMA_DRAFT_6", definition=definition)))
    assert schema.name == name and schema.version == 1 and schema.number_of_versions == 1
    assert schema.provider_type == "CUSTOM"
    version = eg.create_event_schema_version(CreateEventSchemaVersionRequest(
        schema_id=schema.id, body=CustomizeSchemaVersionCreateReq(definition=definition)))
    assert version.version == 2 and version.schema_id == schema.id
    versions = eg.list_event_schema_versions(ListEventSchemaVersionsRequest(schema_id=schema.id))
    assert versions.total == 2
    first = eg.show_detail_of_event_schema_version(ShowDetailOfEventSchemaVersionRequest(schema_id=schema.id, version=1))
    assert first.definition == definition
    eg.update_event_schema(UpdateEventSchemaRequest(schema_id=schema.id, body=CustomizeSchemaUpdateReq(
        description="changed", compatibility="FULL")))
    shown = eg.show_detail_of_event_schema(ShowDetailOfEventSchemaRequest(schema_id=schema.id))
    assert (shown.description, shown.compatibility, shown.version) == ("changed", "FULL", 2)
    listed = eg.list_event_schema(ListEventSchemaRequest(name=name))
    assert listed.total == 1 and listed.items[0].id == schema.id
    eg.delete_event_schema_version(DeleteEventSchemaVersionRequest(schema_id=schema.id, version=1))
    eg.delete_event_schema(DeleteEventSchemaRequest(schema_id=schema.id))
    with pytest.raises(exceptions.ClientRequestException) as err:
        eg.show_detail_of_event_schema(ShowDetailOfEventSchemaRequest(schema_id=schema.id))
    assert err.value.status_code == 404 and err.value.error_code == "EG.00514001"

    event = {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "data": {"n": 1, "tags": ["a"]}}
    # This SDK version types the body as a bare object (as the seed does): the event itself, or the newer
    # SDKs' {"format", "event"} form.
    for body in (event, {"format": "JSON_SCHEMA_DRAFT_6", "event": json.dumps(event)}):
        found = eg.discover_event_schema_from_data(DiscoverEventSchemaFromDataRequest(body=body))
        assert found.total == 1 and found.items[0].event_type_name == "t"


def test_streams_agencies_triggers_and_samples(localyun):
    eg = client(localyun)
    name = f"stream-{uuid.uuid4().hex[:6]}"
    created = eg.create_event_streaming(CreateEventStreamingRequest(body=EventStreamingCreateReq(
        name=name,
        source=EventStreamingSource(source_kafka=SourceKafkaMQParameters(
            instance_id="i-1", addr="127.0.0.1:9092", group="g", topic="orders")),
        sink=EventStreamingSink(sink_kafka=SinkKafkaParameters(topic="archive", connection_id="c-1")))))
    stream_id = created.event_streaming_id
    shown = eg.show_event_streaming(ShowEventStreamingRequest(eventstreaming_id=stream_id))
    assert shown.name == name and shown.status == "running"
    assert shown.source.source_kafka.topic == "orders" and shown.sink.sink_kafka.topic == "archive"
    eg.resume_event_streaming(ResumeEventStreamingRequest(
        eventstreaming_id=stream_id, body=EventStreamingOperateReq(operation="PAUSE")))
    assert eg.show_event_streaming(ShowEventStreamingRequest(eventstreaming_id=stream_id)).status == "paused"
    assert any(s.id == stream_id for s in eg.list_event_streaming(ListEventStreamingRequest()).items)
    eg.delete_event_streaming(DeleteEventStreamingRequest(eventstreaming_id=stream_id))
    with pytest.raises(exceptions.ClientRequestException) as err:
        eg.show_event_streaming(ShowEventStreamingRequest(eventstreaming_id=stream_id))
    assert err.value.error_code == "EG.00514001"

    made = eg.create_agencies(CreateAgenciesRequest(body=AgencyCreateReq(type="TARGET_CONNECTION")))
    assert made.agencies and eg.list_agencies(ListAgenciesRequest(type="TARGET_CONNECTION")).agencies == made.agencies

    assert eg.list_triggers(ListTriggersRequest(func_urn="urn:fss:cn-north-4:p:function:default:none:latest")).total == 0
    assert eg.list_workflow_triggers(ListWorkflowTriggersRequest(workflow_id="wf-none")).total == 0
    samples = eg.show_list_of_event_sample(ShowListOfEventSampleRequest(limit=100))
    assert samples.total >= 1 and json.loads(samples.items[0].content)["type"] == samples.items[0].event_type_name


# ---- EventGrid over localyun's own Kafka, checked with a real Kafka client (kafka-python) ----

@pytest.fixture(scope="module")
def kafka_localyun(tmp_path_factory):
    """A localyun whose default ap-guangzhou CKafka instance (vport 9092) listens on a free port, with the
    topics these tests use."""
    import socket
    from conftest import free_port, start_localyun, stop_localyun

    fixtures = tmp_path_factory.mktemp("eg-kafka") / "topics.yaml"
    fixtures.write_text(
        "kafka:\n  instances:\n    - cloud: tencent\n      region: ap-guangzhou\n      topics:\n"
        "        - {name: eg-out, partitions: 1, replicas: 1}\n"
        "        - {name: eg-copy, partitions: 1, replicas: 1}\n")
    port = free_port()
    server = start_localyun(["--fixtures", str(fixtures)], {"LOCALYUN_KAFKA_PORT_OFFSET": str(port - 9092)})
    server.bootstrap = f"127.0.0.1:{port}"
    deadline = time.time() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)
    yield server
    stop_localyun(server)


def consume(bootstrap, topic, count, timeout_s=15):
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None, consumer_timeout_ms=500)
    got, deadline = [], time.time() + timeout_s
    try:
        while len(got) < count and time.time() < deadline:
            got.extend(consumer)
    finally:
        consumer.close()
    return got


def test_kafka_target_and_stream_seen_by_a_kafka_client(kafka_localyun):
    from kafka import KafkaProducer

    eg = client(kafka_localyun)
    connection = eg.create_connection(CreateConnectionRequest(body=ConnectionCreateReq(
        name=f"kafka-{uuid.uuid4().hex[:6]}", vpc_id="v", subnet_id="s", type="KAFKA",
        kafka_detail=KafkaConnectionDetail(instance_id="dms-remote", addr=kafka_localyun.bootstrap,
                                           enable_sasl_ssl=False))))
    assert connection.status == "CREATED"
    channel = eg.create_channel(CreateChannelRequest(body=ChannelCreateReq(name=f"k-{uuid.uuid4().hex[:6]}")))
    eg.create_event_source(CreateEventSourceRequest(body=CustomizeSourceCreateReq(
        name="kafka-orders", channel_id=channel.id)))
    eg.create_subscription(CreateSubscriptionRequest(body=SubscriptionCreateReq(
        name=f"to-kafka-{uuid.uuid4().hex[:6]}", channel_id=channel.id,
        sources=[SubscriptionSource(name="kafka-orders", provider_type="CUSTOM", filter={})],
        targets=[SubscriptionTarget(name="HC.Kafka", provider_type="OFFICIAL", connection_id=connection.id,
                                    kafka_detail=KafkaTargetDetail(
                                        topic="eg-out",
                                        key_transform=KafkaTargetDetailKeyTransform(type="CONSTANT", value="k1")),
                                    transform=TransForm(type="ORIGINAL"))])))
    event = {"id": "e-1", "source": "kafka-orders", "specversion": "1.0", "type": "order.created",
             "data": {"n": 1}}
    put = eg.put_events(PutEventsRequest(channel_id=channel.id, body=PutEventsReq(events=[CloudEvents(**event)])))
    assert put.failed_count == 0
    records = consume(kafka_localyun.bootstrap, "eg-out", 1)
    assert len(records) == 1 and records[0].key == b"k1"
    assert json.loads(records[0].value) == event

    # A stream copies eg-out to eg-copy from the earliest offset; a record a client produces follows.
    stream = eg.create_event_streaming(CreateEventStreamingRequest(body=EventStreamingCreateReq(
        name=f"copy-{uuid.uuid4().hex[:6]}",
        source=EventStreamingSource(source_kafka=SourceKafkaMQParameters(
            addr=kafka_localyun.bootstrap, group="copier", topic="eg-out", seek_to="earliest")),
        sink=EventStreamingSink(sink_kafka=SinkKafkaParameters(topic="eg-copy", connection_id=connection.id)))))
    producer = KafkaProducer(bootstrap_servers=kafka_localyun.bootstrap)
    producer.send("eg-out", key=b"k2", value=b"plain").get(timeout=10)
    producer.close()
    copied = consume(kafka_localyun.bootstrap, "eg-copy", 2)
    assert [r.key for r in copied] == [b"k1", b"k2"]
    assert json.loads(copied[0].value) == event
    wrapped = json.loads(copied[1].value)
    assert (wrapped["type"], wrapped["data"]["value"], wrapped["data"]["offset"]) == ("kafka:record", "plain", 1)
    shown = eg.show_event_streaming(ShowEventStreamingRequest(eventstreaming_id=stream.event_streaming_id))
    assert shown.status == "running"

    # UpdateEventStreaming takes effect on the running stream (same position): a CONSTANT transform now.
    eg.update_event_streaming(UpdateEventStreamingRequest(
        eventstreaming_id=stream.event_streaming_id, body=EventStreamingUpdateReq(
            name=shown.name, description="constant now",
            source=EventStreamingSource(source_kafka=SourceKafkaMQParameters(
                addr=kafka_localyun.bootstrap, group="copier", topic="eg-out", seek_to="earliest")),
            sink=EventStreamingSink(sink_kafka=SinkKafkaParameters(topic="eg-copy", connection_id=connection.id)),
            rule_config=EventStreamingCreateReqRuleConfig(transform=TransForm(type="CONSTANT", value="copied")))))
    producer = KafkaProducer(bootstrap_servers=kafka_localyun.bootstrap)
    producer.send("eg-out", key=b"k3", value=b"third").get(timeout=10)
    producer.close()
    copied = consume(kafka_localyun.bootstrap, "eg-copy", 3)
    assert [(r.key, r.value) for r in copied[2:]] == [(b"k3", b"copied")]
    shown = eg.show_event_streaming(ShowEventStreamingRequest(eventstreaming_id=stream.event_streaming_id))
    assert (shown.status, shown.description) == ("running", "constant now")
    eg.delete_event_streaming(DeleteEventStreamingRequest(eventstreaming_id=stream.event_streaming_id))


def test_stream_certificate_archives_answer_the_egs_codes(localyun, tmp_path):
    """The SASL_SSL certificate ZIP of a Kafka source (a file:// URL locally; localyun has no OBS)."""
    import zipfile

    def archive(name, files):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as z:
            for file_name, data in files:
                z.writestr(file_name, data)
        return f"file://{path}"

    not_zip = tmp_path / "plain.zip"
    not_zip.write_bytes(b"certificate, but not zipped")
    eg = client(localyun)

    def create(url):
        return eg.create_event_streaming(CreateEventStreamingRequest(body=EventStreamingCreateReq(
            name=f"cert-{uuid.uuid4().hex[:6]}",
            source=EventStreamingSource(source_kafka=SourceKafkaMQParameters(
                addr="127.0.0.1:1", group="g", topic="t", enable_sasl_ssl=True, sasl_mechanism="PLAIN",
                ssl_certificate_url=url)),
            sink=EventStreamingSink(sink_kafka=SinkKafkaParameters(topic="t2", connection_id="c")))))

    ok = create(archive("good.zip", [("client.truststore.jks", b"k"), ("README", b"r")]))
    assert ok.event_streaming_id
    cases = [
        (f"file://{not_zip}", "EGS.00516010", "Must be in ZIP format."),
        ("certs.zip", "EGS.00516011", "Invalid download URL."),
        ("https://obs.example.com/kafka-certs.zip", "EGS.00516012", "Download OBS file failed."),
        (archive("empty.zip", [("README", b"r")]), "EGS.00516016",
         "The certificate does not exist in the compressed package."),
        (archive("many.zip", [(f"c{i}.pem", b"x") for i in range(11)]), "EGS.00516017", "Too many files."),
        (archive("big.zip", [("c.pem", b"x" * (1024 * 1024 + 1))]), "EGS.00516018", "File too large."),
    ]
    for url, code, message in cases:
        with pytest.raises(exceptions.ClientRequestException) as err:
            create(url)
        assert (err.value.status_code, err.value.error_code, err.value.error_msg) == (400, code, message), url
