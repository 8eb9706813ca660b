//! Kafka transactions (KIP-98, "Exactly Once Delivery and Transactional Messaging"): this broker is the
//! transaction coordinator of every transactional id of its instance.
//!
//! - **InitProducerId** with a transactional id gives the id a stable producer id and bumps its epoch on
//!   every call, which fences older producers of the same id (their requests then fail with
//!   PRODUCER_FENCED, or INVALID_PRODUCER_EPOCH before the versions that know it, KIP-588). A transaction
//!   the previous epoch left open is aborted first.
//! - **AddPartitionsToTxn** / **AddOffsetsToTxn** start a transaction and name what it touches;
//!   **TxnOffsetCommit** stages a group's offsets, which become the group's committed offsets only when
//!   the transaction commits (dropped on abort).
//! - **EndTxn** writes a COMMIT or ABORT control batch (transaction marker) into every partition the
//!   transaction added, which decides its records for read_committed consumers (see
//!   [`super::logs::PartTxns`]: the last stable offset and the aborted-transaction list come from the log).
//! - A transaction open longer than its `transaction_timeout_ms` is aborted by the broker (checked every
//!   [`super::RECONCILE_EVERY`]) and the producer's epoch bumped, as Kafka's coordinator does
//!   (`transaction.abort.timed.out.transaction.cleanup.interval.ms`).
//!
//! The coordinator state (transactional id -> producer id, epoch, open transaction) lives in memory: a
//! restart forgets it and aborts every transaction left open in the logs (see [`super::logs::Logs::get`]),
//! as a real coordinator's timeout would; producers then call InitProducerId again. Outcomes already
//! decided are in the logs as markers and read the same after a restart (with `--data-dir`).
//!
//! The coordinator's lock is never held while a partition's lock is taken: decisions are made under it,
//! markers are written after it is released. Produce checks a transactional batch against the coordinator
//! while holding the partition's lock, so a marker can never be written between that check and the batch.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use kafka_protocol::messages::*;
use parking_lot::Mutex;

use super::cluster::{self, AclOperation, AclResourceType};
use super::conn::Origin;
use super::handlers::code;
use super::logs::PartKey;
use super::KafkaBroker;
use crate::storage::log::Marker;

/// Kafka error codes of the transaction APIs (the protocol guide's table).
pub mod txn_code {
    /// A transactional request for a transaction in the wrong state (e.g. EndTxn with none open, a
    /// transactional batch for a partition not added to the transaction).
    pub const INVALID_TXN_STATE: i16 = 48;
    /// The producer id is not the one the transactional id has (or the transactional id is unknown).
    pub const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
    /// `transaction_timeout_ms` not in `1..=`[`super::MAX_TRANSACTION_TIMEOUT_MS`].
    pub const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
    /// DescribeTransactions for a transactional id the coordinator does not know.
    pub const TRANSACTIONAL_ID_NOT_FOUND: i16 = 105;
    /// Another partition of the request failed, so this one was not added either.
    pub const OPERATION_NOT_ATTEMPTED: i16 = 55;
    /// A record batch a client may not write (a control batch).
    pub const INVALID_RECORD: i16 = 87;
    /// OffsetFetch with `require_stable` (KIP-447) for a partition whose group has offsets staged in an
    /// open transaction: the client retries until it ends.
    pub const UNSTABLE_OFFSET_COMMIT: i16 = 88;
    /// A newer producer with the same transactional id exists (KIP-588; older versions get
    /// INVALID_PRODUCER_EPOCH).
    pub const PRODUCER_FENCED: i16 = 90;
}

/// Kafka's default `transaction.max.timeout.ms` (15 minutes): InitProducerId asking for more gets
/// INVALID_TRANSACTION_TIMEOUT.
pub const MAX_TRANSACTION_TIMEOUT_MS: i32 = 900_000;

/// Where a transactional id's transaction is (Kafka's `TransactionState`, without the Prepare states:
/// markers are written before EndTxn answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnState {
    /// No transaction since InitProducerId.
    Empty,
    /// Partitions or a group were added; not yet ended.
    Ongoing,
    /// The last transaction committed.
    CompleteCommit,
    /// The last transaction aborted (by the producer, a new InitProducerId or its timeout).
    CompleteAbort,
}

impl TxnState {
    /// The name Kafka's DescribeTransactions / kafka-transactions.sh show.
    pub fn as_str(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
        }
    }
}

#[derive(Debug)]
struct Entry {
    producer_id: i64,
    epoch: i16,
    timeout_ms: i32,
    state: TxnState,
    /// (topic, partition) added to the open transaction.
    partitions: BTreeSet<(String, i32)>,
    groups: BTreeSet<String>,
    /// (group, topic, partition) -> offset staged by TxnOffsetCommit.
    offsets: BTreeMap<(String, String, i32), i64>,
    started: Instant,
    /// Unix ms the open transaction started (DescribeTransactions), -1 when none is open.
    started_ms: i64,
}

impl Entry {
    /// Starts a transaction unless one is open.
    fn begin(&mut self) {
        if self.state != TxnState::Ongoing {
            self.state = TxnState::Ongoing;
            self.started = Instant::now();
            self.started_ms = crate::engine::now_ms();
            self.partitions.clear();
            self.groups.clear();
            self.offsets.clear();
        }
    }

    /// Closes the open transaction with `marker`, handing back what must be written.
    fn finish(&mut self, marker: Marker) -> Ending {
        self.state = if marker == Marker::Commit { TxnState::CompleteCommit } else { TxnState::CompleteAbort };
        self.groups.clear();
        self.started_ms = -1;
        Ending {
            producer_id: self.producer_id,
            epoch: self.epoch,
            marker,
            partitions: std::mem::take(&mut self.partitions).into_iter().collect(),
            offsets: std::mem::take(&mut self.offsets).into_iter().collect(),
        }
    }

    /// Fences every older producer of this id: the next epoch, or a new producer id once the epoch is
    /// exhausted (as Kafka does near `Short.MAX_VALUE`).
    fn bump(&mut self, broker: &KafkaBroker) {
        if self.epoch >= i16::MAX - 1 {
            self.producer_id = broker.next_producer_id.fetch_add(1, Ordering::Relaxed);
            self.epoch = 0;
        } else {
            self.epoch += 1;
        }
    }
}

/// A decided transaction whose markers (and, on commit, offsets) are still to be written.
struct Ending {
    producer_id: i64,
    epoch: i16,
    marker: Marker,
    partitions: Vec<(String, i32)>,
    offsets: Vec<((String, String, i32), i64)>,
}

/// Why a request does not match a transactional id's producer.
enum Mismatch {
    /// Unknown id or another producer id: INVALID_PRODUCER_ID_MAPPING.
    Mapping,
    /// An older (or otherwise different) epoch: PRODUCER_FENCED / INVALID_PRODUCER_EPOCH.
    Fenced,
}

/// The fencing error for a request version: PRODUCER_FENCED from `first_fenced_version` on (KIP-588),
/// INVALID_PRODUCER_EPOCH before it.
fn fenced_code(version: i16, first_fenced_version: i16) -> i16 {
    if version >= first_fenced_version {
        txn_code::PRODUCER_FENCED
    } else {
        code::INVALID_PRODUCER_EPOCH
    }
}

fn mismatch_code(m: Mismatch, version: i16, first_fenced_version: i16) -> i16 {
    match m {
        Mismatch::Mapping => txn_code::INVALID_PRODUCER_ID_MAPPING,
        Mismatch::Fenced => fenced_code(version, first_fenced_version),
    }
}

/// The transaction coordinator's state: every transactional id of every instance, keyed by (instance id,
/// transactional id), so two instances never share an id.
#[derive(Default)]
pub struct Transactions {
    entries: Mutex<HashMap<(String, String), Entry>>,
}

impl Transactions {
    fn matching<'a>(
        entries: &'a mut HashMap<(String, String), Entry>,
        instance: &str,
        txn_id: &str,
        producer_id: i64,
        epoch: i16,
    ) -> Result<&'a mut Entry, Mismatch> {
        let e = entries.get_mut(&(instance.to_string(), txn_id.to_string())).ok_or(Mismatch::Mapping)?;
        if e.producer_id != producer_id {
            return Err(Mismatch::Mapping);
        }
        if e.epoch != epoch {
            return Err(Mismatch::Fenced);
        }
        Ok(e)
    }

    /// Checks a transactional record batch of `producer_id` / `epoch` for a partition: NONE when the
    /// producer's transaction is open and has added the partition; else INVALID_PRODUCER_ID_MAPPING
    /// (producer unknown to the coordinator, e.g. after a restart), INVALID_PRODUCER_EPOCH (fenced) or
    /// INVALID_TXN_STATE (no open transaction, or the partition was not added to it).
    pub fn check_produce(&self, instance: &str, producer_id: i64, epoch: i16, topic: &str, partition: i32) -> i16 {
        let entries = self.entries.lock();
        let Some(e) = entries.iter().find(|((i, _), e)| i == instance && e.producer_id == producer_id).map(|(_, e)| e)
        else {
            return txn_code::INVALID_PRODUCER_ID_MAPPING;
        };
        if e.epoch != epoch {
            return code::INVALID_PRODUCER_EPOCH;
        }
        if e.state != TxnState::Ongoing || !e.partitions.contains(&(topic.to_string(), partition)) {
            return txn_code::INVALID_TXN_STATE;
        }
        code::NONE
    }

    /// Whether an open transaction of the instance has staged an offset for the group's partition
    /// (OffsetFetch's `require_stable` answers UNSTABLE_OFFSET_COMMIT then).
    pub fn has_pending_offset(&self, instance: &str, group: &str, topic: &str, partition: i32) -> bool {
        let key = (group.to_string(), topic.to_string(), partition);
        self.entries
            .lock()
            .iter()
            .any(|((i, _), e)| i == instance && e.state == TxnState::Ongoing && e.offsets.contains_key(&key))
    }

    /// Aborts transactions open longer than their timeout (bumping the producer's epoch, so the timed-out
    /// producer is fenced) and forgets ids of deleted instances. Runs with the broker's housekeeping.
    pub fn expire(&self, broker: &KafkaBroker) {
        let endings: Vec<(String, Ending)> = {
            let mut entries = self.entries.lock();
            entries.retain(|(i, _), _| cluster::instance_exists(&broker.state, i));
            entries
                .iter_mut()
                .filter(|(_, e)| {
                    e.state == TxnState::Ongoing && e.started.elapsed().as_millis() > e.timeout_ms.max(0) as u128
                })
                .map(|((instance, id), e)| {
                    tracing::info!(instance = %instance, transactional_id = %id, "aborting a timed-out transaction");
                    let ending = e.finish(Marker::Abort);
                    e.bump(broker);
                    (instance.clone(), ending)
                })
                .collect()
        };
        for (instance, ending) in endings {
            if let Err(e) = write_markers(broker, &instance, &ending) {
                tracing::warn!(instance = %instance, error = %e, "writing abort markers failed");
            }
        }
    }
}

fn s(v: impl Into<String>) -> kafka_protocol::protocol::StrBytes {
    kafka_protocol::protocol::StrBytes::from_string(v.into())
}

fn allowed(broker: &KafkaBroker, origin: &Origin, kind: AclResourceType, name: &str, op: AclOperation) -> bool {
    match &origin.principal {
        None => true,
        Some(user) => {
            cluster::acl_allows(&broker.state, &origin.instance, user, &origin.peer.ip().to_string(), kind, name, op)
        }
    }
}

fn txn_id_allowed(broker: &KafkaBroker, origin: &Origin, id: &str) -> bool {
    allowed(broker, origin, AclResourceType::TransactionalId, id, AclOperation::Write)
}

/// Writes the transaction's markers into every partition it added (partitions of topics deleted since
/// are skipped), reports the new offsets to the model and wakes long-polling fetches. Returns the segment
/// files to fsync before the outcome is acknowledged. Err: a marker could not be written.
fn write_markers(broker: &KafkaBroker, instance: &str, ending: &Ending) -> Result<Vec<Arc<std::fs::File>>, String> {
    let mut sync = Vec::new();
    let mut result = Ok(());
    for (topic, partition) in &ending.partitions {
        let Some(t) = cluster::topic(&broker.state, instance, topic) else { continue };
        if *partition < 0 || *partition as u32 >= t.partitions {
            continue;
        }
        let key = PartKey {
            instance: instance.to_string(),
            topic: t.name.clone(),
            topic_created_ms: t.created_at_ms,
            partition: *partition as u32,
        };
        // One partition that cannot be written does not keep the others undecided.
        let part = match broker.logs.get(&key) {
            Ok(part) => part,
            Err(e) => {
                result = Err(e.to_string());
                continue;
            }
        };
        let (start, end, last) = {
            let mut p = part.lock();
            if let Err(e) = p.append_marker(ending.producer_id, ending.epoch, ending.marker) {
                result = Err(e.to_string());
                continue;
            }
            sync.extend(p.log.sync_handle());
            (p.log.log_start_offset(), p.log.end_offset(), p.log.last_append_ms())
        };
        cluster::record_log_offsets(&broker.state, instance, topic, *partition as u32, start, end, last);
    }
    broker.appended.send_modify(|v| *v = v.wrapping_add(1));
    result.map(|()| sync)
}

/// Ends a decided transaction: markers, then (on commit) the staged offsets become the groups' committed
/// offsets. Err: the Kafka error code to answer.
async fn complete(broker: &KafkaBroker, origin: &Origin, ending: Ending) -> Result<(), i16> {
    let sync = write_markers(broker, &origin.instance, &ending).map_err(|e| {
        tracing::warn!(error = %e, "writing transaction markers failed");
        code::KAFKA_STORAGE_ERROR
    })?;
    if !sync.is_empty() {
        // A decided transaction is acknowledged only once its markers are on disk (`--data-dir`).
        let synced = tokio::task::spawn_blocking(move || sync.iter().try_for_each(|f| f.sync_data())).await;
        if !matches!(synced, Ok(Ok(()))) {
            return Err(code::KAFKA_STORAGE_ERROR);
        }
    }
    if ending.marker == Marker::Commit && !ending.offsets.is_empty() {
        for ((group, topic, partition), offset) in &ending.offsets {
            let produced_at = super::handlers::produced_at(broker, origin, topic, *partition, *offset);
            cluster::ensure_group(&broker.state, &origin.instance, group);
            let done = cluster::commit_offset(
                &broker.state,
                &origin.instance,
                group,
                topic,
                *partition as u32,
                *offset,
                produced_at,
            );
            if done.is_err() {
                tracing::debug!(group = %group, topic = %topic, "a transactional offset's topic is gone");
            }
        }
        cluster::persist(&broker.state).await;
    }
    Ok(())
}

/// InitProducerId with a transactional id (KIP-98; KIP-360 for the producer id / epoch a v3+ request may
/// carry): the id's producer id (new ids get a fresh one), its epoch bumped. Errors: INVALID_REQUEST for
/// an empty id, INVALID_TRANSACTION_TIMEOUT, TRANSACTIONAL_ID_AUTHORIZATION_FAILED, and PRODUCER_FENCED
/// (v4+; INVALID_PRODUCER_EPOCH before) when the request names a producer id / epoch that is not the
/// current one.
pub async fn init_producer_id(
    broker: &KafkaBroker,
    origin: &Origin,
    version: i16,
    txn_id: &str,
    r: &InitProducerIdRequest,
) -> InitProducerIdResponse {
    let failed = |error: i16| {
        InitProducerIdResponse::default()
            .with_error_code(error)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    if txn_id.is_empty() {
        return failed(code::INVALID_REQUEST);
    }
    if !txn_id_allowed(broker, origin, txn_id) {
        return failed(code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
    }
    if r.transaction_timeout_ms <= 0 || r.transaction_timeout_ms > MAX_TRANSACTION_TIMEOUT_MS {
        return failed(txn_code::INVALID_TRANSACTION_TIMEOUT);
    }
    let (pid, epoch, ending) = {
        let mut entries = broker.txns.entries.lock();
        let key = (origin.instance.clone(), txn_id.to_string());
        let ending = match entries.get_mut(&key) {
            None => {
                let id = broker.next_producer_id.fetch_add(1, Ordering::Relaxed);
                entries.insert(
                    key.clone(),
                    Entry {
                        producer_id: id,
                        epoch: 0,
                        timeout_ms: r.transaction_timeout_ms,
                        state: TxnState::Empty,
                        partitions: BTreeSet::new(),
                        groups: BTreeSet::new(),
                        offsets: BTreeMap::new(),
                        started: Instant::now(),
                        started_ms: -1,
                    },
                );
                None
            }
            Some(e) => {
                // KIP-360: a producer that names its id and epoch asks to bump that one; anything else is
                // an older producer of this transactional id.
                if r.producer_id.0 >= 0 && (r.producer_id.0 != e.producer_id || r.producer_epoch != e.epoch) {
                    return failed(fenced_code(version, 4));
                }
                let ending = (e.state == TxnState::Ongoing).then(|| e.finish(Marker::Abort));
                e.bump(broker);
                e.state = TxnState::Empty;
                e.timeout_ms = r.transaction_timeout_ms;
                ending
            }
        };
        let e = entries.get(&key);
        (e.map_or(-1, |e| e.producer_id), e.map_or(-1, |e| e.epoch), ending)
    };
    if let Some(ending) = ending {
        if let Err(error) = complete(broker, origin, ending).await {
            return failed(error);
        }
    }
    InitProducerIdResponse::default().with_producer_id(ProducerId(pid)).with_producer_epoch(epoch)
}

/// AddPartitionsToTxn v0-3: adds partitions to the producer's transaction (starting one). Per partition:
/// TOPIC_AUTHORIZATION_FAILED, UNKNOWN_TOPIC_OR_PARTITION, and OPERATION_NOT_ATTEMPTED for the others of
/// a request with such a failure (nothing is added then); for the whole request
/// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, INVALID_PRODUCER_ID_MAPPING or PRODUCER_FENCED (v2+;
/// INVALID_PRODUCER_EPOCH before).
pub fn add_partitions(
    broker: &KafkaBroker,
    origin: &Origin,
    version: i16,
    r: AddPartitionsToTxnRequest,
) -> AddPartitionsToTxnResponse {
    let txn_id = r.v3_and_below_transactional_id.0.to_string();
    let mut errors: Vec<(String, Vec<(i32, i16)>)> = Vec::new();
    let mut failed = false;
    for t in &r.v3_and_below_topics {
        let name = t.name.0.to_string();
        let topic = cluster::topic(&broker.state, &origin.instance, &name);
        let permitted = allowed(broker, origin, AclResourceType::Topic, &name, AclOperation::Write);
        let parts = t
            .partitions
            .iter()
            .map(|p| {
                let error = if !permitted {
                    code::TOPIC_AUTHORIZATION_FAILED
                } else if !topic.as_ref().is_some_and(|t| *p >= 0 && (*p as u32) < t.partitions) {
                    code::UNKNOWN_TOPIC_OR_PARTITION
                } else {
                    code::NONE
                };
                failed |= error != code::NONE;
                (*p, error)
            })
            .collect();
        errors.push((name, parts));
    }
    let whole = if !txn_id_allowed(broker, origin, &txn_id) {
        Some(code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    } else if failed {
        None
    } else {
        let mut entries = broker.txns.entries.lock();
        match Transactions::matching(
            &mut entries,
            &origin.instance,
            &txn_id,
            r.v3_and_below_producer_id.0,
            r.v3_and_below_producer_epoch,
        ) {
            Err(m) => Some(mismatch_code(m, version, 2)),
            Ok(e) => {
                e.begin();
                for (name, parts) in &errors {
                    e.partitions.extend(parts.iter().map(|(p, _)| (name.clone(), *p)));
                }
                Some(code::NONE)
            }
        }
    };
    let results = errors
        .into_iter()
        .map(|(name, parts)| {
            add_partitions_to_txn_response::AddPartitionsToTxnTopicResult::default()
                .with_name(TopicName(s(name)))
                .with_results_by_partition(
                    parts
                        .into_iter()
                        .map(|(p, error)| {
                            let error = match whole {
                                Some(w) => w,
                                None if error == code::NONE => txn_code::OPERATION_NOT_ATTEMPTED,
                                None => error,
                            };
                            add_partitions_to_txn_response::AddPartitionsToTxnPartitionResult::default()
                                .with_partition_index(p)
                                .with_partition_error_code(error)
                        })
                        .collect(),
                )
        })
        .collect();
    AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results)
}

/// AddOffsetsToTxn: the group's offsets will be committed with the transaction (starting one). Errors:
/// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, INVALID_PRODUCER_ID_MAPPING,
/// PRODUCER_FENCED (v2+; INVALID_PRODUCER_EPOCH before).
pub fn add_offsets(
    broker: &KafkaBroker,
    origin: &Origin,
    version: i16,
    r: AddOffsetsToTxnRequest,
) -> AddOffsetsToTxnResponse {
    let txn_id = r.transactional_id.0.to_string();
    let group = r.group_id.0.to_string();
    let error = if !txn_id_allowed(broker, origin, &txn_id) {
        code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    } else if !allowed(broker, origin, AclResourceType::Group, &group, AclOperation::Read) {
        code::GROUP_AUTHORIZATION_FAILED
    } else {
        let mut entries = broker.txns.entries.lock();
        match Transactions::matching(&mut entries, &origin.instance, &txn_id, r.producer_id.0, r.producer_epoch) {
            Err(m) => mismatch_code(m, version, 2),
            Ok(e) => {
                e.begin();
                e.groups.insert(group);
                code::NONE
            }
        }
    };
    AddOffsetsToTxnResponse::default().with_error_code(error)
}

/// TxnOffsetCommit v0-3: stages a group's offsets in the producer's open transaction; they become the
/// group's committed offsets when it commits and are dropped when it aborts. The group must have been
/// added with AddOffsetsToTxn (else INVALID_TXN_STATE). v3 checks the member's generation as
/// OffsetCommit does. Per partition: TOPIC_AUTHORIZATION_FAILED, UNKNOWN_TOPIC_OR_PARTITION; for all:
/// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, GROUP_AUTHORIZATION_FAILED, INVALID_PRODUCER_ID_MAPPING,
/// INVALID_PRODUCER_EPOCH, ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID.
pub fn txn_offset_commit(
    broker: &KafkaBroker,
    origin: &Origin,
    version: i16,
    r: TxnOffsetCommitRequest,
) -> TxnOffsetCommitResponse {
    let txn_id = r.transactional_id.0.to_string();
    let group = r.group_id.0.to_string();
    let whole = if !txn_id_allowed(broker, origin, &txn_id) {
        code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    } else if !allowed(broker, origin, AclResourceType::Group, &group, AclOperation::Read) {
        code::GROUP_AUTHORIZATION_FAILED
    } else if version >= 3 {
        broker.groups.check_commit(&origin.instance, &group, &r.member_id, r.generation_id)
    } else {
        code::NONE
    };
    let mut topics = Vec::new();
    let mut entries = broker.txns.entries.lock();
    let mut entry = if whole == code::NONE {
        match Transactions::matching(&mut entries, &origin.instance, &txn_id, r.producer_id.0, r.producer_epoch) {
            // The group coordinator fences by the epoch of the log append: INVALID_PRODUCER_EPOCH.
            Err(m) => Err(mismatch_code(m, 0, i16::MAX)),
            Ok(e) if e.state != TxnState::Ongoing || !e.groups.contains(&group) => Err(txn_code::INVALID_TXN_STATE),
            Ok(e) => Ok(e),
        }
    } else {
        Err(whole)
    };
    for t in r.topics {
        let name = t.name.0.to_string();
        let topic = cluster::topic(&broker.state, &origin.instance, &name);
        let permitted = allowed(broker, origin, AclResourceType::Topic, &name, AclOperation::Read);
        let partitions = t
            .partitions
            .into_iter()
            .map(|p| {
                let error = match &mut entry {
                    Err(error) => *error,
                    Ok(_) if !permitted => code::TOPIC_AUTHORIZATION_FAILED,
                    Ok(_)
                        if !topic
                            .as_ref()
                            .is_some_and(|t| p.partition_index >= 0 && (p.partition_index as u32) < t.partitions) =>
                    {
                        code::UNKNOWN_TOPIC_OR_PARTITION
                    }
                    Ok(e) => {
                        e.offsets.insert((group.clone(), name.clone(), p.partition_index), p.committed_offset);
                        code::NONE
                    }
                };
                txn_offset_commit_response::TxnOffsetCommitResponsePartition::default()
                    .with_partition_index(p.partition_index)
                    .with_error_code(error)
            })
            .collect();
        topics.push(
            txn_offset_commit_response::TxnOffsetCommitResponseTopic::default()
                .with_name(TopicName(s(name)))
                .with_partitions(partitions),
        );
    }
    TxnOffsetCommitResponse::default().with_topics(topics)
}

/// EndTxn: commits or aborts the producer's transaction, writing a marker into every partition it added
/// and (on commit) making its staged offsets the groups' committed offsets, before answering. A retry of
/// the same outcome is answered NONE; the other outcome, or no transaction since InitProducerId, gets
/// INVALID_TXN_STATE. Also TRANSACTIONAL_ID_AUTHORIZATION_FAILED, INVALID_PRODUCER_ID_MAPPING,
/// PRODUCER_FENCED (v2+; INVALID_PRODUCER_EPOCH before), KAFKA_STORAGE_ERROR when a marker cannot be
/// written.
pub async fn end_txn(broker: &KafkaBroker, origin: &Origin, version: i16, r: EndTxnRequest) -> EndTxnResponse {
    let txn_id = r.transactional_id.0.to_string();
    let marker = if r.committed { Marker::Commit } else { Marker::Abort };
    let decided = if !txn_id_allowed(broker, origin, &txn_id) {
        Err(code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
    } else {
        let mut entries = broker.txns.entries.lock();
        match Transactions::matching(&mut entries, &origin.instance, &txn_id, r.producer_id.0, r.producer_epoch) {
            Err(m) => Err(mismatch_code(m, version, 2)),
            Ok(e) => match (e.state, marker) {
                (TxnState::Ongoing, _) => Ok(Some(e.finish(marker))),
                (TxnState::CompleteCommit, Marker::Commit) | (TxnState::CompleteAbort, Marker::Abort) => Ok(None),
                _ => Err(txn_code::INVALID_TXN_STATE),
            },
        }
    };
    let error = match decided {
        Err(error) => error,
        Ok(None) => code::NONE,
        Ok(Some(ending)) => complete(broker, origin, ending).await.err().unwrap_or(code::NONE),
    };
    EndTxnResponse::default().with_error_code(error)
}

/// DescribeTransactions v0 (KIP-664): each id's state, producer id and epoch, timeout, start time (-1
/// when no transaction is open) and the partitions of its open transaction. Per id:
/// TRANSACTIONAL_ID_NOT_FOUND, TRANSACTIONAL_ID_AUTHORIZATION_FAILED (Describe).
pub fn describe_transactions(
    broker: &KafkaBroker,
    origin: &Origin,
    r: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let states = r
        .transactional_ids
        .into_iter()
        .map(|id| {
            let name = id.0.to_string();
            let out = describe_transactions_response::TransactionState::default()
                .with_transactional_id(id)
                .with_transaction_state(s(""))
                .with_transaction_start_time_ms(-1)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1);
            if !allowed(broker, origin, AclResourceType::TransactionalId, &name, AclOperation::Describe) {
                return out.with_error_code(code::TRANSACTIONAL_ID_AUTHORIZATION_FAILED);
            }
            let entries = broker.txns.entries.lock();
            let Some(e) = entries.get(&(origin.instance.clone(), name)) else {
                return out.with_error_code(txn_code::TRANSACTIONAL_ID_NOT_FOUND);
            };
            let mut topics: Vec<describe_transactions_response::TopicData> = Vec::new();
            for (t, p) in &e.partitions {
                match topics.last_mut() {
                    Some(last) if *last.topic.0 == **t => last.partitions.push(*p),
                    _ => topics.push(
                        describe_transactions_response::TopicData::default()
                            .with_topic(TopicName(s(t.clone())))
                            .with_partitions(vec![*p]),
                    ),
                }
            }
            out.with_transaction_state(s(e.state.as_str()))
                .with_transaction_timeout_ms(e.timeout_ms)
                .with_transaction_start_time_ms(e.started_ms)
                .with_producer_id(ProducerId(e.producer_id))
                .with_producer_epoch(e.epoch)
                .with_topics(topics)
        })
        .collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}

/// ListTransactions v0-1 (KIP-664): the instance's transactional ids the caller may Describe, filtered by
/// state names (unknown names are echoed in `unknown_state_filters`), producer ids and (v1) a minimum
/// running time in ms, measured from the transaction's start as Kafka does (-1 for ids with none open).
pub fn list_transactions(
    broker: &KafkaBroker,
    origin: &Origin,
    r: ListTransactionsRequest,
) -> ListTransactionsResponse {
    const STATES: [TxnState; 4] =
        [TxnState::Empty, TxnState::Ongoing, TxnState::CompleteCommit, TxnState::CompleteAbort];
    // Kafka's other states (PrepareCommit, PrepareAbort, Dead, PrepareEpochFence) are known names that
    // never match here: markers are written before EndTxn answers.
    const OTHER: [&str; 4] = ["PrepareCommit", "PrepareAbort", "Dead", "PrepareEpochFence"];
    let unknown: Vec<_> = r
        .state_filters
        .iter()
        .filter(|f| !STATES.iter().any(|st| st.as_str() == &***f) && !OTHER.contains(&&***f))
        .cloned()
        .collect();
    let now = crate::engine::now_ms();
    let mut listed: Vec<(String, i64, TxnState)> = broker
        .txns
        .entries
        .lock()
        .iter()
        .filter(|((i, _), _)| *i == origin.instance)
        .filter(|(_, e)| r.state_filters.is_empty() || r.state_filters.iter().any(|f| &**f == e.state.as_str()))
        .filter(|(_, e)| r.producer_id_filters.is_empty() || r.producer_id_filters.contains(&ProducerId(e.producer_id)))
        .filter(|(_, e)| r.duration_filter < 0 || now - e.started_ms >= r.duration_filter)
        .map(|((_, id), e)| (id.clone(), e.producer_id, e.state))
        .collect();
    listed.retain(|(id, _, _)| allowed(broker, origin, AclResourceType::TransactionalId, id, AclOperation::Describe));
    listed.sort_by(|a, b| a.0.cmp(&b.0));
    let states = listed
        .into_iter()
        .map(|(id, pid, state)| {
            list_transactions_response::TransactionState::default()
                .with_transactional_id(TransactionalId(s(id)))
                .with_producer_id(ProducerId(pid))
                .with_transaction_state(s(state.as_str()))
        })
        .collect();
    ListTransactionsResponse::default().with_unknown_state_filters(unknown).with_transaction_states(states)
}
