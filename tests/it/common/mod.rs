//! Test harness shared by the integration tests: the real application on an ephemeral port, in-process.
#![allow(dead_code)]

use std::net::SocketAddr;

use localyun::{AppState, Config};

pub const KEY_ID: &str = "AKIDLOCAL";
pub const SECRET: &str = "local-secret";
pub const ACCOUNT: &str = "100000000001";

pub struct TestServer {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// `127.0.0.1:PORT`, the Host header clients send.
    pub host: String,
    pub state: AppState,
    pub client: reqwest::Client,
}

/// Starts localyun with the default configuration (strict auth, built-in fixtures).
pub async fn start() -> TestServer {
    start_with(Config::default()).await
}

pub async fn start_with(config: Config) -> TestServer {
    let (_, state) = localyun::app_from_config(config).expect("valid test configuration");
    // Default admin rules, whatever LOCALYUN_ADMIN_* the environment running the tests has.
    let app = localyun::app_with_admin_policy(state.clone(), localyun::admin::guard::AdminPolicy::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind an ephemeral port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    TestServer {
        addr,
        base: format!("http://{addr}"),
        host: addr.to_string(),
        state,
        client: reqwest::Client::builder().no_proxy().build().expect("http client"),
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A nonce no other request of the test run uses.
pub fn fresh_nonce() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let base = (std::process::id() as u64) << 32;
    base + NEXT.fetch_add(1, Ordering::Relaxed) + (unix_now() as u64 % 1000) * 1_000_000
}
