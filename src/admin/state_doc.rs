//! `GET|POST /_localyun/state`: the whole store as one JSON document, exported and imported exactly.

use serde_json::{json, Map, Value};

/// The format of the exported state document (independent of the on-disk snapshot format).
pub const FORMAT: u32 = 1;
use crate::state::AppState;

/// `{"localyun_state_format": 1, "localyun_version": "...", "models": {"kafka": {...}, ...}}`
pub fn export_state(state: &AppState) -> Result<Value, serde_json::Error> {
    let mut models = Map::new();
    for (name, model) in state.store.models() {
        models.insert(name.to_string(), model.to_value()?);
    }
    Ok(json!({
        "localyun_state_format": FORMAT,
        "localyun_version": env!("CARGO_PKG_VERSION"),
        "models": models,
    }))
}

/// Replaces the store with a document `export_state` produced. Every model is checked before any is
/// replaced, so a bad document changes nothing. Models the document omits become empty.
pub fn import_state(state: &AppState, doc: Value) -> Result<Vec<String>, String> {
    let Value::Object(mut doc) = doc else {
        return Err("expected a JSON object as GET /_localyun/state returns it".into());
    };
    match doc.get("localyun_state_format") {
        None => return Err("missing localyun_state_format".into()),
        Some(v) if v.as_u64() == Some(u64::from(FORMAT)) => {}
        Some(v) => return Err(format!("localyun_state_format {v} is not supported (this localyun reads {FORMAT})")),
    }
    let mut models = match doc.remove("models") {
        Some(Value::Object(m)) => m,
        _ => return Err("missing models object".into()),
    };
    let store_models = state.store.models();
    if let Some(unknown) = models.keys().find(|k| !store_models.iter().any(|(name, _)| name == k)) {
        let names: Vec<&str> = store_models.iter().map(|(n, _)| *n).collect();
        return Err(format!("unknown model {unknown:?}; models are {}", names.join(", ")));
    }
    for (name, model) in &store_models {
        if let Some(value) = models.get(*name) {
            model.validate(value).map_err(|e| format!("models.{name}: {e}"))?;
        }
    }
    let mut imported = Vec::new();
    for (name, model) in &store_models {
        match models.remove(*name) {
            Some(value) => model.load_value(value).map_err(|e| format!("models.{name}: {e}"))?,
            None => model.clear(),
        }
        imported.push(name.to_string());
    }
    Ok(imported)
}
