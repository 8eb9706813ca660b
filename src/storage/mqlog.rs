//! The RocketMQ message log: one append-only log per instance under `<data-dir>/rocketmq/<instance>/`,
//! holding what the instance's message store did (messages appended to queues, timed messages scheduled
//! and settled, retries, dead letters, failure counts, consumption records, half messages prepared and
//! decided: `crate::engine::rocketmq::StoreEvent`). Message payloads live here, not in the management
//! snapshots or the journal, so a durable send appends one record of the size of that message.
//!
//! Files: numbered segments `segment-<seq>.log`, each the header line `localyun-mqlog 1` then records
//! framed as the journal's (`[length: u32 LE][CRC-32: u32 LE][payload]`, `crate::storage::journal::frame`);
//! payloads are encoded by `crate::engine::rocketmq::encode_event`. A new segment starts with a
//! checkpoint (the instance's whole store) and replaces the older ones: when a log starts over (first
//! start on a data dir of an older localyun, whose `m/<instance>` journal records and snapshots carried
//! the messages; a deleted topic, whose messages must go; an imported state) and when a log outgrew
//! [`COMPACT_MIN_BYTES`] and four times its last checkpoint.
//!
//! Durability is the journal's ([`crate::storage::durable`]): records are written, then fsynced before the
//! request that made them is answered; concurrent requests share one fsync per file (group commit). At
//! start every log is read back (CRC per record); a torn last record of the newest segment (a `kill -9` or
//! power loss mid-write, never acknowledged) is cut off; other damage stops the start naming the file. A
//! deleted instance's folder is removed; a folder of an instance the management state does not know is
//! removed at start.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::engine::rocketmq::{decode_record, encode_event, LogRecord, RocketMqModel, StoreEvent};
use crate::storage::journal::frame;
use crate::storage::snapshot::RECOVERY_HINT;

/// The first line of every segment.
pub const SEGMENT_HEADER: &[u8] = b"localyun-mqlog 1\n";
/// A log is compacted (rewritten as one checkpoint) once it is larger than this and than four times its
/// last checkpoint, so compaction work per appended byte stays bounded.
pub const COMPACT_MIN_BYTES: u64 = 64 << 20;
const RECORD_HEAD: usize = 8;
const MAX_RECORD: u32 = 1 << 30;

/// Counters for health, tests and the benchmark.
#[derive(Default, Debug)]
pub struct MqLogStats {
    /// Event records appended since start.
    pub records: AtomicU64,
    /// Bytes appended since start (records, framing included; checkpoints excluded).
    pub bytes: AtomicU64,
    /// Checkpoints written (log start-overs).
    pub checkpoints: AtomicU64,
    /// fsync calls on log files.
    pub fsyncs: AtomicU64,
}

/// One instance's open log.
struct InstanceLog {
    dir: PathBuf,
    seq: u64,
    file: Arc<File>,
    /// Bytes of the active segment.
    len: u64,
    /// Bytes of the active segment known to be on disk.
    synced_len: u64,
    /// Bytes over all segments, and right after the last checkpoint (compaction threshold).
    total: u64,
    base: u64,
}

struct Inner {
    logs: HashMap<String, InstanceLog>,
    /// Record bytes written since start (the position sync waiters wait for).
    lsn: u64,
    /// Bumped by every failed write: waiters from before it must not report success.
    epoch: u64,
}

/// Every instance's message log (see the module docs).
pub struct MessageLogs {
    root: PathBuf,
    inner: Mutex<Inner>,
    synced: AtomicU64,
    sync_gate: tokio::sync::Mutex<()>,
    pub stats: MqLogStats,
}

/// A folder name for an instance id: the id itself when it is plain, else `x` and its hex.
fn folder_name(id: &str) -> String {
    if !id.is_empty() && !id.starts_with('x') && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        id.to_string()
    } else {
        format!("x{}", hex::encode(id.as_bytes()))
    }
}

fn instance_of_folder(name: &str) -> Option<String> {
    match name.strip_prefix('x') {
        Some(h) => String::from_utf8(hex::decode(h).ok()?).ok(),
        None => Some(name.to_string()),
    }
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("segment-{seq:012}.log"))
}

fn list_segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(seq) = name.to_str().and_then(|n| n.strip_prefix("segment-")?.strip_suffix(".log")?.parse().ok())
        else {
            continue;
        };
        found.push((seq, entry.path()));
    }
    found.sort();
    Ok(found)
}

/// Reads one segment's record payloads; `Ok((payloads, valid_len, file_len))`. A torn tail is accepted
/// only in the newest segment (`last`).
fn read_segment(path: &Path, last: bool) -> anyhow::Result<(Vec<Vec<u8>>, u64, u64)> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read message log {shown}: {e}"))?;
    let file_len = bytes.len() as u64;
    let torn = |at: usize, payloads: Vec<Vec<u8>>| -> anyhow::Result<(Vec<Vec<u8>>, u64, u64)> {
        if last {
            Ok((payloads, at as u64, file_len))
        } else {
            anyhow::bail!("message log {shown} is truncated at byte {at} but newer segments follow it; {RECOVERY_HINT}")
        }
    };
    if !bytes.starts_with(SEGMENT_HEADER) {
        if SEGMENT_HEADER.starts_with(&bytes) {
            return torn(0, Vec::new());
        }
        anyhow::bail!("{shown} is not a localyun message log; {RECOVERY_HINT}");
    }
    let mut at = SEGMENT_HEADER.len();
    let mut payloads = Vec::new();
    while at < bytes.len() {
        let Some(head) = bytes.get(at..at + RECORD_HEAD) else { return torn(at, payloads) };
        let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
        let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
        if len > MAX_RECORD {
            anyhow::bail!("message log {shown} is damaged at byte {at} (impossible record length); {RECOVERY_HINT}");
        }
        let end = at + RECORD_HEAD + len as usize;
        let Some(payload) = bytes.get(at + RECORD_HEAD..end) else { return torn(at, payloads) };
        if crc32fast::hash(payload) != crc {
            if end == bytes.len() {
                return torn(at, payloads);
            }
            anyhow::bail!(
                "message log {shown} is corrupt: the record at byte {at} does not match its checksum; {RECOVERY_HINT}"
            );
        }
        payloads.push(payload.to_vec());
        at = end;
    }
    Ok((payloads, at as u64, file_len))
}

/// Creates segment `seq` holding the header and `records` (already framed), synced with its folder.
fn create_segment(dir: &Path, seq: u64, records: &[u8]) -> std::io::Result<File> {
    std::fs::create_dir_all(dir)?;
    let path = segment_path(dir, seq);
    let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
    file.set_len(0)?;
    file.write_all(SEGMENT_HEADER)?;
    file.write_all(records)?;
    file.sync_all()?;
    File::open(dir)?.sync_all()?;
    Ok(file)
}

/// What one instance's log holds: its records, the newest segment (number, path, intact length) and the
/// bytes over all segments. `cut`: a torn tail is cut off the file (start), else only skipped (tools).
type LogRead = (Vec<LogRecord>, Option<(u64, PathBuf, u64)>, u64);

fn read_instance_log(dir: &Path, cut: bool) -> anyhow::Result<LogRead> {
    let segments = list_segments(dir)?;
    let mut records = Vec::new();
    let newest = segments.last().map(|(s, _)| *s);
    let mut open = None;
    let mut total = 0;
    for (seq, path) in &segments {
        let (payloads, valid, file_len) = read_segment(path, Some(*seq) == newest)?;
        if valid < file_len && cut {
            let cut = || -> std::io::Result<()> {
                let f = OpenOptions::new().write(true).open(path)?;
                f.set_len(valid)?;
                f.sync_all()
            };
            cut().map_err(|e| anyhow::anyhow!("cannot cut the torn end off {}: {e}", path.display()))?;
            tracing::warn!(log = %path.display(), "dropped a torn message log record (never acknowledged)");
        }
        for (i, p) in payloads.iter().enumerate() {
            let record = decode_record(p).map_err(|e| {
                anyhow::anyhow!("message log {} has an unreadable record #{i}: {e}; {RECOVERY_HINT}", path.display())
            })?;
            records.push(record);
        }
        total += valid.max(SEGMENT_HEADER.len() as u64);
        open = Some((*seq, path.clone(), valid));
    }
    Ok((records, open, total))
}

/// The durable content of the RocketMQ model as JSON (the whole document, messages included): `base`, the
/// model as snapshot and journal hold it, plus the message logs under `<data_dir>/rocketmq`, read without
/// changing any file. What a restart would load (tests and tools).
pub fn with_message_logs(data_dir: &Path, base: &[u8]) -> anyhow::Result<Vec<u8>> {
    let model: RocketMqModel = serde_json::from_slice(base)?;
    let root = data_dir.join("rocketmq");
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let Some(id) = entry.file_name().to_str().and_then(instance_of_folder) else { continue };
            if entry.path().is_dir() {
                let (records, _, _) = read_instance_log(&entry.path(), false)?;
                model.replay_messages(&id, records);
            }
        }
    }
    Ok(serde_json::to_vec(&model)?)
}

impl MessageLogs {
    /// The logs under `<data_dir>/rocketmq` (created if needed; nothing is read yet).
    pub fn open(data_dir: &Path) -> anyhow::Result<MessageLogs> {
        let root = data_dir.join("rocketmq");
        std::fs::create_dir_all(&root).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", root.display()))?;
        Ok(MessageLogs {
            root,
            inner: Mutex::new(Inner { logs: HashMap::new(), lsn: 0, epoch: 0 }),
            synced: AtomicU64::new(0),
            sync_gate: tokio::sync::Mutex::new(()),
            stats: MqLogStats::default(),
        })
    }

    /// The folder of one instance's log.
    pub fn instance_dir(&self, instance_id: &str) -> PathBuf {
        self.root.join(folder_name(instance_id))
    }

    /// Start (and roll-back after a failed write): reads every log into the model's stores (after the
    /// journal rebuilt topics and groups), cuts torn tails, removes logs of unknown instances, moves the
    /// messages an older localyun kept in the journal into checkpoints, then turns on recording.
    pub fn recover(&self, model: &RocketMqModel) -> anyhow::Result<()> {
        let mut inner = self.inner.lock();
        inner.logs.clear();
        let entries =
            std::fs::read_dir(&self.root).map_err(|e| anyhow::anyhow!("cannot list {}: {e}", self.root.display()))?;
        for entry in entries {
            let entry = entry?;
            let dir = entry.path();
            if !dir.is_dir() {
                continue;
            }
            let Some(id) = entry.file_name().to_str().and_then(instance_of_folder) else { continue };
            let (records, open, total) = read_instance_log(&dir, true)?;
            if records.is_empty() && !model.instance_exists(&id) {
                let _ = std::fs::remove_dir_all(&dir);
                continue;
            }
            if !model.replay_messages(&id, records) {
                tracing::warn!(instance = %id, dir = %dir.display(), "removing the message log of an instance that no longer exists");
                std::fs::remove_dir_all(&dir).map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", dir.display()))?;
                continue;
            }
            if let Some((seq, path, valid)) = open {
                let file = OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", path.display()))?;
                let len = valid.max(SEGMENT_HEADER.len() as u64);
                if valid < SEGMENT_HEADER.len() as u64 {
                    // Created, then the process died before its header was complete.
                    file.set_len(0)?;
                    (&file).write_all(SEGMENT_HEADER)?;
                    file.sync_all()?;
                }
                let log = InstanceLog { dir, seq, file: Arc::new(file), len, synced_len: len, total, base: total };
                inner.logs.insert(id, log);
            }
        }
        // Messages a data dir of an older localyun kept in its journal: into checkpoints, once.
        for id in model.instance_ids() {
            if !inner.logs.contains_key(&id) && model.has_message_content(&id) {
                self.checkpoint(&mut inner, model, &id)?;
                tracing::info!(instance = %id, "moved the instance's messages from the journal into its message log");
            }
        }
        model.enable_message_log();
        Ok(())
    }

    /// Writes the events recorded since the last call to their instances' logs (not yet synced); returns
    /// the position [`MessageLogs::sync`] must reach and the epoch. `fail`: the test hook of a full disk.
    pub fn write(&self, model: &RocketMqModel, fail: bool) -> anyhow::Result<(u64, u64)> {
        let mut inner = self.inner.lock();
        let events = model.take_message_events();
        if events.is_empty() {
            return Ok((inner.lsn, inner.epoch));
        }
        let mut restart = HashSet::new();
        self.write_events(&mut inner, events, &mut restart, fail)?;
        for id in restart {
            self.checkpoint(&mut inner, model, &id)?;
        }
        let compact: Vec<String> = inner
            .logs
            .iter()
            .filter(|(_, l)| l.total > COMPACT_MIN_BYTES && l.total > l.base.saturating_mul(4))
            .map(|(id, _)| id.clone())
            .collect();
        for id in compact {
            self.checkpoint(&mut inner, model, &id)?;
        }
        Ok((inner.lsn, inner.epoch))
    }

    fn write_events(
        &self,
        inner: &mut Inner,
        events: Vec<(Arc<str>, StoreEvent)>,
        restart: &mut HashSet<String>,
        fail: bool,
    ) -> anyhow::Result<()> {
        let mut buffers: Vec<(String, Vec<u8>, u64)> = Vec::new();
        for (id, event) in events {
            match event {
                StoreEvent::DropInstance => {
                    buffers.retain(|(b, _, _)| **b != *id);
                    restart.remove(&*id);
                    if let Some(log) = inner.logs.remove(&*id) {
                        drop(log.file);
                        std::fs::remove_dir_all(&log.dir)
                            .map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", log.dir.display()))?;
                    }
                    continue;
                }
                StoreEvent::RemoveTopic { purge: true, .. } => {
                    // Its messages must leave the disk: the log starts over from a checkpoint.
                    restart.insert(id.to_string());
                }
                _ => {}
            }
            let pos = match buffers.iter().position(|(b, _, _)| **b == *id) {
                Some(p) => p,
                None => {
                    buffers.push((id.to_string(), Vec::new(), 0));
                    buffers.len() - 1
                }
            };
            let (_, buf, n) = &mut buffers[pos];
            frame(buf, &encode_event(event));
            *n += 1;
        }
        for (id, buf, n) in buffers {
            if fail {
                inner.epoch += 1;
                anyhow::bail!("cannot append to the message log of {id}: simulated: no space left on device");
            }
            let log = match inner.logs.get_mut(&id) {
                Some(log) => log,
                None => {
                    let dir = self.instance_dir(&id);
                    let file = create_segment(&dir, 1, &[])
                        .map_err(|e| anyhow::anyhow!("cannot create the message log in {}: {e}", dir.display()))?;
                    let len = SEGMENT_HEADER.len() as u64;
                    let log =
                        InstanceLog { dir, seq: 1, file: Arc::new(file), len, synced_len: len, total: len, base: len };
                    inner.logs.entry(id.clone()).or_insert(log)
                }
            };
            let mut f: &File = &log.file;
            if let Err(e) = f.write_all(&buf) {
                inner.epoch += 1;
                anyhow::bail!("cannot append to the message log of {id}: {e}");
            }
            log.len += buf.len() as u64;
            log.total += buf.len() as u64;
            inner.lsn += buf.len() as u64;
            self.stats.records.fetch_add(n, Ordering::Relaxed);
            self.stats.bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Starts `id`'s log over from a checkpoint of its store (synced), removing the older segments. Events
    /// recorded until the checkpoint are written first (they precede it).
    fn checkpoint(&self, inner: &mut Inner, model: &RocketMqModel, id: &str) -> anyhow::Result<()> {
        let written = model.checkpoint_messages(id, |pending, payloads| -> anyhow::Result<()> {
            let mut none = HashSet::new();
            self.write_events(inner, pending, &mut none, false)?;
            let dir = self.instance_dir(id);
            let seq = inner.logs.get(id).map_or(1, |l| l.seq + 1);
            let mut buf = Vec::with_capacity(payloads.iter().map(|p| p.len() + RECORD_HEAD).sum());
            for payload in &payloads {
                frame(&mut buf, payload);
            }
            let file = create_segment(&dir, seq, &buf)
                .map_err(|e| anyhow::anyhow!("cannot write a checkpoint in {}: {e}", dir.display()))?;
            for (old, path) in list_segments(&dir)? {
                if old < seq {
                    std::fs::remove_file(&path)
                        .map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", path.display()))?;
                }
            }
            let len = (SEGMENT_HEADER.len() + buf.len()) as u64;
            inner.logs.insert(
                id.to_string(),
                InstanceLog { dir, seq, file: Arc::new(file), len, synced_len: len, total: len, base: len },
            );
            self.stats.checkpoints.fetch_add(1, Ordering::Relaxed);
            Ok(())
        });
        match written {
            Some(r) => r,
            None => Ok(()),
        }
    }

    /// After the model was replaced wholesale (state import, reset): every log starts over from the new
    /// model's stores; logs of instances it lacks go. Turns recording on for the new model.
    pub fn rewrite_all(&self, model: &RocketMqModel) -> anyhow::Result<()> {
        model.enable_message_log();
        let mut inner = self.inner.lock();
        let ids: HashSet<String> = model.instance_ids().into_iter().collect();
        let gone: Vec<String> = inner.logs.keys().filter(|id| !ids.contains(*id)).cloned().collect();
        for id in gone {
            if let Some(log) = inner.logs.remove(&id) {
                std::fs::remove_dir_all(&log.dir)
                    .map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", log.dir.display()))?;
            }
        }
        for entry in std::fs::read_dir(&self.root)?.flatten() {
            let known = entry.file_name().to_str().and_then(instance_of_folder).is_some_and(|id| ids.contains(&id));
            if !known && entry.path().is_dir() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        for id in ids {
            if inner.logs.contains_key(&id) || model.has_message_content(&id) {
                self.checkpoint(&mut inner, model, &id)?;
            }
        }
        Ok(())
    }

    /// Returns once everything written up to `target` is on disk (one fsync per written file, shared by
    /// concurrent callers).
    pub async fn sync(&self, target: u64, epoch: u64) -> anyhow::Result<()> {
        if self.synced.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let _gate = self.sync_gate.lock().await;
        if self.synced.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let (files, upto) = {
            let inner = self.inner.lock();
            if inner.epoch != epoch {
                anyhow::bail!("an earlier message log write failed");
            }
            let files: Vec<(String, Arc<File>, u64, u64)> = inner
                .logs
                .iter()
                .filter(|(_, l)| l.synced_len < l.len)
                .map(|(id, l)| (id.clone(), l.file.clone(), l.seq, l.len))
                .collect();
            (files, inner.lsn)
        };
        let handles: Vec<Arc<File>> = files.iter().map(|(_, f, _, _)| f.clone()).collect();
        let synced = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
            for f in &handles {
                f.sync_data()?;
            }
            Ok(handles.len() as u64)
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
        match synced {
            Ok(n) => {
                self.stats.fsyncs.fetch_add(n, Ordering::Relaxed);
                let mut inner = self.inner.lock();
                for (id, _, seq, len) in files {
                    if let Some(l) = inner.logs.get_mut(&id).filter(|l| l.seq == seq) {
                        l.synced_len = l.synced_len.max(len);
                    }
                }
                self.synced.fetch_max(upto, Ordering::AcqRel);
                Ok(())
            }
            Err(e) => {
                self.inner.lock().epoch += 1;
                anyhow::bail!("cannot sync the message log in {}: {e}", self.root.display())
            }
        }
    }

    /// After a failed write: cuts every log back to what is on disk (the unsynced tail was never
    /// acknowledged), so the roll-back can read the logs again with [`MessageLogs::recover`].
    pub fn cut_unsynced(&self) {
        let mut inner = self.inner.lock();
        for log in inner.logs.values_mut() {
            if log.synced_len < log.len {
                if let Err(e) = log.file.set_len(log.synced_len) {
                    tracing::error!(error = %e, dir = %log.dir.display(), "cannot cut the unsynced message log tail");
                }
                log.len = log.synced_len;
            }
        }
        inner.lsn = self.synced.load(Ordering::Acquire);
    }

    /// Bytes of one instance's log on disk (all segments), None when it has none (tests, tools).
    pub fn disk_bytes(&self, instance_id: &str) -> Option<u64> {
        let dir = self.instance_dir(instance_id);
        let segments = list_segments(&dir).ok()?;
        if segments.is_empty() {
            return None;
        }
        Some(segments.iter().filter_map(|(_, p)| std::fs::metadata(p).ok()).map(|m| m.len()).sum())
    }

    /// Health's view of the logs.
    pub fn health(&self) -> serde_json::Value {
        serde_json::json!({
            "records": self.stats.records.load(Ordering::Relaxed),
            "bytes": self.stats.bytes.load(Ordering::Relaxed),
            "checkpoints": self.stats.checkpoints.load(Ordering::Relaxed),
            "fsyncs": self.stats.fsyncs.load(Ordering::Relaxed),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rocketmq::{MessageType, NewInstance, NewMessage};

    const R: &str = "mq-private";

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("localyun-mqlog-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A model with instance I1 holding topics `t` and `u` and group `GID_g`.
    fn model() -> RocketMqModel {
        let m = RocketMqModel::default();
        m.add_region(R, "private");
        m.add_cluster(R, "c1").unwrap();
        m.create_instance(NewInstance {
            id: "I1".into(),
            account: "a".into(),
            region: R.into(),
            cluster: "c1".into(),
            name: "first".into(),
            remark: String::new(),
            independent_naming: true,
            max_send_tps: 100,
            max_receive_tps: 100,
            topic_capacity: Some(5),
        })
        .unwrap();
        m.create_topic("a", R, "I1", "t", MessageType::Normal, "").unwrap();
        m.create_topic("a", R, "I1", "u", MessageType::Normal, "").unwrap();
        m.create_group("a", R, "I1", "GID_g", "").unwrap();
        m
    }

    /// What the journal and snapshots hold of `m` (no messages), as a restart rebuilds it.
    fn management_only(m: &RocketMqModel) -> RocketMqModel {
        serde_json::from_str(&crate::engine::rocketmq::without_messages(|| serde_json::to_string(m).unwrap())).unwrap()
    }

    fn counts(m: &RocketMqModel, topic: &str) -> (usize, usize) {
        m.instance_by_id("I1").unwrap().read().message_counts(topic).unwrap()
    }

    fn send(m: &RocketMqModel, logs: &MessageLogs, i: usize) -> u64 {
        let before = logs.stats.bytes.load(Ordering::Relaxed);
        m.send("I1", "t", NewMessage::new("a", &format!("k{i:05}"), &"x".repeat(100))).unwrap();
        logs.write(m, false).unwrap();
        logs.stats.bytes.load(Ordering::Relaxed) - before
    }

    #[test]
    fn a_send_appends_one_record_of_its_own_size_however_many_messages_are_stored() {
        let dir = temp_dir();
        let logs = MessageLogs::open(&dir).unwrap();
        let m = model();
        logs.recover(&m).unwrap();
        let first = send(&m, &logs, 0);
        for i in 1..1999 {
            send(&m, &logs, i);
        }
        let last = send(&m, &logs, 1999);
        // Equal but for the digits of the growing offsets (commit and queue offset: "0" vs "1999").
        assert!(first > 100 && last <= first + 8, "1st send appended {first} bytes, 2,000th {last}");
        assert_eq!(
            logs.stats.records.load(Ordering::Relaxed),
            4000,
            "one append (+ the round-robin position) per send"
        );
        assert_eq!(logs.stats.checkpoints.load(Ordering::Relaxed), 0, "the whole store was never serialised");
        assert_eq!(logs.disk_bytes("I1"), Some(SEGMENT_HEADER.len() as u64 + logs.stats.bytes.load(Ordering::Relaxed)));
        // Nothing of it is a management resource: the journal has nothing to write.
        assert_eq!(
            crate::storage::Resources::take_dirty(&m).unwrap(),
            vec!["region/mq-private", "i/I1", "t/I1/t", "t/I1/u", "g/I1/GID_g"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_restart_replays_the_log_and_a_torn_tail_is_cut() {
        let dir = temp_dir();
        let m = model();
        {
            let logs = MessageLogs::open(&dir).unwrap();
            logs.recover(&m).unwrap();
            for i in 0..5 {
                send(&m, &logs, i);
            }
            let timed = NewMessage {
                start_deliver_ms: Some(crate::engine::rocketmq::Millis::from_ms(crate::engine::now_ms() + 60_000)),
                ..NewMessage::new("a", "later", "timed")
            };
            m.send("I1", "t", timed).unwrap();
            let id = m.send("I1", "t", NewMessage::new("a", "k", "x")).unwrap();
            m.consume_failed("I1", "GID_g", &id).unwrap_err(); // not subscribed: refused, nothing recorded
            logs.write(&m, false).unwrap();
        }
        let back = management_only(&m);
        assert_eq!(counts(&back, "t"), (0, 0));
        let logs = MessageLogs::open(&dir).unwrap();
        logs.recover(&back).unwrap();
        assert_eq!(counts(&back, "t"), (1, 6));
        assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&m).unwrap(), "the same document");
        // A new message keeps a fresh commit offset after the restart.
        let before = m.instance_by_id("I1").unwrap().read().message_counts("t").unwrap();
        assert_eq!(before, (1, 6));
        drop(logs);

        // Tear the last record (a kill -9 mid-write): it is cut, everything before it stays.
        let seg = list_segments(&dir.join("rocketmq/I1")).unwrap().pop().unwrap().1;
        let len = std::fs::metadata(&seg).unwrap().len();
        OpenOptions::new().write(true).open(&seg).unwrap().set_len(len - 3).unwrap();
        let again = management_only(&m);
        let logs = MessageLogs::open(&dir).unwrap();
        logs.recover(&again).unwrap();
        assert_eq!(counts(&again, "t"), (1, 5));
        assert!(std::fs::metadata(&seg).unwrap().len() < len - 3, "the torn record was cut off the file");
        // Appends continue after the cut and read back.
        send(&again, &logs, 9);
        drop(logs);
        let third = management_only(&m);
        MessageLogs::open(&dir).unwrap().recover(&third).unwrap();
        assert_eq!(counts(&third, "t"), (1, 6));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn deleting_a_topic_or_the_instance_drops_its_data_from_the_disk() {
        let dir = temp_dir();
        let logs = MessageLogs::open(&dir).unwrap();
        let m = model();
        logs.recover(&m).unwrap();
        for i in 0..50 {
            send(&m, &logs, i);
        }
        m.send("I1", "u", NewMessage::new("a", "k", "kept")).unwrap();
        // Creating and deleting a topic that never held a message costs no checkpoint.
        m.create_topic("a", R, "I1", "v", MessageType::Normal, "").unwrap();
        m.delete_topic("a", R, "I1", "v").unwrap();
        logs.write(&m, false).unwrap();
        assert_eq!(logs.stats.checkpoints.load(Ordering::Relaxed), 0);
        let full = logs.disk_bytes("I1").unwrap();
        m.delete_topic("a", R, "I1", "t").unwrap();
        logs.write(&m, false).unwrap();
        assert_eq!(logs.stats.checkpoints.load(Ordering::Relaxed), 1);
        let after = logs.disk_bytes("I1").unwrap();
        assert!(after < full / 10, "{full} -> {after} bytes");
        let back = management_only(&m);
        MessageLogs::open(&dir).unwrap().recover(&back).unwrap();
        assert_eq!(counts(&back, "u"), (0, 1));
        assert!(back.instance_by_id("I1").unwrap().read().message_counts("t").is_err());

        m.delete_topic("a", R, "I1", "u").unwrap();
        m.delete_group("a", R, "I1", "GID_g").unwrap();
        m.delete_instance("a", R, "I1").unwrap();
        logs.write(&m, false).unwrap();
        assert!(!dir.join("rocketmq/I1").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn undecided_half_messages_of_both_protocols_survive_a_restart() {
        let dir = temp_dir();
        let m = model();
        let logs = MessageLogs::open(&dir).unwrap();
        logs.recover(&m).unwrap();
        let (http_id, _) =
            m.prepare_half("I1", "t", Some("GID_g"), NewMessage::new("a", "", "http-tx"), 60_000).unwrap();
        let (decided, handle) = m.prepare_half("I1", "t", None, NewMessage::new("a", "", "gone"), 60_000).unwrap();
        assert_eq!(m.end_half("I1", "t", "GID_g", &handle, false), Ok(None));
        let tcp = crate::engine::rocketmq::PreparedHalf {
            id: 1 << 40,
            topic: "t".into(),
            client_topic: "t".into(),
            producer_group: "GID_tx".into(),
            uniq_id: Some("UNIQ".into()),
            message: NewMessage::new("a", "", "tcp-tx"),
        };
        m.store_half("I1", tcp.clone()).unwrap();
        logs.write(&m, false).unwrap();
        drop(logs);

        let back = management_only(&m);
        MessageLogs::open(&dir).unwrap().recover(&back).unwrap();
        assert_eq!(back.stored_halves(), vec![("I1".to_string(), tcp)]);
        // The HTTP one is handed out for a check at once (a new receipt handle), the rolled-back one is gone.
        let checks = back.pop_half("I1", "t", "GID_g", 16, 60_000);
        assert_eq!(checks.len(), 1);
        assert_eq!(
            (checks[0].1.msg_id.as_str(), checks[0].1.message.body.as_slice()),
            (http_id.as_str(), &b"http-tx"[..])
        );
        assert_ne!(checks[0].1.msg_id, decided);
        let stored = back.end_half("I1", "t", "GID_g", &checks[0].0, true).unwrap().unwrap().unwrap();
        assert_eq!(stored, http_id, "the commit keeps the id the publish returned");
        assert_eq!(counts(&back, "t"), (0, 1));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_imported_state_starts_every_log_over_and_a_reset_removes_them() {
        let dir = temp_dir();
        let m = model();
        let logs = MessageLogs::open(&dir).unwrap();
        logs.recover(&m).unwrap();
        for i in 0..3 {
            send(&m, &logs, i);
        }
        // An import: a document (as the admin export writes it, messages included) replaces the model.
        let other = model();
        other.send("I1", "u", NewMessage::new("a", "k", "imported")).unwrap();
        let imported: RocketMqModel = serde_json::from_str(&serde_json::to_string(&other).unwrap()).unwrap();
        logs.rewrite_all(&imported).unwrap();
        // Recording is on for the imported model: its next send reaches the log after the checkpoint.
        imported.send("I1", "u", NewMessage::new("a", "k", "after")).unwrap();
        logs.write(&imported, false).unwrap();
        drop(logs);
        let back = management_only(&imported);
        MessageLogs::open(&dir).unwrap().recover(&back).unwrap();
        assert_eq!((counts(&back, "t"), counts(&back, "u")), ((0, 0), (0, 2)), "the old messages are gone");

        // A reset to an empty model: no instance, no log.
        let logs = MessageLogs::open(&dir).unwrap();
        logs.recover(&back).unwrap();
        logs.rewrite_all(&RocketMqModel::default()).unwrap();
        assert!(!dir.join("rocketmq/I1").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn messages_of_an_older_data_dir_move_into_a_checkpoint_once() {
        let dir = temp_dir();
        // An older localyun: the messages came with the snapshot (or `m/<instance>` records).
        let m = model();
        m.subscribe("I1", "GID_g", "t", "*").unwrap();
        let id = m.send("I1", "t", NewMessage::new("a", "k", "legacy")).unwrap();
        m.deliver("I1", "GID_g", "t", 10).unwrap();
        m.consume_failed("I1", "GID_g", &id).unwrap();
        let later = crate::engine::rocketmq::Millis::from_ms(crate::engine::now_ms() + 60_000);
        m.send("I1", "u", NewMessage { start_deliver_ms: Some(later), ..NewMessage::new("a", "k", "timed") }).unwrap();
        let legacy: RocketMqModel = serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        let logs = MessageLogs::open(&dir).unwrap();
        logs.recover(&legacy).unwrap();
        assert_eq!(logs.stats.checkpoints.load(Ordering::Relaxed), 1);
        drop(logs);
        // The next start reads them from the log, the snapshot no longer holds them: the same store.
        let back = management_only(&legacy);
        let logs = MessageLogs::open(&dir).unwrap();
        logs.recover(&back).unwrap();
        assert_eq!(counts(&back, "t"), (0, 1));
        assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&m).unwrap());
        assert_eq!(logs.stats.checkpoints.load(Ordering::Relaxed), 0);
        drop(logs);
        std::fs::remove_dir_all(&dir).unwrap();

        // A journal of that older localyun: an `m/<instance>` record carries the instance's whole store.
        let dir = temp_dir();
        m.send("I1", "t", NewMessage::new("a", "k", "second")).unwrap();
        let doc = serde_json::to_value(&m).unwrap();
        let record = serde_json::json!({
            "topics": {"t": {"queues": doc["instances"]["I1"]["topics"]["t"]["queues"].clone()}},
            "commit_log_offset": 3,
        });
        let mut journaled = management_only(&m);
        crate::storage::Resources::apply(&mut journaled, "m/I1", Some(record)).unwrap();
        assert_eq!(counts(&journaled, "t"), (0, 2), "applied as before");
        MessageLogs::open(&dir).unwrap().recover(&journaled).unwrap();
        let back = management_only(&journaled);
        MessageLogs::open(&dir).unwrap().recover(&back).unwrap();
        assert_eq!(counts(&back, "t"), (0, 2), "then continued from the message log");
        let id = back.send("I1", "t", NewMessage::new("a", "k", "third")).unwrap();
        assert_eq!(id, crate::engine::rocketmq::offset_msg_id(3), "commit offsets continue after the old ones");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
