//! Durable state for `--data-dir` (kept as the public path of the storage layer; the code lives in
//! [`crate::storage`]): snapshots in `state/<model>.json` plus a journal of changed resources.

pub use crate::storage::durable::{read_model, Persistence};
pub use crate::storage::snapshot::{read_snapshot, write_snapshot, FORMAT, RECOVERY_HINT};

/// The durable content of one model: its snapshot file at `path` plus the journal records after it (what a
/// restart would load), as JSON.
pub fn read_state_file(path: &std::path::Path, name: &str) -> anyhow::Result<Vec<u8>> {
    read_model(path, name)
}
