//! Kafka transactions (KIP-98) on the data plane, driven with raw protocol requests built by the
//! `kafka-protocol` crate: the transaction coordinator APIs, transactional produce, markers in the log,
//! read_committed fetches and ListOffsets, fencing, transactional offset commits, timeouts and refusals.

use crate::common;
use crate::kafka_support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, Bytes};
use kafka_protocol::messages::*;
use kafka_protocol::records::{Compression, Record};
use localyun::kafka::KafkaBroker;
use tokio::io::AsyncWriteExt;

use common::TestServer;
use kafka_support::{batch, decode, now_ms, record, s, Conn};

// Kafka error codes these tests expect (the protocol guide's table).
const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_REQUEST: i16 = 42;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const INVALID_TXN_STATE: i16 = 48;
const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
const OPERATION_NOT_ATTEMPTED: i16 = 55;
const INVALID_RECORD: i16 = 87;
const UNSTABLE_OFFSET_COMMIT: i16 = 88;
const PRODUCER_FENCED: i16 = 90;

/// See [`kafka_support::orders_setup`].
async fn setup() -> (TestServer, std::sync::Arc<KafkaBroker>, String, SocketAddr) {
    kafka_support::orders_setup().await
}

/// InitProducerId for a transactional id: (error, producer id, epoch).
async fn init(c: &mut Conn, version: i16, txn: &str, timeout_ms: i32, current: Option<(i64, i16)>) -> (i16, i64, i16) {
    let (pid, epoch) = current.unwrap_or((-1, -1));
    let req = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(s(txn))))
        .with_transaction_timeout_ms(timeout_ms)
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch);
    let ResponseKind::InitProducerId(r) =
        c.call(ApiKey::InitProducerId, version, RequestKind::InitProducerId(req)).await
    else {
        panic!("not an InitProducerId response")
    };
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

/// AddPartitionsToTxn (v0-3 shape): every (topic, partition, error) answered, in request order.
async fn add_partitions(
    c: &mut Conn,
    version: i16,
    txn: &str,
    pid: i64,
    epoch: i16,
    parts: &[(&str, i32)],
) -> Vec<(String, i32, i16)> {
    let mut topics: Vec<add_partitions_to_txn_request::AddPartitionsToTxnTopic> = Vec::new();
    for (t, p) in parts {
        match topics.iter_mut().find(|x| &*x.name.0 == *t) {
            Some(x) => x.partitions.push(*p),
            None => topics.push(
                add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                    .with_name(TopicName(s(t)))
                    .with_partitions(vec![*p]),
            ),
        }
    }
    let req = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(TransactionalId(s(txn)))
        .with_v3_and_below_producer_id(ProducerId(pid))
        .with_v3_and_below_producer_epoch(epoch)
        .with_v3_and_below_topics(topics);
    let ResponseKind::AddPartitionsToTxn(r) =
        c.call(ApiKey::AddPartitionsToTxn, version, RequestKind::AddPartitionsToTxn(req)).await
    else {
        panic!("not an AddPartitionsToTxn response")
    };
    r.results_by_topic_v3_and_below
        .iter()
        .flat_map(|t| {
            t.results_by_partition.iter().map(|p| (t.name.0.to_string(), p.partition_index, p.partition_error_code))
        })
        .collect()
}

async fn add_offsets(c: &mut Conn, txn: &str, pid: i64, epoch: i16, group: &str) -> i16 {
    let req = AddOffsetsToTxnRequest::default()
        .with_transactional_id(TransactionalId(s(txn)))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_group_id(GroupId(s(group)));
    let ResponseKind::AddOffsetsToTxn(r) = c.call(ApiKey::AddOffsetsToTxn, 3, RequestKind::AddOffsetsToTxn(req)).await
    else {
        panic!("not an AddOffsetsToTxn response")
    };
    r.error_code
}

async fn txn_offset_commit(c: &mut Conn, txn: &str, pid: i64, epoch: i16, group: &str, offset: i64) -> i16 {
    let req = TxnOffsetCommitRequest::default()
        .with_transactional_id(TransactionalId(s(txn)))
        .with_group_id(GroupId(s(group)))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_generation_id(-1)
        .with_topics(vec![txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
            .with_name(TopicName(s("orders")))
            .with_partitions(vec![txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                .with_partition_index(1)
                .with_committed_offset(offset)
                .with_committed_leader_epoch(-1)])]);
    let ResponseKind::TxnOffsetCommit(r) = c.call(ApiKey::TxnOffsetCommit, 3, RequestKind::TxnOffsetCommit(req)).await
    else {
        panic!("not a TxnOffsetCommit response")
    };
    r.topics[0].partitions[0].error_code
}

async fn end_txn(c: &mut Conn, version: i16, txn: &str, pid: i64, epoch: i16, commit: bool) -> i16 {
    let req = EndTxnRequest::default()
        .with_transactional_id(TransactionalId(s(txn)))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(epoch)
        .with_committed(commit);
    let ResponseKind::EndTxn(r) = c.call(ApiKey::EndTxn, version, RequestKind::EndTxn(req)).await else {
        panic!("not an EndTxn response")
    };
    r.error_code
}

/// A transactional batch of `values` from a producer, sequences from `first_seq`.
fn txn_batch(pid: i64, epoch: i16, first_seq: i32, values: &[&str]) -> Bytes {
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let mut r = record("k", v, now_ms(), first_seq + i as i32);
            r.offset = i as i64;
            r.transactional = true;
            r.producer_id = pid;
            r.producer_epoch = epoch;
            r
        })
        .collect();
    batch(&records, Compression::None)
}

/// One partition's fetch at an isolation level (0 read_uncommitted, 1 read_committed), no waiting.
async fn fetch(c: &mut Conn, partition: i32, offset: i64, isolation: i8) -> fetch_response::PartitionData {
    let req = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(1 << 20)
        .with_isolation_level(isolation)
        .with_session_epoch(-1)
        .with_topics(vec![fetch_request::FetchTopic::default().with_topic(TopicName(s("orders"))).with_partitions(
            vec![fetch_request::FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_partition_max_bytes(1 << 20)],
        )]);
    let ResponseKind::Fetch(r) = c.call(ApiKey::Fetch, 12, RequestKind::Fetch(req)).await else {
        panic!("not a fetch response")
    };
    r.responses[0].partitions[0].clone()
}

/// What a read_committed consumer shows: data records (no control records) whose transaction was not
/// aborted, using the fetch's aborted-transaction list as Kafka clients do.
fn committed_values(pd: &fetch_response::PartitionData) -> Vec<String> {
    // As Java's consumer: an aborted transaction becomes current when the fetch reaches its first offset
    // (and is then consumed from the list); its producer's records are dropped until its marker.
    let mut aborted: Vec<(i64, i64)> =
        pd.aborted_transactions.iter().flatten().map(|a| (a.first_offset, a.producer_id.0)).collect();
    aborted.sort();
    let records = decode(&pd.records);
    let mut dropping: Vec<i64> = Vec::new();
    let mut out = Vec::new();
    for r in records {
        while aborted.first().is_some_and(|(first, _)| *first <= r.offset) {
            let (_, pid) = aborted.remove(0);
            dropping.push(pid);
        }
        if r.control {
            dropping.retain(|p| *p != r.producer_id);
            continue;
        }
        if r.transactional && dropping.contains(&r.producer_id) {
            continue;
        }
        out.push(String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).to_string());
    }
    out
}

async fn list_latest(c: &mut Conn, partition: i32, isolation: i8) -> i64 {
    let req =
        ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_isolation_level(isolation).with_topics(vec![
            list_offsets_request::ListOffsetsTopic::default().with_name(TopicName(s("orders"))).with_partitions(vec![
                list_offsets_request::ListOffsetsPartition::default()
                    .with_partition_index(partition)
                    .with_timestamp(-1),
            ]),
        ]);
    let ResponseKind::ListOffsets(r) = c.call(ApiKey::ListOffsets, 5, RequestKind::ListOffsets(req)).await else {
        panic!("not a ListOffsets response")
    };
    let p = &r.topics[0].partitions[0];
    assert_eq!(p.error_code, NONE);
    p.offset
}

async fn committed_offset(c: &mut Conn, group: &str, partition: i32) -> i64 {
    let req = OffsetFetchRequest::default().with_group_id(GroupId(s(group))).with_topics(Some(vec![
        offset_fetch_request::OffsetFetchRequestTopic::default()
            .with_name(TopicName(s("orders")))
            .with_partition_indexes(vec![partition]),
    ]));
    let ResponseKind::OffsetFetch(r) = c.call(ApiKey::OffsetFetch, 5, RequestKind::OffsetFetch(req)).await else {
        panic!("not an OffsetFetch response")
    };
    r.topics[0].partitions[0].committed_offset
}

/// OffsetFetch v7 with `require_stable` (KIP-447): (error, offset) of one partition.
async fn stable_offset(c: &mut Conn, group: &str, partition: i32) -> (i16, i64) {
    let req = OffsetFetchRequest::default().with_group_id(GroupId(s(group))).with_require_stable(true).with_topics(
        Some(vec![offset_fetch_request::OffsetFetchRequestTopic::default()
            .with_name(TopicName(s("orders")))
            .with_partition_indexes(vec![partition])]),
    );
    let ResponseKind::OffsetFetch(r) = c.call(ApiKey::OffsetFetch, 7, RequestKind::OffsetFetch(req)).await else {
        panic!("not an OffsetFetch response")
    };
    let p = &r.topics[0].partitions[0];
    (p.error_code, p.committed_offset)
}

// ---- tests ----

#[tokio::test]
async fn api_versions_and_find_coordinator_for_a_transactional_id() {
    let (_srv, broker, _id, addr) = setup().await;
    let mut c = Conn::open(addr).await;
    let v = c.api_versions().await;
    for key in [ApiKey::AddPartitionsToTxn, ApiKey::AddOffsetsToTxn, ApiKey::EndTxn, ApiKey::TxnOffsetCommit] {
        let k = v.api_keys.iter().find(|k| k.api_key == key as i16).expect("transaction API advertised");
        assert_eq!((k.min_version, k.max_version), (0, 3), "{key:?}");
    }
    let req = FindCoordinatorRequest::default().with_key(s("tx-a")).with_key_type(1);
    let ResponseKind::FindCoordinator(r) = c.call(ApiKey::FindCoordinator, 3, RequestKind::FindCoordinator(req)).await
    else {
        panic!()
    };
    assert_eq!((r.error_code, r.node_id.0, r.port), (NONE, 0, i32::from(addr.port())));
    let req = FindCoordinatorRequest::default().with_coordinator_keys(vec![s("tx-a"), s("tx-b")]).with_key_type(1);
    let ResponseKind::FindCoordinator(r) = c.call(ApiKey::FindCoordinator, 4, RequestKind::FindCoordinator(req)).await
    else {
        panic!()
    };
    assert_eq!(r.coordinators.len(), 2);
    assert!(r.coordinators.iter().all(|c| c.error_code == NONE && c.port == i32::from(addr.port())));
    broker.shutdown().await;
}

#[tokio::test]
async fn commit_then_abort_with_read_committed_and_read_uncommitted_consumers() {
    let (_srv, broker, _id, addr) = setup().await;
    let mut c = Conn::open(addr).await;
    let (error, pid, epoch) = init(&mut c, 3, "tx-commit", 60_000, None).await;
    assert_eq!((error, epoch), (NONE, 0));
    assert!(pid >= 0);

    // Transaction 1: two records, committed.
    assert_eq!(
        add_partitions(&mut c, 3, "tx-commit", pid, epoch, &[("orders", 0)]).await,
        vec![("orders".into(), 0, NONE)]
    );
    assert_eq!(c.produce("orders", 0, -1, txn_batch(pid, epoch, 0, &["a", "b"])).await, (NONE, 0));
    // Open: read_committed sees nothing (LSO 0), read_uncommitted sees both.
    let rc = fetch(&mut c, 0, 0, 1).await;
    assert_eq!((rc.high_watermark, rc.last_stable_offset), (2, 0));
    assert!(committed_values(&rc).is_empty());
    assert_eq!(committed_values(&fetch(&mut c, 0, 0, 0).await), vec!["a", "b"]);
    assert_eq!((list_latest(&mut c, 0, 1).await, list_latest(&mut c, 0, 0).await), (0, 2));

    assert_eq!(end_txn(&mut c, 3, "tx-commit", pid, epoch, true).await, NONE);
    let rc = fetch(&mut c, 0, 0, 1).await;
    // The COMMIT marker took offset 2.
    assert_eq!((rc.high_watermark, rc.last_stable_offset), (3, 3));
    assert_eq!(rc.aborted_transactions.as_deref().map(|a| a.len()), Some(0));
    assert_eq!(committed_values(&rc), vec!["a", "b"]);
    let all = decode(&rc.records);
    let marker = all.last().expect("the marker is in the log");
    assert!(marker.control && marker.transactional);
    assert_eq!((marker.offset, marker.producer_id), (2, pid));
    assert_eq!(marker.key.as_deref(), Some(&[0u8, 0, 0, 1][..]), "ControlRecordType COMMIT");
    assert_eq!(list_latest(&mut c, 0, 1).await, 3);
    // A retried commit is answered NONE; an abort of the committed transaction is refused.
    assert_eq!(end_txn(&mut c, 3, "tx-commit", pid, epoch, true).await, NONE);
    assert_eq!(end_txn(&mut c, 3, "tx-commit", pid, epoch, false).await, INVALID_TXN_STATE);

    // Transaction 2: one record, aborted.
    assert_eq!(add_partitions(&mut c, 3, "tx-commit", pid, epoch, &[("orders", 0)]).await[0].2, NONE);
    assert_eq!(c.produce("orders", 0, -1, txn_batch(pid, epoch, 2, &["gone"])).await, (NONE, 3));
    assert_eq!(end_txn(&mut c, 3, "tx-commit", pid, epoch, false).await, NONE);
    // Plain records after it are visible to everyone.
    assert_eq!(
        c.produce("orders", 0, -1, batch(&[record("k", "plain", now_ms(), 0)], Compression::None)).await.0,
        NONE
    );
    let rc = fetch(&mut c, 0, 3, 1).await;
    assert_eq!((rc.high_watermark, rc.last_stable_offset), (6, 6));
    let aborted: Vec<(i64, i64)> =
        rc.aborted_transactions.iter().flatten().map(|a| (a.producer_id.0, a.first_offset)).collect();
    assert_eq!(aborted, vec![(pid, 3)]);
    assert_eq!(committed_values(&rc), vec!["plain"]);
    let ru = fetch(&mut c, 0, 3, 0).await;
    assert_eq!(ru.aborted_transactions.as_deref().map(|a| a.len()), Some(0), "read_uncommitted gets no list");
    assert_eq!(committed_values(&ru), vec!["gone", "plain"]);
    // A read_committed fetch past the aborted range is told nothing.
    assert_eq!(fetch(&mut c, 0, 5, 1).await.aborted_transactions.as_deref().map(|a| a.len()), Some(0));
    broker.shutdown().await;
}

#[tokio::test]
async fn a_second_init_fences_the_first_producer_and_aborts_its_transaction() {
    let (_srv, broker, _id, addr) = setup().await;
    let mut c = Conn::open(addr).await;
    let (_, pid, e0) = init(&mut c, 3, "tx-fence", 60_000, None).await;
    assert_eq!(add_partitions(&mut c, 3, "tx-fence", pid, e0, &[("orders", 2)]).await[0].2, NONE);
    assert_eq!(c.produce("orders", 2, -1, txn_batch(pid, e0, 0, &["old"])).await, (NONE, 0));

    // The same transactional id again: same producer id, next epoch; the open transaction is aborted.
    let (error, pid2, e1) = init(&mut c, 3, "tx-fence", 60_000, None).await;
    assert_eq!((error, pid2, e1), (NONE, pid, e0 + 1));
    let rc = fetch(&mut c, 2, 0, 1).await;
    assert_eq!((rc.high_watermark, rc.last_stable_offset), (2, 2));
    assert_eq!(rc.aborted_transactions.iter().flatten().map(|a| a.first_offset).collect::<Vec<_>>(), vec![0]);
    assert!(committed_values(&rc).is_empty());

    // The old epoch is fenced: PRODUCER_FENCED from the versions that know it, INVALID_PRODUCER_EPOCH before.
    assert_eq!(add_partitions(&mut c, 3, "tx-fence", pid, e0, &[("orders", 2)]).await[0].2, PRODUCER_FENCED);
    assert_eq!(add_partitions(&mut c, 1, "tx-fence", pid, e0, &[("orders", 2)]).await[0].2, INVALID_PRODUCER_EPOCH);
    assert_eq!(end_txn(&mut c, 3, "tx-fence", pid, e0, true).await, PRODUCER_FENCED);
    assert_eq!(end_txn(&mut c, 1, "tx-fence", pid, e0, true).await, INVALID_PRODUCER_EPOCH);
    assert_eq!(add_offsets(&mut c, "tx-fence", pid, e0, "g").await, PRODUCER_FENCED);
    // KIP-360: naming a stale producer id / epoch in InitProducerId is fenced too.
    assert_eq!(init(&mut c, 4, "tx-fence", 60_000, Some((pid, e0))).await.0, PRODUCER_FENCED);
    assert_eq!(init(&mut c, 3, "tx-fence", 60_000, Some((pid, e0))).await.0, INVALID_PRODUCER_EPOCH);
    // The current one may bump itself.
    let (error, _, e2) = init(&mut c, 4, "tx-fence", 60_000, Some((pid, e1))).await;
    assert_eq!((error, e2), (NONE, e1 + 1));

    // Produce from the fenced epoch, even into a partition the new epoch added.
    assert_eq!(add_partitions(&mut c, 3, "tx-fence", pid, e2, &[("orders", 2)]).await[0].2, NONE);
    assert_eq!(c.produce("orders", 2, -1, txn_batch(pid, e0, 1, &["zombie"])).await.0, INVALID_PRODUCER_EPOCH);
    // The current epoch, into a partition it did not add: INVALID_TXN_STATE.
    assert_eq!(c.produce("orders", 1, -1, txn_batch(pid, e2, 0, &["stray"])).await.0, INVALID_TXN_STATE);
    assert_eq!(c.produce("orders", 2, -1, txn_batch(pid, e2, 0, &["new"])).await, (NONE, 2));
    assert_eq!(end_txn(&mut c, 3, "tx-fence", pid, e2, true).await, NONE);
    assert_eq!(committed_values(&fetch(&mut c, 2, 0, 1).await), vec!["new"]);
    assert_eq!(fetch(&mut c, 1, 0, 0).await.high_watermark, 0, "nothing was written for the stray batch");
    broker.shutdown().await;
}

#[tokio::test]
async fn transactional_offsets_become_visible_only_when_the_transaction_commits() {
    let (_srv, broker, _id, addr) = setup().await;
    let mut c = Conn::open(addr).await;
    let (_, pid, epoch) = init(&mut c, 3, "tx-offsets", 60_000, None).await;
    // Without AddOffsetsToTxn first, the group is not part of a transaction.
    assert_eq!(txn_offset_commit(&mut c, "tx-offsets", pid, epoch, "g1", 7).await, INVALID_TXN_STATE);

    assert_eq!(add_offsets(&mut c, "tx-offsets", pid, epoch, "g1").await, NONE);
    assert_eq!(txn_offset_commit(&mut c, "tx-offsets", pid, epoch, "g1", 7).await, NONE);
    assert_eq!(committed_offset(&mut c, "g1", 1).await, -1, "staged, not committed");
    // A consumer that requires stable offsets is told to retry while the transaction is open.
    assert_eq!(stable_offset(&mut c, "g1", 1).await, (UNSTABLE_OFFSET_COMMIT, -1));
    assert_eq!(stable_offset(&mut c, "g1", 0).await, (NONE, -1), "another partition is stable");
    assert_eq!(end_txn(&mut c, 3, "tx-offsets", pid, epoch, true).await, NONE);
    assert_eq!(committed_offset(&mut c, "g1", 1).await, 7);
    assert_eq!(stable_offset(&mut c, "g1", 1).await, (NONE, 7));

    // An aborted transaction's offsets are dropped.
    assert_eq!(add_offsets(&mut c, "tx-offsets", pid, epoch, "g1").await, NONE);
    assert_eq!(txn_offset_commit(&mut c, "tx-offsets", pid, epoch, "g1", 9).await, NONE);
    assert_eq!(end_txn(&mut c, 3, "tx-offsets", pid, epoch, false).await, NONE);
    assert_eq!(committed_offset(&mut c, "g1", 1).await, 7);
    // A wrong epoch: the group coordinator answers INVALID_PRODUCER_EPOCH.
    assert_eq!(txn_offset_commit(&mut c, "tx-offsets", pid, epoch + 1, "g1", 9).await, INVALID_PRODUCER_EPOCH);
    broker.shutdown().await;
}

#[tokio::test]
async fn refusals_for_unknown_ids_bad_states_and_malformed_requests() {
    let (_srv, broker, _id, addr) = setup().await;
    let mut c = Conn::open(addr).await;
    assert_eq!(init(&mut c, 3, "", 60_000, None).await.0, INVALID_REQUEST);
    assert_eq!(init(&mut c, 3, "tx-x", 0, None).await.0, INVALID_TRANSACTION_TIMEOUT);
    assert_eq!(init(&mut c, 3, "tx-x", 900_001, None).await.0, INVALID_TRANSACTION_TIMEOUT);
    // Never initialised: no producer id mapping.
    assert_eq!(add_partitions(&mut c, 3, "tx-unknown", 5, 0, &[("orders", 0)]).await[0].2, INVALID_PRODUCER_ID_MAPPING);
    assert_eq!(end_txn(&mut c, 3, "tx-unknown", 5, 0, true).await, INVALID_PRODUCER_ID_MAPPING);

    let (_, pid, epoch) = init(&mut c, 3, "tx-x", 60_000, None).await;
    assert_eq!(
        add_partitions(&mut c, 3, "tx-x", pid + 1, epoch, &[("orders", 0)]).await[0].2,
        INVALID_PRODUCER_ID_MAPPING
    );
    // No transaction begun: EndTxn is refused either way.
    assert_eq!(end_txn(&mut c, 3, "tx-x", pid, epoch, true).await, INVALID_TXN_STATE);
    assert_eq!(end_txn(&mut c, 3, "tx-x", pid, epoch, false).await, INVALID_TXN_STATE);
    // One unknown partition: nothing is added, the others are not attempted.
    let r = add_partitions(&mut c, 3, "tx-x", pid, epoch, &[("orders", 0), ("orders", 9), ("nope", 0)]).await;
    assert_eq!(
        r,
        vec![
            ("orders".into(), 0, OPERATION_NOT_ATTEMPTED),
            ("orders".into(), 9, UNKNOWN_TOPIC_OR_PARTITION),
            ("nope".into(), 0, UNKNOWN_TOPIC_OR_PARTITION)
        ]
    );
    assert_eq!(c.produce("orders", 0, -1, txn_batch(pid, epoch, 0, &["x"])).await.0, INVALID_TXN_STATE);
    // A transactional batch of a producer id the coordinator never gave out.
    assert_eq!(c.produce("orders", 0, -1, txn_batch(pid + 1000, 0, 0, &["x"])).await.0, INVALID_PRODUCER_ID_MAPPING);
    // Clients may not write transaction markers.
    let mut forged = record("k", "v", now_ms(), -1);
    (forged.offset, forged.control, forged.transactional) = (0, true, true);
    (forged.producer_id, forged.producer_epoch) = (pid, epoch);
    assert_eq!(c.produce("orders", 0, -1, batch(&[forged], Compression::None)).await.0, INVALID_RECORD);
    assert_eq!(fetch(&mut c, 0, 0, 0).await.high_watermark, 0, "nothing was appended");

    // A truncated EndTxn frame closes only its connection.
    let mut bad = Conn::open(addr).await;
    bad.stream.write_all(&[0, 0, 0, 12, 0, 26, 0, 1, 0, 0, 0, 7, 0xff, 0xff, 0, 9]).await.unwrap();
    assert!(bad.read_frame().await.is_none(), "the malformed request's connection is closed");
    assert_eq!(end_txn(&mut c, 3, "tx-x", pid, epoch, true).await, INVALID_TXN_STATE);
    // An unsupported version answers UNSUPPORTED_VERSION and keeps the connection.
    let correlation = c.send_raw(ApiKey::EndTxn, 4, &RequestKind::EndTxn(EndTxnRequest::default())).await;
    let mut frame = c.read_frame().await.unwrap();
    assert_eq!((frame.get_i32(), frame.get_i16()), (correlation, 35));
    broker.shutdown().await;
}

#[tokio::test]
async fn a_transaction_past_its_timeout_is_aborted_and_its_producer_fenced() {
    let (_srv, broker, _id, addr) = setup().await;
    let mut c = Conn::open(addr).await;
    let (_, pid, epoch) = init(&mut c, 3, "tx-slow", 1_000, None).await;
    assert_eq!(add_partitions(&mut c, 3, "tx-slow", pid, epoch, &[("orders", 1)]).await[0].2, NONE);
    assert_eq!(c.produce("orders", 1, -1, txn_batch(pid, epoch, 0, &["late"])).await, (NONE, 0));
    assert_eq!(fetch(&mut c, 1, 0, 1).await.last_stable_offset, 0);
    // Housekeeping runs every second: well within 5 s the transaction is aborted.
    let mut rc = fetch(&mut c, 1, 0, 1).await;
    for _ in 0..50 {
        if rc.last_stable_offset == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        rc = fetch(&mut c, 1, 0, 1).await;
    }
    assert_eq!((rc.high_watermark, rc.last_stable_offset), (2, 2));
    assert_eq!(rc.aborted_transactions.iter().flatten().map(|a| a.producer_id.0).collect::<Vec<_>>(), vec![pid]);
    assert!(committed_values(&rc).is_empty());
    assert_eq!(end_txn(&mut c, 3, "tx-slow", pid, epoch, true).await, PRODUCER_FENCED);
    broker.shutdown().await;
}

#[tokio::test]
async fn describe_and_list_transactions_show_the_coordinator_state() {
    const TRANSACTIONAL_ID_NOT_FOUND: i16 = 105;
    let (_srv, broker, _id, addr) = setup().await;
    let mut c = Conn::open(addr).await;
    let describe = |ids: &[&str]| {
        DescribeTransactionsRequest::default()
            .with_transactional_ids(ids.iter().map(|i| TransactionalId(s(i))).collect())
    };
    let (_, pid, epoch) = init(&mut c, 3, "tx-desc", 45_000, None).await;
    let ResponseKind::DescribeTransactions(r) = c
        .call(ApiKey::DescribeTransactions, 0, RequestKind::DescribeTransactions(describe(&["tx-desc", "tx-none"])))
        .await
    else {
        panic!()
    };
    let (a, b) = (&r.transaction_states[0], &r.transaction_states[1]);
    assert_eq!((a.error_code, &*a.transaction_state, a.producer_id.0, a.producer_epoch), (NONE, "Empty", pid, epoch));
    assert_eq!((a.transaction_timeout_ms, a.transaction_start_time_ms, a.topics.len()), (45_000, -1, 0));
    assert_eq!(b.error_code, TRANSACTIONAL_ID_NOT_FOUND);

    let before = now_ms();
    add_partitions(&mut c, 3, "tx-desc", pid, epoch, &[("orders", 2), ("orders", 0)]).await;
    let ResponseKind::DescribeTransactions(r) =
        c.call(ApiKey::DescribeTransactions, 0, RequestKind::DescribeTransactions(describe(&["tx-desc"]))).await
    else {
        panic!()
    };
    let a = &r.transaction_states[0];
    assert_eq!(&*a.transaction_state, "Ongoing");
    assert!(a.transaction_start_time_ms >= before);
    assert_eq!(
        a.topics.iter().map(|t| (t.topic.0.to_string(), t.partitions.clone())).collect::<Vec<_>>(),
        vec![("orders".to_string(), vec![0, 2])]
    );

    let list = |states: &[&str]| {
        RequestKind::ListTransactions(
            ListTransactionsRequest::default().with_state_filters(states.iter().map(|x| s(x)).collect()),
        )
    };
    let ResponseKind::ListTransactions(r) = c.call(ApiKey::ListTransactions, 1, list(&["Ongoing", "Bogus"])).await
    else {
        panic!()
    };
    assert_eq!(r.unknown_state_filters.iter().map(|x| x.to_string()).collect::<Vec<_>>(), vec!["Bogus"]);
    assert_eq!(
        r.transaction_states.iter().map(|t| (t.transactional_id.0.to_string(), t.producer_id.0)).collect::<Vec<_>>(),
        vec![("tx-desc".to_string(), pid)]
    );
    assert_eq!(end_txn(&mut c, 3, "tx-desc", pid, epoch, false).await, NONE);
    let ResponseKind::ListTransactions(r) = c.call(ApiKey::ListTransactions, 1, list(&["Ongoing"])).await else {
        panic!()
    };
    assert!(r.transaction_states.is_empty());
    let ResponseKind::ListTransactions(r) = c.call(ApiKey::ListTransactions, 0, list(&[])).await else { panic!() };
    assert_eq!(
        r.transaction_states.iter().map(|t| t.transaction_state.to_string()).collect::<Vec<_>>(),
        vec!["CompleteAbort"]
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn transactional_id_acls_apply_to_sasl_users() {
    const GROUP_AUTHORIZATION_FAILED: i16 = 30;
    const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
    let (srv, broker, id, _) = setup().await;
    kafka_support::alibaba_ok(
        &srv,
        &id,
        "CreateSaslUser",
        &[("Username", "alice"), ("Password", "alice-pw"), ("Type", "plain")],
    )
    .await;
    for (kind, name) in [("Topic", "orders"), ("TransactionalId", "tx-ok")] {
        kafka_support::alibaba_ok(
            &srv,
            &id,
            "CreateAcl",
            &[
                ("Username", "alice"),
                ("AclResourceType", kind),
                ("AclResourceName", name),
                ("AclResourcePatternType", "LITERAL"),
                ("AclOperationType", "Write"),
            ],
        )
        .await;
    }
    let addr = broker.listener_address(&id, localyun::kafka::Security::SaslPlaintext).expect("a SASL listener");
    let mut c = Conn::open(addr).await;
    let hs = SaslHandshakeRequest::default().with_mechanism(s("PLAIN"));
    let ResponseKind::SaslHandshake(h) = c.call(ApiKey::SaslHandshake, 1, RequestKind::SaslHandshake(hs)).await else {
        panic!()
    };
    assert_eq!(h.error_code, NONE);
    let auth = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from_static(b"\0alice\0alice-pw"));
    let ResponseKind::SaslAuthenticate(a) =
        c.call(ApiKey::SaslAuthenticate, 2, RequestKind::SaslAuthenticate(auth)).await
    else {
        panic!()
    };
    assert_eq!(a.error_code, NONE);

    // Write on a transactional id implies Describe (FindCoordinator); another id is refused.
    let find = |key: &'static str| {
        RequestKind::FindCoordinator(FindCoordinatorRequest::default().with_key(s(key)).with_key_type(1))
    };
    let ResponseKind::FindCoordinator(f) = c.call(ApiKey::FindCoordinator, 3, find("tx-ok")).await else { panic!() };
    assert_eq!(f.error_code, NONE);
    let ResponseKind::FindCoordinator(f) = c.call(ApiKey::FindCoordinator, 3, find("tx-no")).await else { panic!() };
    assert_eq!((f.error_code, f.node_id.0), (TRANSACTIONAL_ID_AUTHORIZATION_FAILED, -1));
    assert_eq!(init(&mut c, 3, "tx-no", 60_000, None).await.0, TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    let (error, pid, epoch) = init(&mut c, 3, "tx-ok", 60_000, None).await;
    assert_eq!(error, NONE);
    assert_eq!(add_partitions(&mut c, 3, "tx-ok", pid, epoch, &[("orders", 0)]).await[0].2, NONE);
    // No Read on any group: the transaction cannot take a group's offsets.
    assert_eq!(add_offsets(&mut c, "tx-ok", pid, epoch, "readers").await, GROUP_AUTHORIZATION_FAILED);
    assert_eq!(c.produce("orders", 0, -1, txn_batch(pid, epoch, 0, &["sasl"])).await, (NONE, 0));
    assert_eq!(end_txn(&mut c, 3, "tx-ok", pid, epoch, true).await, NONE);
    broker.shutdown().await;
}
