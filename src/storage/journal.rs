//! The journal: numbered segment files `state/journal-<seq>.log`, each a header line then records.
//!
//! A record is `[payload length: u32 LE][CRC-32 of the payload: u32 LE][payload]`; the payload is JSON:
//! `{"m":"<model>","k":"<key>","v":<value or null>}` for one resource, `{"m":"<model>","w":<model>}` for a
//! whole model. Records are appended and fsynced before the request that made them is answered.
//!
//! Reading: a record cut short at the end of the last segment (a `kill -9` or power loss during the write,
//! so never acknowledged) is discarded; any other unreadable record stops the start naming the file.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::state::Change;
use crate::storage::snapshot::RECOVERY_HINT;

/// The first line of every segment.
pub const SEGMENT_HEADER: &[u8] = b"localyun-journal 1\n";
const RECORD_HEAD: usize = 8;
/// Larger than any record localyun writes; a larger length is damage, not data.
const MAX_RECORD: u32 = 1 << 30;

/// The file name of segment `seq`.
pub fn segment_name(seq: u64) -> String {
    format!("journal-{seq:012}.log")
}

/// The segments in `dir`, ordered by number.
pub fn list_segments(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(seq) = name.strip_prefix("journal-").and_then(|n| n.strip_suffix(".log")) else { continue };
        if let Ok(seq) = seq.parse::<u64>() {
            found.push((seq, entry.path()));
        }
    }
    found.sort();
    Ok(found)
}

/// Appends one framed record for `payload` to `buf`.
pub fn frame(buf: &mut Vec<u8>, payload: &[u8]) {
    buf.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    buf.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    buf.extend_from_slice(payload);
}

/// The payload of a one-resource record.
pub fn key_payload(model: &str, key: &str, value: Option<&serde_json::Value>) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"m": model, "k": key, "v": value})).unwrap_or_default()
}

/// The payload of a whole-model record around the model's JSON (not re-parsed).
pub fn whole_payload(model: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + model.len() + 16);
    out.extend_from_slice(b"{\"m\":");
    out.extend_from_slice(serde_json::Value::from(model).to_string().as_bytes());
    out.extend_from_slice(b",\"w\":");
    out.extend_from_slice(body);
    out.push(b'}');
    out
}

/// One record read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub model: String,
    pub change: Change,
}

fn parse_payload(payload: &[u8]) -> Result<Record, String> {
    let serde_json::Value::Object(mut fields) = serde_json::from_slice(payload).map_err(|e| e.to_string())? else {
        return Err("a record is not a JSON object".into());
    };
    let model = match fields.remove("m") {
        Some(serde_json::Value::String(m)) => m,
        _ => return Err("a record names no model".into()),
    };
    let change = match (fields.remove("w"), fields.remove("k")) {
        (Some(whole), None) => Change::Whole(whole),
        (None, Some(serde_json::Value::String(key))) => {
            let value = match fields.remove("v") {
                None | Some(serde_json::Value::Null) => None,
                Some(v) => Some(v),
            };
            Change::Key { key, value }
        }
        _ => return Err("a record holds neither a key nor a whole model".into()),
    };
    Ok(Record { model, change })
}

/// What reading one segment found.
#[derive(Debug)]
pub struct SegmentRead {
    pub records: Vec<Record>,
    /// Bytes of intact content (header and whole records); less than the file when its tail was torn.
    pub valid_len: u64,
    pub file_len: u64,
}

/// Reads one segment. `last`: it is the newest segment, where a torn final record is expected after a
/// crash and discarded; elsewhere (and for damage before the end) the read fails naming the file.
pub fn read_segment(path: &Path, last: bool) -> anyhow::Result<SegmentRead> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read journal {shown}: {e}"))?;
    let file_len = bytes.len() as u64;
    let torn = |at: usize, records: Vec<Record>| -> anyhow::Result<SegmentRead> {
        if last {
            Ok(SegmentRead { records, valid_len: at as u64, file_len })
        } else {
            anyhow::bail!("journal {shown} is truncated at byte {at} but newer segments follow it; {RECOVERY_HINT}")
        }
    };
    if bytes.len() < SEGMENT_HEADER.len() {
        if SEGMENT_HEADER.starts_with(&bytes) {
            // Created, then the process died before the header was complete: nothing was written to it.
            return torn(0, Vec::new());
        }
        anyhow::bail!("{shown} is not a localyun journal; {RECOVERY_HINT}");
    }
    if !bytes.starts_with(SEGMENT_HEADER) {
        anyhow::bail!("{shown} is not a localyun journal (or was written by a newer localyun); {RECOVERY_HINT}");
    }
    let mut at = SEGMENT_HEADER.len();
    let mut records = Vec::new();
    while at < bytes.len() {
        if bytes.len() - at < RECORD_HEAD {
            return torn(at, records);
        }
        let len = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        let crc = u32::from_le_bytes([bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]]);
        if len > MAX_RECORD {
            anyhow::bail!("journal {shown} is damaged at byte {at} (impossible record length); {RECOVERY_HINT}");
        }
        let end = at + RECORD_HEAD + len as usize;
        if end > bytes.len() {
            return torn(at, records);
        }
        let payload = &bytes[at + RECORD_HEAD..end];
        if crc32fast::hash(payload) != crc {
            if end == bytes.len() {
                return torn(at, records);
            }
            anyhow::bail!(
                "journal {shown} is corrupt: the record at byte {at} does not match its checksum; {RECOVERY_HINT}"
            );
        }
        let record = parse_payload(payload).map_err(|e| {
            anyhow::anyhow!("journal {shown} has an unreadable record at byte {at}: {e}; {RECOVERY_HINT}")
        })?;
        records.push(record);
        at = end;
    }
    Ok(SegmentRead { records, valid_len: at as u64, file_len })
}

/// Creates segment `seq` in `dir` (header written and synced, the folder synced) and returns it open for
/// appending.
pub fn create_segment(dir: &Path, seq: u64) -> std::io::Result<File> {
    let path = dir.join(segment_name(seq));
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
    file.set_len(0)?;
    file.write_all(SEGMENT_HEADER)?;
    file.sync_all()?;
    File::open(dir)?.sync_all()?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("localyun-journal-{tag}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write_records(dir: &Path, seq: u64, n: usize) -> PathBuf {
        let mut file = create_segment(dir, seq).unwrap();
        let mut buf = Vec::new();
        for i in 0..n {
            let value = serde_json::json!({"partitions": i});
            frame(&mut buf, &key_payload("kafka", &format!("t/i/{i}"), Some(&value)));
        }
        frame(&mut buf, &key_payload("kafka", "t/i/0", None));
        frame(&mut buf, &whole_payload("accounts", br#"{"provisioned":[]}"#));
        file.write_all(&buf).unwrap();
        dir.join(segment_name(seq))
    }

    #[test]
    fn records_read_back_in_order() {
        let dir = temp_dir("order");
        let path = write_records(&dir, 1, 3);
        let read = read_segment(&path, false).unwrap();
        assert_eq!(read.records.len(), 5);
        assert_eq!(
            read.records[1],
            Record {
                model: "kafka".into(),
                change: Change::Key { key: "t/i/1".into(), value: Some(serde_json::json!({"partitions": 1})) }
            }
        );
        assert_eq!(read.records[3].change, Change::Key { key: "t/i/0".into(), value: None });
        assert_eq!(read.records[4].change, Change::Whole(serde_json::json!({"provisioned": []})));
        assert_eq!(read.valid_len, read.file_len);
        assert_eq!(list_segments(&dir).unwrap(), vec![(1, path)]);
    }

    #[test]
    fn a_torn_last_record_is_dropped_only_in_the_newest_segment() {
        let dir = temp_dir("torn");
        let path = write_records(&dir, 1, 3);
        let full = std::fs::read(&path).unwrap();
        for cut in [1, 5, 9, 20] {
            std::fs::write(&path, &full[..full.len() - cut]).unwrap();
            let read = read_segment(&path, true).unwrap();
            assert_eq!(read.records.len(), 4, "cut {cut}");
            assert!(read.valid_len < read.file_len);
            let e = read_segment(&path, false).unwrap_err().to_string();
            assert!(e.contains("is truncated") && e.contains(&path.display().to_string()), "{e}");
        }
        // Garbage in the last record's bytes (a partly written sector): also torn, also dropped.
        let mut damaged = full.clone();
        let last = damaged.len() - 3;
        damaged[last] ^= 0xff;
        std::fs::write(&path, &damaged).unwrap();
        assert_eq!(read_segment(&path, true).unwrap().records.len(), 4);
    }

    #[test]
    fn a_damaged_middle_record_stops_the_read_naming_the_file() {
        let dir = temp_dir("middle");
        let path = write_records(&dir, 2, 3);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[SEGMENT_HEADER.len() + RECORD_HEAD + 2] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();
        let e = read_segment(&path, true).unwrap_err().to_string();
        assert!(e.contains("is corrupt") && e.contains(&path.display().to_string()), "{e}");
        assert!(e.contains("refuses to start"), "{e}");
    }
}
