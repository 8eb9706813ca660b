//! `GET|POST /_localyun/state`, streamed: the whole store as one JSON document (the format of
//! [`super::state_doc`]), exported and imported exactly, at any size.
//!
//! Export serialises one model at a time on a blocking thread (each under its read lock only while it is
//! serialised) and streams it in 64 KiB chunks, so memory stays about one model's JSON, not the document
//! as a tree. Import spools the body to a temporary file (up to [`MAX_IMPORT_BYTES`]), then parses each
//! model straight into its type on a blocking thread; every model is checked before any is replaced, so a
//! bad document changes nothing. Neither runs on the request threads.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http_body_util::BodyExt;
use serde_json::json;

use super::error;
use super::state_doc::FORMAT;
use crate::state::{AppState, MODEL_NAMES};

/// The largest state document an import accepts (1 GiB; a 100,000-topic state is about 40 MB).
pub const MAX_IMPORT_BYTES: u64 = 1 << 30;
const CHUNK: usize = 64 * 1024;

/// `GET /_localyun/state`: `{"localyun_state_format": 1, "localyun_version": "...", "models": {...}}`.
pub async fn get_state(State(state): State<AppState>) -> Response {
    let (mut tx, body) = http_body_util::channel::Channel::<Bytes, std::io::Error>::new(4);
    tokio::spawn(async move {
        let head = format!(
            "{{\"localyun_state_format\":{FORMAT},\"localyun_version\":{},\"models\":{{",
            json!(env!("CARGO_PKG_VERSION"))
        );
        if tx.send_data(Bytes::from(head)).await.is_err() {
            return;
        }
        for (index, name) in MODEL_NAMES.iter().enumerate() {
            let st = state.clone();
            let serialised = tokio::task::spawn_blocking(move || st.store.models()[index].1.snapshot()).await;
            let bytes = match serialised {
                Ok(Ok((_, bytes))) => Bytes::from(bytes),
                Ok(Err(e)) => return tx.abort(std::io::Error::other(format!("could not export {name}: {e}"))),
                Err(e) => return tx.abort(std::io::Error::other(format!("could not export {name}: {e}"))),
            };
            let prefix = format!("{}\"{name}\":", if index > 0 { "," } else { "" });
            if tx.send_data(Bytes::from(prefix)).await.is_err() {
                return;
            }
            let mut at = 0;
            while at < bytes.len() {
                let end = (at + CHUNK).min(bytes.len());
                if tx.send_data(bytes.slice(at..end)).await.is_err() {
                    return;
                }
                at = end;
            }
        }
        let _ = tx.send_data(Bytes::from_static(b"}}")).await;
    });
    ([(header::CONTENT_TYPE, "application/json")], Body::new(body)).into_response()
}

/// `POST /_localyun/state`: replaces the store with a document `GET` produced; models it omits become
/// empty. Answers `{"imported": [names]}`, 400 for a bad document, 413 over [`MAX_IMPORT_BYTES`], 503 when
/// the result could not be made durable (then nothing was applied).
pub async fn post_state(State(state): State<AppState>, body: Body) -> Response {
    let spool = std::env::temp_dir().join(format!("localyun-import-{}.json", uuid::Uuid::new_v4()));
    let answer = import(&state, body, &spool).await;
    let _ = std::fs::remove_file(&spool);
    answer
}

async fn import(state: &AppState, mut body: Body, spool: &std::path::Path) -> Response {
    let mut file = match std::fs::File::create(spool) {
        Ok(f) => std::io::BufWriter::new(f),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot spool the import: {e}")),
    };
    let mut total: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) => return error(StatusCode::BAD_REQUEST, format!("could not read the body: {e}")),
        };
        let Ok(data) = frame.into_data() else { continue };
        total += data.len() as u64;
        if total > MAX_IMPORT_BYTES {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("state document larger than {MAX_IMPORT_BYTES} bytes"),
            );
        }
        // Small synchronous writes into a buffered file: cheaper than a blocking-pool hop per chunk.
        if let Err(e) = file.write_all(&data) {
            return error(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot spool the import: {e}"));
        }
    }
    if let Err(e) = file.flush() {
        return error(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot spool the import: {e}"));
    }
    drop(file);
    let st = state.clone();
    let path = spool.to_path_buf();
    let parsed = tokio::task::spawn_blocking(move || parse_and_install(&st, &path)).await;
    match parsed {
        Ok(Ok(models)) => match state.persist().await {
            Ok(()) => Json(json!({"imported": models})).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "could not persist the imported state");
                error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("the import could not be made durable and was not applied: {e:#}"),
                )
            }
        },
        Ok(Err(message)) => error(StatusCode::BAD_REQUEST, message),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("import failed: {e}")),
    }
}

#[derive(serde::Deserialize)]
struct Document<'a> {
    localyun_state_format: Option<serde_json::Value>,
    #[serde(borrow)]
    models: Option<indexmap::IndexMap<String, &'a serde_json::value::RawValue>>,
}

/// Checks the document and installs it; on any error nothing is replaced.
fn parse_and_install(state: &AppState, path: &std::path::Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("invalid JSON body: {e}"))?;
    let value_kind = text.trim_start().as_bytes().first().copied();
    if value_kind != Some(b'{') {
        return match serde_json::from_str::<serde::de::IgnoredAny>(&text) {
            Err(e) => Err(format!("invalid JSON body: {e}")),
            Ok(_) => Err("expected a JSON object as GET /_localyun/state returns it".into()),
        };
    }
    let doc: Document<'_> = serde_json::from_str(&text).map_err(|e| format!("invalid JSON body: {e}"))?;
    match &doc.localyun_state_format {
        None => return Err("missing localyun_state_format".into()),
        Some(v) if v.as_u64() == Some(u64::from(FORMAT)) => {}
        Some(v) => return Err(format!("localyun_state_format {v} is not supported (this localyun reads {FORMAT})")),
    }
    let Some(models) = doc.models else { return Err("missing models object".into()) };
    if let Some(unknown) = models.keys().find(|k| !MODEL_NAMES.contains(&k.as_str())) {
        return Err(format!("unknown model {unknown:?}; models are {}", MODEL_NAMES.join(", ")));
    }
    let store_models = state.store.models();
    let mut parsed = Vec::new();
    for (name, model) in &store_models {
        let typed = match models.get(*name) {
            Some(raw) => Some(model.parse_json(raw.get()).map_err(|e| format!("models.{name}: {e}"))?),
            None => None,
        };
        parsed.push(typed);
    }
    let mut imported = Vec::new();
    for ((name, model), typed) in store_models.iter().zip(parsed) {
        match typed {
            Some(typed) => {
                if !model.install(typed) {
                    return Err(format!("models.{name}: internal type mismatch"));
                }
            }
            None => model.clear(),
        }
        imported.push(name.to_string());
    }
    Ok(imported)
}
