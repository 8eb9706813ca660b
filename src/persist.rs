//! Durable state for `--data-dir`: one file per model, replaced atomically (write to a temporary file,
//! fsync, rename over the old file, fsync the folder) before a mutation is acknowledged.
//!
//! Why whole-model snapshots rather than an embedded database or a journal: management-plane state is
//! small (kilobytes to a few megabytes), so rewriting the one model a request changed costs less than the
//! fsync every durable design pays anyway; a rename is atomic on POSIX file systems, so a `kill -9` at any
//! moment leaves either the old or the new file and no recovery procedure is needed; the files are plain
//! JSON users can read, diff and back up; and there is no extra dependency whose own corruption handling
//! we would have to trust. Concurrent requests share a write: whoever persists first writes the latest
//! content, and later requests whose change is already on disk return at once.
//!
//! File format: one header line `localyun-state <format> <model> <writer-version> <body-bytes> <sha256>`,
//! then the model as JSON. The length and checksum detect truncated or damaged files; a damaged file stops
//! the start with a message that names it and is never modified or discarded.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::state::{AppState, Store};

/// The state file format this version writes. Older formats are migrated in `read_state_file` (there are
/// none yet); newer ones are refused.
pub const FORMAT: u32 = 1;
const MAGIC: &str = "localyun-state";
const RECOVERY_HINT: &str = "localyun refuses to start rather than discard stored state; restore the file from a \
     backup, or move the data dir away to start empty";

pub struct Persistence {
    dir: PathBuf,
    state_dir: PathBuf,
    /// Held for the life of the process so two localyun processes never share a data dir.
    _lock: File,
    /// The generation of each model last written; the mutex also serialises writers.
    saved: tokio::sync::Mutex<HashMap<&'static str, u64>>,
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
        Ok(Persistence {
            dir: dir.to_path_buf(),
            state_dir,
            _lock: lock,
            saved: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file that holds one model.
    pub fn model_path(&self, name: &str) -> PathBuf {
        self.state_dir.join(format!("{name}.json"))
    }

    /// Loads every stored model into `store`. Returns whether the data dir held any state. All files are
    /// read and checked before any model is replaced.
    pub fn load_into(&self, store: &Store) -> anyhow::Result<bool> {
        let mut bodies = Vec::new();
        for (name, model) in store.models() {
            let path = self.model_path(name);
            if !path.exists() {
                continue;
            }
            let body = read_state_file(&path, name)?;
            let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
                anyhow::anyhow!("state file {} is not valid JSON: {e}; {RECOVERY_HINT}", path.display())
            })?;
            model.validate(&value).map_err(|e| {
                anyhow::anyhow!(
                    "state file {} cannot be read by localyun {}: {e}; {RECOVERY_HINT}",
                    path.display(),
                    env!("CARGO_PKG_VERSION")
                )
            })?;
            bodies.push((name, model, value));
        }
        let restored = !bodies.is_empty();
        let mut saved = self.saved.try_lock().map_err(|_| anyhow::anyhow!("state is being saved during load"))?;
        for (name, model, value) in bodies {
            model.load_value(value).map_err(|e| anyhow::anyhow!("state file for {name}: {e}"))?;
            saved.insert(name, model.generation());
        }
        Ok(restored)
    }

    /// Writes every changed model, at start (no other writer exists yet).
    pub fn save_dirty_blocking(&self, store: &Store) -> anyhow::Result<()> {
        let mut saved = self.saved.try_lock().map_err(|_| anyhow::anyhow!("state is being saved during start"))?;
        for (name, model) in store.models() {
            if saved.get(name) == Some(&model.generation()) {
                continue;
            }
            let (generation, body) = model.snapshot()?;
            write_state_file(&self.model_path(name), &self.state_dir, name, &body)?;
            saved.insert(name, generation);
        }
        Ok(())
    }

    /// Writes every model changed since its last write; returns when they are on disk.
    pub async fn save_dirty(&self, state: &AppState) -> anyhow::Result<()> {
        let mut saved = self.saved.lock().await;
        for (name, model) in state.store.models() {
            if saved.get(name) == Some(&model.generation()) {
                continue;
            }
            // Serialised under the model's read lock (released at once); the file I/O runs off the runtime.
            let (generation, body) = model.snapshot()?;
            let path = self.model_path(name);
            let state_dir = self.state_dir.clone();
            tokio::task::spawn_blocking(move || write_state_file(&path, &state_dir, name, &body))
                .await
                .map_err(|e| anyhow::anyhow!("state writer failed: {e}"))??;
            saved.insert(name, generation);
        }
        Ok(())
    }
}

fn header(name: &str, body: &[u8]) -> String {
    format!(
        "{MAGIC} {FORMAT} {name} {} {} {}\n",
        env!("CARGO_PKG_VERSION"),
        body.len(),
        hex::encode(Sha256::digest(body))
    )
}

/// Replaces `path` atomically with a state file holding `body`.
pub fn write_state_file(path: &Path, dir: &Path, name: &str, body: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&tmp)?;
        file.write_all(header(name, body).as_bytes())?;
        file.write_all(body)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        // The rename itself is durable only once the folder is synced.
        File::open(dir)?.sync_all()
    };
    write().map_err(|e| anyhow::anyhow!("cannot write state file {}: {e}", path.display()))
}

/// Reads and checks one state file; returns the model's JSON.
pub fn read_state_file(path: &Path, name: &str) -> anyhow::Result<Vec<u8>> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read state file {shown}: {e}"))?;
    let Some(newline) = bytes.iter().position(|b| *b == b'\n') else {
        if bytes.starts_with(MAGIC.as_bytes()) || MAGIC.as_bytes().starts_with(&bytes) {
            anyhow::bail!("state file {shown} is truncated (its header line is incomplete); {RECOVERY_HINT}");
        }
        anyhow::bail!("{shown} is not a localyun state file; {RECOVERY_HINT}");
    };
    let header = std::str::from_utf8(&bytes[..newline])
        .map_err(|_| anyhow::anyhow!("{shown} is not a localyun state file; {RECOVERY_HINT}"))?;
    let body = &bytes[newline + 1..];
    let fields: Vec<&str> = header.split(' ').collect();
    let [magic, format, stored_name, writer, length, checksum] = fields.as_slice() else {
        anyhow::bail!("{shown} is not a localyun state file (bad header {header:?}); {RECOVERY_HINT}");
    };
    if *magic != MAGIC {
        anyhow::bail!("{shown} is not a localyun state file; {RECOVERY_HINT}");
    }
    let format: u32 = format.parse().map_err(|_| {
        anyhow::anyhow!("state file {shown} has an unreadable format number {format:?}; {RECOVERY_HINT}")
    })?;
    if format > FORMAT {
        anyhow::bail!(
            "state file {shown} was written by localyun {writer} in state format {format}; localyun {} reads formats up \
             to {FORMAT}. Run a newer localyun on this data dir, or move it away to start empty",
            env!("CARGO_PKG_VERSION")
        );
    }
    if format < 1 {
        anyhow::bail!("state file {shown} has state format {format}, which no localyun release wrote; {RECOVERY_HINT}");
    }
    if *stored_name != name {
        anyhow::bail!("state file {shown} holds model {stored_name:?}, expected {name:?}; {RECOVERY_HINT}");
    }
    let length: usize = length
        .parse()
        .map_err(|_| anyhow::anyhow!("state file {shown} has a damaged header {header:?}; {RECOVERY_HINT}"))?;
    if body.len() < length {
        anyhow::bail!(
            "state file {shown} is truncated: its header announces {length} bytes of state, the file holds {}; \
             {RECOVERY_HINT}",
            body.len()
        );
    }
    if body.len() > length {
        anyhow::bail!(
            "state file {shown} is damaged: {} bytes follow its {length} bytes of state; {RECOVERY_HINT}",
            body.len() - length
        );
    }
    if hex::encode(Sha256::digest(body)) != *checksum {
        anyhow::bail!("state file {shown} is corrupt: its checksum does not match its content; {RECOVERY_HINT}");
    }
    Ok(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("localyun-persist-{tag}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_written_file_reads_back() {
        let dir = temp_dir("roundtrip");
        let path = dir.join("kafka.json");
        write_state_file(&path, &dir, "kafka", br#"{"instances":{}}"#).unwrap();
        assert_eq!(read_state_file(&path, "kafka").unwrap(), br#"{"instances":{}}"#);
        assert!(!dir.join("kafka.json.tmp").exists());
    }

    #[test]
    fn truncation_corruption_and_newer_formats_are_refused_by_name() {
        let dir = temp_dir("damage");
        let path = dir.join("kafka.json");
        write_state_file(&path, &dir, "kafka", br#"{"instances":{"a":1}}"#).unwrap();
        let good = std::fs::read(&path).unwrap();

        std::fs::write(&path, &good[..good.len() - 3]).unwrap();
        let e = read_state_file(&path, "kafka").unwrap_err().to_string();
        assert!(e.contains("is truncated") && e.contains("kafka.json"), "{e}");

        std::fs::write(&path, &good[..10]).unwrap();
        let e = read_state_file(&path, "kafka").unwrap_err().to_string();
        assert!(e.contains("header line is incomplete"), "{e}");

        let mut flipped = good.clone();
        let last = flipped.len() - 2;
        flipped[last] ^= 0x01;
        std::fs::write(&path, &flipped).unwrap();
        let e = read_state_file(&path, "kafka").unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");

        let newer = String::from_utf8(good.clone()).unwrap().replacen("localyun-state 1 ", "localyun-state 7 ", 1);
        std::fs::write(&path, newer).unwrap();
        let e = read_state_file(&path, "kafka").unwrap_err().to_string();
        assert!(e.contains("state format 7"), "{e}");

        std::fs::write(&path, b"{\"hello\": 1}\n").unwrap();
        let e = read_state_file(&path, "kafka").unwrap_err().to_string();
        assert!(e.contains("not a localyun state file"), "{e}");

        std::fs::write(&path, &good).unwrap();
        assert!(read_state_file(&path, "rocketmq").unwrap_err().to_string().contains("holds model"));
    }

    #[test]
    fn a_data_dir_is_locked_against_a_second_process() {
        let dir = temp_dir("lock");
        let first = Persistence::open(&dir).unwrap();
        let e = Persistence::open(&dir).err().unwrap().to_string();
        assert!(e.contains("in use by another localyun"), "{e}");
        drop(first);
        Persistence::open(&dir).unwrap();
    }
}
