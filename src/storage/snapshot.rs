//! Snapshot files: one per model, `state/<model>.json`, replaced atomically (temporary file, fsync, rename,
//! fsync of the folder).
//!
//! Format: one header line, then the model as JSON.
//! - format 2 (written now): `localyun-state 2 <model> <writer-version> <body-bytes> <sha256> <journal-seq>`;
//!   `<journal-seq>` is the last journal segment whose records the snapshot already holds (recovery replays
//!   only later segments for this model).
//! - format 1 (localyun before the journal): the same without `<journal-seq>`; read as "holds no journal
//!   segment" and rewritten in format 2 at the first start (the migration).
//!
//! The length and checksum detect truncated or damaged files; a damaged file stops the start with a message
//! that names it and is never modified or discarded.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

/// The snapshot format this version writes. Format 1 is read and migrated; newer ones are refused.
pub const FORMAT: u32 = 2;
const MAGIC: &str = "localyun-state";
/// Appended to every message about damaged stored state.
pub const RECOVERY_HINT: &str = "localyun refuses to start rather than discard stored state; restore the file from \
     a backup, or move the data dir away to start empty";

/// One snapshot read back: the model's JSON and the journal segment it covers.
#[derive(Debug)]
pub struct Snapshot {
    pub body: Vec<u8>,
    /// The last journal segment already folded into `body` (0: none; a format-1 file).
    pub covered: u64,
    /// The format the file was written in (1 means it still needs migrating).
    pub format: u32,
}

fn header(name: &str, body: &[u8], covered: u64) -> String {
    format!(
        "{MAGIC} {FORMAT} {name} {} {} {} {covered}\n",
        env!("CARGO_PKG_VERSION"),
        body.len(),
        hex::encode(Sha256::digest(body))
    )
}

/// Replaces `path` atomically with a snapshot of model `name` holding `body`, covering journal segments up
/// to `covered`. `dir` is the folder of `path` (synced so the rename itself is durable).
pub fn write_snapshot(path: &Path, dir: &Path, name: &str, body: &[u8], covered: u64) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let write = || -> std::io::Result<()> {
        let mut file = File::create(&tmp)?;
        file.write_all(header(name, body, covered).as_bytes())?;
        file.write_all(body)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    };
    write().map_err(|e| anyhow::anyhow!("cannot write state file {}: {e}", path.display()))
}

/// Reads and checks one snapshot file of model `name`.
pub fn read_snapshot(path: &Path, name: &str) -> anyhow::Result<Snapshot> {
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
    let fields: Vec<&str> = header.split(' ').collect();
    if fields.first() != Some(&MAGIC) || fields.len() < 2 {
        anyhow::bail!("{shown} is not a localyun state file; {RECOVERY_HINT}");
    }
    let format: u32 = fields[1].parse().map_err(|_| {
        anyhow::anyhow!("state file {shown} has an unreadable format number {:?}; {RECOVERY_HINT}", fields[1])
    })?;
    let writer = fields.get(3).copied().unwrap_or("?");
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
    let (stored_name, length, checksum, covered) = match (format, fields.as_slice()) {
        (1, [_, _, name, _, length, checksum]) => (*name, *length, *checksum, "0"),
        (2, [_, _, name, _, length, checksum, covered]) => (*name, *length, *checksum, *covered),
        _ => anyhow::bail!("{shown} is not a localyun state file (bad header {header:?}); {RECOVERY_HINT}"),
    };
    if stored_name != name {
        anyhow::bail!("state file {shown} holds model {stored_name:?}, expected {name:?}; {RECOVERY_HINT}");
    }
    let damaged_header = || anyhow::anyhow!("state file {shown} has a damaged header {header:?}; {RECOVERY_HINT}");
    let length: usize = length.parse().map_err(|_| damaged_header())?;
    let covered: u64 = covered.parse().map_err(|_| damaged_header())?;
    let body = &bytes[newline + 1..];
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
    if hex::encode(Sha256::digest(body)) != checksum {
        anyhow::bail!("state file {shown} is corrupt: its checksum does not match its content; {RECOVERY_HINT}");
    }
    Ok(Snapshot { body: body.to_vec(), covered, format })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("localyun-snapshot-{tag}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_written_file_reads_back_with_its_journal_position() {
        let dir = temp_dir("roundtrip");
        let path = dir.join("kafka.json");
        write_snapshot(&path, &dir, "kafka", br#"{"instances":{}}"#, 7).unwrap();
        let read = read_snapshot(&path, "kafka").unwrap();
        assert_eq!((read.body.as_slice(), read.covered, read.format), (&br#"{"instances":{}}"#[..], 7, 2));
        assert!(!dir.join("kafka.json.tmp").exists());
    }

    #[test]
    fn a_format_1_file_reads_as_covering_no_journal() {
        let dir = temp_dir("v1");
        let path = dir.join("accounts.json");
        let body = br#"{"provisioned":["100000000001"]}"#;
        let v1 = format!("localyun-state 1 accounts 0.1.0 {} {}\n", body.len(), hex::encode(Sha256::digest(body)));
        std::fs::write(&path, [v1.as_bytes(), body].concat()).unwrap();
        let read = read_snapshot(&path, "accounts").unwrap();
        assert_eq!((read.body.as_slice(), read.covered, read.format), (&body[..], 0, 1));
    }

    #[test]
    fn truncation_corruption_and_newer_formats_are_refused_by_name() {
        let dir = temp_dir("damage");
        let path = dir.join("kafka.json");
        write_snapshot(&path, &dir, "kafka", br#"{"instances":{"a":1}}"#, 3).unwrap();
        let good = std::fs::read(&path).unwrap();

        std::fs::write(&path, &good[..good.len() - 3]).unwrap();
        let e = read_snapshot(&path, "kafka").unwrap_err().to_string();
        assert!(e.contains("is truncated") && e.contains("kafka.json"), "{e}");

        std::fs::write(&path, &good[..10]).unwrap();
        let e = read_snapshot(&path, "kafka").unwrap_err().to_string();
        assert!(e.contains("header line is incomplete"), "{e}");

        let mut flipped = good.clone();
        let last = flipped.len() - 2;
        flipped[last] ^= 0x01;
        std::fs::write(&path, &flipped).unwrap();
        let e = read_snapshot(&path, "kafka").unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");

        let newer = String::from_utf8(good.clone()).unwrap().replacen("localyun-state 2 ", "localyun-state 7 ", 1);
        std::fs::write(&path, newer).unwrap();
        let e = read_snapshot(&path, "kafka").unwrap_err().to_string();
        assert!(e.contains("state format 7"), "{e}");

        std::fs::write(&path, b"{\"hello\": 1}\n").unwrap();
        let e = read_snapshot(&path, "kafka").unwrap_err().to_string();
        assert!(e.contains("not a localyun state file"), "{e}");

        std::fs::write(&path, &good).unwrap();
        assert!(read_snapshot(&path, "rocketmq").unwrap_err().to_string().contains("holds model"));
    }
}
