//! The Kafka data plane driven over TCP with a raw protocol client (requests built with the
//! `kafka-protocol` crate, as any client library would encode them), next to the management APIs that
//! prepare topics and show offsets. Every listener is on an ephemeral port.

use crate::common;
use crate::kafka_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, StrBytes};
use kafka_protocol::records::{Compression, Record};
use localyun::kafka::KafkaBroker;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::{TestServer, ACCOUNT};
use kafka_support::{alibaba, batch, decode, now_ms, record, s, Conn};

const REGION: &str = "cn-hangzhou";

/// See [`kafka_support::orders_setup`].
async fn setup() -> (TestServer, std::sync::Arc<KafkaBroker>, String, SocketAddr) {
    kafka_support::orders_setup().await
}

// ---- tests ----

#[tokio::test]
async fn api_versions_and_unsupported_requests() {
    let (_srv, broker, _id, addr) = setup().await;
    let mut c = Conn::open(addr).await;
    let v = c.api_versions().await;
    assert_eq!(v.error_code, 0);
    let produce = v.api_keys.iter().find(|k| k.api_key == ApiKey::Produce as i16).unwrap();
    assert_eq!((produce.min_version, produce.max_version), (3, 9));
    assert!(v.api_keys.iter().any(|k| k.api_key == ApiKey::JoinGroup as i16));

    // A version above the range: UNSUPPORTED_VERSION (35), and the connection stays usable.
    c.stream.write_all(&[0, 0, 0, 10, 0, 1, 0, 99, 0, 0, 0x30, 0x39, 0xff, 0xff]).await.unwrap();
    let mut frame = c.read_frame().await.unwrap();
    assert_eq!((frame.get_i32(), frame.get_i16()), (0x3039, 35));
    // An API this broker does not serve (DescribeProducers): the same.
    let correlation = c
        .send_raw(ApiKey::DescribeProducers, 0, &RequestKind::DescribeProducers(DescribeProducersRequest::default()))
        .await;
    let mut frame = c.read_frame().await.unwrap();
    assert_eq!((frame.get_i32(), frame.get_i16()), (correlation, 35));
    // ApiVersions at a future version answers v0 with the ranges (KIP-511).
    c.stream.write_all(&[0, 0, 0, 10, 0, 18, 0, 9, 0, 0, 0, 5, 0xff, 0xff]).await.unwrap();
    let mut frame = c.read_frame().await.unwrap();
    assert_eq!(frame.get_i32(), 5);
    let v0 = ApiVersionsResponse::decode(&mut frame, 0).unwrap();
    assert_eq!((v0.error_code, v0.api_keys.len()), (35, v.api_keys.len()));
    broker.shutdown().await;
}

#[tokio::test]
async fn a_malformed_or_oversized_frame_closes_only_its_connection() {
    let (_srv, broker, _id, addr) = setup().await;
    let mut good = Conn::open(addr).await;
    let mut bad = TcpStream::connect(addr).await.unwrap();
    // A Metadata v1 header followed by garbage that cannot be a topic array.
    bad.write_all(&[0, 0, 0, 12, 0, 3, 0, 1, 0, 0, 0, 7, 0xff, 0xff, 0x7f, 0xff]).await.unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(tokio::time::timeout(Duration::from_secs(5), bad.read(&mut buf)).await.unwrap().unwrap(), 0);
    let mut huge = TcpStream::connect(addr).await.unwrap();
    huge.write_all(&(200u32 * 1024 * 1024).to_be_bytes()).await.unwrap();
    assert_eq!(tokio::time::timeout(Duration::from_secs(5), huge.read(&mut buf)).await.unwrap().unwrap(), 0);
    let ResponseKind::Metadata(m) =
        good.call(ApiKey::Metadata, 12, RequestKind::Metadata(MetadataRequest::default().with_topics(None))).await
    else {
        panic!()
    };
    assert_eq!(m.topics.len(), 1);
    broker.shutdown().await;
}

#[tokio::test]
async fn keyed_records_round_trip_in_every_codec_and_offsets_reach_the_management_api() {
    let (srv, broker, id, addr) = setup().await;
    let mut c = Conn::open(addr).await;
    let ResponseKind::Metadata(m) =
        c.call(ApiKey::Metadata, 12, RequestKind::Metadata(MetadataRequest::default().with_topics(None))).await
    else {
        panic!()
    };
    assert_eq!(m.brokers[0].port, i32::from(addr.port()));
    assert_eq!(m.topics[0].partitions.len(), 3);

    let t0 = now_ms();
    let codecs = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd];
    for (i, codec) in codecs.iter().enumerate() {
        let recs = [
            record(&format!("k{i}a"), "first", t0 + i as i64 * 10, 0),
            record(&format!("k{i}b"), "second", t0 + i as i64 * 10 + 1, 1),
        ];
        let (err, base) = c.produce("orders", 1, 1, batch(&recs, *codec)).await;
        assert_eq!((err, base), (0, i as i64 * 2), "{codec:?}");
    }
    let p = c.fetch("orders", 1, 0, 100).await;
    assert_eq!((p.error_code, p.high_watermark, p.log_start_offset), (0, 10, 0));
    let got = decode(&p.records);
    assert_eq!(got.len(), 10);
    assert_eq!(got[9].offset, 9);
    assert_eq!(got[8].key.as_deref(), Some(&b"k4a"[..]));
    assert_eq!(got[8].value.as_deref(), Some(&b"first"[..]));
    assert_eq!(got[8].headers.get(&s("trace")), Some(&Some(Bytes::from_static(b"abc"))));
    // A fetch from the middle of a batch returns that whole batch, as stored.
    let mid = decode(&c.fetch("orders", 1, 3, 100).await.records);
    assert_eq!(mid.first().map(|r| r.offset), Some(2));
    // Past the end: OFFSET_OUT_OF_RANGE.
    assert_eq!(c.fetch("orders", 1, 11, 0).await.error_code, 1);

    // ListOffsets: earliest, latest, by timestamp (inside a zstd batch), beyond the newest.
    let lo = |ts: i64| {
        RequestKind::ListOffsets(ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
            list_offsets_request::ListOffsetsTopic::default().with_name(TopicName(s("orders"))).with_partitions(vec![
                list_offsets_request::ListOffsetsPartition::default().with_partition_index(1).with_timestamp(ts),
            ]),
        ]))
    };
    for (ts, want) in [(-2, 0), (-1, 10), (t0 + 41, 9), (t0 + 15, 4), (t0 + 1_000_000, -1)] {
        let ResponseKind::ListOffsets(r) = c.call(ApiKey::ListOffsets, 7, lo(ts)).await else { panic!() };
        assert_eq!(r.topics[0].partitions[0].offset, want, "timestamp {ts}");
    }

    // The management API shows the log's offsets.
    let status = alibaba(&srv, "GetTopicStatus", &[("InstanceId", &id), ("Topic", "orders")]).await;
    let ts = &status["TopicStatus"];
    assert_eq!(ts["TotalCount"].as_i64(), Some(10), "{status}");
    assert!(ts["LastTimeStamp"].as_i64().unwrap() >= t0);
    let row =
        ts["OffsetTable"]["OffsetTable"].as_array().unwrap().iter().find(|r| r["Partition"] == 1).cloned().unwrap();
    assert_eq!((row["MinOffset"].as_i64(), row["MaxOffset"].as_i64()), (Some(0), Some(10)));

    // A commit through the protocol is the group's consumer offset in GetConsumerProgress.
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(s("CID-billing")))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![offset_commit_request::OffsetCommitRequestTopic::default()
            .with_name(TopicName(s("orders")))
            .with_partitions(vec![offset_commit_request::OffsetCommitRequestPartition::default()
                .with_partition_index(1)
                .with_committed_offset(6)])]);
    let ResponseKind::OffsetCommit(r) = c.call(ApiKey::OffsetCommit, 8, RequestKind::OffsetCommit(commit)).await else {
        panic!()
    };
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    let progress = alibaba(
        &srv,
        "GetConsumerProgress",
        &[("InstanceId", &id), ("RegionId", REGION), ("ConsumerId", "CID-billing")],
    )
    .await;
    let cp = &progress["ConsumerProgress"];
    assert_eq!(cp["TotalDiff"].as_i64(), Some(4), "{progress}");
    let offsets = cp["TopicList"]["TopicList"][0]["OffsetList"]["OffsetList"].as_array().unwrap();
    let p1 = offsets.iter().find(|o| o["Partition"] == 1).unwrap();
    assert_eq!((p1["BrokerOffset"].as_i64(), p1["ConsumerOffset"].as_i64()), (Some(10), Some(6)));
    // And OffsetFetch reads it back (v8: the groups shape); an uncommitted partition is -1.
    let fetch =
        OffsetFetchRequest::default().with_groups(vec![offset_fetch_request::OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s("CID-billing")))
            .with_topics(Some(vec![offset_fetch_request::OffsetFetchRequestTopics::default()
                .with_name(TopicName(s("orders")))
                .with_partition_indexes(vec![0, 1])]))]);
    let ResponseKind::OffsetFetch(r) = c.call(ApiKey::OffsetFetch, 8, RequestKind::OffsetFetch(fetch)).await else {
        panic!()
    };
    let parts = &r.groups[0].topics[0].partitions;
    assert_eq!((parts[0].committed_offset, parts[1].committed_offset), (-1, 6));
    broker.shutdown().await;
}

#[tokio::test]
async fn a_topic_that_was_never_created_is_an_error_not_created() {
    let (srv, broker, id, addr) = setup().await;
    let mut c = Conn::open(addr).await;
    let req = MetadataRequest::default()
        .with_topics(Some(vec![
            metadata_request::MetadataRequestTopic::default().with_name(Some(TopicName(s("ghost"))))
        ]))
        .with_allow_auto_topic_creation(true);
    let ResponseKind::Metadata(m) = c.call(ApiKey::Metadata, 12, RequestKind::Metadata(req)).await else { panic!() };
    assert_eq!(m.topics[0].error_code, 3, "UNKNOWN_TOPIC_OR_PARTITION");
    let (err, _) = c.produce("ghost", 0, 1, batch(&[record("k", "v", now_ms(), 0)], Compression::None)).await;
    assert_eq!(err, 3);
    assert_eq!(c.produce("orders", 3, 1, batch(&[record("k", "v", now_ms(), 0)], Compression::None)).await.0, 3);
    assert_eq!(c.fetch("ghost", 0, 0, 0).await.error_code, 3);
    // Clients may not create topics (the clouds manage them): POLICY_VIOLATION (44).
    let create = CreateTopicsRequest::default().with_topics(vec![create_topics_request::CreatableTopic::default()
        .with_name(TopicName(s("ghost")))
        .with_num_partitions(1)
        .with_replication_factor(1)]);
    let ResponseKind::CreateTopics(r) = c.call(ApiKey::CreateTopics, 7, RequestKind::CreateTopics(create)).await else {
        panic!()
    };
    assert_eq!(r.topics[0].error_code, 44);
    assert!(srv
        .state
        .store
        .kafka
        .read()
        .read_instance(localyun::engine::kafka::Scope::ANY, &id, |i| i.topic("ghost").is_err())
        .unwrap());
    // A corrupted batch: CORRUPT_MESSAGE (2), nothing stored.
    let mut bad = BytesMut::from(&batch(&[record("k", "v", now_ms(), 0)], Compression::None)[..]);
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    assert_eq!(c.produce("orders", 0, 1, bad.freeze()).await.0, 2);
    assert_eq!(c.fetch("orders", 0, 0, 0).await.high_watermark, 0);
    broker.shutdown().await;
}

#[tokio::test]
async fn a_waiting_fetch_answers_as_soon_as_a_record_arrives() {
    let (_srv, broker, _id, addr) = setup().await;
    let mut consumer = Conn::open(addr).await;
    let started = Instant::now();
    let waiting = tokio::spawn(async move {
        let p = consumer.fetch("orders", 2, 0, 10_000).await;
        (p, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "an empty partition makes the fetch wait");
    let mut producer = Conn::open(addr).await;
    assert_eq!(
        producer.produce("orders", 2, 1, batch(&[record("k", "late", now_ms(), 0)], Compression::None)).await.0,
        0
    );
    let (p, took) = tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap();
    assert!(took < Duration::from_secs(3), "answered after {took:?}");
    assert!(took >= Duration::from_millis(300));
    assert_eq!(decode(&p.records)[0].value.as_deref(), Some(&b"late"[..]));
    // With nothing arriving, the fetch answers empty after max wait.
    let mut c = Conn::open(addr).await;
    let t = Instant::now();
    let p = c.fetch("orders", 0, 0, 200).await;
    assert!(t.elapsed() >= Duration::from_millis(190) && p.records.as_ref().is_none_or(|r| r.is_empty()));
    broker.shutdown().await;
}

#[tokio::test]
async fn an_idempotent_producer_is_deduplicated_and_ordered() {
    let (_srv, broker, _id, addr) = setup().await;
    let mut c = Conn::open(addr).await;
    let ResponseKind::InitProducerId(init) = c
        .call(
            ApiKey::InitProducerId,
            4,
            RequestKind::InitProducerId(
                InitProducerIdRequest::default().with_transactional_id(None).with_transaction_timeout_ms(60_000),
            ),
        )
        .await
    else {
        panic!()
    };
    assert_eq!(init.error_code, 0);
    let pid = init.producer_id.0;
    let idem = |seq: i32, n: i32| {
        let recs: Vec<Record> = (0..n)
            .map(|i| {
                let mut r = record("k", &format!("v{}", seq + i), now_ms(), seq + i);
                r.producer_id = pid;
                r.producer_epoch = 0;
                r
            })
            .collect();
        batch(&recs, Compression::None)
    };
    assert_eq!(c.produce("orders", 0, -1, idem(0, 2)).await, (0, 0));
    // A retry of the same batch: success at the original offset, stored once.
    assert_eq!(c.produce("orders", 0, -1, idem(0, 2)).await, (0, 0));
    assert_eq!(c.produce("orders", 0, -1, idem(2, 1)).await, (0, 2));
    // A gap: OUT_OF_ORDER_SEQUENCE_NUMBER (45).
    assert_eq!(c.produce("orders", 0, -1, idem(7, 1)).await.0, 45);
    assert_eq!(c.fetch("orders", 0, 0, 0).await.high_watermark, 3);
    broker.shutdown().await;
}

#[tokio::test]
async fn a_consumer_group_of_two_rebalances() {
    let (srv, broker, id, addr) = setup().await;
    let join = |member: &str| {
        RequestKind::JoinGroup(
            JoinGroupRequest::default()
                .with_group_id(GroupId(s("CID-pair")))
                .with_session_timeout_ms(10_000)
                .with_rebalance_timeout_ms(10_000)
                .with_member_id(s(member))
                .with_protocol_type(s("consumer"))
                .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default()
                    .with_name(s("range"))
                    .with_metadata(Bytes::from_static(b"opaque-subscription"))]),
        )
    };
    let mut a = Conn::open(addr).await;
    let ResponseKind::JoinGroup(ja) = a.call(ApiKey::JoinGroup, 7, join("")).await else { panic!() };
    assert_eq!((ja.error_code, ja.generation_id), (0, 1));
    assert_eq!(ja.leader, ja.member_id);
    assert_eq!(&ja.members[0].metadata[..], b"opaque-subscription", "assignor metadata relayed untouched");
    let sync = |member: &StrBytes, generation: i32, assignments: Vec<(StrBytes, &'static [u8])>| {
        RequestKind::SyncGroup(
            SyncGroupRequest::default()
                .with_group_id(GroupId(s("CID-pair")))
                .with_generation_id(generation)
                .with_member_id(member.clone())
                .with_assignments(
                    assignments
                        .into_iter()
                        .map(|(m, a)| {
                            sync_group_request::SyncGroupRequestAssignment::default()
                                .with_member_id(m)
                                .with_assignment(Bytes::from_static(a))
                        })
                        .collect(),
                ),
        )
    };
    let ResponseKind::SyncGroup(sa) =
        a.call(ApiKey::SyncGroup, 5, sync(&ja.member_id, 1, vec![(ja.member_id.clone(), b"all")])).await
    else {
        panic!()
    };
    assert_eq!((sa.error_code, &sa.assignment[..]), (0, &b"all"[..]));

    // B joins; its JoinGroup waits until A rejoins (told by its heartbeat).
    let mut b = Conn::open(addr).await;
    let b_join = tokio::spawn(async move {
        let r = b.call(ApiKey::JoinGroup, 7, join("")).await;
        (b, r)
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let hb = |member: &StrBytes, generation: i32| {
        RequestKind::Heartbeat(
            HeartbeatRequest::default()
                .with_group_id(GroupId(s("CID-pair")))
                .with_generation_id(generation)
                .with_member_id(member.clone()),
        )
    };
    let ResponseKind::Heartbeat(h) = a.call(ApiKey::Heartbeat, 4, hb(&ja.member_id, 1)).await else { panic!() };
    assert_eq!(h.error_code, 27, "REBALANCE_IN_PROGRESS");
    let ResponseKind::JoinGroup(ja2) = a.call(ApiKey::JoinGroup, 7, join(&ja.member_id)).await else { panic!() };
    let (mut b, ResponseKind::JoinGroup(jb)) = b_join.await.unwrap() else { panic!() };
    assert_eq!((ja2.generation_id, jb.generation_id), (2, 2));
    assert_eq!(ja2.members.len(), 2);
    assert!(jb.members.is_empty(), "only the leader gets the member list");
    let b_sync = {
        let m = jb.member_id.clone();
        tokio::spawn(async move { b.call(ApiKey::SyncGroup, 5, sync(&m, 2, vec![])).await })
    };
    let ResponseKind::SyncGroup(sa2) = a
        .call(
            ApiKey::SyncGroup,
            5,
            sync(&ja2.member_id, 2, vec![(ja2.member_id.clone(), b"p0"), (jb.member_id.clone(), b"p1")]),
        )
        .await
    else {
        panic!()
    };
    assert_eq!(&sa2.assignment[..], b"p0");
    let ResponseKind::SyncGroup(sb) = b_sync.await.unwrap() else { panic!() };
    assert_eq!(&sb.assignment[..], b"p1");

    let describe = DescribeGroupsRequest::default().with_groups(vec![GroupId(s("CID-pair"))]);
    let ResponseKind::DescribeGroups(d) =
        a.call(ApiKey::DescribeGroups, 5, RequestKind::DescribeGroups(describe)).await
    else {
        panic!()
    };
    assert_eq!((d.groups[0].group_state.as_str(), d.groups[0].members.len()), ("Stable", 2));
    // The group a client created shows in the management API's group list.
    let list = alibaba(&srv, "GetConsumerList", &[("InstanceId", &id), ("RegionId", REGION)]).await;
    assert!(
        list["ConsumerList"]["ConsumerVO"].as_array().unwrap().iter().any(|g| g["ConsumerId"] == "CID-pair"),
        "{list}"
    );
    // A stale generation is refused.
    let ResponseKind::Heartbeat(h) = a.call(ApiKey::Heartbeat, 4, hb(&ja2.member_id, 1)).await else { panic!() };
    assert_eq!(h.error_code, 22, "ILLEGAL_GENERATION");
    broker.shutdown().await;
}

#[tokio::test]
async fn instances_do_not_see_each_others_topics() {
    let (srv, broker, _id, _addr) = setup().await;
    let other = localyun::alibaba::kafka::default_instance_id(ACCOUNT, "cn-shanghai");
    let addr = broker.address_of(&other).unwrap();
    let mut c = Conn::open(addr).await;
    let ResponseKind::Metadata(m) =
        c.call(ApiKey::Metadata, 12, RequestKind::Metadata(MetadataRequest::default().with_topics(None))).await
    else {
        panic!()
    };
    assert!(m.topics.is_empty());
    assert_eq!(c.produce("orders", 0, 1, batch(&[record("k", "v", now_ms(), 0)], Compression::None)).await.0, 3);
    let _ = srv;
    broker.shutdown().await;
}

/// Every served API at every served version, with a minimal request (one topic where it takes topics):
/// each gets an answer, so no response field is set that its version cannot carry.
#[tokio::test]
async fn every_served_api_answers_at_every_served_version() {
    let (_srv, broker, _id, addr) = setup().await;
    let topic = || TopicName(s("orders"));
    let requests: Vec<(ApiKey, RequestKind)> = vec![
        (ApiKey::ApiVersions, RequestKind::ApiVersions(ApiVersionsRequest::default())),
        (
            ApiKey::Metadata,
            RequestKind::Metadata(
                MetadataRequest::default().with_topics(Some(vec![
                    metadata_request::MetadataRequestTopic::default().with_name(Some(topic()))
                ])),
            ),
        ),
        (
            ApiKey::Produce,
            RequestKind::Produce(ProduceRequest::default().with_acks(1).with_topic_data(vec![
                produce_request::TopicProduceData::default().with_name(topic()).with_partition_data(vec![
                        produce_request::PartitionProduceData::default()
                            .with_index(0)
                            .with_records(Some(batch(&[record("k", "v", now_ms(), 0)], Compression::None))),
                    ]),
            ])),
        ),
        (
            ApiKey::Fetch,
            RequestKind::Fetch(
                FetchRequest::default().with_replica_id(BrokerId(-1)).with_max_bytes(1 << 20).with_topics(vec![
                    fetch_request::FetchTopic::default().with_topic(topic()).with_partitions(vec![
                        fetch_request::FetchPartition::default().with_partition(0).with_partition_max_bytes(1 << 20),
                    ]),
                ]),
            ),
        ),
        (
            ApiKey::ListOffsets,
            RequestKind::ListOffsets(ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
                list_offsets_request::ListOffsetsTopic::default().with_name(topic()).with_partitions(vec![
                    list_offsets_request::ListOffsetsPartition::default().with_partition_index(0).with_timestamp(0),
                ]),
            ])),
        ),
        (ApiKey::FindCoordinator, RequestKind::FindCoordinator(FindCoordinatorRequest::default())),
        (ApiKey::OffsetFetch, RequestKind::OffsetFetch(OffsetFetchRequest::default().with_topics(None))),
        (
            ApiKey::OffsetCommit,
            RequestKind::OffsetCommit(
                OffsetCommitRequest::default().with_group_id(GroupId(s("g"))).with_generation_id_or_member_epoch(-1),
            ),
        ),
        (ApiKey::Heartbeat, RequestKind::Heartbeat(HeartbeatRequest::default())),
        (ApiKey::LeaveGroup, RequestKind::LeaveGroup(LeaveGroupRequest::default())),
        (ApiKey::SyncGroup, RequestKind::SyncGroup(SyncGroupRequest::default())),
        (
            ApiKey::JoinGroup,
            RequestKind::JoinGroup(
                JoinGroupRequest::default()
                    .with_group_id(GroupId(s("every-version")))
                    .with_session_timeout_ms(10_000)
                    .with_protocol_type(s("consumer"))
                    .with_protocols(
                        vec![join_group_request::JoinGroupRequestProtocol::default().with_name(s("range"))],
                    ),
            ),
        ),
        (
            ApiKey::DescribeGroups,
            RequestKind::DescribeGroups(
                DescribeGroupsRequest::default().with_groups(vec![GroupId(s("every-version"))]),
            ),
        ),
        (ApiKey::ListGroups, RequestKind::ListGroups(ListGroupsRequest::default())),
        (
            ApiKey::InitProducerId,
            RequestKind::InitProducerId(InitProducerIdRequest::default().with_transactional_id(None)),
        ),
        (
            ApiKey::DescribeConfigs,
            RequestKind::DescribeConfigs(DescribeConfigsRequest::default().with_resources(vec![
                    describe_configs_request::DescribeConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(s("orders")),
                ])),
        ),
        (
            ApiKey::CreateTopics,
            RequestKind::CreateTopics(
                CreateTopicsRequest::default()
                    .with_topics(vec![create_topics_request::CreatableTopic::default().with_name(TopicName(s("new")))]),
            ),
        ),
        (ApiKey::DeleteTopics, RequestKind::DeleteTopics(DeleteTopicsRequest::default())),
        (ApiKey::CreatePartitions, RequestKind::CreatePartitions(CreatePartitionsRequest::default())),
    ];
    let mut tried = 0;
    for (key, body) in &requests {
        let (min, max) = localyun::kafka::handlers::supported_versions(*key).unwrap();
        for version in min..=max {
            // Skip shapes this minimal request cannot take at that version (client-side encoding).
            let mut probe = BytesMut::new();
            if body.encode(&mut probe, version).is_err() {
                continue;
            }
            let mut body = body.clone();
            if let RequestKind::JoinGroup(j) = &mut body {
                // A fresh group per version: joining a group whose old members never rejoin would wait.
                j.group_id = GroupId(s(&format!("every-version-{version}")));
            }
            let mut c = Conn::open(addr).await;
            let r = tokio::time::timeout(Duration::from_secs(15), c.call(*key, version, body)).await;
            assert!(r.is_ok(), "{key:?} v{version} got no answer");
            tried += 1;
        }
    }
    assert!(tried > 80, "only {tried} API versions tried");
    broker.shutdown().await;
}

#[tokio::test]
async fn a_topic_deleted_through_the_api_loses_its_data_and_a_new_one_starts_empty() {
    let (srv, broker, id, addr) = setup().await;
    let mut c = Conn::open(addr).await;
    assert_eq!(c.produce("orders", 0, 1, batch(&[record("k", "old", now_ms(), 0)], Compression::None)).await, (0, 0));
    let r = alibaba(&srv, "DeleteTopic", &[("InstanceId", &id), ("RegionId", REGION), ("Topic", "orders")]).await;
    assert_eq!(r["Success"], true, "{r}");
    assert_eq!(c.produce("orders", 0, 1, batch(&[record("k", "gone", now_ms(), 0)], Compression::None)).await.0, 3);
    assert_eq!(c.fetch("orders", 0, 0, 0).await.error_code, 3);
    // Created again under the same name (one partition more): a new, empty log, grown live.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let r = alibaba(
        &srv,
        "CreateTopic",
        &[("InstanceId", &id), ("RegionId", REGION), ("Topic", "orders"), ("Remark", "again"), ("PartitionNum", "4")],
    )
    .await;
    assert_eq!(r["Success"], true, "{r}");
    let p = c.fetch("orders", 0, 0, 0).await;
    assert_eq!((p.error_code, p.high_watermark), (0, 0));
    assert_eq!(c.produce("orders", 3, 1, batch(&[record("k", "new", now_ms(), 0)], Compression::None)).await, (0, 0));
    broker.shutdown().await;
}

#[tokio::test]
async fn in_process_producers_and_readers_share_the_logs_clients_use() {
    use localyun::kafka::local::{LocalError, NewRecord};
    let (srv, broker, id, addr) = setup().await;
    let plane = srv.state.kafka().expect("the state knows the running data plane");
    assert_eq!(plane.resolve_instance(&id).as_deref(), Some(id.as_str()));
    assert_eq!(plane.resolve_instance(&addr.to_string()).as_deref(), Some(id.as_str()));
    assert_eq!(plane.resolve_instance("10.9.9.9:1"), None);

    let rec = NewRecord {
        key: Some(Bytes::from_static(b"k1")),
        value: Some(Bytes::from_static(b"v1")),
        headers: vec![("h".into(), Some(Bytes::from_static(b"x")))],
    };
    let (p, offset) = plane.produce_local(&id, "orders", None, &[rec.clone(), rec.clone()]).await.unwrap();
    assert_eq!(offset, 0);
    assert_eq!(p, localyun::kafka::local::partition_for(Some(b"k1"), 3));
    let (_, next) = plane.produce_local(&id, "orders", Some(p), std::slice::from_ref(&rec)).await.unwrap();
    assert_eq!(next, 2);

    // A Kafka client fetching the partition sees the records, keys, values and headers.
    let mut c = Conn::open(addr).await;
    let pd = c.fetch("orders", p as i32, 0, 0).await;
    assert_eq!(pd.error_code, 0);
    let got = decode(&pd.records);
    assert_eq!(got.len(), 3);
    assert_eq!(got[2].key.as_deref(), Some(&b"k1"[..]));
    assert_eq!(got[0].headers.get(&s("h")).cloned().flatten().as_deref(), Some(&b"x"[..]));

    // Reading without consuming: from an offset, bounded, at the high watermark empty, past it an error.
    let read = plane.read_local(&id, "orders", p, 1, 10).unwrap();
    assert_eq!(read.iter().map(|r| r.offset).collect::<Vec<_>>(), vec![1, 2]);
    assert_eq!(read[0].value.as_deref(), Some(&b"v1"[..]));
    assert_eq!(read[0].headers, vec![("h".to_string(), Some(Bytes::from_static(b"x")))]);
    assert_eq!(plane.read_local(&id, "orders", p, 0, 1).unwrap().len(), 1);
    assert!(plane.read_local(&id, "orders", p, 3, 10).unwrap().is_empty());
    assert!(matches!(plane.read_local(&id, "orders", p, 9, 10), Err(LocalError::OffsetOutOfRange { .. })));
    let offsets = plane.partition_offsets(&id, "orders").unwrap();
    assert_eq!(offsets.len(), 3);
    assert_eq!(offsets[p as usize].high_watermark, 3);

    // Unknown topic, partition and instance are errors, never created.
    assert!(matches!(
        plane.produce_local(&id, "nope", None, std::slice::from_ref(&rec)).await,
        Err(LocalError::UnknownTopic { .. })
    ));
    assert!(matches!(
        plane.produce_local(&id, "orders", Some(7), std::slice::from_ref(&rec)).await,
        Err(LocalError::UnknownPartition { .. })
    ));
    assert!(matches!(plane.read_local("nope", "orders", 0, 0, 1), Err(LocalError::UnknownInstance(_))));

    // The management API shows the offsets written in process.
    let r = alibaba(&srv, "GetTopicStatus", &[("InstanceId", &id), ("RegionId", REGION), ("Topic", "orders")]).await;
    assert_eq!(r["TopicStatus"]["TotalCount"], 3, "{r}");
    broker.shutdown().await;
}
