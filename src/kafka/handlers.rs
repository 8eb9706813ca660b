//! The Kafka APIs this broker answers, one function each (message shapes: the `kafka-protocol` crate,
//! generated from Kafka's own JSON message specs; semantics: the Kafka protocol guide and KIPs named
//! where they matter).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::cluster::{self, AclOperation, AclResourceType, TopicInfo};
use super::conn::Origin;
use super::group::JoinRequest;
use super::logs::{PartKey, SeqCheck};
use super::KafkaBroker;
use crate::storage::log::{split_batches, BatchHeader, LogError};

/// Kafka error codes used here (the protocol guide's table).
pub mod code {
    pub const NONE: i16 = 0;
    pub const OFFSET_OUT_OF_RANGE: i16 = 1;
    pub const CORRUPT_MESSAGE: i16 = 2;
    pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub const INVALID_REQUIRED_ACKS: i16 = 21;
    pub const INVALID_PARTITIONS: i16 = 37;
    pub const UNSUPPORTED_VERSION: i16 = 35;
    pub const POLICY_VIOLATION: i16 = 44;
    pub const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
    pub const INVALID_PRODUCER_EPOCH: i16 = 47;
    pub const KAFKA_STORAGE_ERROR: i16 = 56;
    pub const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
    pub const INVALID_REQUEST: i16 = 42;
    pub const GROUP_ID_NOT_FOUND: i16 = 69;
    pub const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
    pub const GROUP_AUTHORIZATION_FAILED: i16 = 30;
}

/// The node id of the one broker every instance presents.
pub const NODE_ID: i32 = 0;

/// API versions served: (min, max). Maxima stay below the versions that address topics by id only
/// (Fetch 13+, Produce 13, OffsetCommit/OffsetFetch 10) since topics are known here by name.
pub fn supported_versions(key: ApiKey) -> Option<(i16, i16)> {
    Some(match key {
        ApiKey::Produce => (3, 9),
        ApiKey::Fetch => (4, 12),
        ApiKey::ListOffsets => (1, 7),
        ApiKey::Metadata => (0, 12),
        ApiKey::OffsetCommit => (2, 8),
        ApiKey::OffsetFetch => (1, 8),
        ApiKey::FindCoordinator => (0, 4),
        ApiKey::JoinGroup => (0, 7),
        ApiKey::Heartbeat => (0, 4),
        ApiKey::LeaveGroup => (0, 4),
        ApiKey::SyncGroup => (0, 5),
        ApiKey::DescribeGroups => (0, 5),
        ApiKey::ListGroups => (0, 4),
        ApiKey::ApiVersions => (0, 3),
        ApiKey::CreateTopics => (2, 7),
        ApiKey::DeleteTopics => (1, 5),
        ApiKey::InitProducerId => (0, 4),
        ApiKey::DescribeConfigs => (1, 4),
        ApiKey::CreatePartitions => (0, 3),
        ApiKey::SaslHandshake => (0, 1),
        ApiKey::SaslAuthenticate => (0, 2),
        // Transactions (KIP-98): the versions clients send (v4+ of AddPartitionsToTxn is broker to broker).
        ApiKey::AddPartitionsToTxn => (0, 3),
        ApiKey::AddOffsetsToTxn => (0, 3),
        ApiKey::EndTxn => (0, 3),
        ApiKey::TxnOffsetCommit => (0, 3),
        ApiKey::DescribeTransactions => (0, 0),
        ApiKey::ListTransactions => (0, 1),
        // Admin APIs (src/kafka/admin.rs); DescribeLogDirs v0 is not in the protocol crate (Kafka 4 dropped it).
        ApiKey::DeleteRecords => (0, 2),
        ApiKey::DeleteGroups => (0, 2),
        ApiKey::OffsetDelete => (0, 0),
        ApiKey::AlterConfigs => (0, 2),
        ApiKey::IncrementalAlterConfigs => (0, 1),
        ApiKey::DescribeCluster => (0, 2),
        ApiKey::DescribeLogDirs => (1, 4),
        // ACL APIs (src/kafka/acls.rs); v0 is not in the protocol crate (Kafka 4 dropped it).
        ApiKey::DescribeAcls => (1, 3),
        ApiKey::CreateAcls => (1, 3),
        ApiKey::DeleteAcls => (1, 3),
        _ => return None,
    })
}

const ALL_KEYS: [ApiKey; 37] = [
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::Metadata,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::FindCoordinator,
    ApiKey::JoinGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::SyncGroup,
    ApiKey::DescribeGroups,
    ApiKey::ListGroups,
    ApiKey::ApiVersions,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::InitProducerId,
    ApiKey::DescribeConfigs,
    ApiKey::CreatePartitions,
    ApiKey::SaslHandshake,
    ApiKey::SaslAuthenticate,
    ApiKey::AddPartitionsToTxn,
    ApiKey::AddOffsetsToTxn,
    ApiKey::EndTxn,
    ApiKey::TxnOffsetCommit,
    ApiKey::DescribeTransactions,
    ApiKey::ListTransactions,
    ApiKey::DeleteRecords,
    ApiKey::DeleteGroups,
    ApiKey::OffsetDelete,
    ApiKey::AlterConfigs,
    ApiKey::IncrementalAlterConfigs,
    ApiKey::DescribeCluster,
    ApiKey::DescribeLogDirs,
    ApiKey::DescribeAcls,
    ApiKey::CreateAcls,
    ApiKey::DeleteAcls,
];

/// The instance's ACLs for the connection's SASL user (Kafka's authoriser); connections without one
/// (the PLAINTEXT access point) are not subject to them.
pub(super) fn allowed(
    broker: &KafkaBroker,
    origin: &Origin,
    kind: AclResourceType,
    name: &str,
    op: AclOperation,
) -> bool {
    match &origin.principal {
        None => true,
        Some(user) => {
            cluster::acl_allows(&broker.state, &origin.instance, user, &origin.peer.ip().to_string(), kind, name, op)
        }
    }
}

fn topic_allowed(broker: &KafkaBroker, origin: &Origin, name: &str, op: AclOperation) -> bool {
    allowed(broker, origin, AclResourceType::Topic, name, op)
}

fn group_allowed(broker: &KafkaBroker, origin: &Origin, name: &str, op: AclOperation) -> bool {
    allowed(broker, origin, AclResourceType::Group, name, op)
}

pub(super) fn s(v: impl Into<String>) -> StrBytes {
    StrBytes::from_string(v.into())
}

/// Dispatches one decoded request. None: no response is sent (Produce with acks=0).
pub async fn handle(
    broker: &Arc<KafkaBroker>,
    origin: &Origin,
    version: i16,
    request: RequestKind,
) -> Option<ResponseKind> {
    Some(match request {
        RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(api_versions(code::NONE)),
        RequestKind::Metadata(r) => ResponseKind::Metadata(metadata(broker, origin, version, r)),
        RequestKind::Produce(r) => return produce(broker, origin, r).await.map(ResponseKind::Produce),
        RequestKind::Fetch(r) => ResponseKind::Fetch(fetch(broker, origin, r).await),
        RequestKind::ListOffsets(r) => ResponseKind::ListOffsets(list_offsets(broker, origin, r)),
        RequestKind::FindCoordinator(r) => ResponseKind::FindCoordinator(find_coordinator(broker, origin, version, r)),
        RequestKind::JoinGroup(r) => ResponseKind::JoinGroup(join_group(broker, origin, r).await),
        RequestKind::SyncGroup(r) => ResponseKind::SyncGroup(sync_group(broker, origin, r).await),
        RequestKind::Heartbeat(r) => {
            let error = if group_allowed(broker, origin, &r.group_id.0, AclOperation::Read) {
                broker.groups.heartbeat(&origin.instance, &r.group_id.0, &r.member_id, r.generation_id)
            } else {
                code::GROUP_AUTHORIZATION_FAILED
            };
            ResponseKind::Heartbeat(HeartbeatResponse::default().with_error_code(error))
        }
        RequestKind::LeaveGroup(r) => ResponseKind::LeaveGroup(leave_group(broker, origin, version, r)),
        RequestKind::OffsetCommit(r) => ResponseKind::OffsetCommit(offset_commit(broker, origin, r).await),
        RequestKind::OffsetFetch(r) => ResponseKind::OffsetFetch(offset_fetch(broker, origin, version, r)),
        RequestKind::DescribeGroups(r) => ResponseKind::DescribeGroups(describe_groups(broker, origin, r)),
        RequestKind::ListGroups(r) => ResponseKind::ListGroups(list_groups(broker, origin, r)),
        RequestKind::InitProducerId(r) => {
            ResponseKind::InitProducerId(init_producer_id(broker, origin, version, r).await)
        }
        RequestKind::AddPartitionsToTxn(r) => {
            ResponseKind::AddPartitionsToTxn(super::txn::add_partitions(broker, origin, version, r))
        }
        RequestKind::AddOffsetsToTxn(r) => {
            ResponseKind::AddOffsetsToTxn(super::txn::add_offsets(broker, origin, version, r))
        }
        RequestKind::TxnOffsetCommit(r) => {
            ResponseKind::TxnOffsetCommit(super::txn::txn_offset_commit(broker, origin, version, r))
        }
        RequestKind::DescribeTransactions(r) => {
            ResponseKind::DescribeTransactions(super::txn::describe_transactions(broker, origin, r))
        }
        RequestKind::ListTransactions(r) => {
            ResponseKind::ListTransactions(super::txn::list_transactions(broker, origin, r))
        }
        RequestKind::EndTxn(r) => ResponseKind::EndTxn(super::txn::end_txn(broker, origin, version, r).await),
        RequestKind::DescribeConfigs(r) => ResponseKind::DescribeConfigs(describe_configs(broker, origin, r)),
        RequestKind::CreateTopics(r) => ResponseKind::CreateTopics(create_topics(r)),
        RequestKind::DeleteTopics(r) => ResponseKind::DeleteTopics(delete_topics(r)),
        RequestKind::CreatePartitions(r) => ResponseKind::CreatePartitions(create_partitions(r)),
        RequestKind::DeleteRecords(r) => {
            ResponseKind::DeleteRecords(super::admin::delete_records(broker, origin, r).await)
        }
        RequestKind::DeleteGroups(r) => {
            ResponseKind::DeleteGroups(super::admin::delete_groups(broker, origin, r).await)
        }
        RequestKind::OffsetDelete(r) => {
            ResponseKind::OffsetDelete(super::admin::offset_delete(broker, origin, r).await)
        }
        RequestKind::AlterConfigs(r) => {
            ResponseKind::AlterConfigs(super::admin::alter_configs(broker, origin, r).await)
        }
        RequestKind::IncrementalAlterConfigs(r) => {
            ResponseKind::IncrementalAlterConfigs(super::admin::incremental_alter_configs(broker, origin, r).await)
        }
        RequestKind::DescribeCluster(r) => {
            ResponseKind::DescribeCluster(super::admin::describe_cluster(broker, origin, version, r))
        }
        RequestKind::DescribeLogDirs(r) => {
            ResponseKind::DescribeLogDirs(super::admin::describe_log_dirs(broker, origin, version, r))
        }
        RequestKind::DescribeAcls(r) => ResponseKind::DescribeAcls(super::acls::describe_acls(broker, origin, r)),
        RequestKind::CreateAcls(r) => ResponseKind::CreateAcls(super::acls::create_acls(broker, origin, r).await),
        RequestKind::DeleteAcls(r) => ResponseKind::DeleteAcls(super::acls::delete_acls(broker, origin, r).await),
        _ => return None,
    })
}

/// ApiVersions: the ranges of [`supported_versions`].
pub fn api_versions(error: i16) -> ApiVersionsResponse {
    let api_keys = ALL_KEYS
        .iter()
        .filter_map(|k| {
            let (min, max) = supported_versions(*k)?;
            Some(ApiVersion::default().with_api_key(*k as i16).with_min_version(min).with_max_version(max))
        })
        .collect();
    ApiVersionsResponse::default().with_error_code(error).with_api_keys(api_keys)
}

pub(super) fn broker_port(broker: &KafkaBroker, origin: &Origin) -> i32 {
    let _ = broker;
    i32::from(origin.local_port)
}

/// Metadata: one broker, the instance's topics (all, or those asked for). Never creates topics.
fn metadata(broker: &KafkaBroker, origin: &Origin, version: i16, r: MetadataRequest) -> MetadataResponse {
    let host = broker.advertised_host(&origin.instance);
    let topics = cluster::topics(&broker.state, &origin.instance).unwrap_or_default();
    let may_describe = |name: &str| topic_allowed(broker, origin, name, AclOperation::Describe);
    let wanted: Option<Vec<String>> = match r.topics {
        Some(list) if !(version == 0 && list.is_empty()) => {
            Some(list.into_iter().filter_map(|t| t.name.map(|n| n.0.to_string())).collect())
        }
        _ => None,
    };
    let describe = |t: &TopicInfo| {
        metadata_response::MetadataResponseTopic::default().with_name(Some(TopicName(s(&t.name)))).with_partitions(
            (0..t.partitions as i32)
                .map(|p| {
                    metadata_response::MetadataResponsePartition::default()
                        .with_partition_index(p)
                        .with_leader_id(BrokerId(NODE_ID))
                        .with_leader_epoch(0)
                        .with_replica_nodes(vec![BrokerId(NODE_ID)])
                        .with_isr_nodes(vec![BrokerId(NODE_ID)])
                })
                .collect(),
        )
    };
    let out: Vec<metadata_response::MetadataResponseTopic> = match wanted {
        None => topics.iter().filter(|t| may_describe(&t.name)).map(describe).collect(),
        Some(names) => names
            .iter()
            .map(|n| match topics.iter().find(|t| &t.name == n) {
                _ if !may_describe(n) => metadata_response::MetadataResponseTopic::default()
                    .with_name(Some(TopicName(s(n))))
                    .with_error_code(code::TOPIC_AUTHORIZATION_FAILED),
                Some(t) => describe(t),
                None => metadata_response::MetadataResponseTopic::default()
                    .with_name(Some(TopicName(s(n))))
                    .with_error_code(code::UNKNOWN_TOPIC_OR_PARTITION),
            })
            .collect(),
    };
    MetadataResponse::default()
        .with_brokers(vec![metadata_response::MetadataResponseBroker::default()
            .with_node_id(BrokerId(NODE_ID))
            .with_host(s(host))
            .with_port(broker_port(broker, origin))])
        .with_cluster_id(Some(s(origin.instance.clone())))
        .with_controller_id(BrokerId(NODE_ID))
        .with_topics(out)
}

pub(super) fn part_key(origin: &Origin, t: &TopicInfo, partition: i32) -> PartKey {
    PartKey {
        instance: origin.instance.clone(),
        topic: t.name.clone(),
        topic_created_ms: t.created_at_ms,
        partition: partition as u32,
    }
}

/// Produce: each partition's record batches are checked (v2, CRC), sequence-checked for idempotent
/// producers, appended as received, and reported to the model; `acks=-1` waits for an fsync of the
/// segment (with `--data-dir`); `acks=0` gets no answer.
async fn produce(broker: &Arc<KafkaBroker>, origin: &Origin, r: ProduceRequest) -> Option<ProduceResponse> {
    let acks = r.acks;
    let mut to_sync = Vec::new();
    let mut responses = Vec::new();
    let mut appended_any = false;
    for td in r.topic_data {
        let name = td.name.0.to_string();
        let topic = cluster::topic(&broker.state, &origin.instance, &name);
        let permitted = topic_allowed(broker, origin, &name, AclOperation::Write);
        let mut parts = Vec::new();
        for pd in td.partition_data {
            let mut resp = produce_response::PartitionProduceResponse::default()
                .with_index(pd.index)
                .with_base_offset(-1)
                .with_log_append_time_ms(-1)
                .with_log_start_offset(-1);
            if !matches!(acks, -1..=1) {
                resp.error_code = code::INVALID_REQUIRED_ACKS;
                parts.push(resp);
                continue;
            }
            if !permitted {
                resp.error_code = code::TOPIC_AUTHORIZATION_FAILED;
                parts.push(resp);
                continue;
            }
            let Some(t) = topic.as_ref().filter(|t| pd.index >= 0 && (pd.index as u32) < t.partitions) else {
                resp.error_code = code::UNKNOWN_TOPIC_OR_PARTITION;
                parts.push(resp);
                continue;
            };
            let records = pd.records.unwrap_or_default();
            let batches = match split_batches(&records) {
                Ok(b) => b,
                Err(e) => {
                    resp.error_code = code::CORRUPT_MESSAGE;
                    resp.error_message = Some(s(e.to_string()));
                    parts.push(resp);
                    continue;
                }
            };
            let out = match append_batches(broker, &origin.instance, t, pd.index as u32, &batches, acks == -1) {
                Ok(out) => out,
                Err((error, message)) => {
                    resp.error_code = error;
                    resp.error_message = Some(s(message));
                    parts.push(resp);
                    continue;
                }
            };
            appended_any |= out.appended;
            to_sync.extend(out.sync);
            let error = out.error;
            let offsets = (out.first_offset.unwrap_or(out.end_offset), out.log_start_offset);
            resp.error_code = error;
            if error == code::NONE {
                resp.base_offset = offsets.0;
                resp.log_start_offset = offsets.1;
            }
            parts.push(resp);
        }
        responses.push(
            produce_response::TopicProduceResponse::default()
                .with_name(TopicName(s(name)))
                .with_partition_responses(parts),
        );
    }
    if !to_sync.is_empty() {
        // fsync off the async workers: acks=all is acknowledged only once the batch is on disk.
        let synced = tokio::task::spawn_blocking(move || to_sync.iter().try_for_each(|f| f.sync_data())).await;
        if !matches!(synced, Ok(Ok(()))) {
            for t in &mut responses {
                for p in &mut t.partition_responses {
                    if p.error_code == code::NONE {
                        p.error_code = code::KAFKA_STORAGE_ERROR;
                    }
                }
            }
        }
    }
    if appended_any {
        broker.appended.send_modify(|v| *v = v.wrapping_add(1));
    }
    if acks == 0 {
        return None;
    }
    Some(ProduceResponse::default().with_responses(responses))
}

/// What appending one partition's batches did.
pub(crate) struct Appended {
    /// Offset of the first record written (or of the duplicate batch already written), if any.
    pub first_offset: Option<i64>,
    pub log_start_offset: i64,
    /// The high watermark after the append.
    pub end_offset: i64,
    /// Kafka error code for the first batch that could not be appended (`NONE` when all were).
    pub error: i16,
    /// Whether any batch was written (long-polling fetches are woken then).
    pub appended: bool,
    /// The segment file to fsync before acknowledging (`acks=all` with `--data-dir`).
    pub sync: Option<Arc<std::fs::File>>,
}

/// Appends record batches (already split and CRC-checked) to one partition of a topic: idempotent
/// producers' sequences are checked (duplicates answered with their first offset, gaps with
/// OUT_OF_ORDER_SEQUENCE_NUMBER, fenced epochs with INVALID_PRODUCER_EPOCH), and the partition's offsets
/// are reported to the management model. Shared by Produce and in-process producers ([`super::local`]).
/// `Err((code, message))` when the log cannot be opened.
pub(crate) fn append_batches(
    broker: &KafkaBroker,
    instance: &str,
    t: &TopicInfo,
    partition: u32,
    batches: &[(crate::storage::log::BatchHeader, bytes::Bytes)],
    want_sync: bool,
) -> Result<Appended, (i16, String)> {
    let key =
        PartKey { instance: instance.to_string(), topic: t.name.clone(), topic_created_ms: t.created_at_ms, partition };
    let part = broker.logs.get(&key).map_err(|e| (code::KAFKA_STORAGE_ERROR, e.to_string()))?;
    let mut appended = false;
    let (out, last_append_ms) = {
        let mut p = part.lock();
        let mut first: Option<i64> = None;
        let mut error = code::NONE;
        for (h, data) in batches {
            if h.is_control() {
                // Transaction markers are written by the coordinator only (Kafka refuses them from clients).
                error = super::txn::txn_code::INVALID_RECORD;
                break;
            }
            if h.is_transactional() {
                // Checked under the partition's lock: a marker cannot slip in between check and append.
                let check =
                    broker.txns.check_produce(instance, h.producer_id, h.producer_epoch, &t.name, partition as i32);
                if check != code::NONE {
                    error = check;
                    break;
                }
            }
            let idempotent = h.producer_id >= 0 && h.base_sequence >= 0;
            let last_seq = h.base_sequence.wrapping_add(h.last_offset_delta);
            if idempotent {
                let check = p
                    .producers
                    .get(&h.producer_id)
                    .map_or(SeqCheck::Append, |s| s.check(h.producer_epoch, h.base_sequence, last_seq));
                match check {
                    SeqCheck::Append => {}
                    SeqCheck::Duplicate(offset) => {
                        first.get_or_insert(offset);
                        continue;
                    }
                    SeqCheck::OutOfOrder => {
                        error = code::OUT_OF_ORDER_SEQUENCE_NUMBER;
                        break;
                    }
                    SeqCheck::FencedEpoch => {
                        error = code::INVALID_PRODUCER_EPOCH;
                        break;
                    }
                }
            }
            match p.log.append(h, data) {
                Ok(a) => {
                    p.txns.observe(h, data, a.base_offset);
                    if idempotent {
                        p.producers.entry(h.producer_id).or_default().record(
                            h.producer_epoch,
                            h.base_sequence,
                            last_seq,
                            a.base_offset,
                        );
                    }
                    first.get_or_insert(a.base_offset);
                    appended = true;
                }
                Err(e) => {
                    error = storage_code(&e);
                    break;
                }
            }
        }
        let sync = if want_sync { p.log.sync_handle() } else { None };
        (
            Appended {
                first_offset: first,
                log_start_offset: p.log.log_start_offset(),
                end_offset: p.log.end_offset(),
                error,
                appended,
                sync,
            },
            p.log.last_append_ms(),
        )
    };
    cluster::record_log_offsets(
        &broker.state,
        instance,
        &t.name,
        partition,
        out.log_start_offset,
        out.end_offset,
        last_append_ms,
    );
    Ok(out)
}

fn storage_code(e: &LogError) -> i16 {
    match e {
        LogError::Corrupt(_) => code::CORRUPT_MESSAGE,
        LogError::Storage(_) => code::KAFKA_STORAGE_ERROR,
    }
}

/// Fetch: batches as stored, from the one holding the fetch offset, within the partition and request
/// byte limits. Waits up to `max_wait_ms` while fewer than `min_bytes` are available, answering as soon
/// as an append makes enough. No fetch sessions: the session id is always 0 (clients then send full
/// requests, as KIP-227 allows).
async fn fetch(broker: &Arc<KafkaBroker>, origin: &Origin, r: FetchRequest) -> FetchResponse {
    let deadline = Instant::now() + Duration::from_millis(r.max_wait_ms.clamp(0, 300_000) as u64);
    let mut rx = broker.appended.subscribe();
    loop {
        rx.borrow_and_update();
        let (resp, bytes) = fetch_once(broker, origin, &r);
        let now = Instant::now();
        if bytes >= r.min_bytes.max(0) as usize || now >= deadline || has_errors(&resp) {
            return resp;
        }
        let _ = tokio::time::timeout(deadline - now, rx.changed()).await;
    }
}

fn has_errors(r: &FetchResponse) -> bool {
    r.responses.iter().any(|t| t.partitions.iter().any(|p| p.error_code != code::NONE))
}

fn fetch_once(broker: &KafkaBroker, origin: &Origin, r: &FetchRequest) -> (FetchResponse, usize) {
    let mut budget = if r.max_bytes > 0 { r.max_bytes as usize } else { usize::MAX };
    let mut total = 0usize;
    let mut responses = Vec::new();
    for ft in &r.topics {
        let name = ft.topic.0.to_string();
        let topic = cluster::topic(&broker.state, &origin.instance, &name);
        let permitted = topic_allowed(broker, origin, &name, AclOperation::Read);
        let mut parts = Vec::new();
        for fp in &ft.partitions {
            let mut pd = fetch_response::PartitionData::default()
                .with_partition_index(fp.partition)
                .with_high_watermark(-1)
                .with_last_stable_offset(-1)
                .with_log_start_offset(-1)
                .with_preferred_read_replica(BrokerId(-1))
                .with_aborted_transactions(Some(Vec::new()));
            if !permitted {
                pd.error_code = code::TOPIC_AUTHORIZATION_FAILED;
                parts.push(pd);
                continue;
            }
            let Some(t) = topic.as_ref().filter(|t| fp.partition >= 0 && (fp.partition as u32) < t.partitions) else {
                pd.error_code = code::UNKNOWN_TOPIC_OR_PARTITION;
                parts.push(pd);
                continue;
            };
            let part = match broker.logs.get(&part_key(origin, t, fp.partition)) {
                Ok(p) => p,
                Err(_) => {
                    pd.error_code = code::KAFKA_STORAGE_ERROR;
                    parts.push(pd);
                    continue;
                }
            };
            let p = part.lock();
            let stable = p.last_stable_offset();
            pd.high_watermark = p.log.end_offset();
            pd.last_stable_offset = stable;
            pd.log_start_offset = p.log.log_start_offset();
            let limit = (fp.partition_max_bytes.max(0) as usize).min(budget);
            // read_committed (KIP-98) reads up to the last stable offset only, and is told which
            // transactions in what it gets were aborted, so the client drops their records.
            let read_committed = r.isolation_level == 1;
            let below = if read_committed { stable } else { i64::MAX };
            match p.log.read_below(fp.fetch_offset, limit.max(1), below) {
                None => pd.error_code = code::OFFSET_OUT_OF_RANGE,
                Some(batches) => {
                    // Kafka sends at least one batch even past the limits so a big batch never blocks a
                    // consumer, but only for the first partition that has data.
                    let batches = if total > 0 && limit == 0 { Vec::new() } else { batches };
                    if read_committed {
                        let upto = batches
                            .last()
                            .and_then(|b| BatchHeader::parse(b).ok())
                            .map_or(fp.fetch_offset, |h| h.base_offset + i64::from(h.last_offset_delta) + 1);
                        let aborted = p
                            .txns
                            .aborted_in(fp.fetch_offset, upto)
                            .into_iter()
                            .map(|a| {
                                fetch_response::AbortedTransaction::default()
                                    .with_producer_id(ProducerId(a.producer_id))
                                    .with_first_offset(a.first_offset)
                            })
                            .collect();
                        pd.aborted_transactions = Some(aborted);
                    }
                    let size: usize = batches.iter().map(|b| b.len()).sum();
                    let mut buf = BytesMut::with_capacity(size);
                    for b in &batches {
                        buf.extend_from_slice(b);
                    }
                    total += size;
                    budget = budget.saturating_sub(size);
                    pd.records = Some(buf.freeze());
                }
            }
            parts.push(pd);
        }
        responses.push(
            fetch_response::FetchableTopicResponse::default().with_topic(TopicName(s(name))).with_partitions(parts),
        );
    }
    (FetchResponse::default().with_session_id(0).with_responses(responses), total)
}

/// ListOffsets: -2 earliest, -1 latest (the last stable offset for isolation level 1, read_committed),
/// -3 the record with the newest timestamp, else the first record at or after the timestamp (offset -1
/// when there is none).
fn list_offsets(broker: &KafkaBroker, origin: &Origin, r: ListOffsetsRequest) -> ListOffsetsResponse {
    let topics = r
        .topics
        .into_iter()
        .map(|lt| {
            let name = lt.name.0.to_string();
            let topic = cluster::topic(&broker.state, &origin.instance, &name);
            let permitted = topic_allowed(broker, origin, &name, AclOperation::Describe);
            let partitions = lt
                .partitions
                .into_iter()
                .map(|lp| {
                    let mut out = list_offsets_response::ListOffsetsPartitionResponse::default()
                        .with_partition_index(lp.partition_index)
                        .with_timestamp(-1)
                        .with_offset(-1);
                    if !permitted {
                        out.error_code = code::TOPIC_AUTHORIZATION_FAILED;
                        return out;
                    }
                    let Some(t) = topic
                        .as_ref()
                        .filter(|t| lp.partition_index >= 0 && (lp.partition_index as u32) < t.partitions)
                    else {
                        out.error_code = code::UNKNOWN_TOPIC_OR_PARTITION;
                        return out;
                    };
                    let Ok(part) = broker.logs.get(&part_key(origin, t, lp.partition_index)) else {
                        out.error_code = code::KAFKA_STORAGE_ERROR;
                        return out;
                    };
                    let p = part.lock();
                    let found = match lp.timestamp {
                        -2 => Some((p.log.log_start_offset(), -1)),
                        // read_committed consumers start "at the end" from the last stable offset.
                        -1 if r.isolation_level == 1 => Some((p.last_stable_offset(), -1)),
                        -1 => Some((p.log.end_offset(), -1)),
                        -3 => p.log.max_timestamp(),
                        ts if ts >= 0 => p.log.offset_for_timestamp(ts),
                        _ => {
                            out.error_code = code::INVALID_REQUEST;
                            None
                        }
                    };
                    if let Some((offset, ts)) = found {
                        out.offset = offset;
                        out.timestamp = ts;
                    }
                    out
                })
                .collect();
            list_offsets_response::ListOffsetsTopicResponse::default()
                .with_name(TopicName(s(name)))
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

/// FindCoordinator: this broker coordinates every group and every transactional id (key type 1).
fn find_coordinator(
    broker: &KafkaBroker,
    origin: &Origin,
    version: i16,
    r: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    let host = s(broker.advertised_host(&origin.instance));
    let port = broker_port(broker, origin);
    // Key type 0 names a group, 1 a transactional id (KIP-98): Describe is needed on either.
    let refused = |key: &str| match r.key_type {
        0 => !group_allowed(broker, origin, key, AclOperation::Describe),
        1 => !allowed(broker, origin, AclResourceType::TransactionalId, key, AclOperation::Describe),
        _ => false,
    };
    let refusal =
        if r.key_type == 1 { code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED } else { code::GROUP_AUTHORIZATION_FAILED };
    if version >= 4 {
        let coordinators = r
            .coordinator_keys
            .iter()
            .map(|k| {
                let c = find_coordinator_response::Coordinator::default().with_key(k.clone());
                if refused(k) {
                    return c.with_error_code(refusal).with_node_id(BrokerId(-1)).with_port(-1);
                }
                c.with_node_id(BrokerId(NODE_ID)).with_host(host.clone()).with_port(port)
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    if refused(&r.key) {
        return FindCoordinatorResponse::default().with_error_code(refusal).with_node_id(BrokerId(-1)).with_port(-1);
    }
    FindCoordinatorResponse::default().with_node_id(BrokerId(NODE_ID)).with_host(host).with_port(port)
}

async fn join_group(broker: &KafkaBroker, origin: &Origin, r: JoinGroupRequest) -> JoinGroupResponse {
    let group = r.group_id.0.to_string();
    if !group_allowed(broker, origin, &group, AclOperation::Read) {
        return JoinGroupResponse::default()
            .with_error_code(code::GROUP_AUTHORIZATION_FAILED)
            .with_generation_id(-1)
            .with_member_id(r.member_id);
    }
    let req = JoinRequest {
        member_id: r.member_id.to_string(),
        group_instance_id: r.group_instance_id.map(|g| g.to_string()),
        client_id: origin.client_id.clone(),
        client_host: format!("/{}", origin.peer.ip()),
        session_timeout_ms: r.session_timeout_ms,
        rebalance_timeout_ms: if r.rebalance_timeout_ms > 0 { r.rebalance_timeout_ms } else { r.session_timeout_ms },
        protocol_type: r.protocol_type.to_string(),
        protocols: r.protocols.into_iter().map(|p| (p.name.to_string(), p.metadata)).collect(),
    };
    let res = broker.groups.join(&origin.instance, &group, req).await;
    if res.error == code::NONE {
        cluster::ensure_group(&broker.state, &origin.instance, &group);
        cluster::persist(&broker.state).await;
    }
    JoinGroupResponse::default()
        .with_error_code(res.error)
        .with_generation_id(if res.error == code::NONE { res.generation } else { -1 })
        .with_protocol_type(res.protocol_type.map(s))
        .with_protocol_name(res.protocol.map(s))
        .with_leader(s(res.leader))
        .with_member_id(s(res.member_id))
        .with_members(
            res.members
                .into_iter()
                .map(|(id, gi, meta)| {
                    join_group_response::JoinGroupResponseMember::default()
                        .with_member_id(s(id))
                        .with_group_instance_id(gi.map(s))
                        .with_metadata(meta)
                })
                .collect(),
        )
}

async fn sync_group(broker: &KafkaBroker, origin: &Origin, r: SyncGroupRequest) -> SyncGroupResponse {
    if !group_allowed(broker, origin, &r.group_id.0, AclOperation::Read) {
        return SyncGroupResponse::default().with_error_code(code::GROUP_AUTHORIZATION_FAILED);
    }
    let assignments = r.assignments.into_iter().map(|a| (a.member_id.to_string(), a.assignment)).collect();
    let (error, pt, p, assignment) =
        broker.groups.sync(&origin.instance, &r.group_id.0, &r.member_id, r.generation_id, assignments).await;
    SyncGroupResponse::default()
        .with_error_code(error)
        .with_protocol_type(pt.map(s))
        .with_protocol_name(p.map(s))
        .with_assignment(assignment)
}

fn leave_group(broker: &KafkaBroker, origin: &Origin, version: i16, r: LeaveGroupRequest) -> LeaveGroupResponse {
    if !group_allowed(broker, origin, &r.group_id.0, AclOperation::Read) {
        return LeaveGroupResponse::default().with_error_code(code::GROUP_AUTHORIZATION_FAILED);
    }
    let ids: Vec<String> = if version >= 3 {
        r.members.iter().map(|m| m.member_id.to_string()).collect()
    } else {
        vec![r.member_id.to_string()]
    };
    let codes = broker.groups.leave(&origin.instance, &r.group_id.0, &ids);
    if version >= 3 {
        let members = r
            .members
            .into_iter()
            .zip(codes)
            .map(|(m, c)| {
                leave_group_response::MemberResponse::default()
                    .with_member_id(m.member_id)
                    .with_group_instance_id(m.group_instance_id)
                    .with_error_code(c)
            })
            .collect();
        LeaveGroupResponse::default().with_members(members)
    } else {
        LeaveGroupResponse::default().with_error_code(codes.first().copied().unwrap_or(code::NONE))
    }
}

/// OffsetCommit: checked against the group's generation when the member is in one; stored in the
/// management model (so GetConsumerProgress / ListConsumerGroup show it) and persisted.
async fn offset_commit(broker: &KafkaBroker, origin: &Origin, r: OffsetCommitRequest) -> OffsetCommitResponse {
    let group = r.group_id.0.to_string();
    let check = if group_allowed(broker, origin, &group, AclOperation::Read) {
        broker.groups.check_commit(&origin.instance, &group, &r.member_id, r.generation_id_or_member_epoch)
    } else {
        code::GROUP_AUTHORIZATION_FAILED
    };
    let mut topics = Vec::new();
    for t in r.topics {
        let name = t.name.0.to_string();
        let permitted = topic_allowed(broker, origin, &name, AclOperation::Read);
        let partitions = t
            .partitions
            .into_iter()
            .map(|p| {
                let error = if check != code::NONE {
                    check
                } else if !permitted {
                    code::TOPIC_AUTHORIZATION_FAILED
                } else if p.partition_index < 0 {
                    code::UNKNOWN_TOPIC_OR_PARTITION
                } else {
                    let produced_at = produced_at(broker, origin, &name, p.partition_index, p.committed_offset);
                    match cluster::commit_offset(
                        &broker.state,
                        &origin.instance,
                        &group,
                        &name,
                        p.partition_index as u32,
                        p.committed_offset,
                        produced_at,
                    ) {
                        Ok(()) => code::NONE,
                        Err(_) => code::UNKNOWN_TOPIC_OR_PARTITION,
                    }
                };
                offset_commit_response::OffsetCommitResponsePartition::default()
                    .with_partition_index(p.partition_index)
                    .with_error_code(error)
            })
            .collect();
        topics.push(
            offset_commit_response::OffsetCommitResponseTopic::default()
                .with_name(TopicName(s(name)))
                .with_partitions(partitions),
        );
    }
    cluster::persist(&broker.state).await;
    OffsetCommitResponse::default().with_topics(topics)
}

/// When the record before a committed offset was produced (its batch's newest timestamp), if the log
/// still holds it.
pub(crate) fn produced_at(
    broker: &KafkaBroker,
    origin: &Origin,
    topic: &str,
    partition: i32,
    offset: i64,
) -> Option<i64> {
    let t = cluster::topic(&broker.state, &origin.instance, topic)?;
    if partition < 0 || partition as u32 >= t.partitions || offset <= 0 {
        return None;
    }
    let part = broker.logs.get(&part_key(origin, &t, partition)).ok()?;
    let ts = part.lock().log.batch_timestamp_at(offset - 1);
    ts.filter(|ts| *ts >= 0)
}

/// Committed offsets for (topic, partitions) of a group; None topics: every committed offset.
fn committed(
    broker: &KafkaBroker,
    origin: &Origin,
    group: &str,
    topics: Option<Vec<(String, Vec<i32>)>>,
) -> Vec<(String, Vec<(i32, i64)>)> {
    match topics {
        Some(list) => list
            .into_iter()
            .map(|(t, parts)| {
                let offsets = parts
                    .into_iter()
                    .map(|p| {
                        let o = if p >= 0 {
                            cluster::committed_offset(&broker.state, &origin.instance, group, &t, p as u32)
                        } else {
                            None
                        };
                        (p, o.unwrap_or(-1))
                    })
                    .collect();
                (t, offsets)
            })
            .collect(),
        None => {
            let mut out: Vec<(String, Vec<(i32, i64)>)> = Vec::new();
            for (t, p, o) in cluster::committed_offsets(&broker.state, &origin.instance, group) {
                match out.last_mut() {
                    Some((name, v)) if *name == t => v.push((p as i32, o)),
                    _ => out.push((t, vec![(p as i32, o)])),
                }
            }
            out
        }
    }
}

/// [`committed`] with each partition's error: with `require_stable` (OffsetFetch v7+, KIP-447) a
/// partition whose group has offsets staged in an open transaction answers UNSTABLE_OFFSET_COMMIT and
/// offset -1, so the consumer retries until the transaction ends instead of reading an older offset.
#[allow(clippy::type_complexity)]
fn stable_committed(
    broker: &KafkaBroker,
    origin: &Origin,
    group: &str,
    topics: Option<Vec<(String, Vec<i32>)>>,
    require_stable: bool,
) -> Vec<(String, Vec<(i32, i64, i16)>)> {
    committed(broker, origin, group, topics)
        .into_iter()
        .map(|(t, parts)| {
            let parts = parts
                .into_iter()
                .map(|(p, o)| {
                    if require_stable && broker.txns.has_pending_offset(&origin.instance, group, &t, p) {
                        (p, -1, super::txn::txn_code::UNSTABLE_OFFSET_COMMIT)
                    } else {
                        (p, o, code::NONE)
                    }
                })
                .collect();
            (t, parts)
        })
        .collect()
}

fn offset_fetch(broker: &KafkaBroker, origin: &Origin, version: i16, r: OffsetFetchRequest) -> OffsetFetchResponse {
    if version >= 8 {
        let groups = r
            .groups
            .into_iter()
            .map(|g| {
                let name = g.group_id.0.to_string();
                if !group_allowed(broker, origin, &name, AclOperation::Describe) {
                    return offset_fetch_response::OffsetFetchResponseGroup::default()
                        .with_group_id(g.group_id)
                        .with_error_code(code::GROUP_AUTHORIZATION_FAILED);
                }
                let topics =
                    g.topics.map(|ts| ts.into_iter().map(|t| (t.name.0.to_string(), t.partition_indexes)).collect());
                let topics = stable_committed(broker, origin, &name, topics, r.require_stable)
                    .into_iter()
                    .map(|(t, parts)| {
                        offset_fetch_response::OffsetFetchResponseTopics::default()
                            .with_name(TopicName(s(t)))
                            .with_partitions(
                                parts
                                    .into_iter()
                                    .map(|(p, o, error)| {
                                        offset_fetch_response::OffsetFetchResponsePartitions::default()
                                            .with_partition_index(p)
                                            .with_error_code(error)
                                            .with_committed_offset(o)
                                            .with_committed_leader_epoch(-1)
                                            .with_metadata(Some(s("")))
                                    })
                                    .collect(),
                            )
                    })
                    .collect();
                offset_fetch_response::OffsetFetchResponseGroup::default().with_group_id(g.group_id).with_topics(topics)
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let name = r.group_id.0.to_string();
    if !group_allowed(broker, origin, &name, AclOperation::Describe) {
        // v1 has no top-level error code: an empty answer then.
        let error = if version >= 2 { code::GROUP_AUTHORIZATION_FAILED } else { code::NONE };
        return OffsetFetchResponse::default().with_error_code(error);
    }
    let topics = r.topics.map(|ts| ts.into_iter().map(|t| (t.name.0.to_string(), t.partition_indexes)).collect());
    let topics = stable_committed(broker, origin, &name, topics, r.require_stable)
        .into_iter()
        .map(|(t, parts)| {
            offset_fetch_response::OffsetFetchResponseTopic::default().with_name(TopicName(s(t))).with_partitions(
                parts
                    .into_iter()
                    .map(|(p, o, error)| {
                        offset_fetch_response::OffsetFetchResponsePartition::default()
                            .with_partition_index(p)
                            .with_error_code(error)
                            .with_committed_offset(o)
                            .with_committed_leader_epoch(-1)
                            .with_metadata(Some(s("")))
                    })
                    .collect(),
            )
        })
        .collect();
    OffsetFetchResponse::default().with_topics(topics)
}

fn describe_groups(broker: &KafkaBroker, origin: &Origin, r: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let known = cluster::group_names(&broker.state, &origin.instance);
    let groups = r
        .groups
        .into_iter()
        .map(|g| {
            let name = g.0.to_string();
            if !group_allowed(broker, origin, &name, AclOperation::Describe) {
                return describe_groups_response::DescribedGroup::default()
                    .with_group_id(g)
                    .with_error_code(code::GROUP_AUTHORIZATION_FAILED);
            }
            match broker.groups.describe(&origin.instance, &name) {
                Some((state, pt, protocol, members)) => describe_groups_response::DescribedGroup::default()
                    .with_group_id(g)
                    .with_group_state(s(state.as_str()))
                    .with_protocol_type(s(pt.unwrap_or_default()))
                    .with_protocol_data(s(protocol.clone().unwrap_or_default()))
                    .with_members(
                        members
                            .into_iter()
                            .map(|m| {
                                let meta = m.metadata_for(protocol.as_deref().unwrap_or_default());
                                describe_groups_response::DescribedGroupMember::default()
                                    .with_member_id(s(m.id.clone()))
                                    .with_group_instance_id(m.group_instance_id.clone().map(s))
                                    .with_client_id(s(m.client_id.clone()))
                                    .with_client_host(s(m.client_host.clone()))
                                    .with_member_metadata(meta)
                                    .with_member_assignment(m.assignment.clone())
                            })
                            .collect(),
                    ),
                None if known.contains(&name) => {
                    describe_groups_response::DescribedGroup::default().with_group_id(g).with_group_state(s("Empty"))
                }
                None => {
                    describe_groups_response::DescribedGroup::default().with_group_id(g).with_group_state(s("Dead"))
                }
            }
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

fn list_groups(broker: &KafkaBroker, origin: &Origin, r: ListGroupsRequest) -> ListGroupsResponse {
    let mut out: Vec<(String, String, String)> = broker
        .groups
        .list(&origin.instance)
        .into_iter()
        .map(|(g, st, pt)| (g, st.as_str().to_string(), pt.unwrap_or_default()))
        .collect();
    for g in cluster::group_names(&broker.state, &origin.instance) {
        if !out.iter().any(|(n, _, _)| *n == g) {
            out.push((g, "Empty".into(), "consumer".into()));
        }
    }
    out.retain(|(g, _, _)| group_allowed(broker, origin, g, AclOperation::Describe));
    out.sort();
    let filter: Vec<String> = r.states_filter.iter().map(|x| x.to_string()).collect();
    let groups = out
        .into_iter()
        .filter(|(_, st, _)| filter.is_empty() || filter.iter().any(|f| f.eq_ignore_ascii_case(st)))
        .map(|(g, st, pt)| {
            list_groups_response::ListedGroup::default()
                .with_group_id(GroupId(s(g)))
                .with_protocol_type(s(pt))
                .with_group_state(s(st))
                .with_group_type(s("classic"))
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}

/// InitProducerId: a fresh producer id (epoch 0) for idempotent producers; with a transactional id the
/// transaction coordinator answers ([`super::txn::init_producer_id`]).
async fn init_producer_id(
    broker: &KafkaBroker,
    origin: &Origin,
    version: i16,
    r: InitProducerIdRequest,
) -> InitProducerIdResponse {
    if let Some(id) = &r.transactional_id {
        return super::txn::init_producer_id(broker, origin, version, &id.0, &r).await;
    }
    let id = broker.next_producer_id.fetch_add(1, Ordering::Relaxed);
    InitProducerIdResponse::default().with_producer_id(ProducerId(id)).with_producer_epoch(0)
}

/// DescribeConfigs: a topic's configs as the model holds them ([`super::admin::describe_topic`]: what the
/// vendor APIs and AlterConfigs / IncrementalAlterConfigs set), alterable (read_only false; source 1
/// DYNAMIC_TOPIC_CONFIG, or 5 DEFAULT_CONFIG); broker resources get the settings that matter to clients,
/// all static (read_only; source 4 STATIC_BROKER_CONFIG or 5).
fn describe_configs(broker: &KafkaBroker, origin: &Origin, r: DescribeConfigsRequest) -> DescribeConfigsResponse {
    // Topic configs can be altered (AlterConfigs); every broker config is static here.
    let entry = |name: &str, value: String, default: bool, read_only: bool| {
        describe_configs_response::DescribeConfigsResourceResult::default()
            .with_name(s(name))
            .with_value(Some(s(value)))
            .with_read_only(read_only)
            .with_config_source(if default {
                5
            } else if read_only {
                4
            } else {
                1
            })
    };
    let results = r
        .resources
        .into_iter()
        .map(|res| {
            let base = describe_configs_response::DescribeConfigsResult::default()
                .with_resource_type(res.resource_type)
                .with_resource_name(res.resource_name.clone());
            let configs: Vec<describe_configs_response::DescribeConfigsResourceResult> = match res.resource_type {
                2 => match cluster::topic(&broker.state, &origin.instance, &res.resource_name)
                    .zip(cluster::topic_config(&broker.state, &origin.instance, &res.resource_name))
                {
                    Some((t, (config, _))) => super::admin::describe_topic(&t, &config)
                        .into_iter()
                        .map(|(name, value, default)| entry(&name, value, default, false))
                        .collect(),
                    None => {
                        return base
                            .with_error_code(code::UNKNOWN_TOPIC_OR_PARTITION)
                            .with_error_message(Some(s(format!("topic {} does not exist", &*res.resource_name))));
                    }
                },
                4 => vec![
                    entry("auto.create.topics.enable", "false".into(), false, true),
                    entry("num.partitions", "1".into(), true, true),
                    entry("message.max.bytes", "1048588".into(), true, true),
                ],
                _ => {
                    return base
                        .with_error_code(code::INVALID_REQUEST)
                        .with_error_message(Some(s("only topic and broker resources are described")));
                }
            };
            let configs = match &res.configuration_keys {
                Some(keys) if !keys.is_empty() => {
                    configs.into_iter().filter(|c| keys.iter().any(|k| **k == *c.name)).collect()
                }
                _ => configs,
            };
            base.with_configs(configs)
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

const MANAGED: &str = "topics are managed through the cloud's management API (CreateTopic / DeleteTopic / \
                       CreatePartitions / ModifyPartitionNum), not by clients";

/// CreateTopics: refused (POLICY_VIOLATION), as the clouds manage topics through their APIs.
fn create_topics(r: CreateTopicsRequest) -> CreateTopicsResponse {
    let topics = r
        .topics
        .into_iter()
        .map(|t| {
            create_topics_response::CreatableTopicResult::default()
                .with_name(t.name)
                .with_error_code(code::POLICY_VIOLATION)
                .with_error_message(Some(s(MANAGED)))
                .with_num_partitions(-1)
                .with_replication_factor(-1)
        })
        .collect();
    CreateTopicsResponse::default().with_topics(topics)
}

/// DeleteTopics: refused (POLICY_VIOLATION).
fn delete_topics(r: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let names: Vec<TopicName> =
        if r.topic_names.is_empty() { r.topics.into_iter().filter_map(|t| t.name).collect() } else { r.topic_names };
    let responses = names
        .into_iter()
        .map(|n| {
            delete_topics_response::DeletableTopicResult::default()
                .with_name(Some(n))
                .with_error_code(code::POLICY_VIOLATION)
                .with_error_message(Some(s(MANAGED)))
        })
        .collect();
    DeleteTopicsResponse::default().with_responses(responses)
}

/// CreatePartitions: refused (POLICY_VIOLATION).
fn create_partitions(r: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let results = r
        .topics
        .into_iter()
        .map(|t| {
            create_partitions_response::CreatePartitionsTopicResult::default()
                .with_name(t.name)
                .with_error_code(code::POLICY_VIOLATION)
                .with_error_message(Some(s(MANAGED)))
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}
