//! Durable storage underneath the engines.
//!
//! Contract between the engines and the storage layer (the journal lives here; engines implement
//! [`Resources`]): an engine names each durable resource by a key (e.g. `i/<instance>`,
//! `t/<instance>/<topic>`), records the keys its command methods changed, and can serialise one key or
//! apply one journaled key during recovery. The storage layer journals only changed keys, so the cost of a
//! write does not depend on how much state exists, and reads or rejected writes (no changed keys) never
//! touch the disk.

pub mod durable;
pub mod journal;
pub mod models;
pub mod mqlog;
pub mod snapshot;

/// What an engine offers the storage layer. Every method has a default so a model that does not (yet)
/// track its resources still works: its changes are then journaled as whole-model snapshots.
pub trait Resources: serde::Serialize + serde::de::DeserializeOwned + Default + Send + Sync + 'static {
    /// Drains the keys of resources changed since the last call, in change order (a key may repeat). The
    /// journal records each key once, in the order of its first change, with its value at commit time.
    /// `None`: this model does not track keys; the storage layer falls back to whole-model snapshots.
    fn take_dirty(&self) -> Option<Vec<String>> {
        None
    }

    /// How many keys are marked dirty now (without draining them). Without a data dir nobody journals, so
    /// the marks are dropped in bulk once this grows large; until then tools and tests can inspect them.
    fn dirty_len(&self) -> usize {
        0
    }

    /// The current value of one resource, or None when it no longer exists (a delete). Must be cheap:
    /// O(size of that resource), not of the model.
    fn resource(&self, _key: &str) -> Option<serde_json::Value> {
        None
    }

    /// Applies one journaled change during recovery (None deletes the key and whatever it owns).
    fn apply(&mut self, key: &str, _value: Option<serde_json::Value>) -> Result<(), String> {
        Err(format!("this model does not journal resource keys (key {key:?})"))
    }
}
pub mod log;
