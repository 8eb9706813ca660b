//! `POST /_localyun/reset`: everything, one vendor, one account, or one account within one vendor.

use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::unknown_vendor;
use crate::registry;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetScope {
    /// A service name from health (`tencent-ckafka`, ...); omitted: every vendor.
    #[serde(default)]
    pub vendor: Option<String>,
    /// An account id; omitted: every account.
    #[serde(default)]
    pub account: Option<String>,
}

/// Applies a reset; returns what was reset. Everything: back to the start-up state (defaults and
/// fixtures), request log and faults cleared. One vendor API: its resources removed, defaults and its
/// fixtures applied again. One account: its resources removed, its defaults provisioned again.
pub fn reset(state: &AppState, scope: &ResetScope) -> Result<Value, (StatusCode, String)> {
    let vendor = match scope.vendor.as_deref() {
        None | Some("") => None,
        Some(name) => Some(registry::find(name).ok_or_else(|| (StatusCode::BAD_REQUEST, unknown_vendor(name)))?),
    };
    let account = scope.account.as_deref().filter(|a| !a.is_empty());
    if let Some(account) = account {
        let known = state.store.accounts.read().provisioned.contains(account)
            || state.credentials.read().keys().any(|k| k.account == account);
        if !known {
            return Err((StatusCode::NOT_FOUND, format!("unknown account {account:?}")));
        }
    }
    let failed = |e: anyhow::Error| (StatusCode::INTERNAL_SERVER_ERROR, format!("re-applying fixtures failed: {e:#}"));
    match (vendor, account) {
        (None, None) => {
            for (_, model) in state.store.models() {
                model.clear();
            }
            state.requests.clear();
            state.faults.clear(None, None);
            crate::fixtures::apply(state, &state.fixtures).map_err(failed)?;
        }
        (Some(vendor), None) => {
            vendor.clear(state, None);
            let accounts: Vec<String> = state.store.accounts.read().provisioned.iter().cloned().collect();
            for account in &accounts {
                vendor.provision(state, account);
            }
            crate::fixtures::apply_vendor(state, vendor).map_err(failed)?;
        }
        (Some(vendor), Some(account)) => {
            vendor.clear(state, Some(account));
            vendor.provision(state, account);
        }
        (None, Some(account)) => {
            for vendor in registry::all() {
                vendor.clear(state, Some(account));
            }
            state.store.accounts.write().remove_account(account);
            crate::fixtures::provision_account(state, account);
        }
    }
    Ok(json!({
        "reset": {
            "vendor": vendor.map(|v| v.name()),
            "account": account,
        }
    }))
}
