//! The admin API under `/_localyun/`: never signed, for test suites and humans.
//!
//! `GET health`, `POST reset`, `GET|POST state`, `GET|DELETE requests`, `GET|POST|DELETE faults`.
//! Errors are `{"error": "..."}` with status 400 (bad input), 404 (unknown account) or 503 (state could
//! not be persisted).

pub mod faults;
mod reset;
mod state_doc;
pub mod state_io;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::engine::Cloud;
use crate::state::AppState;

pub use reset::{reset, ResetScope};
pub use state_doc::{export_state, import_state};

/// The vendor APIs this build serves, as health reports them.
pub const SERVICES: &[&str] = &["tencent-ckafka", "alibaba-kafka", "alibaba-rocketmq", "huawei-eventgrid"];

/// One vendor API (the names of `SERVICES`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Service {
    TencentCkafka,
    AlibabaKafka,
    AlibabaRocketmq,
    HuaweiEventgrid,
}

impl Service {
    pub const ALL: [Service; 4] =
        [Service::TencentCkafka, Service::AlibabaKafka, Service::AlibabaRocketmq, Service::HuaweiEventgrid];

    pub fn name(self) -> &'static str {
        match self {
            Service::TencentCkafka => "tencent-ckafka",
            Service::AlibabaKafka => "alibaba-kafka",
            Service::AlibabaRocketmq => "alibaba-rocketmq",
            Service::HuaweiEventgrid => "huawei-eventgrid",
        }
    }

    /// Parses a service name (the health names; a few short aliases too).
    pub fn parse(name: &str) -> Option<Service> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "tencent-ckafka" | "tencent" | "ckafka" => Service::TencentCkafka,
            "alibaba-kafka" | "alikafka" => Service::AlibabaKafka,
            "alibaba-rocketmq" | "rocketmq" => Service::AlibabaRocketmq,
            "huawei-eventgrid" | "eventgrid" | "huawei" => Service::HuaweiEventgrid,
            _ => return None,
        })
    }

    /// The cloud whose Kafka instances this service shows (Kafka services only).
    pub fn kafka_cloud(self) -> Cloud {
        match self {
            Service::AlibabaKafka => Cloud::Alibaba,
            _ => Cloud::Tencent,
        }
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/_localyun/health", get(health))
        .route("/_localyun/reset", post(reset_handler))
        .route("/_localyun/state", get(get_state).post(post_state))
        .route("/_localyun/requests", get(get_requests).delete(delete_requests))
        .route("/_localyun/faults", get(get_faults).post(post_fault).delete(delete_faults))
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
            error(StatusCode::SERVICE_UNAVAILABLE, format!("the change was applied but could not be persisted: {e:#}"))
        }
    }
}

async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "services": SERVICES,
        "uptime_seconds": state.started.elapsed().as_secs_f64(),
        "auth": match state.config.auth { crate::config::AuthMode::Strict => "strict", crate::config::AuthMode::Lenient => "lenient" },
        "persistence": match &state.persistence {
            Some(p) => json!({"data_dir": p.dir().display().to_string()}),
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

async fn get_state(State(state): State<AppState>) -> Response {
    match export_state(&state) {
        Ok(doc) => Json(doc).into_response(),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, format!("could not export state: {e}")),
    }
}

async fn post_state(State(state): State<AppState>, body: Bytes) -> Response {
    let doc: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")),
    };
    match import_state(&state, doc) {
        Ok(models) => persist_then(&state, Json(json!({"imported": models})).into_response()).await,
        Err(message) => error(StatusCode::BAD_REQUEST, message),
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
        let Some(service) = Service::parse(vendor) else {
            return error(
                StatusCode::BAD_REQUEST,
                format!("unknown vendor {vendor:?}; one of {}", SERVICES.join(", ")),
            );
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
    let spec = match Service::parse(&spec.vendor) {
        Some(service) => faults::FaultSpec { vendor: service.name().to_string(), ..spec },
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
        Some(v) => match Service::parse(v) {
            Some(s) => Some(s.name()),
            None => return error(StatusCode::BAD_REQUEST, format!("unknown vendor {v:?}")),
        },
    };
    let removed = state.faults.clear(vendor, filter.action.as_deref());
    Json(json!({"removed": removed})).into_response()
}
