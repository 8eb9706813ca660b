//! The admin API under `/_localyun/`: never signed, for test suites and humans.
//!
//! `GET health`, `POST reset`, `GET|POST state`, `GET|DELETE requests`, `GET|POST|DELETE faults`.
//! Errors are `{"error": "..."}` with status 400 (bad input), 404 (unknown account) or 503 (state could
//! not be persisted); `guard` refuses web pages and foreign host names (401, 403, 415).

pub mod faults;
pub mod guard;
pub mod kafka;
mod reset;
mod state_doc;
pub mod state_io;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::registry;
use crate::state::AppState;

pub use reset::{reset, ResetScope};
pub use state_doc::{export_state, import_state};

/// The admin routes, behind the [`guard::AdminPolicy`] checks (local Host, no foreign Origin, JSON writes,
/// optional token).
pub fn routes(state: AppState, policy: guard::AdminPolicy) -> Router<AppState> {
    Router::new()
        .route("/_localyun/health", get(health))
        .route("/_localyun/reset", post(reset_handler))
        .route("/_localyun/state", get(state_io::get_state).post(state_io::post_state))
        .route("/_localyun/requests", get(get_requests).delete(delete_requests))
        .route("/_localyun/faults", get(get_faults).post(post_fault).delete(delete_faults))
        .route("/_localyun/kafka/records", get(kafka::get_records))
        .route("/_localyun/kafka/reset", post(kafka::post_reset))
        .route_layer(axum::middleware::from_fn_with_state((state.clone(), Arc::new(policy)), guard::guard))
        // The vendor routes (dispatch, added after this) time their bodies themselves.
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(std::time::Duration::from_secs(
            state.config.body_timeout_secs,
        )))
}

/// The error text for a vendor name the registry does not know.
pub(crate) fn unknown_vendor(name: &str) -> String {
    format!("unknown vendor {name:?}; one of {}", registry::names().join(", "))
}

/// An admin error answer.
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

/// Parses an optional JSON body (empty means `T::default()`).
fn json_body<T: for<'de> Deserialize<'de> + Default>(body: &Bytes) -> Result<T, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

async fn persist_then(state: &AppState, ok: Response) -> Response {
    match state.persist().await {
        Ok(()) => ok,
        Err(e) => {
            tracing::error!(error = %e, "could not persist state");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the change was not applied: it could not be made durable: {e:#}"),
            )
        }
    }
}

async fn health(State(state): State<AppState>) -> Json<Value> {
    let failing = state.persistence.as_ref().is_some_and(|p| p.failure().is_some());
    Json(json!({
        // Writes fail while the data dir cannot be written (reads still pass): say so at the top.
        "status": if failing { "degraded" } else { "ok" },
        "version": env!("CARGO_PKG_VERSION"),
        "services": registry::names(),
        "uptime_seconds": state.started.elapsed().as_secs_f64(),
        "auth": match state.config.auth { crate::config::AuthMode::Strict => "strict", crate::config::AuthMode::Lenient => "lenient" },
        "persistence": match &state.persistence {
            Some(p) => p.health(),
            None => Value::Null,
        },
    }))
}

async fn reset_handler(State(state): State<AppState>, Query(query): Query<ResetScope>, body: Bytes) -> Response {
    let from_body: ResetScope = match json_body(&body) {
        Ok(s) => s,
        Err(message) => return error(StatusCode::BAD_REQUEST, message),
    };
    let scope = ResetScope { vendor: from_body.vendor.or(query.vendor), account: from_body.account.or(query.account) };
    match reset(&state, &scope) {
        Ok(summary) => persist_then(&state, Json(summary).into_response()).await,
        Err((status, message)) => error(status, message),
    }
}

#[derive(Debug, Default, Deserialize)]
struct RequestsQuery {
    limit: Option<usize>,
    vendor: Option<String>,
}

async fn get_requests(State(state): State<AppState>, Query(q): Query<RequestsQuery>) -> Response {
    let limit = q.limit.unwrap_or(100);
    let mut entries = state.requests.last(usize::MAX);
    if let Some(vendor) = q.vendor.as_deref() {
        let Some(service) = registry::find(vendor) else {
            return error(StatusCode::BAD_REQUEST, unknown_vendor(vendor));
        };
        entries.retain(|e| e.vendor == service.name());
    }
    let skip = entries.len().saturating_sub(limit);
    let entries: Vec<_> = entries.into_iter().skip(skip).collect();
    Json(json!({"requests": entries})).into_response()
}

async fn delete_requests(State(state): State<AppState>) -> Response {
    state.requests.clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn get_faults(State(state): State<AppState>) -> Response {
    Json(json!({"faults": state.faults.list()})).into_response()
}

async fn post_fault(State(state): State<AppState>, body: Bytes) -> Response {
    let spec: faults::FaultSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid fault: {e}")),
    };
    let spec = match registry::find(&spec.vendor) {
        Some(service) => {
            // An action the vendor API does not declare would never fire: a typo, said now.
            let operations = service.operations();
            if let Some(action) = spec.action.as_deref().filter(|a| *a != "*" && !operations.is_empty()) {
                if !operations.iter().any(|o| o.name == action) {
                    let names: Vec<&str> = operations.iter().map(|o| o.name).collect();
                    return error(
                        StatusCode::BAD_REQUEST,
                        format!("{} has no action {action:?}; its actions: {}", service.name(), names.join(", ")),
                    );
                }
            }
            faults::FaultSpec { vendor: service.name().to_string(), ..spec }
        }
        None => spec,
    };
    match state.faults.add(spec) {
        Ok(fault) => (StatusCode::CREATED, Json(fault)).into_response(),
        Err(message) => error(StatusCode::BAD_REQUEST, message),
    }
}

#[derive(Debug, Default, Deserialize)]
struct FaultFilter {
    vendor: Option<String>,
    action: Option<String>,
}

async fn delete_faults(State(state): State<AppState>, Query(filter): Query<FaultFilter>) -> Response {
    let vendor = match filter.vendor.as_deref() {
        None => None,
        Some(v) => match registry::find(v) {
            Some(s) => Some(s.name()),
            None => return error(StatusCode::BAD_REQUEST, unknown_vendor(v)),
        },
    };
    let removed = state.faults.clear(vendor, filter.action.as_deref());
    Json(json!({"removed": removed})).into_response()
}
