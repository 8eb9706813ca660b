//! The Kafka admin APIs (src/kafka/admin.rs) over the wire: DeleteRecords, DeleteGroups, OffsetDelete,
//! AlterConfigs / IncrementalAlterConfigs, DescribeCluster, DescribeLogDirs: success, every error code they
//! answer, what the other APIs and the management APIs then show, ACLs for SASL users, a malformed frame,
//! and a DeleteRecords start that survives a restart with `--data-dir`.

use crate::common;
use crate::kafka_support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Encodable;
use kafka_protocol::records::Compression;

use common::ACCOUNT;
use kafka_support::{alibaba, batch, decode, now_ms, orders_setup, record, s, Conn};
use localyun::kafka::{KafkaBroker, KafkaOptions, Security};

const REGION: &str = "cn-hangzhou";
const NONE: i16 = 0;
const OFFSET_OUT_OF_RANGE: i16 = 1;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
const GROUP_AUTHORIZATION_FAILED: i16 = 30;
const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
const INVALID_CONFIG: i16 = 40;
const INVALID_REQUEST: i16 = 42;
const NON_EMPTY_GROUP: i16 = 68;
const GROUP_ID_NOT_FOUND: i16 = 69;
const GROUP_SUBSCRIBED_TO_TOPIC: i16 = 86;
const MISMATCHED_ENDPOINT_TYPE: i16 = 114;

async fn create_topic(srv: &common::TestServer, id: &str, topic: &str, partitions: &str) {
    let r = alibaba(
        srv,
        "CreateTopic",
        &[("InstanceId", id), ("RegionId", REGION), ("Topic", topic), ("Remark", "r"), ("PartitionNum", partitions)],
    )
    .await;
    assert_eq!(r["Success"], true, "{r}");
}

fn records(values: &[&str]) -> Bytes {
    let ts = now_ms();
    let rs: Vec<_> = values.iter().enumerate().map(|(i, v)| record("k", v, ts, i as i32)).collect();
    batch(&rs, Compression::None)
}

async fn delete_records(c: &mut Conn, version: i16, topic: &str, parts: &[(i32, i64)]) -> Vec<(i32, i64, i16)> {
    let req = DeleteRecordsRequest::default().with_timeout_ms(5000).with_topics(vec![
        delete_records_request::DeleteRecordsTopic::default().with_name(TopicName(s(topic))).with_partitions(
            parts
                .iter()
                .map(|(p, o)| {
                    delete_records_request::DeleteRecordsPartition::default().with_partition_index(*p).with_offset(*o)
                })
                .collect(),
        ),
    ]);
    let ResponseKind::DeleteRecords(r) = c.call(ApiKey::DeleteRecords, version, RequestKind::DeleteRecords(req)).await
    else {
        panic!("not a DeleteRecords response")
    };
    assert_eq!(r.topics[0].name.0.as_str(), topic);
    r.topics[0].partitions.iter().map(|p| (p.partition_index, p.low_watermark, p.error_code)).collect()
}

async fn earliest(c: &mut Conn, topic: &str, partition: i32) -> i64 {
    offset_for(c, topic, partition, -2).await
}

/// ListOffsets v7 for one partition: -2 earliest, -1 latest, else the first record at or after a time.
async fn offset_for(c: &mut Conn, topic: &str, partition: i32, timestamp: i64) -> i64 {
    let req = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
        list_offsets_request::ListOffsetsTopic::default().with_name(TopicName(s(topic))).with_partitions(vec![
            list_offsets_request::ListOffsetsPartition::default()
                .with_partition_index(partition)
                .with_timestamp(timestamp),
        ]),
    ]);
    let ResponseKind::ListOffsets(r) = c.call(ApiKey::ListOffsets, 7, RequestKind::ListOffsets(req)).await else {
        panic!()
    };
    let p = &r.topics[0].partitions[0];
    assert_eq!(p.error_code, NONE);
    p.offset
}

async fn delete_groups(c: &mut Conn, version: i16, groups: &[&str]) -> Vec<i16> {
    let req = DeleteGroupsRequest::default().with_groups_names(groups.iter().map(|g| GroupId(s(g))).collect());
    let ResponseKind::DeleteGroups(r) = c.call(ApiKey::DeleteGroups, version, RequestKind::DeleteGroups(req)).await
    else {
        panic!()
    };
    let names: Vec<String> = r.results.iter().map(|g| g.group_id.0.to_string()).collect();
    assert_eq!(names, groups);
    r.results.iter().map(|g| g.error_code).collect()
}

async fn commit(c: &mut Conn, group: &str, topic: &str, partition: i32, offset: i64) {
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![offset_commit_request::OffsetCommitRequestTopic::default()
            .with_name(TopicName(s(topic)))
            .with_partitions(vec![offset_commit_request::OffsetCommitRequestPartition::default()
                .with_partition_index(partition)
                .with_committed_offset(offset)])]);
    let ResponseKind::OffsetCommit(r) = c.call(ApiKey::OffsetCommit, 8, RequestKind::OffsetCommit(req)).await else {
        panic!()
    };
    assert_eq!(r.topics[0].partitions[0].error_code, NONE);
}

/// A group's committed offset for one partition (-1: none).
async fn committed(c: &mut Conn, group: &str, topic: &str, partition: i32) -> i64 {
    let req = OffsetFetchRequest::default().with_group_id(GroupId(s(group))).with_topics(Some(vec![
        offset_fetch_request::OffsetFetchRequestTopic::default()
            .with_name(TopicName(s(topic)))
            .with_partition_indexes(vec![partition]),
    ]));
    let ResponseKind::OffsetFetch(r) = c.call(ApiKey::OffsetFetch, 7, RequestKind::OffsetFetch(req)).await else {
        panic!()
    };
    r.topics[0].partitions[0].committed_offset
}

/// A consumer-protocol member joined to `group`, subscribed to `topics` (JoinGroup + SyncGroup).
async fn join_consumer(addr: SocketAddr, group: &str, topics: &[&str]) -> (Conn, StrBytesId) {
    let mut meta = BytesMut::new();
    meta.put_i16(1);
    ConsumerProtocolSubscription::default()
        .with_topics(topics.iter().map(|t| s(t)).collect())
        .encode(&mut meta, 1)
        .unwrap();
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_session_timeout_ms(30_000)
        .with_rebalance_timeout_ms(30_000)
        .with_protocol_type(s("consumer"))
        .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default()
            .with_name(s("range"))
            .with_metadata(meta.freeze())]);
    let mut c = Conn::open(addr).await;
    let ResponseKind::JoinGroup(j) = c.call(ApiKey::JoinGroup, 7, RequestKind::JoinGroup(join)).await else { panic!() };
    assert_eq!(j.error_code, NONE);
    let sync = SyncGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id(j.generation_id)
        .with_member_id(j.member_id.clone())
        .with_assignments(vec![sync_group_request::SyncGroupRequestAssignment::default()
            .with_member_id(j.member_id.clone())
            .with_assignment(Bytes::new())]);
    let ResponseKind::SyncGroup(sg) = c.call(ApiKey::SyncGroup, 5, RequestKind::SyncGroup(sync)).await else {
        panic!()
    };
    assert_eq!(sg.error_code, NONE);
    (c, j.member_id)
}

type StrBytesId = kafka_protocol::protocol::StrBytes;

async fn leave(c: &mut Conn, group: &str, member: &StrBytesId) {
    let req = LeaveGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_members(vec![leave_group_request::MemberIdentity::default().with_member_id(member.clone())]);
    let ResponseKind::LeaveGroup(r) = c.call(ApiKey::LeaveGroup, 4, RequestKind::LeaveGroup(req)).await else {
        panic!()
    };
    assert_eq!(r.members[0].error_code, NONE);
}

async fn offset_delete(c: &mut Conn, group: &str, topic: &str, parts: &[i32]) -> (i16, Vec<i16>) {
    let req = OffsetDeleteRequest::default().with_group_id(GroupId(s(group))).with_topics(vec![
        offset_delete_request::OffsetDeleteRequestTopic::default().with_name(TopicName(s(topic))).with_partitions(
            parts
                .iter()
                .map(|p| offset_delete_request::OffsetDeleteRequestPartition::default().with_partition_index(*p))
                .collect(),
        ),
    ]);
    let ResponseKind::OffsetDelete(r) = c.call(ApiKey::OffsetDelete, 0, RequestKind::OffsetDelete(req)).await else {
        panic!()
    };
    (r.error_code, r.topics.first().map(|t| t.partitions.iter().map(|p| p.error_code).collect()).unwrap_or_default())
}

/// A topic's configs as DescribeConfigs v4 answers them: name -> (value, read_only, source).
async fn describe_configs(c: &mut Conn, topic: &str) -> std::collections::BTreeMap<String, (String, bool, i8)> {
    let req = DescribeConfigsRequest::default().with_resources(vec![
        describe_configs_request::DescribeConfigsResource::default().with_resource_type(2).with_resource_name(s(topic)),
    ]);
    let ResponseKind::DescribeConfigs(r) = c.call(ApiKey::DescribeConfigs, 4, RequestKind::DescribeConfigs(req)).await
    else {
        panic!()
    };
    assert_eq!(r.results[0].error_code, NONE);
    r.results[0]
        .configs
        .iter()
        .map(|e| {
            (
                e.name.to_string(),
                (e.value.as_ref().map(|v| v.to_string()).unwrap_or_default(), e.read_only, e.config_source),
            )
        })
        .collect()
}

/// IncrementalAlterConfigs v1 of one resource: (error code, message).
async fn incremental(
    c: &mut Conn,
    resource_type: i8,
    name: &str,
    ops: &[(&str, i8, Option<&str>)],
    validate_only: bool,
) -> (i16, Option<String>) {
    let req = IncrementalAlterConfigsRequest::default().with_validate_only(validate_only).with_resources(vec![
        incremental_alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(s(name))
            .with_configs(
                ops.iter()
                    .map(|(n, op, v)| {
                        incremental_alter_configs_request::AlterableConfig::default()
                            .with_name(s(n))
                            .with_config_operation(*op)
                            .with_value(v.map(s))
                    })
                    .collect(),
            ),
    ]);
    let ResponseKind::IncrementalAlterConfigs(r) =
        c.call(ApiKey::IncrementalAlterConfigs, 1, RequestKind::IncrementalAlterConfigs(req)).await
    else {
        panic!()
    };
    let res = &r.responses[0];
    assert_eq!((res.resource_type, res.resource_name.as_str()), (resource_type, name));
    (res.error_code, res.error_message.as_ref().map(|m| m.to_string()))
}

/// AlterConfigs of one resource (the listed configs replace the whole set).
async fn alter(
    c: &mut Conn,
    version: i16,
    resource_type: i8,
    name: &str,
    configs: &[(&str, &str)],
    validate_only: bool,
) -> i16 {
    let req = AlterConfigsRequest::default().with_validate_only(validate_only).with_resources(vec![
        alter_configs_request::AlterConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(s(name))
            .with_configs(
                configs
                    .iter()
                    .map(|(n, v)| {
                        alter_configs_request::AlterableConfig::default().with_name(s(n)).with_value(Some(s(v)))
                    })
                    .collect(),
            ),
    ]);
    let ResponseKind::AlterConfigs(r) = c.call(ApiKey::AlterConfigs, version, RequestKind::AlterConfigs(req)).await
    else {
        panic!()
    };
    r.responses[0].error_code
}

#[tokio::test]
async fn api_versions_advertise_the_admin_apis_and_every_version_answers() {
    let (_srv, broker, _id, addr) = orders_setup().await;
    let mut c = Conn::open(addr).await;
    let v = c.api_versions().await;
    let range =
        |key: ApiKey| v.api_keys.iter().find(|k| k.api_key == key as i16).map(|k| (k.min_version, k.max_version));
    assert_eq!(range(ApiKey::DeleteRecords), Some((0, 2)));
    assert_eq!(range(ApiKey::DeleteGroups), Some((0, 2)));
    assert_eq!(range(ApiKey::OffsetDelete), Some((0, 0)));
    assert_eq!(range(ApiKey::AlterConfigs), Some((0, 2)));
    assert_eq!(range(ApiKey::IncrementalAlterConfigs), Some((0, 1)));
    assert_eq!(range(ApiKey::DescribeCluster), Some((0, 2)));
    assert_eq!(range(ApiKey::DescribeLogDirs), Some((1, 4)));
    // Every advertised version decodes and answers (flexible versions included), on one connection.
    let requests: Vec<(ApiKey, RequestKind)> = vec![
        (ApiKey::DeleteRecords, RequestKind::DeleteRecords(DeleteRecordsRequest::default())),
        (ApiKey::DeleteGroups, RequestKind::DeleteGroups(DeleteGroupsRequest::default())),
        (
            ApiKey::OffsetDelete,
            RequestKind::OffsetDelete(OffsetDeleteRequest::default().with_group_id(GroupId(s("nobody")))),
        ),
        (ApiKey::AlterConfigs, RequestKind::AlterConfigs(AlterConfigsRequest::default())),
        (
            ApiKey::IncrementalAlterConfigs,
            RequestKind::IncrementalAlterConfigs(IncrementalAlterConfigsRequest::default()),
        ),
        (
            ApiKey::DescribeCluster,
            RequestKind::DescribeCluster(DescribeClusterRequest::default().with_endpoint_type(1)),
        ),
        (ApiKey::DescribeLogDirs, RequestKind::DescribeLogDirs(DescribeLogDirsRequest::default().with_topics(None))),
    ];
    let mut answered = 0;
    for (key, body) in requests {
        let (min, max) = range(key).unwrap();
        for version in min..=max {
            let r = tokio::time::timeout(Duration::from_secs(10), c.call(key, version, body.clone())).await;
            let r = r.unwrap_or_else(|_| panic!("{key:?} v{version} got no answer"));
            match (&r, key) {
                (ResponseKind::OffsetDelete(o), _) => assert_eq!(o.error_code, GROUP_ID_NOT_FOUND),
                (ResponseKind::DescribeCluster(d), _) => assert_eq!(d.error_code, NONE),
                (ResponseKind::DescribeLogDirs(d), _) => assert_eq!(d.results.len(), 1),
                _ => {}
            }
            answered += 1;
        }
    }
    assert_eq!(answered, 3 + 3 + 1 + 3 + 2 + 3 + 4);
    broker.shutdown().await;
}

#[tokio::test]
async fn delete_records_moves_the_log_start_everywhere() {
    let (srv, broker, id, addr) = orders_setup().await;
    let mut c = Conn::open(addr).await;
    assert_eq!(c.produce("orders", 0, 1, records(&["a", "b", "c"])).await, (NONE, 0));
    assert_eq!(c.produce("orders", 0, 1, records(&["d", "e"])).await, (NONE, 3));

    // Inside the second batch: offsets 0..=3 are gone, the batch holding 4 is still served.
    for version in [0, 1, 2] {
        let expected = vec![(0, 4, NONE)];
        assert_eq!(delete_records(&mut c, version, "orders", &[(0, 4)]).await, expected, "v{version}");
    }
    assert_eq!(c.fetch("orders", 0, 3, 0).await.error_code, OFFSET_OUT_OF_RANGE);
    let f = c.fetch("orders", 0, 4, 0).await;
    assert_eq!((f.error_code, f.log_start_offset, f.high_watermark), (NONE, 4, 5));
    let values: Vec<i64> = decode(&f.records).iter().map(|r| r.offset).filter(|o| *o >= 4).collect();
    assert_eq!(values, [4]);
    assert_eq!(earliest(&mut c, "orders", 0).await, 4);
    assert_eq!(offset_for(&mut c, "orders", 0, 0).await, 4, "a time before every record: the log start");
    // The management API reports the new start.
    let status = alibaba(&srv, "GetTopicStatus", &[("InstanceId", &id), ("Topic", "orders")]).await;
    let table = &status["TopicStatus"]["OffsetTable"]["OffsetTable"];
    let p0 = table.as_array().unwrap().iter().find(|p| p["Partition"] == 0).unwrap();
    assert_eq!((p0["MinOffset"].as_i64(), p0["MaxOffset"].as_i64()), (Some(4), Some(5)), "{status}");

    // Below the start: nothing changes; -1: the high watermark; beyond it or another negative: refused.
    assert_eq!(delete_records(&mut c, 2, "orders", &[(0, 1)]).await, vec![(0, 4, NONE)]);
    assert_eq!(
        delete_records(&mut c, 2, "orders", &[(0, 6), (1, -2), (2, -1), (7, 0)]).await,
        vec![
            (0, -1, OFFSET_OUT_OF_RANGE),
            (1, -1, OFFSET_OUT_OF_RANGE),
            (2, 0, NONE),
            (7, -1, UNKNOWN_TOPIC_OR_PARTITION)
        ]
    );
    assert_eq!(delete_records(&mut c, 2, "orders", &[(0, -1)]).await, vec![(0, 5, NONE)]);
    assert_eq!(delete_records(&mut c, 2, "nope", &[(0, 0)]).await, vec![(0, -1, UNKNOWN_TOPIC_OR_PARTITION)]);
    let f = c.fetch("orders", 0, 5, 0).await;
    assert_eq!((f.error_code, f.log_start_offset, decode(&f.records).len()), (NONE, 5, 0));
    // Offsets keep counting.
    assert_eq!(c.produce("orders", 0, 1, records(&["f"])).await, (NONE, 5));
    broker.shutdown().await;
}

#[tokio::test]
async fn a_delete_records_start_survives_a_restart_with_a_data_dir() {
    let dir = crate::cross_support::TempDir::new("kafka-delete-records");
    let srv =
        common::start_with(localyun::Config { data_dir: Some(dir.path().to_path_buf()), ..Default::default() }).await;
    let id = localyun::alibaba::kafka::default_instance_id(ACCOUNT, REGION);
    create_topic(&srv, &id, "kept", "1").await;
    let broker = localyun::kafka::start_with(srv.state.clone(), KafkaOptions::ephemeral()).await;
    let mut c = Conn::open(broker.address_of(&id).unwrap()).await;
    assert_eq!(c.produce("kept", 0, -1, records(&["a", "b", "c"])).await, (NONE, 0));
    assert_eq!(delete_records(&mut c, 2, "kept", &[(0, 2)]).await, vec![(0, 2, NONE)]);
    broker.shutdown().await;
    drop(c);

    // A new data plane on the same folder reads the logs back from disk (nothing was flushed on the way
    // out: the start was fsynced when it was answered).
    let again = localyun::kafka::start_with(srv.state.clone(), KafkaOptions::ephemeral()).await;
    let mut c = Conn::open(again.address_of(&id).unwrap()).await;
    assert_eq!(earliest(&mut c, "kept", 0).await, 2);
    assert_eq!(c.fetch("kept", 0, 1, 0).await.error_code, OFFSET_OUT_OF_RANGE);
    let f = c.fetch("kept", 0, 2, 0).await;
    assert_eq!((f.error_code, f.log_start_offset, f.high_watermark), (NONE, 2, 3));
    let status = alibaba(&srv, "GetTopicStatus", &[("InstanceId", &id), ("Topic", "kept")]).await;
    let p0 = &status["TopicStatus"]["OffsetTable"]["OffsetTable"][0];
    assert_eq!((p0["MinOffset"].as_i64(), p0["MaxOffset"].as_i64()), (Some(2), Some(3)), "{status}");
    again.shutdown().await;
}

#[tokio::test]
async fn delete_groups_removes_empty_groups_and_their_offsets() {
    let (srv, broker, id, addr) = orders_setup().await;
    let mut c = Conn::open(addr).await;
    commit(&mut c, "idle", "orders", 0, 3).await;
    let (mut member, member_id) = join_consumer(addr, "busy", &["orders"]).await;

    async fn listed(srv: &common::TestServer, id: &str) -> Vec<String> {
        let list = alibaba(srv, "GetConsumerList", &[("InstanceId", id), ("RegionId", REGION)]).await;
        list["ConsumerList"]["ConsumerVO"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["ConsumerId"].as_str().unwrap().to_string())
            .collect()
    }
    let before = listed(&srv, &id).await;
    assert!(before.contains(&"idle".to_string()) && before.contains(&"busy".to_string()), "{before:?}");

    assert_eq!(
        delete_groups(&mut c, 2, &["idle", "busy", "never-seen"]).await,
        [NONE, NON_EMPTY_GROUP, GROUP_ID_NOT_FOUND]
    );
    assert_eq!(committed(&mut c, "idle", "orders", 0).await, -1, "the offsets went with the group");
    let after = listed(&srv, &id).await;
    assert!(!after.contains(&"idle".to_string()) && after.contains(&"busy".to_string()), "{after:?}");
    // Again: it is gone.
    assert_eq!(delete_groups(&mut c, 0, &["idle"]).await, [GROUP_ID_NOT_FOUND]);

    // Once its last member leaves, the group can be deleted.
    leave(&mut member, "busy", &member_id).await;
    assert_eq!(delete_groups(&mut c, 1, &["busy"]).await, [NONE]);
    assert!(!listed(&srv, &id).await.contains(&"busy".to_string()));
    let ResponseKind::ListGroups(l) =
        c.call(ApiKey::ListGroups, 4, RequestKind::ListGroups(ListGroupsRequest::default())).await
    else {
        panic!()
    };
    assert!(l.groups.iter().all(|g| g.group_id.0.as_str() != "busy" && g.group_id.0.as_str() != "idle"));
    broker.shutdown().await;
}

#[tokio::test]
async fn offset_delete_removes_offsets_of_topics_nobody_subscribes_to() {
    let (srv, broker, id, addr) = orders_setup().await;
    create_topic(&srv, &id, "audit", "1").await;
    let mut c = Conn::open(addr).await;
    commit(&mut c, "readers", "orders", 0, 2).await;
    commit(&mut c, "readers", "orders", 1, 3).await;
    commit(&mut c, "readers", "audit", 0, 4).await;

    // No member: offsets of any topic may go.
    assert_eq!(
        offset_delete(&mut c, "readers", "orders", &[1, 9]).await,
        (NONE, vec![NONE, UNKNOWN_TOPIC_OR_PARTITION])
    );
    assert_eq!(committed(&mut c, "readers", "orders", 1).await, -1);
    assert_eq!(committed(&mut c, "readers", "orders", 0).await, 2, "other partitions keep theirs");

    // A member subscribed to `orders`: its offsets stay, `audit`'s may go.
    let (mut member, member_id) = join_consumer(addr, "readers", &["orders"]).await;
    assert_eq!(offset_delete(&mut c, "readers", "orders", &[0]).await, (NONE, vec![GROUP_SUBSCRIBED_TO_TOPIC]));
    assert_eq!(committed(&mut c, "readers", "orders", 0).await, 2);
    assert_eq!(offset_delete(&mut c, "readers", "audit", &[0]).await, (NONE, vec![NONE]));
    assert_eq!(committed(&mut c, "readers", "audit", 0).await, -1);
    leave(&mut member, "readers", &member_id).await;
    assert_eq!(offset_delete(&mut c, "readers", "orders", &[0]).await, (NONE, vec![NONE]));
    assert_eq!(committed(&mut c, "readers", "orders", 0).await, -1);

    assert_eq!(offset_delete(&mut c, "nobody", "orders", &[0]).await.0, GROUP_ID_NOT_FOUND);
    assert_eq!(offset_delete(&mut c, "readers", "nope", &[0]).await, (NONE, vec![UNKNOWN_TOPIC_OR_PARTITION]));
    broker.shutdown().await;
}

#[tokio::test]
async fn topic_configs_are_altered_validated_and_described() {
    let (srv, broker, id, addr) = orders_setup().await;
    let mut c = Conn::open(addr).await;
    let before = describe_configs(&mut c, "orders").await;
    assert_eq!(before["cleanup.policy"], ("delete".to_string(), false, 5));

    // SET, then DescribeConfigs answers it as a dynamic topic config.
    assert_eq!(incremental(&mut c, 2, "orders", &[("retention.ms", 0, Some("60000"))], false).await, (NONE, None));
    let d = describe_configs(&mut c, "orders").await;
    assert_eq!(d["retention.ms"], ("60000".to_string(), false, 1));
    // The management API shows the topic's retention too (Alibaba GetTopicList / Tencent answers read the model).
    let topic = localyun::kafka::cluster::topic(&srv.state, &id, "orders").unwrap();
    assert_eq!(topic.retention_ms, Some(60_000));

    // validate_only changes nothing.
    assert_eq!(incremental(&mut c, 2, "orders", &[("segment.ms", 0, Some("1000"))], true).await, (NONE, None));
    assert_eq!(describe_configs(&mut c, "orders").await["segment.ms"].0, "604800000");

    // Unknown names and bad values: INVALID_CONFIG; nothing of the request is applied.
    let (code, message) =
        incremental(&mut c, 2, "orders", &[("segment.ms", 0, Some("1000")), ("no.such.config", 0, Some("1"))], false)
            .await;
    assert_eq!(code, INVALID_CONFIG, "{message:?}");
    assert!(message.unwrap().contains("no.such.config"));
    assert_eq!(describe_configs(&mut c, "orders").await["segment.ms"].0, "604800000");
    for (name, value) in [
        ("retention.ms", "soon"),
        ("retention.ms", "-2"),
        ("segment.ms", "0"),
        ("unclean.leader.election.enable", "maybe"),
        ("cleanup.policy", "shred"),
        ("min.insync.replicas", "9"),
    ] {
        assert_eq!(
            incremental(&mut c, 2, "orders", &[(name, 0, Some(value))], false).await.0,
            INVALID_CONFIG,
            "{name}={value}"
        );
    }
    // APPEND / SUBTRACT only for list configs; unknown operations and null SET values: INVALID_REQUEST.
    assert_eq!(incremental(&mut c, 2, "orders", &[("retention.ms", 2, Some("1"))], false).await.0, INVALID_CONFIG);
    assert_eq!(incremental(&mut c, 2, "orders", &[("retention.ms", 7, Some("1"))], false).await.0, INVALID_REQUEST);
    assert_eq!(incremental(&mut c, 2, "orders", &[("retention.ms", 0, None)], false).await.0, INVALID_REQUEST);
    assert_eq!(incremental(&mut c, 2, "orders", &[("cleanup.policy", 2, Some("compact"))], false).await.0, NONE);
    assert_eq!(describe_configs(&mut c, "orders").await["cleanup.policy"].0, "delete,compact");
    assert_eq!(incremental(&mut c, 2, "orders", &[("cleanup.policy", 3, Some("delete"))], false).await.0, NONE);
    assert_eq!(describe_configs(&mut c, "orders").await["cleanup.policy"].0, "compact");
    // DELETE returns a config to its default (the instance's retention for retention.ms).
    assert_eq!(incremental(&mut c, 2, "orders", &[("retention.ms", 1, None)], false).await.0, NONE);
    assert_eq!(describe_configs(&mut c, "orders").await["retention.ms"], before["retention.ms"]);

    // AlterConfigs replaces the whole set: what is not named returns to its default.
    assert_eq!(
        alter(&mut c, 1, 2, "orders", &[("retention.ms", "120000"), ("retention.bytes", "1048576")], false).await,
        NONE
    );
    let d = describe_configs(&mut c, "orders").await;
    assert_eq!(d["retention.ms"].0, "120000");
    assert_eq!(d["retention.bytes"], ("1048576".to_string(), false, 1));
    assert_eq!(d["cleanup.policy"], ("delete".to_string(), false, 5), "compact was not named: back to delete");
    assert_eq!(alter(&mut c, 2, 2, "orders", &[("retention.ms", "-1")], true).await, NONE);
    assert_eq!(describe_configs(&mut c, "orders").await["retention.ms"].0, "120000", "validate_only");
    assert_eq!(alter(&mut c, 0, 2, "orders", &[("retention.ms", "x")], false).await, INVALID_CONFIG);
    assert_eq!(alter(&mut c, 0, 2, "nope", &[("retention.ms", "1")], false).await, UNKNOWN_TOPIC_OR_PARTITION);

    // Broker configs are static; another broker id is not this broker's.
    assert_eq!(alter(&mut c, 2, 4, "0", &[("message.max.bytes", "2000000")], false).await, INVALID_REQUEST);
    let (code, message) = incremental(&mut c, 4, "", &[("log.retention.ms", 0, Some("1"))], false).await;
    assert_eq!(code, INVALID_REQUEST);
    assert!(message.unwrap().contains("dynamically"));
    assert_eq!(incremental(&mut c, 4, "3", &[], false).await.0, INVALID_REQUEST);
    broker.shutdown().await;
}

#[tokio::test]
async fn describe_cluster_and_log_dirs_match_metadata_and_the_logs() {
    let (_srv, broker, id, addr) = orders_setup().await;
    let mut c = Conn::open(addr).await;
    let ResponseKind::Metadata(m) =
        c.call(ApiKey::Metadata, 12, RequestKind::Metadata(MetadataRequest::default().with_topics(None))).await
    else {
        panic!()
    };
    for version in [0, 1, 2] {
        let req = DescribeClusterRequest::default().with_endpoint_type(1);
        let ResponseKind::DescribeCluster(d) =
            c.call(ApiKey::DescribeCluster, version, RequestKind::DescribeCluster(req)).await
        else {
            panic!()
        };
        assert_eq!(d.error_code, NONE);
        assert_eq!(Some(d.cluster_id.to_string()), m.cluster_id.as_ref().map(|c| c.to_string()));
        assert_eq!(d.cluster_id.as_str(), id);
        assert_eq!(d.controller_id, m.controller_id);
        assert_eq!(d.brokers.len(), 1);
        assert_eq!(
            (d.brokers[0].broker_id, &d.brokers[0].host, d.brokers[0].port),
            (m.brokers[0].node_id, &m.brokers[0].host, m.brokers[0].port)
        );
        assert_eq!(d.cluster_authorized_operations, i32::MIN, "not requested");
    }
    let req = DescribeClusterRequest::default().with_endpoint_type(1).with_include_cluster_authorized_operations(true);
    let ResponseKind::DescribeCluster(d) = c.call(ApiKey::DescribeCluster, 1, RequestKind::DescribeCluster(req)).await
    else {
        panic!()
    };
    // CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
    assert_eq!(d.cluster_authorized_operations, [5, 7, 8, 9, 10, 11, 12].iter().fold(0, |b, o| b | (1 << o)));
    let req = DescribeClusterRequest::default().with_endpoint_type(2);
    let ResponseKind::DescribeCluster(d) = c.call(ApiKey::DescribeCluster, 1, RequestKind::DescribeCluster(req)).await
    else {
        panic!()
    };
    assert_eq!(d.error_code, MISMATCHED_ENDPOINT_TYPE);

    let first = records(&["one", "two"]);
    let second = records(&["three"]);
    assert_eq!(c.produce("orders", 1, 1, first.clone()).await.0, NONE);
    assert_eq!(c.produce("orders", 1, 1, second.clone()).await.0, NONE);
    let log_dirs = |topics: Option<Vec<describe_log_dirs_request::DescribableLogDirTopic>>| {
        RequestKind::DescribeLogDirs(DescribeLogDirsRequest::default().with_topics(topics))
    };
    let ResponseKind::DescribeLogDirs(all) = c.call(ApiKey::DescribeLogDirs, 4, log_dirs(None)).await else { panic!() };
    assert_eq!((all.error_code, all.results.len()), (NONE, 1));
    let dir = &all.results[0];
    assert_eq!(dir.log_dir.as_str(), "(in memory)");
    let sizes: Vec<(String, i32, i64)> = dir
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| (t.name.0.to_string(), p.partition_index, p.partition_size)))
        .collect();
    let stored = (first.len() + second.len()) as i64;
    assert_eq!(sizes, [("orders".to_string(), 0, 0), ("orders".to_string(), 1, stored), ("orders".to_string(), 2, 0)]);
    // Asked for: only those partitions (unknown topics and partitions are left out).
    let ResponseKind::DescribeLogDirs(some) = c
        .call(
            ApiKey::DescribeLogDirs,
            1,
            log_dirs(Some(vec![
                describe_log_dirs_request::DescribableLogDirTopic::default()
                    .with_topic(TopicName(s("orders")))
                    .with_partitions(vec![1, 5]),
                describe_log_dirs_request::DescribableLogDirTopic::default()
                    .with_topic(TopicName(s("nope")))
                    .with_partitions(vec![0]),
            ])),
        )
        .await
    else {
        panic!()
    };
    let t = &some.results[0].topics;
    assert_eq!(t.len(), 1);
    assert_eq!(
        t[0].partitions.iter().map(|p| (p.partition_index, p.partition_size)).collect::<Vec<_>>(),
        [(1, stored)]
    );
    // DeleteRecords shrinks what the log holds.
    assert_eq!(delete_records(&mut c, 2, "orders", &[(1, 2)]).await, vec![(1, 2, NONE)]);
    let ResponseKind::DescribeLogDirs(after) = c.call(ApiKey::DescribeLogDirs, 4, log_dirs(None)).await else {
        panic!()
    };
    let p1 = after.results[0].topics[0].partitions.iter().find(|p| p.partition_index == 1).unwrap();
    assert_eq!(p1.partition_size, second.len() as i64);
    broker.shutdown().await;
}

/// A SASL_PLAINTEXT connection logged in as `user` (PLAIN).
async fn login(broker: &KafkaBroker, id: &str, user: &str, password: &str) -> Conn {
    let mut c = Conn::open(broker.listener_address(id, Security::SaslPlaintext).unwrap()).await;
    let hs = SaslHandshakeRequest::default().with_mechanism(s("PLAIN"));
    let ResponseKind::SaslHandshake(h) = c.call(ApiKey::SaslHandshake, 1, RequestKind::SaslHandshake(hs)).await else {
        panic!()
    };
    assert_eq!(h.error_code, NONE);
    let auth = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(format!("\0{user}\0{password}")));
    let ResponseKind::SaslAuthenticate(a) =
        c.call(ApiKey::SaslAuthenticate, 2, RequestKind::SaslAuthenticate(auth)).await
    else {
        panic!()
    };
    assert_eq!(a.error_code, NONE);
    c
}

#[tokio::test]
async fn acls_apply_to_the_admin_apis_of_sasl_users() {
    let (srv, broker, id, addr) = orders_setup().await;
    create_topic(&srv, &id, "scratch", "1").await;
    kafka_support::alibaba_ok(
        &srv,
        &id,
        "CreateSaslUser",
        &[("Username", "alice"), ("Password", "alice-pw"), ("Type", "plain")],
    )
    .await;
    for (kind, name, op) in [("Topic", "orders", "Write"), ("Topic", "scratch", "All"), ("Group", "readers", "Read")] {
        kafka_support::alibaba_ok(
            &srv,
            &id,
            "CreateAcl",
            &[
                ("Username", "alice"),
                ("AclResourceType", kind),
                ("AclResourceName", name),
                ("AclResourcePatternType", "LITERAL"),
                ("AclOperationType", op),
            ],
        )
        .await;
    }
    let mut plain = Conn::open(addr).await;
    commit(&mut plain, "readers", "orders", 0, 1).await;
    let mut c = login(&broker, &id, "alice", "alice-pw").await;
    // Write is not Delete / AlterConfigs; All on `scratch` is.
    assert_eq!(delete_records(&mut c, 2, "orders", &[(0, -1)]).await, vec![(0, -1, TOPIC_AUTHORIZATION_FAILED)]);
    assert_eq!(delete_records(&mut c, 2, "scratch", &[(0, -1)]).await, vec![(0, 0, NONE)]);
    assert_eq!(
        incremental(&mut c, 2, "orders", &[("retention.ms", 0, Some("1000"))], false).await.0,
        TOPIC_AUTHORIZATION_FAILED
    );
    assert_eq!(incremental(&mut c, 2, "scratch", &[("retention.ms", 0, Some("1000"))], false).await.0, NONE);
    assert_eq!(alter(&mut c, 2, 4, "0", &[], false).await, CLUSTER_AUTHORIZATION_FAILED);
    // Read on a group is not Delete.
    assert_eq!(delete_groups(&mut c, 2, &["readers"]).await, [GROUP_AUTHORIZATION_FAILED]);
    assert_eq!(offset_delete(&mut c, "readers", "orders", &[0]).await.0, GROUP_AUTHORIZATION_FAILED);
    let ResponseKind::DescribeLogDirs(d) = c
        .call(
            ApiKey::DescribeLogDirs,
            4,
            RequestKind::DescribeLogDirs(DescribeLogDirsRequest::default().with_topics(None)),
        )
        .await
    else {
        panic!()
    };
    assert_eq!((d.error_code, d.results.len()), (CLUSTER_AUTHORIZATION_FAILED, 0));
    // The PLAINTEXT access point has no ACLs.
    assert_eq!(delete_groups(&mut plain, 2, &["readers"]).await, [NONE]);
    broker.shutdown().await;
}

#[tokio::test]
async fn a_malformed_admin_frame_closes_only_its_connection() {
    let (_srv, broker, _id, addr) = orders_setup().await;
    let mut other = Conn::open(addr).await;
    // A DeleteRecords v2 header, then a topic array that claims more bytes than the frame has.
    kafka_support::assert_malformed_request_closes(addr, ApiKey::DeleteRecords, 2, &[0x7f, 0x05]).await;
    // The other connection still works.
    assert_eq!(delete_records(&mut other, 2, "orders", &[(0, -1)]).await, vec![(0, 0, NONE)]);
    broker.shutdown().await;
}
