//! The partition logs of every instance, with the idempotent-producer state kept beside each log.
//!
//! A log is keyed by instance, topic name, the topic's creation time and partition: a topic deleted and
//! created again under its old name starts empty, and a stale log is never served. On disk:
//! `<data-dir>/logs/<instance>/<topic>~<created-ms>/<partition>/` (names are hex-escaped when they hold
//! anything but `[A-Za-z0-9._-]`).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::storage::log::PartitionLog;

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

/// A partition's log and its producers' sequence state, behind one lock.
#[derive(Debug)]
pub struct Part {
    pub log: PartitionLog,
    pub producers: HashMap<i64, ProducerSeq>,
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
        let mut parts = self.parts.lock();
        Ok(parts.entry(key.clone()).or_insert_with(|| Arc::new(Mutex::new(Part { log, producers }))).clone())
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
