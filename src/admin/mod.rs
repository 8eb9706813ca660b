//! The admin API under `/_localyun/`: never signed, for test suites and humans.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::state::AppState;

/// The vendor APIs this build serves, as health reports them.
pub const SERVICES: &[&str] = &["tencent-ckafka", "alibaba-kafka", "alibaba-rocketmq", "huawei-eventgrid"];

pub fn routes() -> Router<AppState> {
    Router::new().route("/_localyun/health", get(health))
}

async fn health(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "services": SERVICES,
        "uptime_seconds": state.started.elapsed().as_secs_f64(),
        "auth": match state.config.auth { crate::config::AuthMode::Strict => "strict", crate::config::AuthMode::Lenient => "lenient" },
    }))
}
