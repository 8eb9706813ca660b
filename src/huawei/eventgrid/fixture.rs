//! EventGrid's part of the fixture files (an account's `huawei_project_ids`, the `eventgrid:` section) and
//! of the admin reset.

use serde_json::Value;

use crate::fixtures::AccountFixture;
use crate::state::AppState;

/// Applies an `eventgrid:` section; the error names the entry (`eventgrid: projects[0].channels[1]: ...`).
pub fn apply(state: &AppState, section: &Value) -> Result<(), String> {
    super::apply_fixtures(state, section).map_err(|e| format!("eventgrid: {e}"))
}

/// Binds the project ids an `accounts:` entry declares (the error starts with `huawei_project_ids`).
pub fn apply_account(state: &AppState, account: &AccountFixture) -> Result<(), String> {
    super::bind_fixture_projects(state, &account.id, &account.huawei_project_ids)
}

/// Removes every EventGrid resource, or one account's. Project bindings are identities, not resources: they
/// stay, so another account cannot take over a project that was bound at runtime.
pub fn clear(state: &AppState, account: Option<&str>) {
    match account {
        None => state.store.eventbus.write().reset_keep_projects(),
        Some(a) => state.store.eventbus.write().remove_account(a),
    }
}
