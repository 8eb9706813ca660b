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
