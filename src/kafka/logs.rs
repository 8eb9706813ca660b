//! The partition logs of every instance, with the idempotent-producer state kept beside each log.
//!
//! A log is keyed by instance, topic name, the topic's creation time and partition: a topic deleted and
//! created again under its old name starts empty, and a stale log is never served. On disk:
//! `<data-dir>/logs/<instance>/<topic>~<created-ms>/<partition>/` (names are hex-escaped when they hold
//! anything but `[A-Za-z0-9._-]`).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use bytes::Bytes;

use crate::storage::log::{control_batch, control_marker, BatchHeader, LogError, Marker, PartitionLog};

/// Identifies one partition log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartKey {
    pub instance: String,
    pub topic: String,
    pub topic_created_ms: i64,
    pub partition: u32,
}

/// The last batches an idempotent producer wrote to a partition (Kafka keeps five).
#[derive(Debug, Clone, Default)]
pub struct ProducerSeq {
    pub epoch: i16,
    /// (base sequence, last sequence, base offset) of the newest batches, oldest first.
    pub recent: VecDeque<(i32, i32, i64)>,
}

/// What the sequence check decided for a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqCheck {
    /// Append it.
    Append,
    /// Already written at this base offset: answer success without appending again.
    Duplicate(i64),
    /// Kafka's OUT_OF_ORDER_SEQUENCE_NUMBER.
    OutOfOrder,
    /// Kafka's INVALID_PRODUCER_EPOCH (a fenced, older producer).
    FencedEpoch,
}

impl ProducerSeq {
    /// Checks a batch (epoch, first and last sequence) against what this producer wrote before.
    pub fn check(&self, epoch: i16, base_seq: i32, last_seq: i32) -> SeqCheck {
        if epoch < self.epoch {
            return SeqCheck::FencedEpoch;
        }
        if epoch > self.epoch || self.recent.is_empty() {
            return SeqCheck::Append;
        }
        if let Some((_, _, offset)) = self.recent.iter().find(|(b, l, _)| *b == base_seq && *l == last_seq) {
            return SeqCheck::Duplicate(*offset);
        }
        let expected = self.recent.back().map_or(0, |(_, l, _)| l.wrapping_add(1).max(0));
        if base_seq == expected {
            SeqCheck::Append
        } else {
            SeqCheck::OutOfOrder
        }
    }

    /// Remembers an appended batch.
    pub fn record(&mut self, epoch: i16, base_seq: i32, last_seq: i32, base_offset: i64) {
        if epoch != self.epoch {
            self.epoch = epoch;
            self.recent.clear();
        }
        self.recent.push_back((base_seq, last_seq, base_offset));
        while self.recent.len() > 5 {
            self.recent.pop_front();
        }
    }
}

/// An aborted transaction in one partition: the producer, the offset of its first batch here and the
/// offset of its ABORT marker (Kafka's `AbortedTxn` index entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTxn {
    pub producer_id: i64,
    pub first_offset: i64,
    pub last_offset: i64,
}

/// The transactions a partition's log holds (KIP-98), derived from its batches: open ones bound the last
/// stable offset (LSO), aborted ones are listed to read_committed fetches so consumers drop their records.
/// Rebuilt from the log's transactional batches and control batches when the log is opened, so outcomes
/// read the same after a restart.
#[derive(Debug, Default)]
pub struct PartTxns {
    /// Producer id -> (first offset of its open transaction here, its epoch).
    pub open: BTreeMap<i64, (i64, i16)>,
    /// Aborted transactions, in the order of their markers.
    pub aborted: Vec<AbortedTxn>,
}

impl PartTxns {
    /// Follows one batch written at `base_offset`: a transactional data batch opens (or continues) its
    /// producer's transaction, a control batch ends it (an ABORT recorded with its range).
    pub fn observe(&mut self, h: &BatchHeader, data: &Bytes, base_offset: i64) {
        if !h.is_transactional() {
            return;
        }
        if h.is_control() {
            let first = self.open.remove(&h.producer_id);
            if let (Some((first, _)), Some(Marker::Abort)) = (first, control_marker(data)) {
                self.aborted.push(AbortedTxn {
                    producer_id: h.producer_id,
                    first_offset: first,
                    last_offset: base_offset,
                });
            }
        } else {
            self.open.entry(h.producer_id).or_insert((base_offset, h.producer_epoch));
        }
    }

    /// The last stable offset: the first offset of the oldest open transaction, else the end offset.
    pub fn last_stable_offset(&self, end_offset: i64) -> i64 {
        self.open.values().map(|(first, _)| *first).min().map_or(end_offset, |f| f.min(end_offset))
    }

    /// Aborted transactions that overlap the offsets `[from, to)` (what a read_committed fetch of that
    /// range must be told about).
    pub fn aborted_in(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.aborted.iter().filter(|a| a.last_offset >= from && a.first_offset < to).copied().collect()
    }

    /// Forgets aborted transactions wholly before the log start (retention removed them).
    pub fn forget_before(&mut self, log_start: i64) {
        self.aborted.retain(|a| a.last_offset >= log_start);
    }
}

/// A partition's log, its producers' sequence state and its transactions, behind one lock.
#[derive(Debug)]
pub struct Part {
    pub log: PartitionLog,
    pub producers: HashMap<i64, ProducerSeq>,
    pub txns: PartTxns,
}

impl Part {
    /// The partition's last stable offset, within `[log start, end]` (an open transaction whose first
    /// records were removed by an admin reset does not hold it below the log start).
    pub fn last_stable_offset(&self) -> i64 {
        self.txns.last_stable_offset(self.log.end_offset()).max(self.log.log_start_offset())
    }

    /// Writes a transaction marker (COMMIT or ABORT control batch) for a producer and ends its open
    /// transaction here. Returns the marker's offset.
    pub fn append_marker(&mut self, producer_id: i64, epoch: i16, marker: Marker) -> Result<i64, LogError> {
        let batch = control_batch(producer_id, epoch, marker, crate::engine::now_ms())?;
        let h = BatchHeader::parse(&batch)?;
        let a = self.log.append(&h, &batch)?;
        self.txns.observe(&h, &batch, a.base_offset);
        Ok(a.base_offset)
    }
}

/// Every open partition log.
pub struct Logs {
    root: Option<PathBuf>,
    parts: Mutex<HashMap<PartKey, Arc<Mutex<Part>>>>,
}

fn escape(name: &str) -> String {
    if !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && name != "."
        && name != ".."
    {
        name.to_string()
    } else {
        format!("x{}", hex::encode(name.as_bytes()))
    }
}

impl Logs {
    /// Logs under `root` (`<data-dir>/logs`), or in memory only.
    pub fn new(root: Option<PathBuf>) -> Logs {
        Logs { root, parts: Mutex::new(HashMap::new()) }
    }

    /// The folder the logs are stored under (`<data-dir>/logs`), None in memory.
    pub fn root(&self) -> Option<&std::path::Path> {
        self.root.as_deref()
    }

    fn topic_dir(&self, instance: &str, topic: &str, created_ms: i64) -> Option<PathBuf> {
        self.root.as_ref().map(|r| r.join(escape(instance)).join(format!("{}~{created_ms}", escape(topic))))
    }

    /// The log of one partition, opened (and recovered) on first use.
    pub fn get(&self, key: &PartKey) -> std::io::Result<Arc<Mutex<Part>>> {
        if let Some(p) = self.parts.lock().get(key) {
            return Ok(p.clone());
        }
        let log = match self.topic_dir(&key.instance, &key.topic, key.topic_created_ms) {
            Some(dir) => PartitionLog::open(&dir.join(key.partition.to_string()))?,
            None => PartitionLog::in_memory(),
        };
        // Idempotent producers' last sequences come back from the batch headers, so a retry of a batch
        // acknowledged before a restart is still recognised as a duplicate.
        let mut producers: HashMap<i64, ProducerSeq> = HashMap::new();
        for b in log.batches() {
            let Ok(h) = crate::storage::log::BatchHeader::parse(&b.data) else { continue };
            if h.producer_id >= 0 && h.base_sequence >= 0 {
                let last_seq = h.base_sequence.wrapping_add(h.last_offset_delta);
                producers.entry(h.producer_id).or_default().record(
                    h.producer_epoch,
                    h.base_sequence,
                    last_seq,
                    b.base_offset,
                );
            }
        }
        let mut txns = PartTxns::default();
        for b in log.batches() {
            if let Ok(h) = BatchHeader::parse(&b.data) {
                txns.observe(&h, &b.data, b.base_offset);
            }
        }
        let mut part = Part { log, producers, txns };
        // The transaction coordinator's state is not kept across restarts: a transaction still open in a
        // recovered log is aborted, as a real broker's coordinator would once its timeout passed.
        let open: Vec<(i64, i16)> = part.txns.open.iter().map(|(pid, (_, epoch))| (*pid, *epoch)).collect();
        for (pid, epoch) in open {
            tracing::info!(topic = %key.topic, partition = key.partition, producer_id = pid, "aborting a transaction left open");
            part.append_marker(pid, epoch, Marker::Abort).map_err(|e| std::io::Error::other(e.to_string()))?;
        }
        let mut parts = self.parts.lock();
        Ok(parts.entry(key.clone()).or_insert_with(|| Arc::new(Mutex::new(part))).clone())
    }

    /// Every open log key.
    pub fn keys(&self) -> Vec<PartKey> {
        self.parts.lock().keys().cloned().collect()
    }

    /// Forgets logs whose topic (by name and creation time) no longer exists, and removes their files,
    /// including directories of topics deleted while localyun was down. `live(instance, topic,
    /// created_ms)` says whether a topic exists.
    pub fn drop_deleted(&self, live: impl Fn(&str, &str, i64) -> bool) {
        let gone: Vec<PartKey> =
            self.parts.lock().keys().filter(|k| !live(&k.instance, &k.topic, k.topic_created_ms)).cloned().collect();
        for k in &gone {
            self.parts.lock().remove(k);
        }
        let Some(root) = &self.root else { return };
        let Ok(instances) = std::fs::read_dir(root) else { return };
        for inst in instances.filter_map(|e| e.ok()) {
            let Ok(topics) = std::fs::read_dir(inst.path()) else { continue };
            for t in topics.filter_map(|e| e.ok()) {
                let name = t.file_name().to_string_lossy().to_string();
                let Some((topic, created)) = name.rsplit_once('~') else { continue };
                let Ok(created) = created.parse::<i64>() else { continue };
                let inst_name = inst.file_name().to_string_lossy().to_string();
                let decode = |s: &str| -> String {
                    s.strip_prefix('x')
                        .and_then(|h| hex::decode(h).ok())
                        .and_then(|b| String::from_utf8(b).ok())
                        .filter(|d| escape(d) == s)
                        .unwrap_or_else(|| s.to_string())
                };
                if !live(&decode(&inst_name), &decode(topic), created) {
                    let _ = std::fs::remove_dir_all(t.path());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{Bytes, BytesMut};
    use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};

    fn idempotent_batch(producer_id: i64, first_seq: i32, n: i32) -> Bytes {
        let records: Vec<Record> = (0..n)
            .map(|i| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id,
                producer_epoch: 0,
                timestamp_type: TimestampType::Creation,
                offset: i64::from(i),
                sequence: first_seq + i,
                timestamp: 1_000,
                key: None,
                value: Some(Bytes::from_static(b"v")),
                headers: Default::default(),
            })
            .collect();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            &records,
            &RecordEncodeOptions { version: 2, compression: Compression::None },
        )
        .unwrap();
        buf.freeze()
    }

    fn txn_batch(producer_id: i64, first_seq: i32) -> Bytes {
        let record = Record {
            transactional: true,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id,
            producer_epoch: 3,
            timestamp_type: TimestampType::Creation,
            offset: 0,
            sequence: first_seq,
            timestamp: 1_000,
            key: None,
            value: Some(Bytes::from_static(b"t")),
            headers: Default::default(),
        };
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            [&record],
            &RecordEncodeOptions { version: 2, compression: Compression::None },
        )
        .unwrap();
        buf.freeze()
    }

    #[test]
    fn transaction_outcomes_are_recovered_and_open_ones_aborted_on_open() {
        let root =
            std::env::temp_dir().join(format!("localyun-txns-{}-{}", std::process::id(), crate::engine::now_ms()));
        let key = PartKey { instance: "i".into(), topic: "t".into(), topic_created_ms: 1, partition: 0 };
        {
            let logs = Logs::new(Some(root.clone()));
            let part = logs.get(&key).unwrap();
            let mut p = part.lock();
            let append = |p: &mut Part, b: Bytes| {
                let batches = crate::storage::log::split_batches(&b).unwrap();
                let (h, data) = &batches[0];
                let a = p.log.append(h, data).unwrap();
                p.txns.observe(h, data, a.base_offset);
            };
            append(&mut p, txn_batch(1, 0)); // 0: producer 1, committed at 1
            assert_eq!(p.txns.last_stable_offset(p.log.end_offset()), 0);
            assert_eq!(p.append_marker(1, 3, Marker::Commit).unwrap(), 1);
            append(&mut p, txn_batch(2, 0)); // 2: producer 2, aborted at 3
            assert_eq!(p.append_marker(2, 3, Marker::Abort).unwrap(), 3);
            append(&mut p, txn_batch(3, 0)); // 4: producer 3, left open
            assert_eq!(p.txns.last_stable_offset(p.log.end_offset()), 4);
            p.log.sync().unwrap();
        }
        let logs = Logs::new(Some(root.clone()));
        let part = logs.get(&key).unwrap();
        let p = part.lock();
        // The open transaction got an ABORT marker at 5 when the log was opened again.
        assert_eq!(p.log.end_offset(), 6);
        assert!(p.txns.open.is_empty());
        assert_eq!(p.txns.last_stable_offset(6), 6);
        let ranges: Vec<(i64, i64, i64)> =
            p.txns.aborted.iter().map(|a| (a.producer_id, a.first_offset, a.last_offset)).collect();
        assert_eq!(ranges, vec![(2, 2, 3), (3, 4, 5)]);
        assert_eq!(p.txns.aborted_in(0, 2).len(), 0);
        assert_eq!(p.txns.aborted_in(3, 6).len(), 2);
        drop(p);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn producer_sequences_are_recovered_from_the_log() {
        let root =
            std::env::temp_dir().join(format!("localyun-logs-{}-{}", std::process::id(), crate::engine::now_ms()));
        let key = PartKey { instance: "i".into(), topic: "t".into(), topic_created_ms: 1, partition: 0 };
        {
            let logs = Logs::new(Some(root.clone()));
            let part = logs.get(&key).unwrap();
            let mut p = part.lock();
            for (first, n) in [(0, 3), (3, 2)] {
                let batches = crate::storage::log::split_batches(&idempotent_batch(7, first, n)).unwrap();
                let (h, data) = &batches[0];
                p.log.append(h, data).unwrap();
            }
            p.log.sync().unwrap();
        }
        let logs = Logs::new(Some(root.clone()));
        let part = logs.get(&key).unwrap();
        let p = part.lock();
        assert_eq!(p.log.end_offset(), 5);
        let seq = p.producers.get(&7).expect("producer 7 recovered");
        assert_eq!(seq.check(0, 3, 4), SeqCheck::Duplicate(3));
        assert_eq!(seq.check(0, 5, 5), SeqCheck::Append);
        assert_eq!(seq.check(0, 9, 9), SeqCheck::OutOfOrder);
        drop(p);
        // A topic that no longer exists loses its files.
        logs.drop_deleted(|_, _, _| false);
        assert!(std::fs::read_dir(root.join("i")).unwrap().next().is_none());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
