//! localyun: the messaging management APIs of Tencent Cloud (CKafka v2), Alibaba Cloud (Kafka RPC OpenAPI,
//! RocketMQ `/json` Open API) and Huawei Cloud (EventGrid) on one local port, over one in-memory store.
//!
//! The README's "Architecture" section names the layers. Public: what the binary (`src/main.rs`), the
//! integration tests, the benches and the fuzz targets use, and the extension points (`registry`, `auth`,
//! `http`, `paging`, `reply`); request plumbing (`dispatch`, `signing`, `replay`) is private.

pub mod admin;
pub mod alibaba;
pub mod auth;
pub mod config;
pub mod credentials;
mod dispatch;
pub mod engine;
pub mod fixtures;
pub mod fuzzing;
pub mod http;
pub mod huawei;
pub mod kafka;
pub mod logging;
pub mod paging;
pub mod persist;
pub mod registry;
mod replay;
pub mod reply;
pub mod rocketmq;
pub mod server;
mod signing;
pub mod state;
pub mod storage;
pub mod tencent;

use axum::Router;

pub use config::Config;
pub use state::AppState;

/// The whole HTTP application over a prepared state: admin routes (access rules from the environment, see
/// `admin::guard`), then every vendor API via dispatch.
pub fn app(state: AppState) -> Router {
    app_with_admin_policy(state, admin::guard::AdminPolicy::from_env())
}

/// The application with explicit admin access rules (tests; embedders).
pub fn app_with_admin_policy(state: AppState, policy: admin::guard::AdminPolicy) -> Router {
    admin::routes(state.clone(), policy).fallback(dispatch::dispatch).with_state(state)
}

/// Builds the state from `config` (credentials, fixtures) and the application over it.
pub fn app_from_config(config: Config) -> anyhow::Result<(Router, AppState)> {
    let state = AppState::from_config(config)?;
    Ok((app(state.clone()), state))
}
