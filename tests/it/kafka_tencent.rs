//! The Kafka data plane seen through Tencent CKafka's API: a topic created with CreateTopic is served by
//! the instance's broker, and a group's commits over the protocol are ListConsumerGroup's offsets.

use crate::common;
use crate::kafka_support;

use common::ACCOUNT;
use kafka_protocol::messages::*;
use kafka_protocol::records::Compression;
use kafka_support::{batch, now_ms, record, s, tencent, Conn};
use localyun::kafka::KafkaOptions;

const REGION: &str = "ap-guangzhou";

#[tokio::test]
async fn commits_over_the_protocol_are_list_consumer_group_offsets() {
    let srv = common::start().await;
    let id = localyun::tencent::ckafka::default_instance_id(ACCOUNT, REGION);
    let r = tencent(
        &srv,
        "CreateTopic",
        &[("instanceId", &id), ("topicName", "payments"), ("partitionNum", "2"), ("replicaNum", "1")],
    )
    .await;
    assert_eq!(r["code"], 0, "{r}");
    let broker = localyun::kafka::start_with(srv.state.clone(), KafkaOptions::ephemeral()).await;
    let mut c = Conn::open(broker.address_of(&id).unwrap()).await;
    let records: Vec<_> = (0..5).map(|i| record("k", &format!("v{i}"), now_ms(), i)).collect();
    assert_eq!(c.produce("payments", 1, -1, batch(&records, Compression::Lz4)).await, (0, 0));
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(s("payments-reader")))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![offset_commit_request::OffsetCommitRequestTopic::default()
            .with_name(TopicName(s("payments")))
            .with_partitions(vec![offset_commit_request::OffsetCommitRequestPartition::default()
                .with_partition_index(1)
                .with_committed_offset(3)])]);
    let ResponseKind::OffsetCommit(r) = c.call(ApiKey::OffsetCommit, 8, RequestKind::OffsetCommit(commit)).await else {
        panic!()
    };
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    let groups = tencent(&srv, "ListConsumerGroup", &[("instanceId", &id), ("groupName", "payments-reader")]).await;
    assert_eq!(groups["code"], 0, "{groups}");
    assert_eq!(groups["data"]["groupList"]["payments-reader"]["payments"], serde_json::json!([0, 3]), "{groups}");
    // A commit on a partition the topic does not have is refused and stored nowhere.
    let bad = OffsetCommitRequest::default()
        .with_group_id(GroupId(s("payments-reader")))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![offset_commit_request::OffsetCommitRequestTopic::default()
            .with_name(TopicName(s("payments")))
            .with_partitions(vec![offset_commit_request::OffsetCommitRequestPartition::default()
                .with_partition_index(7)
                .with_committed_offset(1)])]);
    let ResponseKind::OffsetCommit(r) = c.call(ApiKey::OffsetCommit, 8, RequestKind::OffsetCommit(bad)).await else {
        panic!()
    };
    assert_eq!(r.topics[0].partitions[0].error_code, 3);
    broker.shutdown().await;
}
