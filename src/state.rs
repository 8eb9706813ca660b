//! Shared application state: configuration, credentials, the resource store, replay memory, request log.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use serde::{Deserialize, Serialize};

use crate::admin::faults::FaultTable;
use crate::config::Config;
use crate::credentials::Credentials;
use crate::engine::eventbus::EventBusModel;
use crate::engine::kafka::KafkaModel;
use crate::engine::rocketmq::RocketMqModel;
use crate::fixtures::LoadedFixture;
use crate::persist::Persistence;
use crate::replay::NonceCache;
use crate::storage::Resources;

/// One model behind a lock, with a generation counter that every write guard bumps when it is released.
/// Persistence compares generations to find the models a request changed, so vendor code keeps calling
/// `.read()` / `.write()` and never has to report its mutations.
#[derive(Default)]
pub struct Model<T> {
    lock: RwLock<T>,
    generation: AtomicU64,
    /// Set by [`Model::replace`] (admin import and reset): the journal then records the whole model, since
    /// a replacement marks no resource keys.
    replaced: AtomicBool,
}

/// A write guard; dropping it marks the model changed (while the lock is still held, so a reader that
/// holds the read lock sees a generation that matches the content exactly).
pub struct ModelWriteGuard<'a, T> {
    guard: RwLockWriteGuard<'a, T>,
    generation: &'a AtomicU64,
}

impl<T> std::ops::Deref for ModelWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.guard
    }
}

impl<T> std::ops::DerefMut for ModelWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.guard
    }
}

impl<T> Drop for ModelWriteGuard<'_, T> {
    fn drop(&mut self) {
        self.generation.fetch_add(1, Ordering::Release);
    }
}

impl<T> Model<T> {
    pub fn new(value: T) -> Self {
        Model { lock: RwLock::new(value), generation: AtomicU64::new(0), replaced: AtomicBool::new(false) }
    }

    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        self.lock.read()
    }

    pub fn write(&self) -> ModelWriteGuard<'_, T> {
        ModelWriteGuard { guard: self.lock.write(), generation: &self.generation }
    }

    /// How many write guards have been released since start.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Records a change made through the model's own interior locks (engines whose commands take `&self`,
    /// such as the Kafka model), so persistence sees it as it sees a released write guard.
    pub fn mark_changed(&self) {
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Replaces the whole model (admin import and reset); journaled as a whole-model record.
    pub fn replace(&self, value: T) {
        *self.write() = value;
        self.replaced.store(true, Ordering::Release);
    }
}

/// Without a data dir, change marks are dropped once a model has more than this many.
const MEMORY_MODE_DIRTY_KEYS: usize = 4096;

/// One journaled change of a model (see [`crate::storage`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// One resource's value after the change; None: the resource was deleted.
    Key { key: String, value: Option<serde_json::Value> },
    /// The whole model (fallback for models that do not report keys, and replacements).
    Whole(serde_json::Value),
}

/// Builds a model from a snapshot body and the journal's changes after it.
fn rebuild_model<T: Resources>(base: Option<&[u8]>, changes: Vec<Change>) -> Result<T, String> {
    let mut model: T = match base {
        Some(bytes) => serde_json::from_slice(bytes).map_err(|e| e.to_string())?,
        None => T::default(),
    };
    for change in changes {
        match change {
            Change::Whole(value) => model = T::deserialize(value).map_err(|e| e.to_string())?,
            Change::Key { key, value } => model.apply(&key, value)?,
        }
    }
    // Recovery must not leave the replayed keys marked as changes of this run.
    let _ = model.take_dirty();
    Ok(model)
}

/// `rebuild_model` for a model named as on disk, returned as JSON (the durable content of that model).
pub fn rebuild_named(name: &str, base: Option<&[u8]>, changes: Vec<Change>) -> Result<Vec<u8>, String> {
    fn bytes<T: Resources>(base: Option<&[u8]>, changes: Vec<Change>) -> Result<Vec<u8>, String> {
        serde_json::to_vec(&rebuild_model::<T>(base, changes)?).map_err(|e| e.to_string())
    }
    match name {
        "kafka" => bytes::<KafkaModel>(base, changes),
        "rocketmq" => bytes::<RocketMqModel>(base, changes),
        "eventbus" => bytes::<EventBusModel>(base, changes),
        "accounts" => bytes::<AccountRegistry>(base, changes),
        other => Err(format!("unknown model {other:?}")),
    }
}

/// What persistence and the admin state API need from a model, without knowing its type.
pub trait StoredModel: Send + Sync {
    /// The model's content as JSON, and the generation that content belongs to.
    fn snapshot(&self) -> Result<(u64, Vec<u8>), serde_json::Error>;
    fn to_value(&self) -> Result<serde_json::Value, serde_json::Error>;
    /// Checks that `value` is a valid model without installing it.
    fn validate(&self, value: &serde_json::Value) -> Result<(), serde_json::Error>;
    /// Replaces the model from JSON; on error the model is unchanged.
    fn load_value(&self, value: serde_json::Value) -> Result<(), serde_json::Error>;
    fn load_bytes(&self, bytes: &[u8]) -> Result<(), serde_json::Error>;
    fn clear(&self);
    fn generation(&self) -> u64;
    /// The resource keys changed since the last call ([`Resources::take_dirty`]); None: not tracked.
    fn take_dirty(&self) -> Option<Vec<String>>;
    /// How many keys are marked now ([`Resources::dirty_len`]).
    fn dirty_len(&self) -> usize;
    /// One resource's current value ([`Resources::resource`]).
    fn resource(&self, key: &str) -> Option<serde_json::Value>;
    /// Whether the model was replaced wholesale since the last call (clears the mark).
    fn take_replaced(&self) -> bool;
    /// The content of `base` plus `changes`, built in a fresh model (the live one is not touched): the
    /// background compaction.
    fn rebuild(&self, base: Option<&[u8]>, changes: Vec<Change>) -> Result<Vec<u8>, String>;
    /// Replaces the live model with `base` plus `changes` (recovery at start and after a failed write).
    fn restore(&self, base: Option<&[u8]>, changes: Vec<Change>) -> Result<(), String>;
    /// Parses a model from JSON text without installing it (state import: every model is parsed before any
    /// is installed).
    fn parse_json(&self, json: &str) -> Result<Box<dyn std::any::Any + Send>, serde_json::Error>;
    /// Installs a model `parse_json` returned (journaled whole); false when it is of another model's type.
    fn install(&self, parsed: Box<dyn std::any::Any + Send>) -> bool;
}

impl<T: Resources> StoredModel for Model<T> {
    fn snapshot(&self) -> Result<(u64, Vec<u8>), serde_json::Error> {
        let guard = self.lock.read();
        let generation = self.generation();
        Ok((generation, serde_json::to_vec(&*guard)?))
    }
    fn to_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::to_value(&*self.lock.read())
    }
    fn validate(&self, value: &serde_json::Value) -> Result<(), serde_json::Error> {
        T::deserialize(value).map(|_| ())
    }
    fn load_value(&self, value: serde_json::Value) -> Result<(), serde_json::Error> {
        let parsed: T = serde_json::from_value(value)?;
        self.replace(parsed);
        Ok(())
    }
    fn load_bytes(&self, bytes: &[u8]) -> Result<(), serde_json::Error> {
        let parsed: T = serde_json::from_slice(bytes)?;
        self.replace(parsed);
        Ok(())
    }
    fn clear(&self) {
        self.replace(T::default());
    }
    fn generation(&self) -> u64 {
        Model::generation(self)
    }
    fn take_dirty(&self) -> Option<Vec<String>> {
        self.lock.read().take_dirty()
    }
    fn dirty_len(&self) -> usize {
        self.lock.read().dirty_len()
    }
    fn resource(&self, key: &str) -> Option<serde_json::Value> {
        self.lock.read().resource(key)
    }
    fn take_replaced(&self) -> bool {
        self.replaced.swap(false, Ordering::AcqRel)
    }
    fn rebuild(&self, base: Option<&[u8]>, changes: Vec<Change>) -> Result<Vec<u8>, String> {
        serde_json::to_vec(&rebuild_model::<T>(base, changes)?).map_err(|e| e.to_string())
    }
    fn parse_json(&self, json: &str) -> Result<Box<dyn std::any::Any + Send>, serde_json::Error> {
        Ok(Box::new(serde_json::from_str::<T>(json)?))
    }
    fn install(&self, parsed: Box<dyn std::any::Any + Send>) -> bool {
        match parsed.downcast::<T>() {
            Ok(model) => {
                self.replace(*model);
                true
            }
            Err(_) => false,
        }
    }
    fn restore(&self, base: Option<&[u8]>, changes: Vec<Change>) -> Result<(), String> {
        let rebuilt = rebuild_model::<T>(base, changes)?;
        let mut guard = self.write();
        *guard = rebuilt;
        let _ = guard.take_dirty();
        Ok(())
    }
}

/// The accounts that have received their default resources (so a restart on a data dir provisions only
/// accounts it has not seen before, and never re-creates defaults a user deleted).
#[derive(Default, Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AccountRegistry {
    pub provisioned: BTreeSet<String>,
}

impl AccountRegistry {
    pub fn remove_account(&mut self, account: &str) {
        self.provisioned.remove(account);
    }
}

/// Every resource of every vendor. One lock per model; handlers never hold one across an `.await`.
#[derive(Default)]
pub struct Store {
    pub kafka: Model<KafkaModel>,
    pub rocketmq: Model<RocketMqModel>,
    pub eventbus: Model<EventBusModel>,
    pub accounts: Model<AccountRegistry>,
}

/// The models' stable names, in [`Store::models`] order.
pub const MODEL_NAMES: [&str; 4] = ["kafka", "rocketmq", "eventbus", "accounts"];

impl Store {
    /// Every model with its stable name (file names on disk, keys of the admin state document).
    pub fn models(&self) -> [(&'static str, &dyn StoredModel); 4] {
        [
            ("kafka", &self.kafka),
            ("rocketmq", &self.rocketmq),
            ("eventbus", &self.eventbus),
            ("accounts", &self.accounts),
        ]
    }
}

/// One line of the admin request log (`GET /_localyun/requests`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoggedRequest {
    /// When the request arrived; rendered as RFC 3339 only when the log is read.
    #[serde(serialize_with = "rfc3339")]
    pub time: chrono::DateTime<chrono::Utc>,
    pub vendor: &'static str,
    #[serde(serialize_with = "display")]
    pub method: axum::http::Method,
    /// The request path (without the query).
    pub path: String,
    pub action: String,
    pub account: Option<String>,
    pub status: u16,
    pub error_code: Option<String>,
    pub latency_us: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string_to_sign: Option<String>,
}

/// What [`RequestLog::push`] records, borrowed from the request: the log copies it into a slot it owns.
pub struct RequestRecord<'a> {
    pub time: chrono::DateTime<chrono::Utc>,
    pub vendor: &'static str,
    pub method: &'a axum::http::Method,
    pub path: &'a str,
    pub action: &'a str,
    pub account: Option<&'a str>,
    pub status: u16,
    pub error_code: Option<&'a str>,
    pub latency_us: u64,
    pub string_to_sign: Option<&'a str>,
}

fn rfc3339<S: serde::Serializer>(t: &chrono::DateTime<chrono::Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

fn display<S: serde::Serializer>(v: &impl std::fmt::Display, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Copies `from` into `to`, keeping `to`'s allocation when it is large enough.
fn set_text(to: &mut String, from: &str) {
    to.clear();
    to.push_str(from);
}

/// Like [`set_text`] for optional text.
fn set_optional(to: &mut Option<String>, from: Option<&str>) {
    match (to.as_mut(), from) {
        (Some(t), Some(f)) => set_text(t, f),
        (None, Some(f)) => *to = Some(f.to_owned()),
        // A `None` keeps nothing: the rare string to sign must not pin memory in every slot.
        (_, None) => *to = None,
    }
}

/// The last requests, newest last, bounded: a ring of `capacity` slots reused in place, so that logging a
/// request neither allocates nor frees once the ring is full (issue 16: building and dropping each entry
/// was 2-3% of a read), and holds no part of the request (a kept `Uri` pinned hyper's whole read buffer).
pub struct RequestLog {
    capacity: usize,
    ring: Mutex<Ring>,
}

/// The slots and where the next entry goes; `slots` grows to `capacity`, then `next` wraps around.
#[derive(Default)]
struct Ring {
    slots: Vec<LoggedRequest>,
    next: usize,
}

impl RequestLog {
    /// A log keeping the last `capacity` requests (at least one).
    pub fn new(capacity: usize) -> Self {
        RequestLog { capacity: capacity.max(1), ring: Mutex::new(Ring::default()) }
    }

    /// Records a request, replacing the oldest once `capacity` are kept.
    pub fn push(&self, record: RequestRecord<'_>) {
        let mut ring = self.ring.lock();
        let ring = &mut *ring;
        if ring.slots.len() < self.capacity {
            ring.slots.push(LoggedRequest::default());
        }
        let index = ring.next;
        ring.next = (ring.next + 1) % self.capacity;
        let Some(slot) = ring.slots.get_mut(index) else { return };
        slot.time = record.time;
        slot.vendor = record.vendor;
        slot.method.clone_from(record.method);
        set_text(&mut slot.path, record.path);
        set_text(&mut slot.action, record.action);
        set_optional(&mut slot.account, record.account);
        slot.status = record.status;
        set_optional(&mut slot.error_code, record.error_code);
        slot.latency_us = record.latency_us;
        set_optional(&mut slot.string_to_sign, record.string_to_sign);
    }

    /// The newest `n` entries, oldest first.
    pub fn last(&self, n: usize) -> Vec<LoggedRequest> {
        let ring = self.ring.lock();
        let len = ring.slots.len();
        // Oldest first: once full, the oldest slot is the one written next.
        let oldest = if len < self.capacity { 0 } else { ring.next };
        let take = n.min(len);
        (len - take..len).filter_map(|i| ring.slots.get((oldest + i) % len.max(1)).cloned()).collect()
    }

    /// Forgets every entry (and frees the slots).
    pub fn clear(&self) {
        let mut ring = self.ring.lock();
        ring.slots = Vec::new();
        ring.next = 0;
    }
}

pub struct Inner {
    pub config: Config,
    /// The fixture files read at start (kept so an admin reset can restore the start-up state).
    pub fixtures: Vec<LoadedFixture>,
    /// Durable storage when `--data-dir` is set.
    pub persistence: Option<Persistence>,
    pub faults: FaultTable,
    pub credentials: RwLock<Credentials>,
    pub store: Store,
    pub nonces: NonceCache,
    pub requests: RequestLog,
    pub started: Instant,
    pub started_at: SystemTime,
    /// EventGrid's runtime-only state: issued tokens, the delivery client and queue bounds.
    pub eventgrid: crate::huawei::eventgrid::Runtime,
    /// The Kafka data plane once it runs (see [`AppState::kafka`]).
    pub kafka_plane: crate::kafka::local::Handle,
    /// Memory mode: the sum of the models' generations when [`AppState::persist`] last looked, so requests
    /// that changed nothing (every read) skip the look at the models' change marks (locks per model).
    seen_generations: AtomicU64,
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
    /// The running Kafka data plane, for in-process producers and readers (src/kafka/local.rs): None
    /// before it starts or when it is disabled (`LOCALYUN_KAFKA=off`).
    pub fn kafka(&self) -> Option<std::sync::Arc<crate::kafka::KafkaBroker>> {
        self.kafka_plane.get()
    }

    /// Builds the state from the configuration: credentials, stored state (with `--data-dir`), built-in
    /// defaults and the user's fixtures.
    pub fn from_config(config: Config) -> anyhow::Result<AppState> {
        config.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut credentials = Credentials::new(config.auth);
        if let Some(spec) = &config.credentials {
            credentials.add_from_spec(spec).map_err(|e| anyhow::anyhow!("LOCALYUN_CREDENTIALS: {e}"))?;
        }
        let fixtures = crate::fixtures::read_startup_fixtures(&config)?;
        let persistence = match &config.data_dir {
            Some(dir) => Some(Persistence::open(dir)?),
            None => None,
        };
        let state = AppState(Arc::new(Inner {
            // The legacy window (callers not yet on `Config::auth_window`) stays Tencent's; nonces are kept for
            // the longest vendor window so no vendor's replay slips through.
            nonces: NonceCache::with_retention(config.auth_window("tencent"), config.longest_auth_window()),
            requests: RequestLog::new(config.request_log_size.max(1)),
            config,
            fixtures,
            persistence,
            faults: FaultTable::default(),
            credentials: RwLock::new(credentials),
            store: Store::default(),
            started: Instant::now(),
            started_at: SystemTime::now(),
            eventgrid: crate::huawei::eventgrid::Runtime::default(),
            kafka_plane: Default::default(),
            seen_generations: AtomicU64::new(u64::MAX),
        }));
        let restored = match &state.persistence {
            Some(p) => p.load_into(&state.store)?,
            None => false,
        };
        if restored {
            // The stored state wins: resource fixtures seeded it once; only new accounts get defaults.
            crate::fixtures::apply_accounts_only(&state)?;
        } else {
            crate::fixtures::apply(&state, &state.fixtures)?;
        }
        if let Some(p) = &state.persistence {
            p.start_journal(&state.store)?;
            p.start_compactor(Arc::downgrade(&state.0));
        }
        Ok(state)
    }

    /// Makes every change made so far durable (no-op without `--data-dir`). Called before a mutation is
    /// acknowledged to the client.
    pub async fn persist(&self) -> anyhow::Result<()> {
        match &self.persistence {
            Some(p) => p.commit(self).await,
            None => {
                // Nothing changed since the last look (generations are bumped by every change): nothing to
                // trim. A race with a concurrent change only defers the trim to the next change.
                let models = self.store.models();
                let generations = models.iter().fold(0u64, |sum, (_, m)| sum.wrapping_add(m.generation()));
                if self.seen_generations.swap(generations, Ordering::AcqRel) == generations {
                    return Ok(());
                }
                // Nobody journals: drop the change marks in bulk once they pile up (a set of distinct keys,
                // so this is rare); until then they stay inspectable.
                for (_, model) in models {
                    if model.dirty_len() > MEMORY_MODE_DIRTY_KEYS {
                        let _ = model.take_dirty();
                    }
                    let _ = model.take_replaced();
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str, error_code: Option<&'static str>) -> RequestRecord<'static> {
        RequestRecord {
            time: chrono::Utc::now(),
            vendor: "tencent",
            method: &axum::http::Method::GET,
            path: Box::leak(path.to_owned().into_boxed_str()),
            action: "ListTopic",
            account: Some("1300000000"),
            status: 200,
            error_code,
            latency_us: 7,
            string_to_sign: None,
        }
    }

    #[test]
    fn the_request_log_keeps_the_newest_entries_oldest_first() {
        let log = RequestLog::new(3);
        assert!(log.last(10).is_empty());
        for i in 0..2 {
            log.push(record(&format!("/p{i}"), None));
        }
        let paths = |n| log.last(n).into_iter().map(|e| e.path).collect::<Vec<_>>();
        assert_eq!(paths(10), ["/p0", "/p1"], "before the ring is full");
        for i in 2..7 {
            log.push(record(&format!("/p{i}"), if i == 5 { Some("InvalidParameter") } else { None }));
        }
        assert_eq!(paths(10), ["/p4", "/p5", "/p6"], "after wrapping around");
        assert_eq!(paths(2), ["/p5", "/p6"]);
        let entries = log.last(3);
        // A reused slot takes the new entry's optional fields, including their absence.
        assert_eq!(entries[1].error_code.as_deref(), Some("InvalidParameter"));
        assert_eq!(entries[2].error_code, None);
        assert_eq!(entries[2].account.as_deref(), Some("1300000000"));
        log.clear();
        assert!(log.last(10).is_empty());
        log.push(record("/again", None));
        assert_eq!(paths(10), ["/again"]);
    }
}
