//! RocketMQ's part of the fixture files (the `rocketmq:` section, applied by `apply_fixtures`) and of the
//! admin reset.

use serde_json::Value;

use crate::state::AppState;

/// Applies a `rocketmq:` section; the error names the entry (`rocketmq: instances[0].groups[1]: ...`).
pub fn apply(state: &AppState, section: &Value) -> Result<(), String> {
    super::apply_fixtures(state, section).map_err(|e| format!("rocketmq: {e}"))
}

/// Removes every RocketMQ resource, or one account's.
pub fn clear(state: &AppState, account: Option<&str>) {
    match account {
        None => state.store.rocketmq.replace(Default::default()),
        Some(a) => state.store.rocketmq.write().remove_account(a),
    }
}
