//! The append-only message log of one Kafka partition (and, later, of one RocketMQ queue).
//!
//! What is stored is exactly what producers sent: Kafka record batches (magic v2, any codec), with only
//! the batch's base offset (and partition leader epoch) rewritten to the offset the log assigns. Neither
//! field is covered by the batch CRC (it starts at the attributes), so batches are never re-encoded and a
//! fetch returns them byte for byte. Each batch is indexed by base offset, last offset and max timestamp
//! (read from its 61-byte header), so fetches and timestamp look-ups are a binary search.
//!
//! Storage: always in memory; with a directory (`<data-dir>/logs/<instance>/<topic>/<partition>`) every
//! batch is also appended to segment files named by their first offset (`00000000000000000042.log`, the
//! batches back to back as in Kafka's own `.log` files). Durability per acks: `append` writes to the file
//! (so an acknowledged `acks=1` produce survives a `kill -9` of localyun: the data is in the OS page cache,
//! not yet necessarily on the disk), and [`PartitionLog::sync`] fsyncs it, which the broker does before
//! answering an `acks=all` produce (which so survives power loss too). At open, segments are read back
//! and each batch's CRC is checked; a torn or damaged tail is truncated away (the producer was never
//! acknowledged for it). Retention drops whole batches (in memory) and whole closed segments (on disk)
//! whose newest record is older than the topic's retention.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

/// Size of the fixed v2 record batch header (up to and including the record count).
pub const BATCH_HEADER_LEN: usize = 61;
/// Default size at which a segment file is closed and a new one started.
pub const DEFAULT_SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// The file beside a partition's segments that records a log start set by DeleteRecords (the offset in
/// decimal). Its name does not end in `.log`, so it is never read as a segment.
pub const START_CHECKPOINT: &str = "log-start-offset.checkpoint";

/// The log start recorded in a partition directory, if any (an unreadable file counts as none).
fn read_start_checkpoint(dir: &Path) -> Option<i64> {
    std::fs::read_to_string(dir.join(START_CHECKPOINT)).ok()?.trim().parse::<i64>().ok().filter(|o| *o >= 0)
}

/// Why a produced batch was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// Not a well-formed v2 batch: short, wrong magic, length mismatch or CRC mismatch (Kafka's
    /// `CORRUPT_MESSAGE`).
    #[error("corrupt record batch: {0}")]
    Corrupt(String),
    /// Writing the segment file failed (Kafka's `KAFKA_STORAGE_ERROR`).
    #[error("log storage error: {0}")]
    Storage(String),
}

/// The header fields of one v2 record batch that the log indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    /// Bytes after the length field (the whole batch is `batch_length + 12` bytes).
    pub batch_length: i32,
    pub magic: i8,
    pub attributes: i16,
    pub last_offset_delta: i32,
    /// Unix ms of the first record.
    pub first_timestamp: i64,
    /// Unix ms of the newest record.
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

impl BatchHeader {
    /// Reads the fixed header at the start of `buf` (the Kafka protocol's RecordBatch v2 layout).
    pub fn parse(buf: &[u8]) -> Result<BatchHeader, LogError> {
        if buf.len() < BATCH_HEADER_LEN {
            return Err(LogError::Corrupt(format!("batch of {} bytes is shorter than its header", buf.len())));
        }
        let i64_at = |o: usize| i64::from_be_bytes(buf[o..o + 8].try_into().unwrap_or([0; 8]));
        let i32_at = |o: usize| i32::from_be_bytes(buf[o..o + 4].try_into().unwrap_or([0; 4]));
        let i16_at = |o: usize| i16::from_be_bytes(buf[o..o + 2].try_into().unwrap_or([0; 2]));
        Ok(BatchHeader {
            base_offset: i64_at(0),
            batch_length: i32_at(8),
            magic: buf[16] as i8,
            attributes: i16_at(21),
            last_offset_delta: i32_at(23),
            first_timestamp: i64_at(27),
            max_timestamp: i64_at(35),
            producer_id: i64_at(43),
            producer_epoch: i16_at(51),
            base_sequence: i32_at(53),
            records_count: i32_at(57),
        })
    }

    /// The batch's compression codec (attributes bits 0-2: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn codec(&self) -> i16 {
        self.attributes & 0x7
    }

    /// Whether the batch belongs to a transaction (attributes bit 4).
    pub fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }

    /// Whether the batch holds control records (attributes bit 5): a transaction marker (KIP-98), which
    /// takes an offset in the log but is never shown to applications.
    pub fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }
}

/// A transaction marker's outcome: the type field of a control record's key (Kafka's
/// `ControlRecordType`: 0 ABORT, 1 COMMIT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Abort,
    Commit,
}

/// Builds the control batch that ends a producer's transaction in one partition (KIP-98 "transaction
/// markers"): one control record, transactional and control attribute bits set, sequence -1. Its key is
/// the `ControlRecordType` (version 0, type) and its value the `EndTxnMarker` (version 0, coordinator
/// epoch 0), as Kafka's `EndTransactionMarker` writes them. `timestamp_ms` is the record's time.
pub fn control_batch(
    producer_id: i64,
    producer_epoch: i16,
    marker: Marker,
    timestamp_ms: i64,
) -> Result<Bytes, LogError> {
    use kafka_protocol::protocol::Encodable;
    use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
    // The key has no generated message type in the crate: two int16, version 0 and the marker type.
    let mut key = BytesMut::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&(marker as i16).to_be_bytes());
    let mut value = BytesMut::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    kafka_protocol::messages::EndTxnMarker::default()
        .encode(&mut value, 0)
        .map_err(|e| LogError::Corrupt(e.to_string()))?;
    let record = Record {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id,
        producer_epoch,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: timestamp_ms,
        key: Some(key.freeze()),
        value: Some(value.freeze()),
        headers: Default::default(),
    };
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        [&record],
        &RecordEncodeOptions { version: 2, compression: Compression::None },
    )
    .map_err(|e| LogError::Corrupt(e.to_string()))?;
    Ok(buf.freeze())
}

/// The outcome a control batch records (None when it is not a readable transaction marker). Only
/// uncompressed control batches exist (the broker writes them), so the first record's key is read.
pub fn control_marker(batch: &Bytes) -> Option<Marker> {
    let mut b = batch.clone();
    let set = kafka_protocol::records::RecordBatchDecoder::decode(&mut b).ok()?;
    let key = set.records.first()?.key.clone()?;
    match i16::from_be_bytes([*key.get(2)?, *key.get(3)?]) {
        0 => Some(Marker::Abort),
        1 => Some(Marker::Commit),
        _ => None,
    }
}

/// Splits a produce request's record set into batches, checking each one (magic 2, lengths, CRC-32C).
pub fn split_batches(records: &Bytes) -> Result<Vec<(BatchHeader, Bytes)>, LogError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < records.len() {
        let rest = &records[pos..];
        let header = BatchHeader::parse(rest)?;
        if header.magic != 2 {
            return Err(LogError::Corrupt(format!("record batch magic {} (only v2 is supported)", header.magic)));
        }
        let total = usize::try_from(header.batch_length).ok().and_then(|l| l.checked_add(12));
        let total = match total {
            Some(t) if t >= BATCH_HEADER_LEN && t <= rest.len() => t,
            _ => return Err(LogError::Corrupt(format!("batch length {} does not fit", header.batch_length))),
        };
        if header.last_offset_delta < 0 || header.records_count < 0 {
            return Err(LogError::Corrupt("negative record count".into()));
        }
        let batch = records.slice(pos..pos + total);
        check_crc(&batch)?;
        out.push((header, batch));
        pos += total;
    }
    Ok(out)
}

/// Verifies the CRC-32C of one whole batch (it covers attributes to the end).
fn check_crc(batch: &[u8]) -> Result<(), LogError> {
    let mut b = Bytes::copy_from_slice(batch);
    kafka_protocol::records::RecordBatchDecoder::decode_batch_info(&mut b)
        .map(|_| ())
        .map_err(|e| LogError::Corrupt(e.to_string()))
}

/// One stored batch and what the index needs of it.
#[derive(Debug, Clone)]
pub struct StoredBatch {
    pub base_offset: i64,
    pub last_offset: i64,
    pub max_timestamp: i64,
    pub data: Bytes,
}

/// What an append assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub base_offset: i64,
    pub last_offset: i64,
    pub log_start_offset: i64,
}

#[derive(Debug)]
struct Segment {
    base_offset: i64,
    path: PathBuf,
    size: u64,
    max_timestamp: i64,
    /// When this process opened or created it (Unix ms): time-based rolling counts from here.
    opened_ms: i64,
}

/// One partition's log. Not thread-safe by itself: the broker keeps it behind a mutex.
#[derive(Debug, Default)]
pub struct PartitionLog {
    dir: Option<PathBuf>,
    batches: VecDeque<StoredBatch>,
    log_start: i64,
    next_offset: i64,
    last_append_ms: i64,
    segments: Vec<Segment>,
    active: Option<Arc<File>>,
    segment_bytes: u64,
    /// The topic's `segment.ms`: a segment older than this is closed and the next batch starts a new one
    /// (so retention can delete whole files sooner). None: size only.
    segment_ms: Option<i64>,
}

impl PartitionLog {
    /// An empty in-memory log.
    pub fn in_memory() -> PartitionLog {
        PartitionLog { segment_bytes: DEFAULT_SEGMENT_BYTES, ..PartitionLog::default() }
    }

    /// Opens (creating) the log stored in `dir`, recovering every segment. A torn tail (a batch cut short
    /// or whose CRC fails) is truncated away, and so is every later segment.
    pub fn open(dir: &Path) -> std::io::Result<PartitionLog> {
        std::fs::create_dir_all(dir)?;
        let mut names: Vec<(i64, PathBuf)> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let path = e.path();
                let base = path.file_name()?.to_str()?.strip_suffix(".log")?.parse::<i64>().ok()?;
                Some((base, path))
            })
            .collect();
        names.sort();
        let mut log =
            PartitionLog { dir: Some(dir.to_path_buf()), segment_bytes: DEFAULT_SEGMENT_BYTES, ..Default::default() };
        let mut damaged = false;
        for (i, (base, path)) in names.iter().enumerate() {
            if damaged {
                std::fs::remove_file(path)?;
                continue;
            }
            let mut bytes = Vec::new();
            File::open(path)?.read_to_end(&mut bytes)?;
            let bytes = Bytes::from(bytes);
            let mut pos = 0usize;
            let mut max_ts = -1i64;
            while pos < bytes.len() {
                let good = BatchHeader::parse(&bytes[pos..]).ok().and_then(|h| {
                    let total = usize::try_from(h.batch_length).ok()?.checked_add(12)?;
                    if total < BATCH_HEADER_LEN || pos + total > bytes.len() || h.magic != 2 {
                        return None;
                    }
                    check_crc(&bytes[pos..pos + total]).ok()?;
                    Some((h, total))
                });
                let Some((h, total)) = good else {
                    damaged = true;
                    break;
                };
                if log.batches.is_empty() {
                    log.log_start = h.base_offset;
                }
                let last = h.base_offset + i64::from(h.last_offset_delta);
                log.batches.push_back(StoredBatch {
                    base_offset: h.base_offset,
                    last_offset: last,
                    max_timestamp: h.max_timestamp,
                    data: bytes.slice(pos..pos + total),
                });
                log.next_offset = last + 1;
                max_ts = max_ts.max(h.max_timestamp);
                pos += total;
            }
            if damaged {
                tracing::warn!(segment = %path.display(), valid_bytes = pos, "truncating a torn log tail");
                let f = OpenOptions::new().write(true).open(path)?;
                f.set_len(pos as u64)?;
                f.sync_all()?;
            }
            if pos == 0 && i > 0 {
                std::fs::remove_file(path)?;
                continue;
            }
            log.segments.push(Segment {
                base_offset: *base,
                path: path.clone(),
                size: pos as u64,
                max_timestamp: max_ts,
                opened_ms: crate::engine::now_ms(),
            });
        }
        if log.batches.is_empty() {
            // An empty log starts where its (empty) first segment says.
            if let Some(s) = log.segments.first() {
                log.log_start = s.base_offset;
                log.next_offset = s.base_offset;
            }
        }
        // A DeleteRecords start recorded beside the segments (it may lie inside a batch or past every
        // batch a segment still holds) wins over the first batch's offset.
        if let Some(start) = read_start_checkpoint(dir) {
            if log.batches.is_empty() {
                log.next_offset = log.next_offset.max(start);
            }
            log.trim_front(start.min(log.next_offset));
        }
        log.last_append_ms = log.batches.back().map_or(0, |b| b.max_timestamp.max(0));
        Ok(log)
    }

    /// Moves the log start forward to `offset` (Kafka's DeleteRecords, clamped to the end offset): records
    /// below it are no longer read, whole batches below it are dropped from memory and closed segment
    /// files wholly below it are removed. With a directory the new start is first written to
    /// [`START_CHECKPOINT`] (written to a temporary file, fsynced and renamed, as Kafka's
    /// `log-start-offset-checkpoint`), so it survives a `kill -9` even when it lies inside a batch.
    /// Returns whether the start moved (an offset at or below the current start changes nothing).
    pub fn advance_start(&mut self, offset: i64) -> std::io::Result<bool> {
        let offset = offset.min(self.next_offset);
        if offset <= self.log_start {
            return Ok(false);
        }
        if let Some(dir) = &self.dir {
            let tmp = dir.join(format!("{START_CHECKPOINT}.tmp"));
            let mut f = File::create(&tmp)?;
            f.write_all(offset.to_string().as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, dir.join(START_CHECKPOINT))?;
            if let Ok(d) = File::open(dir) {
                // The rename itself is durable once the directory is synced (not possible on every OS).
                let _ = d.sync_all();
            }
        }
        self.trim_front(offset);
        while self.segments.len() > 1 && self.segments[1].base_offset <= self.log_start {
            let s = self.segments.remove(0);
            std::fs::remove_file(&s.path)?;
        }
        Ok(true)
    }

    /// Sets the log start (never backwards) and drops the batches wholly below it.
    fn trim_front(&mut self, offset: i64) {
        self.log_start = self.log_start.max(offset);
        while self.batches.front().is_some_and(|b| b.last_offset < self.log_start) {
            self.batches.pop_front();
        }
    }

    /// Bytes of record batches the log holds (DescribeLogDirs' partition size).
    pub fn size_bytes(&self) -> u64 {
        self.batches.iter().map(|b| b.data.len() as u64).sum()
    }

    /// Sets the topic's `segment.ms` (None or 0: segments roll by size only).
    pub fn set_segment_ms(&mut self, segment_ms: Option<i64>) {
        self.segment_ms = segment_ms;
    }

    /// The newest timestamp of the batch holding `offset` (None when the log no longer holds it). Consumer
    /// progress reports it for the last consumed record.
    pub fn batch_timestamp_at(&self, offset: i64) -> Option<i64> {
        let idx = self.batches.partition_point(|b| b.last_offset < offset);
        self.batches.get(idx).filter(|b| b.base_offset <= offset).map(|b| b.max_timestamp)
    }

    /// First offset still held.
    pub fn log_start_offset(&self) -> i64 {
        self.log_start
    }

    /// Next offset to be written (the high watermark: every append is immediately committed).
    pub fn end_offset(&self) -> i64 {
        self.next_offset
    }

    /// Unix ms of the newest record held (the batch max timestamp), 0 when empty.
    pub fn last_append_ms(&self) -> i64 {
        self.last_append_ms
    }

    /// Appends one batch (already checked by [`split_batches`]), assigning it the next offsets. The base
    /// offset and leader epoch fields of the stored copy are rewritten; nothing else changes.
    pub fn append(&mut self, header: &BatchHeader, batch: &Bytes) -> Result<Appended, LogError> {
        let base = self.next_offset;
        let last = base + i64::from(header.last_offset_delta);
        let mut data = BytesMut::from(&batch[..]);
        data[0..8].copy_from_slice(&base.to_be_bytes());
        data[12..16].copy_from_slice(&0i32.to_be_bytes());
        let data = data.freeze();
        if self.dir.is_some() {
            self.write_to_segment(base, header.max_timestamp, &data).map_err(|e| LogError::Storage(e.to_string()))?;
        }
        if self.batches.is_empty() {
            self.log_start = base;
        }
        self.batches.push_back(StoredBatch {
            base_offset: base,
            last_offset: last,
            max_timestamp: header.max_timestamp,
            data,
        });
        self.next_offset = last + 1;
        self.last_append_ms = crate::engine::now_ms();
        Ok(Appended { base_offset: base, last_offset: last, log_start_offset: self.log_start })
    }

    fn write_to_segment(&mut self, base: i64, max_ts: i64, data: &[u8]) -> std::io::Result<()> {
        let Some(dir) = self.dir.clone() else { return Ok(()) };
        let now = crate::engine::now_ms();
        let (bytes, ms) = (self.segment_bytes, self.segment_ms.filter(|ms| *ms > 0));
        let closed = |s: &Segment| s.size >= bytes || ms.is_some_and(|ms| s.size > 0 && now - s.opened_ms >= ms);
        let last_closed = self.segments.last().is_none_or(closed);
        if last_closed || self.active.is_none() {
            let reuse = self.segments.last().filter(|_| !last_closed).map(|s| s.path.clone());
            let path = match reuse {
                Some(p) => p,
                None => {
                    let p = dir.join(format!("{base:020}.log"));
                    self.segments.push(Segment {
                        base_offset: base,
                        path: p.clone(),
                        size: 0,
                        max_timestamp: -1,
                        opened_ms: now,
                    });
                    p
                }
            };
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            self.active = Some(Arc::new(file));
        }
        if let Some(f) = &self.active {
            let mut f: &File = f;
            f.write_all(data)?;
        }
        if let Some(s) = self.segments.last_mut() {
            s.size += data.len() as u64;
            s.max_timestamp = s.max_timestamp.max(max_ts);
        }
        Ok(())
    }

    /// The active segment file, to fsync outside the partition lock (None in memory).
    pub fn sync_handle(&self) -> Option<Arc<File>> {
        self.active.clone()
    }

    /// Fsyncs the active segment (no-op in memory).
    pub fn sync(&self) -> std::io::Result<()> {
        match &self.active {
            Some(f) => f.sync_data(),
            None => Ok(()),
        }
    }

    /// Batches from the one holding `offset` on, at most `max_bytes` in total but always at least one
    /// batch (as Kafka does, so a batch bigger than the limit is never stuck). `None` when `offset` is
    /// outside `[log_start_offset, end_offset]`.
    pub fn read(&self, offset: i64, max_bytes: usize) -> Option<Vec<Bytes>> {
        self.read_below(offset, max_bytes, i64::MAX)
    }

    /// As [`PartitionLog::read`], but only batches that start before `below` (a read_committed fetch
    /// stops at the last stable offset; a transaction's batches never straddle it, as it is the first
    /// offset of an open transaction).
    pub fn read_below(&self, offset: i64, max_bytes: usize, below: i64) -> Option<Vec<Bytes>> {
        if offset < self.log_start || offset > self.next_offset {
            return None;
        }
        let idx = self.batches.partition_point(|b| b.last_offset < offset);
        let mut out = Vec::new();
        let mut size = 0usize;
        for b in self.batches.iter().skip(idx) {
            if b.base_offset >= below {
                break;
            }
            if !out.is_empty() && size + b.data.len() > max_bytes {
                break;
            }
            size += b.data.len();
            out.push(b.data.clone());
            if size >= max_bytes {
                break;
            }
        }
        Some(out)
    }

    /// Bytes that a read from `offset` could return at most (for Fetch's min bytes).
    pub fn bytes_after(&self, offset: i64) -> usize {
        let idx = self.batches.partition_point(|b| b.last_offset < offset);
        self.batches.iter().skip(idx).map(|b| b.data.len()).sum()
    }

    /// The first record whose timestamp is at least `timestamp`: its (offset, timestamp). Batches are
    /// found by their max timestamp without decompression; only the one batch that holds the answer is
    /// decoded (any codec) to find the exact record.
    /// Records below the log start (a DeleteRecords start inside a batch) are never answered.
    pub fn offset_for_timestamp(&self, timestamp: i64) -> Option<(i64, i64)> {
        for batch in self.batches.iter().filter(|b| b.max_timestamp >= timestamp) {
            let mut buf = batch.data.clone();
            let Ok(set) = kafka_protocol::records::RecordBatchDecoder::decode(&mut buf) else {
                return Some((batch.base_offset.max(self.log_start), batch.max_timestamp));
            };
            let found = set.records.iter().find(|r| r.timestamp >= timestamp && r.offset >= self.log_start);
            match found {
                Some(r) => return Some((r.offset, r.timestamp)),
                // Only records below the start matched here: the next batch may hold the answer.
                None if batch.base_offset < self.log_start => continue,
                None => return Some((batch.base_offset, batch.max_timestamp)),
            }
        }
        None
    }

    /// The record with the newest timestamp (ListOffsets' MAX_TIMESTAMP): offset of its batch's last
    /// record and that timestamp.
    pub fn max_timestamp(&self) -> Option<(i64, i64)> {
        self.batches.iter().max_by_key(|b| b.max_timestamp).map(|b| (b.last_offset, b.max_timestamp))
    }

    /// Every batch held, oldest first (recovery rebuilds idempotent-producer state from their headers).
    pub fn batches(&self) -> impl Iterator<Item = &StoredBatch> {
        self.batches.iter()
    }

    /// Empties the log, keeping its offsets: the log start moves to the end offset, so the next record gets
    /// the next offset (Kafka's DeleteRecords up to the high watermark). With a directory every segment
    /// file is removed and an empty one named after the new start is made, so a restart knows where the
    /// log starts.
    pub fn truncate_to_end(&mut self) -> std::io::Result<()> {
        self.batches.clear();
        self.log_start = self.next_offset;
        self.active = None;
        for s in self.segments.drain(..) {
            std::fs::remove_file(&s.path)?;
        }
        if let Some(dir) = &self.dir {
            let path = dir.join(format!("{:020}.log", self.next_offset));
            let file = OpenOptions::new().create(true).append(true).open(&path)?;
            file.sync_all()?;
            self.segments.push(Segment {
                base_offset: self.next_offset,
                path,
                size: 0,
                max_timestamp: -1,
                opened_ms: crate::engine::now_ms(),
            });
        }
        Ok(())
    }

    /// Drops batches whose newest record is older than `now_ms - retention_ms` (never the last batch, so
    /// the end offset survives), and the closed segment files entirely behind the new start.
    pub fn enforce_retention(&mut self, retention_ms: i64, now_ms: i64) -> std::io::Result<()> {
        let cutoff = now_ms.saturating_sub(retention_ms);
        while self.batches.len() > 1 && self.batches.front().is_some_and(|b| b.max_timestamp < cutoff) {
            self.batches.pop_front();
        }
        if let Some(first) = self.batches.front() {
            // Never backwards: a DeleteRecords start may lie inside the first batch kept.
            self.log_start = self.log_start.max(first.base_offset);
        }
        // A segment can go when the next one starts at or before the new log start.
        while self.segments.len() > 1 && self.segments[1].base_offset <= self.log_start {
            let s = self.segments.remove(0);
            std::fs::remove_file(&s.path)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};

    pub(crate) fn batch(values: &[&str], ts: i64, compression: Compression) -> Bytes {
        let records: Vec<Record> = values
            .iter()
            .enumerate()
            .map(|(i, v)| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: i as i32,
                timestamp: ts + i as i64,
                key: None,
                value: Some(Bytes::copy_from_slice(v.as_bytes())),
                headers: Default::default(),
            })
            .collect();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(&mut buf, &records, &RecordEncodeOptions { version: 2, compression }).unwrap();
        buf.freeze()
    }

    fn append(log: &mut PartitionLog, b: &Bytes) -> Appended {
        let batches = split_batches(b).unwrap();
        let (h, data) = &batches[0];
        log.append(h, data).unwrap()
    }

    #[test]
    fn offsets_are_assigned_and_batches_returned_as_stored() {
        let mut log = PartitionLog::in_memory();
        let a = append(&mut log, &batch(&["a", "b", "c"], 1000, Compression::None));
        assert_eq!((a.base_offset, a.last_offset), (0, 2));
        let b = append(&mut log, &batch(&["d"], 2000, Compression::Gzip));
        assert_eq!((b.base_offset, b.last_offset, log.end_offset()), (3, 3, 4));
        let read = log.read(1, 1 << 20).unwrap();
        assert_eq!(read.len(), 2);
        let mut first = read[0].clone();
        let set = kafka_protocol::records::RecordBatchDecoder::decode(&mut first).unwrap();
        assert_eq!(set.records[2].value.as_deref(), Some(&b"c"[..]));
        assert_eq!(set.records[2].offset, 2);
        // Only whole batches, at least one.
        assert_eq!(log.read(0, 1).unwrap().len(), 1);
        assert!(log.read(5, 100).is_none());
        assert_eq!(log.read(4, 100).unwrap().len(), 0);
    }

    #[test]
    fn advancing_the_start_inside_a_batch_survives_a_reopen_and_retention() {
        let dir = std::env::temp_dir().join(format!("localyun-log-start-{}", uuid::Uuid::new_v4()));
        let mut log = PartitionLog::open(&dir).unwrap();
        append(&mut log, &batch(&["a", "b", "c"], 1000, Compression::None)); // 0..=2
        append(&mut log, &batch(&["d", "e"], 1000, Compression::None)); // 3..=4
        assert!(!log.advance_start(0).unwrap(), "the current start changes nothing");
        assert!(log.advance_start(4).unwrap());
        assert_eq!((log.log_start_offset(), log.end_offset()), (4, 5));
        assert!(log.read(3, 100).is_none(), "below the start is out of range");
        assert_eq!(log.read(4, 100).unwrap().len(), 1, "the batch holding the start is still read");
        assert_eq!(log.size_bytes(), log.read(4, 1 << 20).unwrap().iter().map(|b| b.len() as u64).sum::<u64>());
        // A timestamp look-up never answers a record below the start (records are stamped 1000 + their
        // index in the batch: offset 4 has 1001).
        assert_eq!(log.offset_for_timestamp(0), Some((4, 1001)));
        assert_eq!(log.offset_for_timestamp(1001), Some((4, 1001)));
        assert_eq!(log.offset_for_timestamp(1002), None);
        // Retention never moves the start backwards to the first batch's base offset.
        log.enforce_retention(i64::MAX / 2, 2000).unwrap();
        assert_eq!(log.log_start_offset(), 4);
        drop(log);
        let mut log = PartitionLog::open(&dir).unwrap();
        assert_eq!((log.log_start_offset(), log.end_offset()), (4, 5), "the start survives a reopen");
        assert!(!log.advance_start(2).unwrap(), "never backwards");
        assert!(log.advance_start(99).unwrap(), "clamped to the end");
        assert_eq!((log.log_start_offset(), log.end_offset()), (5, 5));
        assert_eq!(log.size_bytes(), 0);
        drop(log);
        let mut log = PartitionLog::open(&dir).unwrap();
        assert_eq!((log.log_start_offset(), log.end_offset()), (5, 5));
        assert_eq!(append(&mut log, &batch(&["f"], 1000, Compression::None)).base_offset, 5);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn truncating_to_the_end_keeps_offsets_in_memory_and_on_disk() {
        let mut log = PartitionLog::in_memory();
        append(&mut log, &batch(&["a", "b"], 1000, Compression::None));
        log.truncate_to_end().unwrap();
        assert_eq!((log.log_start_offset(), log.end_offset()), (2, 2));
        assert_eq!(log.read(2, 100).unwrap().len(), 0);
        assert!(log.read(0, 100).is_none());
        assert_eq!(append(&mut log, &batch(&["c"], 1000, Compression::None)).base_offset, 2);

        let dir = std::env::temp_dir().join(format!("localyun-log-trunc-{}", uuid::Uuid::new_v4()));
        let mut log = PartitionLog::open(&dir).unwrap();
        append(&mut log, &batch(&["a", "b", "c"], 1000, Compression::None));
        log.truncate_to_end().unwrap();
        drop(log);
        let mut log = PartitionLog::open(&dir).unwrap();
        assert_eq!((log.log_start_offset(), log.end_offset()), (3, 3), "the start survives a restart");
        assert_eq!(append(&mut log, &batch(&["d"], 1000, Compression::None)).base_offset, 3);
        drop(log);
        let log = PartitionLog::open(&dir).unwrap();
        assert_eq!((log.log_start_offset(), log.end_offset()), (3, 4));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn segments_roll_after_segment_ms_and_retention_then_deletes_whole_files() {
        let dir = std::env::temp_dir().join(format!("localyun-log-roll-{}", uuid::Uuid::new_v4()));
        let mut log = PartitionLog::open(&dir).unwrap();
        log.set_segment_ms(Some(20));
        append(&mut log, &batch(&["a"], 1_000, Compression::None));
        append(&mut log, &batch(&["b"], 1_001, Compression::None));
        let files = |d: &Path| std::fs::read_dir(d).unwrap().count();
        assert_eq!(files(&dir), 1, "young segment keeps taking batches");
        std::thread::sleep(std::time::Duration::from_millis(40));
        append(&mut log, &batch(&["c"], 5_000, Compression::None));
        assert_eq!(files(&dir), 2, "an old segment is closed");
        assert!(dir.join(format!("{:020}.log", 2)).exists());
        assert_eq!(log.batch_timestamp_at(1), Some(1_001));
        assert_eq!(log.batch_timestamp_at(9), None);
        // Retention: the first segment's batches expire; its file goes.
        log.enforce_retention(1_000, 5_500).unwrap();
        assert_eq!(log.log_start_offset(), 2);
        assert_eq!(files(&dir), 1);
        drop(log);
        let log = PartitionLog::open(&dir).unwrap();
        assert_eq!((log.log_start_offset(), log.end_offset()), (2, 3));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn control_batches_are_markers_and_reads_can_stop_below_an_offset() {
        let marker = control_batch(7, 2, Marker::Abort, 1_000).unwrap();
        let batches = split_batches(&marker).unwrap();
        let (h, data) = &batches[0];
        assert!(h.is_control() && h.is_transactional());
        assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence, h.records_count), (7, 2, -1, 1));
        assert_eq!(control_marker(data), Some(Marker::Abort));
        assert_eq!(control_marker(&control_batch(7, 2, Marker::Commit, 1_000).unwrap()), Some(Marker::Commit));
        assert_eq!(control_marker(&batch(&["x"], 1, Compression::None)), None, "a data batch is no marker");

        let mut log = PartitionLog::in_memory();
        append(&mut log, &batch(&["a", "b"], 1000, Compression::None));
        append(&mut log, &marker);
        append(&mut log, &batch(&["c"], 1000, Compression::None));
        assert_eq!(log.end_offset(), 4);
        assert_eq!(log.read_below(0, 1 << 20, 2).unwrap().len(), 1);
        assert_eq!(log.read_below(0, 1 << 20, 3).unwrap().len(), 2);
        assert_eq!(log.read_below(3, 1 << 20, 3).unwrap().len(), 0);
        assert_eq!(log.read(0, 1 << 20).unwrap().len(), 3);
    }

    #[test]
    fn corrupt_batches_are_refused() {
        let mut b = BytesMut::from(&batch(&["x"], 1, Compression::None)[..]);
        let last = b.len() - 1;
        b[last] ^= 0xff;
        assert!(matches!(split_batches(&b.freeze()), Err(LogError::Corrupt(_))));
        assert!(matches!(split_batches(&Bytes::from_static(b"short")), Err(LogError::Corrupt(_))));
    }

    #[test]
    fn timestamps_find_the_exact_record_in_every_codec() {
        for c in [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd] {
            let mut log = PartitionLog::in_memory();
            append(&mut log, &batch(&["a", "b", "c"], 1000, c));
            append(&mut log, &batch(&["d", "e"], 2000, c));
            assert_eq!(log.offset_for_timestamp(1001), Some((1, 1001)), "{c:?}");
            assert_eq!(log.offset_for_timestamp(1500), Some((3, 2000)), "{c:?}");
            assert_eq!(log.offset_for_timestamp(3000), None);
            assert_eq!(log.max_timestamp(), Some((4, 2001)));
        }
    }

    #[test]
    fn segments_recover_and_a_torn_tail_is_truncated() {
        let dir = std::env::temp_dir().join(format!("localyun-log-{}-{}", std::process::id(), crate::engine::now_ms()));
        {
            let mut log = PartitionLog::open(&dir).unwrap();
            log.segment_bytes = 100; // several segments
            for i in 0..5 {
                append(&mut log, &batch(&["v"; 2], 1000 + i, Compression::None));
            }
            log.sync().unwrap();
        }
        let log = PartitionLog::open(&dir).unwrap();
        assert_eq!((log.log_start_offset(), log.end_offset()), (0, 10));
        // Tear the last segment's last batch.
        let mut segs: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        segs.sort();
        let last = segs.last().unwrap();
        let len = std::fs::metadata(last).unwrap().len();
        OpenOptions::new().write(true).open(last).unwrap().set_len(len - 3).unwrap();
        let mut log = PartitionLog::open(&dir).unwrap();
        assert_eq!(log.end_offset(), 8);
        let a = append(&mut log, &batch(&["w"], 5000, Compression::None));
        assert_eq!(a.base_offset, 8);
        drop(log);
        let log = PartitionLog::open(&dir).unwrap();
        assert_eq!(log.end_offset(), 9);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn retention_drops_old_batches_and_segments() {
        let dir = std::env::temp_dir().join(format!("localyun-ret-{}-{}", std::process::id(), crate::engine::now_ms()));
        let mut log = PartitionLog::open(&dir).unwrap();
        log.segment_bytes = 1;
        append(&mut log, &batch(&["old"], 1000, Compression::None));
        append(&mut log, &batch(&["old"], 1001, Compression::None));
        append(&mut log, &batch(&["new"], 9000, Compression::None));
        log.enforce_retention(1000, 9500).unwrap();
        assert_eq!((log.log_start_offset(), log.end_offset()), (2, 3));
        assert!(log.read(0, 100).is_none());
        drop(log);
        let log = PartitionLog::open(&dir).unwrap();
        assert_eq!((log.log_start_offset(), log.end_offset()), (2, 3));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
