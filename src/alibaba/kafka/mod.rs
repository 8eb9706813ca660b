//! Alibaba Cloud Message Queue for Apache Kafka, RPC OpenAPI (placeholder until its issue lands).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::engine::kafka::KafkaInstance;
use crate::http::{with_meta, ApiRequest, RequestMeta};
use crate::state::AppState;

pub async fn handle(_state: &AppState, _req: ApiRequest) -> Response {
    with_meta(
        (StatusCode::NOT_IMPLEMENTED, axum::Json(serde_json::json!({"Code": "NotImplemented"}))).into_response(),
        RequestMeta::new("alibaba-kafka"),
    )
}

pub fn provision_defaults(_state: &AppState, _account: &str) {}

pub fn new_instance(_account: &str, _region: &str, id: &str) -> Result<KafkaInstance, String> {
    Err(format!("cannot declare Alibaba instance {id}: not supported yet"))
}

/// The action a request names, without authenticating it (for fault injection and logs).
pub fn action_of(_req: &ApiRequest) -> Option<String> {
    None
}

/// An error in this API's envelope with an arbitrary code (admin fault injection).
pub fn error_response(code: &str, message: &str) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(serde_json::json!({"Code": code, "Message": message})))
        .into_response()
}
