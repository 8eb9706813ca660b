//! Shared application state: configuration, credentials, the resource store, replay memory, request log.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use parking_lot::{Mutex, RwLock};
use serde::Serialize;

use crate::config::Config;
use crate::credentials::Credentials;
use crate::engine::eventbus::EventBusModel;
use crate::engine::kafka::KafkaModel;
use crate::engine::rocketmq::RocketMqModel;
use crate::replay::NonceCache;

/// Every resource of every vendor. One lock per model; handlers never hold one across an `.await`.
#[derive(Default)]
pub struct Store {
    pub kafka: RwLock<KafkaModel>,
    pub rocketmq: RwLock<RocketMqModel>,
    pub eventbus: RwLock<EventBusModel>,
}

/// One line of the admin request log.
#[derive(Clone, Debug, Serialize)]
pub struct LoggedRequest {
    pub time: String,
    pub vendor: &'static str,
    pub method: String,
    pub path: String,
    pub action: String,
    pub account: Option<String>,
    pub status: u16,
    pub error_code: Option<String>,
    pub latency_us: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string_to_sign: Option<String>,
}

/// The last requests, newest last, bounded.
pub struct RequestLog {
    capacity: usize,
    entries: Mutex<VecDeque<LoggedRequest>>,
}

impl RequestLog {
    pub fn new(capacity: usize) -> Self {
        RequestLog { capacity, entries: Mutex::new(VecDeque::with_capacity(capacity)) }
    }

    pub fn push(&self, entry: LoggedRequest) {
        let mut entries = self.entries.lock();
        if entries.len() == self.capacity {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// The newest `n` entries, oldest first.
    pub fn last(&self, n: usize) -> Vec<LoggedRequest> {
        let entries = self.entries.lock();
        entries.iter().skip(entries.len().saturating_sub(n)).cloned().collect()
    }

    pub fn clear(&self) {
        self.entries.lock().clear();
    }
}

pub struct Inner {
    pub config: Config,
    pub credentials: RwLock<Credentials>,
    pub store: Store,
    pub nonces: NonceCache,
    pub requests: RequestLog,
    pub started: Instant,
    pub started_at: SystemTime,
    /// EventGrid's runtime-only state: issued tokens, the delivery client and queue bounds.
    pub eventgrid: crate::huawei::eventgrid::Runtime,
}

/// Cheap to clone; shared by every request.
#[derive(Clone)]
pub struct AppState(pub Arc<Inner>);

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Builds the state from the configuration: credentials, built-in defaults, then the user's fixtures.
    pub fn from_config(config: Config) -> anyhow::Result<AppState> {
        let mut credentials = Credentials::new(config.auth);
        if let Some(spec) = &config.credentials {
            credentials.add_from_spec(spec).map_err(|e| anyhow::anyhow!("LOCALYUN_CREDENTIALS: {e}"))?;
        }
        let state = AppState(Arc::new(Inner {
            nonces: NonceCache::new(Duration::from_secs(config.replay_window_secs)),
            config,
            credentials: RwLock::new(credentials),
            store: Store::default(),
            requests: RequestLog::new(1000),
            started: Instant::now(),
            started_at: SystemTime::now(),
            eventgrid: crate::huawei::eventgrid::Runtime::default(),
        }));
        crate::fixtures::apply_startup_fixtures(&state)?;
        Ok(state)
    }
}
