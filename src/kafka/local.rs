//! In-process producer and consumer for the rest of localyun: EventGrid's Kafka targets, Kafka dead-letter
//! queues and event streams, and the admin record view reach the Kafka data plane here, never through its
//! internals. Records written here are ordinary record batches (v2, uncompressed) in the same partition
//! logs that Kafka clients read, so a client consuming the topic sees them, and the management APIs'
//! offsets move as they do for a client's produce.
//!
//! Reach the running data plane with [`crate::state::AppState::kafka`] (None when `LOCALYUN_KAFKA=off`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::cluster::{self, TopicInfo};
use super::handlers::{append_batches, code};
use super::logs::PartKey;
use super::KafkaBroker;
use crate::storage::log::split_batches;

/// A record to write: key, value and headers (header values may be null, as in Kafka).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRecord {
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// A stored record as a consumer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRecord {
    pub partition: u32,
    pub offset: i64,
    /// Unix ms (create time as the producer set it).
    pub timestamp_ms: i64,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// A partition's offsets: `[log_start_offset, high_watermark)` holds its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionOffsets {
    pub partition: u32,
    pub log_start_offset: i64,
    pub high_watermark: i64,
}

/// Why an in-process produce or read failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalError {
    #[error("no Kafka instance {0} is served here")]
    UnknownInstance(String),
    #[error("topic {topic} does not exist in Kafka instance {instance}")]
    UnknownTopic { instance: String, topic: String },
    #[error("partition {partition} does not exist in topic {topic}")]
    UnknownPartition { topic: String, partition: u32 },
    #[error("offset {offset} is outside the log of {topic}-{partition}")]
    OffsetOutOfRange { topic: String, partition: u32, offset: i64 },
    /// The log refused or failed the write (Kafka error code and message).
    #[error("Kafka error {code}: {message}")]
    Kafka { code: i16, message: String },
}

/// Round-robin position for records without a key (one counter is enough: spreading is all it is for).
static ROUND_ROBIN: AtomicU64 = AtomicU64::new(0);

/// Kafka's murmur2 (the Java client's `Utils.murmur2`), so keyed records land in the partition a Java,
/// kafka-python or librdkafka (`murmur2_random`) producer would choose.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    let mut h: u32 = SEED ^ (len as u32);
    let chunks = data.chunks_exact(4);
    let tail = chunks.remainder();
    for c in chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for a key among `partitions` (`toPositive(murmur2) %
/// n`); records without a key go round robin.
pub fn partition_for(key: Option<&[u8]>, partitions: u32) -> u32 {
    let n = partitions.max(1);
    match key {
        Some(k) => ((murmur2(k) & 0x7fff_ffff) as u32) % n,
        None => (ROUND_ROBIN.fetch_add(1, Ordering::Relaxed) % u64::from(n)) as u32,
    }
}

impl KafkaBroker {
    /// The instance id a name refers to: an instance id as either management API shows it, or a
    /// `host:port` bootstrap address one of the listeners answers (EventGrid connections name Kafka by
    /// address). None when nothing local matches.
    pub fn resolve_instance(&self, name_or_address: &str) -> Option<String> {
        let wanted = name_or_address.trim();
        let instances = cluster::instances(&self.state);
        if let Some(i) = instances.iter().find(|i| i.id == wanted) {
            return Some(i.id.clone());
        }
        // A bootstrap list: the first address that names a local listener wins.
        for addr in wanted.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            let Some((host, port)) = addr.rsplit_once(':') else { continue };
            let Ok(port) = port.parse::<u16>() else { continue };
            let local_host = matches!(host, "127.0.0.1" | "localhost" | "::1" | "[::1]" | "0.0.0.0")
                || self.options.advertised_host.as_deref() == Some(host)
                || host == self.options.listen_host.to_string();
            let listeners = self.listeners.lock();
            if let Some(l) = listeners.values().find(|l| l.addr.port() == port && local_host) {
                return Some(l.instance.clone());
            }
            drop(listeners);
            if let Some(i) = instances.iter().find(|i| i.vip == host && i.vport == port) {
                return Some(i.id.clone());
            }
        }
        None
    }

    fn topic_of(&self, instance: &str, topic: &str) -> Result<TopicInfo, LocalError> {
        if !cluster::instance_exists(&self.state, instance) {
            return Err(LocalError::UnknownInstance(instance.to_string()));
        }
        cluster::topic(&self.state, instance, topic)
            .ok_or_else(|| LocalError::UnknownTopic { instance: instance.to_string(), topic: topic.to_string() })
    }

    /// Writes records to a topic as one batch: to `partition` when given, else by the first record's key
    /// (Kafka's default partitioner) or round robin. Acknowledged like `acks=all`: with `--data-dir` the
    /// batch is fsynced before this returns. Returns the partition and the offset of the first record.
    /// Long-polling fetches of Kafka clients wake at once.
    pub async fn produce_local(
        &self,
        instance: &str,
        topic: &str,
        partition: Option<u32>,
        records: &[NewRecord],
    ) -> Result<(u32, i64), LocalError> {
        let t = self.topic_of(instance, topic)?;
        let partition = match partition {
            Some(p) if p < t.partitions => p,
            Some(p) => return Err(LocalError::UnknownPartition { topic: topic.to_string(), partition: p }),
            None => partition_for(records.first().and_then(|r| r.key.as_deref()), t.partitions),
        };
        if records.is_empty() {
            return Err(LocalError::Kafka { code: code::INVALID_REQUEST, message: "no records to write".into() });
        }
        let now = crate::engine::now_ms();
        let batch: Vec<Record> = records
            .iter()
            .enumerate()
            .map(|(i, r)| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: -1,
                timestamp: now,
                key: r.key.clone(),
                value: r.value.clone(),
                headers: r.headers.iter().map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone())).collect(),
            })
            .collect();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            &batch,
            &RecordEncodeOptions { version: 2, compression: Compression::None },
        )
        .map_err(|e| LocalError::Kafka { code: code::CORRUPT_MESSAGE, message: e.to_string() })?;
        let batches = split_batches(&buf.freeze())
            .map_err(|e| LocalError::Kafka { code: code::CORRUPT_MESSAGE, message: e.to_string() })?;
        let out = append_batches(self, instance, &t, partition, &batches, true)
            .map_err(|(code, message)| LocalError::Kafka { code, message })?;
        if out.error != code::NONE {
            return Err(LocalError::Kafka { code: out.error, message: "the partition log refused the batch".into() });
        }
        if let Some(f) = out.sync {
            let synced = tokio::task::spawn_blocking(move || f.sync_data()).await;
            if !matches!(synced, Ok(Ok(()))) {
                return Err(LocalError::Kafka { code: code::KAFKA_STORAGE_ERROR, message: "fsync failed".into() });
            }
        }
        if out.appended {
            self.appended.send_modify(|v| *v = v.wrapping_add(1));
        }
        Ok((partition, out.first_offset.unwrap_or(out.end_offset)))
    }

    /// Every partition's offsets of a topic.
    pub fn partition_offsets(&self, instance: &str, topic: &str) -> Result<Vec<PartitionOffsets>, LocalError> {
        let t = self.topic_of(instance, topic)?;
        (0..t.partitions)
            .map(|p| {
                let part = self
                    .logs
                    .get(&key(instance, &t, p))
                    .map_err(|e| LocalError::Kafka { code: code::KAFKA_STORAGE_ERROR, message: e.to_string() })?;
                let part = part.lock();
                Ok(PartitionOffsets {
                    partition: p,
                    log_start_offset: part.log.log_start_offset(),
                    high_watermark: part.log.end_offset(),
                })
            })
            .collect()
    }

    /// Empties every partition of a topic (admin reset): each log start moves to its high watermark, so
    /// offsets keep counting and the management APIs report the new start (GetTopicStatus MinOffset,
    /// lag). Consumers whose committed offset is below the new start get OFFSET_OUT_OF_RANGE and follow
    /// their reset policy, as after Kafka's DeleteRecords. Returns the partitions' offsets after it.
    pub fn reset_topic(&self, instance: &str, topic: &str) -> Result<Vec<PartitionOffsets>, LocalError> {
        let t = self.topic_of(instance, topic)?;
        let mut out = Vec::new();
        for p in 0..t.partitions {
            let storage =
                |e: std::io::Error| LocalError::Kafka { code: code::KAFKA_STORAGE_ERROR, message: e.to_string() };
            let part = self.logs.get(&key(instance, &t, p)).map_err(storage)?;
            let (start, end, last) = {
                let mut part = part.lock();
                part.log.truncate_to_end().map_err(storage)?;
                (part.log.log_start_offset(), part.log.end_offset(), part.log.last_append_ms())
            };
            cluster::record_log_offsets(&self.state, instance, &t.name, p, start, end, last);
            out.push(PartitionOffsets { partition: p, log_start_offset: start, high_watermark: end });
        }
        Ok(out)
    }

    /// Up to `max_records` records of one partition from `offset` on, without consuming (no group, no
    /// committed offset moves). An offset at the high watermark answers an empty list; one outside the
    /// log answers [`LocalError::OffsetOutOfRange`].
    pub fn read_local(
        &self,
        instance: &str,
        topic: &str,
        partition: u32,
        offset: i64,
        max_records: usize,
    ) -> Result<Vec<LocalRecord>, LocalError> {
        let t = self.topic_of(instance, topic)?;
        if partition >= t.partitions {
            return Err(LocalError::UnknownPartition { topic: topic.to_string(), partition });
        }
        let part = self
            .logs
            .get(&key(instance, &t, partition))
            .map_err(|e| LocalError::Kafka { code: code::KAFKA_STORAGE_ERROR, message: e.to_string() })?;
        let mut out = Vec::new();
        let mut next = offset;
        while out.len() < max_records {
            // Read a bounded slice of batches under the lock, decode them outside it.
            let batches = {
                let p = part.lock();
                if next == p.log.end_offset() && next >= p.log.log_start_offset() {
                    break;
                }
                p.log.read(next, 1024 * 1024).ok_or_else(|| LocalError::OffsetOutOfRange {
                    topic: topic.to_string(),
                    partition,
                    offset: next,
                })?
            };
            if batches.is_empty() {
                break;
            }
            let before = out.len();
            for b in batches {
                let mut buf = b;
                let Ok(set) = RecordBatchDecoder::decode(&mut buf) else { continue };
                for r in set.records {
                    if r.offset < next || r.control || out.len() >= max_records {
                        continue;
                    }
                    next = r.offset + 1;
                    out.push(LocalRecord {
                        partition,
                        offset: r.offset,
                        timestamp_ms: r.timestamp,
                        key: r.key,
                        value: r.value,
                        headers: r.headers.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                    });
                }
            }
            if out.len() == before {
                break;
            }
        }
        Ok(out)
    }
}

// ---- Added for EventGrid's event-router jobs (topic_regex needs the topic names); not part of the lead's
// original contract, additive only. ----

impl KafkaBroker {
    /// The names of an instance's topics, sorted.
    pub fn topic_names(&self, instance: &str) -> Result<Vec<String>, LocalError> {
        let mut names: Vec<String> = cluster::topics(&self.state, instance)
            .ok_or_else(|| LocalError::UnknownInstance(instance.to_string()))?
            .into_iter()
            .map(|t| t.name)
            .collect();
        names.sort();
        Ok(names)
    }
}

fn key(instance: &str, t: &TopicInfo, partition: u32) -> PartKey {
    PartKey { instance: instance.to_string(), topic: t.name.clone(), topic_created_ms: t.created_at_ms, partition }
}

/// Where the running data plane is kept in the application state: set once when it starts, held weakly so
/// the broker (which holds the state) and the state do not keep each other alive.
#[derive(Default)]
pub struct Handle(std::sync::OnceLock<std::sync::Weak<KafkaBroker>>);

impl Handle {
    /// Records the running broker (the first one wins; a state serves one data plane).
    pub(crate) fn set(&self, broker: &Arc<KafkaBroker>) {
        let _ = self.0.set(Arc::downgrade(broker));
    }

    /// The running broker, if it is running.
    pub fn get(&self) -> Option<Arc<KafkaBroker>> {
        self.0.get().and_then(std::sync::Weak::upgrade)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_matches_kafka() {
        // Vectors from Kafka's UtilsTest.testMurmur2.
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
            (b"abc", 479470107),
        ];
        for (data, want) in cases {
            assert_eq!(murmur2(data), want, "{:?}", String::from_utf8_lossy(data));
        }
    }

    #[test]
    fn keys_pick_stable_partitions() {
        let p = partition_for(Some(b"order-1"), 6);
        assert!(p < 6);
        assert_eq!(partition_for(Some(b"order-1"), 6), p);
        let spread: std::collections::HashSet<u32> = (0..12).map(|_| partition_for(None, 3)).collect();
        assert_eq!(spread.len(), 3);
    }
}
