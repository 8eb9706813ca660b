//! The admin views of the Kafka data plane: `GET /_localyun/kafka/records` shows a partition's records
//! without consuming, `POST /_localyun/kafka/reset` empties a topic (offsets keep counting and the
//! management API shows the new start).

use crate::common;
use crate::kafka_support;

use base64::Engine as _;
use bytes::Bytes;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use serde_json::{json, Value};

use common::{TestServer, ACCOUNT};
use kafka_support::{alibaba, batch, record, Conn};

const REGION: &str = "cn-hangzhou";

async fn get(srv: &TestServer, query: &str) -> (u16, Value) {
    let r = srv.client.get(format!("{}/_localyun/kafka/records?{query}", srv.base)).send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("{query}: {status} {text}")))
}

async fn reset(srv: &TestServer, body: Value) -> (u16, Value) {
    let r = srv
        .client
        .post(format!("{}/_localyun/kafka/reset", srv.base))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn records_are_shown_without_consuming_and_a_reset_empties_the_topic() {
    let srv = common::start().await;
    let id = localyun::alibaba::kafka::default_instance_id(ACCOUNT, REGION);
    let r = alibaba(
        &srv,
        "CreateTopic",
        &[("InstanceId", &id), ("RegionId", REGION), ("Topic", "viewed"), ("Remark", "r"), ("PartitionNum", "2")],
    )
    .await;
    assert_eq!(r["Success"], true, "{r}");
    let broker = localyun::kafka::start_with(srv.state.clone(), localyun::kafka::KafkaOptions::ephemeral()).await;
    let mut c = Conn::open(broker.address_of(&id).unwrap()).await;
    let mut binary = record("bin", "x", 1_700_000_000_002, 2);
    binary.value = Some(Bytes::from_static(&[0xff, 0x00, 0xfe]));
    binary.headers.insert(StrBytes::from_static_str("none"), None);
    let records = [record("k0", "v0", 1_700_000_000_000, 0), record("k1", "v1", 1_700_000_000_001, 1), binary];
    assert_eq!(c.produce("viewed", 0, -1, batch(&records, Compression::Gzip)).await, (0, 0));

    let q = format!("instance={id}&topic=viewed&partition=0");
    let (status, body) = get(&srv, &q).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!((body["logStartOffset"].as_i64(), body["highWatermark"].as_i64()), (Some(0), Some(3)));
    assert_eq!(body["nextOffset"], 3);
    let recs = body["records"].as_array().unwrap();
    assert_eq!(recs.len(), 3);
    assert_eq!(
        recs[0],
        json!({"offset": 0, "timestamp": 1_700_000_000_000i64, "key": "k0", "keyEncoding": "utf8", "value": "v0",
               "valueEncoding": "utf8", "headers": [{"key": "trace", "value": "abc", "valueEncoding": "utf8"}]})
    );
    // Bytes that are not UTF-8 come in base64 and say so; a null header value is null.
    assert_eq!(recs[2]["value"], base64::engine::general_purpose::STANDARD.encode([0xff, 0x00, 0xfe]));
    assert_eq!(recs[2]["valueEncoding"], "base64");
    assert_eq!(recs[2]["headers"][1], json!({"key": "none", "value": null, "valueEncoding": null}));
    // From an offset, with a limit, in base64; the same again (nothing was consumed).
    for _ in 0..2 {
        let (status, body) = get(&srv, &format!("{q}&offset=1&limit=1&encoding=base64")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["records"].as_array().unwrap().len(), 1);
        assert_eq!(body["records"][0]["offset"], 1);
        assert_eq!(body["records"][0]["key"], "azE=");
        assert_eq!(body["records"][0]["keyEncoding"], "base64");
        assert_eq!(body["nextOffset"], 2);
    }
    // By address instead of id; the empty partition 1.
    let addr = broker.address_of(&id).unwrap();
    let (status, body) = get(&srv, &format!("instance={addr}&topic=viewed&partition=1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["instance"], id.as_str());
    assert_eq!(body["records"], json!([]));

    // Mistakes.
    for (query, want) in [
        (format!("instance={id}"), 400),
        ("topic=viewed".to_string(), 400),
        (format!("instance={id}&topic=nope"), 404),
        ("instance=alikafka_pre-cn-nothing000001&topic=viewed".to_string(), 404),
        (format!("{q}&partition=9"), 404),
        (format!("instance={id}&topic=viewed&partition=x"), 400),
        (format!("{q}&offset=99"), 416),
        (format!("{q}&limit=0"), 400),
        (format!("{q}&limit=1001"), 400),
        (format!("{q}&encoding=hex"), 400),
    ] {
        let (status, body) = get(&srv, &query).await;
        assert_eq!(status, want, "{query}: {body}");
        assert!(body["error"].is_string(), "{body}");
    }

    // Reset: every partition's start moves to its end; offsets keep counting.
    let (status, body) = reset(&srv, json!({"instance": id, "topic": "viewed"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["partitions"],
        json!([{"partition": 0, "logStartOffset": 3, "highWatermark": 3},
               {"partition": 1, "logStartOffset": 0, "highWatermark": 0}])
    );
    let (_, body) = get(&srv, &q).await;
    assert_eq!((body["logStartOffset"].as_i64(), body["records"].as_array().map(Vec::len)), (Some(3), Some(0)));
    let status = alibaba(&srv, "GetTopicStatus", &[("InstanceId", &id), ("Topic", "viewed")]).await;
    let table = &status["TopicStatus"]["OffsetTable"]["OffsetTable"];
    let p0 = table.as_array().unwrap().iter().find(|p| p["Partition"] == 0).unwrap();
    assert_eq!((p0["MinOffset"].as_i64(), p0["MaxOffset"].as_i64()), (Some(3), Some(3)), "{status}");
    assert_eq!(c.fetch("viewed", 0, 0, 0).await.error_code, 1, "OFFSET_OUT_OF_RANGE below the new start");
    assert_eq!(
        c.produce("viewed", 0, 1, batch(&[record("k", "after", 1_700_000_000_100, 0)], Compression::None)).await,
        (0, 3)
    );

    for (body, want) in [
        (json!({"topic": "viewed"}), 400),
        (json!({"instance": id}), 400),
        (json!({"instance": id, "topic": "nope"}), 404),
    ] {
        let (status, answer) = reset(&srv, body.clone()).await;
        assert_eq!(status, want, "{body}: {answer}");
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn without_the_data_plane_the_views_answer_503() {
    let srv = common::start().await;
    let (status, body) = get(&srv, "instance=x&topic=y").await;
    assert_eq!(status, 503, "{body}");
    let (status, _) = reset(&srv, json!({"instance": "x", "topic": "y"})).await;
    assert_eq!(status, 503);
}

/// GetConsumerProgress's LastTimestamp is when the last consumed record was produced, read from the log
/// at commit time (not the commit time).
#[tokio::test]
async fn consumer_progress_last_timestamp_comes_from_the_log() {
    use kafka_protocol::messages::*;
    let srv = common::start().await;
    let id = localyun::alibaba::kafka::default_instance_id(ACCOUNT, REGION);
    let r = alibaba(
        &srv,
        "CreateTopic",
        &[("InstanceId", &id), ("RegionId", REGION), ("Topic", "stamped"), ("Remark", "r"), ("PartitionNum", "1")],
    )
    .await;
    assert_eq!(r["Success"], true, "{r}");
    let broker = localyun::kafka::start_with(srv.state.clone(), localyun::kafka::KafkaOptions::ephemeral()).await;
    let mut c = Conn::open(broker.address_of(&id).unwrap()).await;
    let produced = 1_700_000_123_456i64;
    let records = [record("a", "1", produced - 10, 0), record("b", "2", produced, 1)];
    assert_eq!(c.produce("stamped", 0, -1, batch(&records, Compression::None)).await, (0, 0));
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(kafka_support::s("stamper")))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![offset_commit_request::OffsetCommitRequestTopic::default()
            .with_name(TopicName(kafka_support::s("stamped")))
            .with_partitions(vec![offset_commit_request::OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(2)])]);
    let ResponseKind::OffsetCommit(oc) = c.call(ApiKey::OffsetCommit, 8, RequestKind::OffsetCommit(commit)).await
    else {
        panic!()
    };
    assert_eq!(oc.topics[0].partitions[0].error_code, 0);
    let p =
        alibaba(&srv, "GetConsumerProgress", &[("InstanceId", &id), ("RegionId", REGION), ("ConsumerId", "stamper")])
            .await;
    let progress = &p["ConsumerProgress"];
    assert_eq!(progress["LastTimestamp"], produced, "{p}");
    let offsets = &progress["TopicList"]["TopicList"][0]["OffsetList"]["OffsetList"][0];
    assert_eq!((offsets["BrokerOffset"].as_i64(), offsets["ConsumerOffset"].as_i64()), (Some(2), Some(2)), "{p}");
    assert_eq!(offsets["LastTimestamp"], produced);
    broker.shutdown().await;
}
