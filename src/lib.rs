//! localyun: the messaging management APIs of Tencent Cloud (CKafka v2), Alibaba Cloud (Kafka RPC OpenAPI,
//! RocketMQ `/json` Open API) and Huawei Cloud (EventGrid) on one local port, over one in-memory store.

pub mod admin;
pub mod alibaba;
pub mod auth;
pub mod config;
pub mod credentials;
pub mod dispatch;
pub mod engine;
pub mod fixtures;
pub mod http;
pub mod huawei;
pub mod persist;
pub mod registry;
pub mod replay;
pub mod server;
pub mod signing;
pub mod state;
pub mod storage;
pub mod tencent;

use axum::Router;

pub use config::Config;
pub use state::AppState;

/// The whole HTTP application over a prepared state: admin routes, then every vendor API via dispatch.
pub fn app(state: AppState) -> Router {
    admin::routes().fallback(dispatch::dispatch).with_state(state)
}

/// Builds the state from `config` (credentials, fixtures) and the application over it.
pub fn app_from_config(config: Config) -> anyhow::Result<(Router, AppState)> {
    let state = AppState::from_config(config)?;
    Ok((app(state.clone()), state))
}
