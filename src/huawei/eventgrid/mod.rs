//! Huawei Cloud EventGrid (placeholder until its issue lands).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::http::{with_meta, ApiRequest, RequestMeta};
use crate::state::AppState;

pub async fn handle(_state: &AppState, _req: ApiRequest) -> Response {
    with_meta(
        (StatusCode::NOT_IMPLEMENTED, axum::Json(serde_json::json!({"error_code": "NotImplemented"}))).into_response(),
        RequestMeta::new("huawei-eventgrid"),
    )
}

pub fn provision_defaults(_state: &AppState, _account: &str) {}

pub fn bind_fixture_projects(_state: &AppState, _account: &str, _project_ids: &[String]) -> Result<(), String> {
    Ok(())
}

pub fn apply_fixtures(_state: &AppState, _section: &Value) -> Result<(), String> {
    Err("eventgrid fixtures are not supported yet".into())
}

/// The action a request names, without authenticating it (for fault injection and logs).
pub fn action_of(_req: &ApiRequest) -> Option<String> {
    None
}

/// An error in this API's envelope with an arbitrary code (admin fault injection).
pub fn error_response(code: &str, message: &str) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(serde_json::json!({"error_code": code, "error_msg": message})))
        .into_response()
}
