//! Durable state for `--data-dir`: snapshots plus a journal of changed resources.
//!
//! - After each request, [`Persistence::commit`] drains the keys the engines report changed
//!   ([`crate::storage::Resources::take_dirty`]), serialises only those resources and appends them to the
//!   journal. The answer waits for an fsync; concurrent requests share one (group commit). A request that
//!   changed nothing appends nothing and waits for nothing.
//! - Models that report no keys (`take_dirty()` is None) fall back to whole-model saves: their snapshot is
//!   rewritten atomically when their content changed (byte comparison, so reads and rejected writes write
//!   nothing); concurrent requests share one rewrite.
//! - When the active segment outgrows the snapshots, it is sealed and a background thread folds the sealed
//!   segments into new snapshots (built in a fresh model, never the live one), then deletes them.
//! - Start: snapshot plus replay of later segments per model; a torn last record is dropped (it was never
//!   acknowledged); any other damage stops the start naming the file. Format-1 data dirs (one whole JSON
//!   file per model, no journal) are read and rewritten as format 2 at the first start.
//! - A failed append or fsync rolls every model back to what is on disk (the change is answered 503 and
//!   not applied), and health reports the failure until a later write succeeds.

use std::collections::{HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Weak;

use parking_lot::Mutex;

use crate::state::{AppState, Change, Inner, Store};
use crate::storage::journal::{self, Record};
use crate::storage::snapshot::{self, RECOVERY_HINT};

/// A segment is sealed for compaction once it is larger than this or than the snapshots, whichever is
/// larger: replay at start stays proportional to the state, and compaction work per appended byte bounded.
const MIN_SEGMENT_BYTES: u64 = 8 << 20;

/// The journal's writer side, under one lock: appends are ordered, and the position tells waiters how far
/// the fsync must reach.
struct Writer {
    file: File,
    seq: u64,
    /// Bytes in the active segment (header included).
    len: u64,
    /// Bytes of the active segment known to be on disk.
    synced_len: u64,
    /// Record bytes appended since start, over all segments (the position waiters wait for).
    lsn: u64,
    /// Bumped by every failed write; waiters from before a failure must not report success.
    epoch: u64,
}

/// Counters for health and the benchmarks.
#[derive(Default)]
pub struct Stats {
    pub records: AtomicU64,
    pub journal_bytes: AtomicU64,
    pub fsyncs: AtomicU64,
    /// Whole-model snapshot rewrites (models that report no resource keys).
    pub snapshot_writes: AtomicU64,
    pub compactions: AtomicU64,
}

pub struct Persistence {
    dir: PathBuf,
    state_dir: PathBuf,
    /// Held for the life of the process so two localyun processes never share a data dir.
    _lock: File,
    writer: Mutex<Option<Writer>>,
    /// Record bytes known to be on disk (compared with `Writer::lsn`).
    synced: AtomicU64,
    /// One fsync at a time; whoever holds it syncs for everyone who appended before.
    sync_gate: tokio::sync::Mutex<()>,
    /// Serialises compaction and recovery (both read and replace files).
    files: Mutex<()>,
    /// The last write failure, until a write succeeds again.
    failure: Mutex<Option<String>>,
    /// Total snapshot bytes (the sealing threshold).
    snapshot_bytes: AtomicU64,
    compactor: Mutex<Option<std::sync::mpsc::Sender<()>>>,
    /// Models that report no resource keys (see [`crate::storage::Resources::take_dirty`]): the generation
    /// and content of their last snapshot. Such a model is saved by rewriting its snapshot (a journal record
    /// of a whole model would be written twice, to the journal and again by compaction); the content is
    /// compared byte for byte so a rejected write or a read under a write lock writes nothing.
    whole: Mutex<HashMap<&'static str, (u64, Vec<u8>)>>,
    /// Serialises whole-model snapshot rewrites; whoever holds it writes the latest content for everyone.
    whole_gate: tokio::sync::Mutex<()>,
    /// Test hook: every append fails as if the disk were full.
    fail_writes: AtomicBool,
    pub stats: Stats,
    /// The RocketMQ message logs (payloads outside the journal, see [`crate::storage::mqlog`]).
    pub messages: crate::storage::mqlog::MessageLogs,
}

impl Persistence {
    /// Opens (creating if needed) a data dir and takes its lock.
    pub fn open(dir: &Path) -> anyhow::Result<Persistence> {
        let state_dir = dir.join("state");
        std::fs::create_dir_all(&state_dir)
            .map_err(|e| anyhow::anyhow!("data dir {}: cannot create it: {e}", state_dir.display()))?;
        let lock_path = dir.join("localyun.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| anyhow::anyhow!("data dir {}: cannot open {}: {e}", dir.display(), lock_path.display()))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                anyhow::bail!("data dir {} is in use by another localyun process", dir.display())
            }
            Err(std::fs::TryLockError::Error(e)) => anyhow::bail!("data dir {}: cannot lock it: {e}", dir.display()),
        }
        let messages = crate::storage::mqlog::MessageLogs::open(dir)?;
        Ok(Persistence {
            messages,
            dir: dir.to_path_buf(),
            state_dir,
            _lock: lock,
            writer: Mutex::new(None),
            synced: AtomicU64::new(0),
            sync_gate: tokio::sync::Mutex::new(()),
            files: Mutex::new(()),
            failure: Mutex::new(None),
            snapshot_bytes: AtomicU64::new(0),
            compactor: Mutex::new(None),
            whole: Mutex::new(HashMap::new()),
            whole_gate: tokio::sync::Mutex::new(()),
            fail_writes: AtomicBool::new(false),
            stats: Stats::default(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The snapshot file of one model.
    pub fn model_path(&self, name: &str) -> PathBuf {
        self.state_dir.join(format!("{name}.json"))
    }

    /// The last write failure, when the most recent write failed (health reports it).
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().clone()
    }

    /// Health's view: the data dir, whether writes currently succeed, and the journal's counters.
    pub fn health(&self) -> serde_json::Value {
        let failure = self.failure();
        serde_json::json!({
            "data_dir": self.dir.display().to_string(),
            "status": if failure.is_some() { "failing" } else { "ok" },
            "error": failure,
            "journal": {
                "records": self.stats.records.load(Ordering::Relaxed),
                "bytes": self.stats.journal_bytes.load(Ordering::Relaxed),
                "fsyncs": self.stats.fsyncs.load(Ordering::Relaxed),
                "snapshot_writes": self.stats.snapshot_writes.load(Ordering::Relaxed),
                "compactions": self.stats.compactions.load(Ordering::Relaxed),
            },
            "rocketmq_message_log": self.messages.health(),
        })
    }

    /// Test hook: while on, every append fails as a full disk would (nothing reaches the files).
    #[doc(hidden)]
    pub fn simulate_write_failure(&self, on: bool) {
        self.fail_writes.store(on, Ordering::SeqCst);
    }

    /// Loads the stored state into `store`: each model's snapshot plus the journal records after it.
    /// Returns whether the data dir held any state. Everything is read and checked before any model is
    /// replaced; a torn final record is cut off the newest segment.
    pub fn load_into(&self, store: &Store) -> anyhow::Result<bool> {
        let _files = self.files.lock();
        let Some(disk) = self.read_disk(true)? else {
            return Ok(false);
        };
        for (name, model) in store.models() {
            let (base, changes) = disk.model(name);
            model.restore(base, changes).map_err(|e| {
                anyhow::anyhow!(
                    "state file {} (with its journal) cannot be read by localyun {}: {e}; {RECOVERY_HINT}",
                    self.model_path(name).display(),
                    env!("CARGO_PKG_VERSION")
                )
            })?;
            let _ = model.take_replaced();
        }
        if let Some((seq, path, valid_len)) = disk.torn {
            // Never acknowledged: drop it so the segment reads clean once newer ones follow it.
            let cut = || -> std::io::Result<()> {
                let f = OpenOptions::new().write(true).open(&path)?;
                f.set_len(valid_len)?;
                f.sync_all()
            };
            cut().map_err(|e| anyhow::anyhow!("cannot cut the torn end off journal segment {seq}: {e}"))?;
            tracing::warn!(segment = %path.display(), "dropped a torn journal record (never acknowledged)");
        }
        Ok(true)
    }

    /// Reads every snapshot and segment. None: the data dir holds no state yet.
    fn read_disk(&self, at_start: bool) -> anyhow::Result<Option<Disk>> {
        let segments = journal::list_segments(&self.state_dir)
            .map_err(|e| anyhow::anyhow!("cannot list {}: {e}", self.state_dir.display()))?;
        let mut snapshots = HashMap::new();
        let mut missing = Vec::new();
        for name in crate::state::MODEL_NAMES {
            let path = self.model_path(name);
            if path.exists() {
                snapshots.insert(name, snapshot::read_snapshot(&path, name)?);
            } else {
                missing.push(path);
            }
        }
        if snapshots.is_empty() && segments.is_empty() {
            return Ok(None);
        }
        if let Some(path) = missing.first() {
            anyhow::bail!(
                "state file {} is missing although the data dir holds other state; localyun refuses to start \
                 rather than take that model as empty and write the loss; restore the file from a backup, or move \
                 the data dir away to start empty",
                path.display()
            );
        }
        let mut disk = Disk { snapshots, changes: HashMap::new(), torn: None, last_seq: 0 };
        let newest = segments.last().map(|(seq, _)| *seq);
        for (seq, path) in &segments {
            let read = journal::read_segment(path, Some(*seq) == newest)?;
            if read.valid_len < read.file_len && at_start {
                disk.torn = Some((*seq, path.clone(), read.valid_len));
            }
            disk.add(*seq, read.records)?;
            disk.last_seq = *seq;
        }
        disk.last_seq = disk.last_seq.max(disk.snapshots.values().map(|s| s.covered).max().unwrap_or(0));
        Ok(Some(disk))
    }

    /// After the start's fixtures: writes fresh snapshots of every model (migrating format-1 files), removes
    /// the replayed segments and opens a new one. Runs before any request.
    pub fn start_journal(&self, store: &Store) -> anyhow::Result<()> {
        let _files = self.files.lock();
        let segments = journal::list_segments(&self.state_dir)
            .map_err(|e| anyhow::anyhow!("cannot list {}: {e}", self.state_dir.display()))?;
        let mut last_seq = segments.last().map(|(s, _)| *s).unwrap_or(0);
        let mut saved = HashMap::new();
        let mut total = 0;
        for name in crate::state::MODEL_NAMES {
            let path = self.model_path(name);
            if path.exists() {
                last_seq = last_seq.max(snapshot::read_snapshot(&path, name)?.covered);
            }
        }
        // RocketMQ message payloads: replayed from their logs (older data dirs: moved there), then left out
        // of the snapshots.
        self.messages.recover(&store.rocketmq.read())?;
        for (name, model) in store.models() {
            let tracks_keys = model.take_dirty().is_some();
            let _ = model.take_replaced();
            let (generation, body) = crate::engine::rocketmq::without_messages(|| model.snapshot())?;
            snapshot::write_snapshot(&self.model_path(name), &self.state_dir, name, &body, last_seq)?;
            total += body.len() as u64;
            if !tracks_keys {
                saved.insert(name, (generation, body));
            }
        }
        for (_, path) in &segments {
            std::fs::remove_file(path).map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", path.display()))?;
        }
        let seq = last_seq + 1;
        let file = journal::create_segment(&self.state_dir, seq)
            .map_err(|e| anyhow::anyhow!("cannot create journal segment in {}: {e}", self.state_dir.display()))?;
        let len = journal::SEGMENT_HEADER.len() as u64;
        self.snapshot_bytes.store(total, Ordering::Relaxed);
        *self.whole.lock() = saved;
        *self.writer.lock() = Some(Writer { file, seq, len, synced_len: len, lsn: 0, epoch: 0 });
        self.synced.store(0, Ordering::Release);
        Ok(())
    }

    /// Starts the background compaction thread (holds the state weakly; ends with it).
    pub fn start_compactor(&self, inner: Weak<Inner>) {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        *self.compactor.lock() = Some(tx);
        let spawned = std::thread::Builder::new().name("localyun-compactor".into()).spawn(move || {
            while rx.recv().is_ok() {
                while rx.try_recv().is_ok() {}
                let Some(inner) = inner.upgrade() else { break };
                let state = AppState(inner);
                if let Some(p) = &state.persistence {
                    if let Err(e) = p.compact(&state.store) {
                        tracing::error!(error = %format!("{e:#}"), "journal compaction failed; the journal is kept");
                    }
                }
            }
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the compaction thread; the journal will only be compacted at start");
        }
    }

    /// Journals what the last requests changed and returns once it is on disk. Nothing changed: returns at
    /// once without touching the disk.
    pub async fn commit(&self, state: &AppState) -> anyhow::Result<()> {
        self.save_whole_models(&state.store).await?;
        self.commit_messages(&state.store).await?;
        let (target, epoch) = self.append(&state.store)?;
        if self.synced.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let _gate = self.sync_gate.lock().await;
        if self.synced.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let (file, upto, len) = {
            let guard = self.writer.lock();
            let Some(w) = guard.as_ref() else { anyhow::bail!("the journal is not open") };
            if w.epoch != epoch {
                anyhow::bail!("{}", self.failure().unwrap_or_else(|| "an earlier journal write failed".into()));
            }
            (w.file.try_clone(), w.lsn, w.len)
        };
        let synced = match file {
            Ok(file) => tokio::task::spawn_blocking(move || file.sync_data())
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string()))),
            Err(e) => Err(e),
        };
        match synced {
            Ok(()) => {
                self.stats.fsyncs.fetch_add(1, Ordering::Relaxed);
                {
                    let mut guard = self.writer.lock();
                    let Some(w) = guard.as_mut() else { anyhow::bail!("the journal is not open") };
                    if w.epoch != epoch {
                        // An append failed meanwhile and cut the unsynced tail, ours included.
                        anyhow::bail!("{}", self.failure().unwrap_or_else(|| "a journal write failed".into()));
                    }
                    w.synced_len = w.synced_len.max(len);
                    self.synced.fetch_max(upto, Ordering::AcqRel);
                    *self.failure.lock() = None;
                }
                let state = state.clone();
                // Sealing creates a file and syncs the folder: off the runtime threads.
                let _ = tokio::task::spawn_blocking(move || {
                    if let Some(p) = &state.persistence {
                        p.maybe_seal();
                    }
                })
                .await;
                Ok(())
            }
            Err(e) => {
                let message = format!("cannot sync the journal in {}: {e}", self.state_dir.display());
                self.fail(&state.store, &message);
                anyhow::bail!("{message}")
            }
        }
    }

    /// Writes the RocketMQ message-store events recorded since the last call to the message logs and returns
    /// once they are on disk (nothing recorded: at once). A failure rolls back as a journal failure does.
    async fn commit_messages(&self, store: &Store) -> anyhow::Result<()> {
        let fail = self.fail_writes.load(Ordering::SeqCst);
        let written = self.messages.write(&store.rocketmq.read(), fail);
        let synced = match written {
            Ok((target, epoch)) => self.messages.sync(target, epoch).await,
            Err(e) => Err(e),
        };
        if let Err(e) = synced {
            let message = format!("{e:#}");
            self.fail(store, &message);
            anyhow::bail!("{message}");
        }
        Ok(())
    }

    /// Rewrites the snapshot of every model without resource keys whose content changed (atomic replace,
    /// off the runtime threads); returns once they are on disk.
    async fn save_whole_models(&self, store: &Store) -> anyhow::Result<()> {
        let changed = |name: &str, generation: u64| self.whole.lock().get(name).is_some_and(|(g, _)| *g != generation);
        if !store.models().iter().any(|(name, model)| changed(name, model.generation())) {
            return Ok(());
        }
        let _gate = self.whole_gate.lock().await;
        for (name, model) in store.models() {
            if !changed(name, model.generation()) {
                continue;
            }
            let (generation, body) = model.snapshot()?;
            {
                let mut whole = self.whole.lock();
                if whole.get(name).is_some_and(|(_, last)| *last == body) {
                    whole.insert(name, (generation, body));
                    continue;
                }
            }
            // No journal record of this model exists, so the snapshot covers every segment so far.
            let covered = self.writer.lock().as_ref().map_or(0, |w| w.seq);
            let path = self.model_path(name);
            let dir = self.state_dir.clone();
            let fail = self.fail_writes.load(Ordering::SeqCst);
            let written = tokio::task::spawn_blocking(move || {
                if fail {
                    anyhow::bail!("cannot write state file {}: simulated: no space left on device", path.display());
                }
                snapshot::write_snapshot(&path, &dir, name, &body, covered).map(|()| body)
            })
            .await
            .unwrap_or_else(|e| Err(anyhow::anyhow!("state writer failed: {e}")));
            match written {
                Ok(body) => {
                    self.stats.snapshot_writes.fetch_add(1, Ordering::Relaxed);
                    self.whole.lock().insert(name, (generation, body));
                    *self.failure.lock() = None;
                }
                Err(e) => {
                    let message = format!("{e:#}");
                    self.fail(store, &message);
                    anyhow::bail!("{message}")
                }
            }
        }
        Ok(())
    }

    /// Serialises the changed resources and appends them; returns the position to sync to and the epoch.
    fn append(&self, store: &Store) -> anyhow::Result<(u64, u64)> {
        let mut guard = self.writer.lock();
        let Some(w) = guard.as_mut() else {
            // Not started yet (start-up fixtures): the start writes snapshots of everything.
            return Ok((0, 0));
        };
        let mut buf = Vec::new();
        let mut records = 0;
        for (name, model) in store.models() {
            let replaced = model.take_replaced();
            match model.take_dirty() {
                Some(keys) if !replaced => {
                    let mut seen = HashSet::new();
                    for key in keys {
                        if seen.insert(key.clone()) {
                            let value = model.resource(&key);
                            journal::frame(&mut buf, &journal::key_payload(name, &key, value.as_ref()));
                            records += 1;
                        }
                    }
                }
                Some(_) => {
                    // Replaced wholesale (admin import or reset): no keys describe that. RocketMQ messages
                    // go to their logs, which start over from the new model.
                    if name == "rocketmq" {
                        let rewritten = self.messages.rewrite_all(&store.rocketmq.read());
                        if let Err(e) = rewritten {
                            drop(guard);
                            let message = format!("cannot rewrite the RocketMQ message logs: {e:#}");
                            self.fail(store, &message);
                            anyhow::bail!("{message}");
                        }
                    }
                    let (_, body) = crate::engine::rocketmq::without_messages(|| model.snapshot())?;
                    journal::frame(&mut buf, &journal::whole_payload(name, &body));
                    records += 1;
                }
                // Saved by `save_whole_models`.
                None => {}
            }
        }
        if buf.is_empty() {
            return Ok((w.lsn, w.epoch));
        }
        let written = if self.fail_writes.load(Ordering::SeqCst) {
            Err(std::io::Error::new(std::io::ErrorKind::StorageFull, "simulated: no space left on device"))
        } else {
            w.file.write_all(&buf)
        };
        match written {
            Ok(()) => {
                w.len += buf.len() as u64;
                w.lsn += buf.len() as u64;
                self.stats.records.fetch_add(records, Ordering::Relaxed);
                self.stats.journal_bytes.fetch_add(buf.len() as u64, Ordering::Relaxed);
                Ok((w.lsn, w.epoch))
            }
            Err(e) => {
                drop(guard);
                let message = format!("cannot append to the journal in {}: {e}", self.state_dir.display());
                self.fail(store, &message);
                anyhow::bail!("{message}")
            }
        }
    }

    /// A write failed: cut the unsynced tail, fail everyone waiting on it, and roll the models back to the
    /// disk's content so nothing stays applied that was not made durable.
    fn fail(&self, store: &Store, message: &str) {
        tracing::error!(error = message, "journal write failed; rolling back to the stored state");
        *self.failure.lock() = Some(message.to_string());
        let _files = self.files.lock();
        let mut guard = self.writer.lock();
        let Some(w) = guard.as_mut() else { return };
        w.epoch += 1;
        if let Err(e) = w.file.set_len(w.synced_len) {
            tracing::error!(error = %e, "cannot cut the unsynced journal tail");
        }
        w.len = w.synced_len;
        w.lsn = self.synced.load(Ordering::Acquire);
        match self.read_disk(false) {
            Ok(Some(disk)) => {
                for (name, model) in store.models() {
                    let (base, changes) = disk.model(name);
                    if let Err(e) = model.restore(base, changes) {
                        tracing::error!(model = name, error = %e, "cannot roll back to the stored state");
                        continue;
                    }
                    let _ = model.take_replaced();
                    let mut whole = self.whole.lock();
                    if whole.contains_key(name) {
                        if let Ok((generation, body)) = model.snapshot() {
                            whole.insert(name, (generation, body));
                        }
                    }
                }
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %format!("{e:#}"), "cannot read the stored state to roll back"),
        }
        drop(guard);
        self.messages.cut_unsynced();
        if let Err(e) = self.messages.recover(&store.rocketmq.read()) {
            tracing::error!(error = %format!("{e:#}"), "cannot read the RocketMQ message logs to roll back");
        }
    }

    /// Seals the active segment when it outgrew the snapshots (all of it synced), and wakes the compactor.
    fn maybe_seal(&self) {
        let mut guard = self.writer.lock();
        let Some(w) = guard.as_mut() else { return };
        let threshold = MIN_SEGMENT_BYTES.max(self.snapshot_bytes.load(Ordering::Relaxed));
        if w.len < threshold || w.synced_len < w.len {
            return;
        }
        match journal::create_segment(&self.state_dir, w.seq + 1) {
            Ok(file) => {
                w.file = file;
                w.seq += 1;
                w.len = journal::SEGMENT_HEADER.len() as u64;
                w.synced_len = w.len;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot start a new journal segment; appending to the current one");
                return;
            }
        }
        drop(guard);
        if let Some(tx) = self.compactor.lock().as_ref() {
            let _ = tx.send(());
        }
    }

    /// Folds the sealed segments into new snapshots (built from the old snapshot in a fresh model; the live
    /// models are not locked), then deletes them.
    pub fn compact(&self, store: &Store) -> anyhow::Result<()> {
        let _files = self.files.lock();
        let active = match self.writer.lock().as_ref() {
            Some(w) => w.seq,
            None => return Ok(()),
        };
        let sealed: Vec<(u64, PathBuf)> =
            journal::list_segments(&self.state_dir)?.into_iter().filter(|(seq, _)| *seq < active).collect();
        let Some(&(last_sealed, _)) = sealed.last() else { return Ok(()) };
        let mut disk = Disk { snapshots: HashMap::new(), changes: HashMap::new(), torn: None, last_seq: 0 };
        for name in crate::state::MODEL_NAMES {
            disk.snapshots.insert(name, snapshot::read_snapshot(&self.model_path(name), name)?);
        }
        for (seq, path) in &sealed {
            disk.add(*seq, journal::read_segment(path, false)?.records)?;
        }
        let mut total = 0;
        for (name, model) in store.models() {
            let had_changes = disk.changes.get(name).is_some_and(|c| !c.is_empty());
            let (base, changes) = disk.model(name);
            if !had_changes {
                total += base.map_or(0, |b| b.len() as u64);
                continue;
            }
            let body = crate::engine::rocketmq::without_messages(|| model.rebuild(base, changes))
                .map_err(|e| anyhow::anyhow!("compacting {name}: {e}"))?;
            snapshot::write_snapshot(&self.model_path(name), &self.state_dir, name, &body, last_sealed)?;
            total += body.len() as u64;
        }
        for (_, path) in &sealed {
            std::fs::remove_file(path).map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", path.display()))?;
        }
        File::open(&self.state_dir)?.sync_all()?;
        self.snapshot_bytes.store(total, Ordering::Relaxed);
        self.stats.compactions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Seals the active segment and compacts now, whatever its size (tests and the benchmark).
    pub fn compact_now(&self, store: &Store) -> anyhow::Result<()> {
        {
            let mut guard = self.writer.lock();
            if let Some(w) = guard.as_mut() {
                if w.synced_len == w.len && w.len > journal::SEGMENT_HEADER.len() as u64 {
                    let file = journal::create_segment(&self.state_dir, w.seq + 1)?;
                    w.file = file;
                    w.seq += 1;
                    w.len = journal::SEGMENT_HEADER.len() as u64;
                    w.synced_len = w.len;
                }
            }
        }
        self.compact(store)
    }
}

/// Everything on disk, read: the snapshots and, per model, the changes after its snapshot.
struct Disk {
    snapshots: HashMap<&'static str, snapshot::Snapshot>,
    changes: HashMap<String, Vec<Change>>,
    /// The newest segment's torn tail: (segment, file, intact length).
    torn: Option<(u64, PathBuf, u64)>,
    last_seq: u64,
}

impl Disk {
    fn add(&mut self, seq: u64, records: Vec<Record>) -> anyhow::Result<()> {
        for Record { model, change } in records {
            let Some(snap) = self.snapshots.get(model.as_str()) else {
                anyhow::bail!("the journal names an unknown model {model:?}; {RECOVERY_HINT}");
            };
            if seq <= snap.covered {
                continue;
            }
            let list = self.changes.entry(model).or_default();
            if matches!(change, Change::Whole(_)) {
                // A whole model supersedes everything journaled before it.
                list.clear();
            }
            list.push(change);
        }
        Ok(())
    }

    fn model(&self, name: &str) -> (Option<&[u8]>, Vec<Change>) {
        let base = self.snapshots.get(name).map(|s| s.body.as_slice());
        (base, self.changes.get(name).cloned().unwrap_or_default())
    }
}

/// The durable content of model `name` as JSON: the snapshot at `path` plus the journal records after it in
/// the same folder (what a restart would load). For tests and tools.
pub fn read_model(path: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let snap = snapshot::read_snapshot(path, name)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let segments = journal::list_segments(dir)?;
    let newest = segments.last().map(|(s, _)| *s);
    let mut changes = Vec::new();
    for (seq, seg) in &segments {
        if *seq <= snap.covered {
            continue;
        }
        for record in journal::read_segment(seg, Some(*seq) == newest)?.records {
            if record.model == name {
                if matches!(record.change, Change::Whole(_)) {
                    changes.clear();
                }
                changes.push(record.change);
            }
        }
    }
    let body =
        crate::state::rebuild_named(name, Some(&snap.body), changes).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    match (name, dir.parent()) {
        // RocketMQ messages are in the message logs beside the state folder.
        ("rocketmq", Some(data_dir)) => crate::storage::mqlog::with_message_logs(data_dir, &body),
        _ => Ok(body),
    }
}
