//! Event streams that move records (seed 5.14): one background task per running stream whose source is a
//! Kafka topic of an instance localyun serves. The task reads the topic's partitions from its own positions
//! (kept across pause and resume; a new stream starts at `seek_to`: `earliest`, else the latest offset),
//! turns each record into a CloudEvent, applies `rule_config.filter` and `rule_config.transform`, and
//! delivers to the sink: `sink_kafka` (a topic of the local instance its `connectionId` names; key per
//! `keyTransform`, by default the source record's key) or, as localyun's stand-in for a function, a
//! `sink_fg` whose `urn` is an `http(s)://` URL (POSTed to, like a webhook target). Other sources and
//! sinks (RocketMQ, OBS, FunctionGraph in the cloud) are not local: the stream stays in its state and
//! its statistics name why nothing moves.
//!
//! A record whose value is a CloudEvent JSON object (what a Kafka subscription target writes) is that
//! event; any other record becomes `{"specversion":"1.0","id":"<topic>-<partition>-<offset>",
//! "source":"<topic>","type":"kafka:record","subject":"<instance>/<topic>/<partition>","time":...,
//! "datacontenttype":"application/json","data":{"topic","partition","offset","timestamp","key","value",
//! "headers"}}`, `value` parsed as JSON when it is JSON, else text (the seed does not show the shape).
//!
//! `option.batch_window.count` bounds the records read per partition and round, `interval` (seconds) is
//! the pause after a round that moved records; `thread_num` is not used (one task per stream).
//!
//! Positions and counters live in memory: after a restart a running stream starts again from `seek_to`.
//! Delivery is at least once per attempt cycle: a record that fails three attempts is counted `failed`
//! and skipped.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{json, Map, Value};

use super::kafka::{self, LocalTopic};
use crate::engine::eventbus::filter;
use crate::engine::eventbus::transform::{Transform, TransformKind};
use crate::engine::eventbus::{EventStream, Millis, StreamStatus};
use crate::kafka::local::{LocalError, LocalRecord};
use crate::state::AppState;

/// How long an idle stream waits before it looks at its source again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How long a stream whose source or sink cannot be resolved waits before it tries again.
pub const RETRY_INTERVAL: Duration = Duration::from_millis(500);
/// Records read per partition per round unless `option.batch_window.count` says otherwise.
pub const DEFAULT_BATCH: usize = 100;
/// Attempts per record before it is counted failed.
pub const ATTEMPTS: u32 = 3;

/// A stream's counters and positions (what Show/List report as `statistics`).
#[derive(Default)]
pub struct Stats {
    /// Records read from the source.
    pub received: AtomicU64,
    /// Records the sink accepted.
    pub delivered: AtomicU64,
    /// Records `rule_config.filter` dropped.
    pub filtered: AtomicU64,
    /// Records the sink refused [`ATTEMPTS`] times (skipped).
    pub failed: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// Next offset to read per partition, for the source the positions belong to.
    positions: Mutex<(String, BTreeMap<u32, i64>)>,
}

impl Stats {
    fn error(&self, why: Option<String>) {
        *self.last_error.lock() = why;
    }

    /// `{"received","delivered","filtered","failed","positions":[{"partition","offset"}],"last_error"}`.
    pub fn render(&self, running: bool) -> Value {
        let positions: Vec<Value> =
            self.positions.lock().1.iter().map(|(p, o)| json!({"partition": p, "offset": o})).collect();
        json!({
            "running": running,
            "received": self.received.load(Ordering::Relaxed),
            "delivered": self.delivered.load(Ordering::Relaxed),
            "filtered": self.filtered.load(Ordering::Relaxed),
            "failed": self.failed.load(Ordering::Relaxed),
            "positions": positions,
            "last_error": *self.last_error.lock(),
        })
    }
}

struct Entry {
    stats: Arc<Stats>,
    /// The stream version (`updated_ms`) the task runs and its handle.
    task: Option<(Millis, tokio::task::AbortHandle)>,
}

/// The running streams of a state.
#[derive(Default)]
pub struct Runners {
    entries: Mutex<HashMap<String, Entry>>,
    restored: AtomicBool,
}

fn key(project: &str, id: &str) -> String {
    format!("{project}/{id}")
}

impl Runners {
    /// A stream's statistics (zeros for one that never ran here).
    pub fn statistics(&self, project: &str, id: &str) -> Value {
        let entries = self.entries.lock();
        match entries.get(&key(project, id)) {
            Some(e) => e.stats.render(e.task.as_ref().is_some_and(|(_, h)| !h.is_finished())),
            None => Stats::default().render(false),
        }
    }
}

/// Starts, restarts or stops the task of one stream after a change (create, update, operate, delete).
pub fn reconcile(state: &AppState, project: &str, id: &str) {
    let stream = state.store.eventbus.read().stream(project, id).ok().cloned();
    let runners = &state.eventgrid.streams;
    let mut entries = runners.entries.lock();
    let k = key(project, id);
    let Some(stream) = stream else {
        if let Some(e) = entries.remove(&k) {
            if let Some((_, h)) = e.task {
                h.abort();
            }
        }
        return;
    };
    let entry = entries.entry(k).or_insert_with(|| Entry { stats: Arc::default(), task: None });
    let current = entry.task.as_ref().is_some_and(|(g, h)| *g == stream.updated_ms && !h.is_finished());
    if stream.status == StreamStatus::Running && current {
        return;
    }
    if let Some((_, h)) = entry.task.take() {
        h.abort();
    }
    if stream.status != StreamStatus::Running {
        return;
    }
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        entry.stats.error(Some("no async runtime to run the stream on".into()));
        return;
    };
    let task = handle.spawn(run(state.clone(), stream.clone(), entry.stats.clone()));
    entry.task = Some((stream.updated_ms, task.abort_handle()));
}

/// Once per state: starts the streams that were running when the state was stored.
pub fn restore(state: &AppState) {
    if state.eventgrid.streams.restored.swap(true, Ordering::AcqRel) {
        return;
    }
    let running: Vec<(String, String)> = state
        .store
        .eventbus
        .read()
        .all_streams()
        .filter(|s| s.status == StreamStatus::Running)
        .map(|s| (s.project_id.clone(), s.id.clone()))
        .collect();
    for (project, id) in running {
        reconcile(state, &project, &id);
    }
}

enum SinkPlan {
    Kafka { to: LocalTopic, key_rule: Option<Value> },
    Http(String),
}

struct Plan {
    source: LocalTopic,
    earliest: bool,
    sink: SinkPlan,
    filter: Option<Value>,
    transform: Transform,
    batch: usize,
    /// `option.batch_window.interval`: the pause after a round that moved records.
    interval: Duration,
}

fn field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Resolves what the stream moves; Err names why it cannot run here.
fn plan(state: &AppState, s: &EventStream) -> Result<Plan, String> {
    let Some(src) = s.source.get("source_kafka").filter(|v| v.is_object()) else {
        let kind = s.source.as_object().and_then(|m| m.keys().find(|k| k.starts_with("source_")).cloned());
        return Err(format!("source {} is not local: only source_kafka is consumed here", kind.unwrap_or_default()));
    };
    let names: Vec<String> = ["instance_id", "addr"].iter().filter_map(|k| field(src, k)).map(str::to_string).collect();
    let source = kafka::resolve(state, &names, field(src, "topic").unwrap_or(""))?;
    let earliest = field(src, "seek_to").is_some_and(|s| s.eq_ignore_ascii_case("earliest"));
    let sink = if let Some(k) = s.sink.get("sink_kafka").filter(|v| v.is_object()) {
        let to = kafka::resolve_connection(
            state,
            &s.project_id,
            field(k, "connectionId"),
            &[],
            field(k, "topic").unwrap_or(""),
        )?;
        let key_rule = k.get("keyTransform").and_then(|r| match r {
            Value::Array(items) => items.first().cloned(),
            other => Some(other.clone()),
        });
        if to.instance == source.instance && to.topic == source.topic {
            return Err(format!("the sink is the source topic {}: every record would come back forever", to.topic));
        }
        SinkPlan::Kafka { to, key_rule }
    } else if let Some(url) = s
        .sink
        .get("sink_fg")
        .and_then(|f| field(f, "urn"))
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
    {
        SinkPlan::Http(url.to_string())
    } else {
        let kind = s.sink.as_object().and_then(|m| m.keys().find(|k| k.starts_with("sink_")).cloned());
        return Err(format!("sink {} is not local", kind.unwrap_or_default()));
    };
    let rules = s.rule_config.as_ref();
    let filter = rules.and_then(|r| r.get("filter")).filter(|f| f.as_object().is_some_and(|m| !m.is_empty())).cloned();
    let transform = match rules.and_then(|r| r.get("transform")).filter(|t| t.is_object()) {
        Some(t) => {
            super::subscriptions::parse_transform("rule_config.transform", t).map_err(|e| e.detail().to_string())?
        }
        None => Transform::new(TransformKind::Original, None, None)?,
    };
    let batch = s
        .option
        .as_ref()
        .and_then(|o| o.pointer("/batch_window/count"))
        .and_then(|c| c.as_u64().or_else(|| c.as_str().and_then(|s| s.parse().ok())))
        .map_or(DEFAULT_BATCH, |c| c.clamp(1, 10_000) as usize);
    let interval = s
        .option
        .as_ref()
        .and_then(|o| o.pointer("/batch_window/interval"))
        .and_then(|c| c.as_u64().or_else(|| c.as_str().and_then(|s| s.parse().ok())))
        .map_or(Duration::ZERO, |secs| Duration::from_secs(secs.min(15)));
    Ok(Plan { source, earliest, sink, filter, transform, batch, interval })
}

/// Whether the stored stream is still the version this task runs.
fn still_current(state: &AppState, s: &EventStream) -> bool {
    state
        .store
        .eventbus
        .read()
        .stream(&s.project_id, &s.id)
        .is_ok_and(|now| now.status == StreamStatus::Running && now.updated_ms == s.updated_ms)
}

async fn run(state: AppState, stream: EventStream, stats: Arc<Stats>) {
    let plan = loop {
        if !still_current(&state, &stream) {
            return;
        }
        match plan(&state, &stream) {
            Ok(p) => break p,
            Err(why) => {
                stats.error(Some(why));
                tokio::time::sleep(RETRY_INTERVAL).await;
            }
        }
    };
    stats.error(None);
    let signature = format!("{}/{}", plan.source.instance, plan.source.topic);
    {
        let mut positions = stats.positions.lock();
        if positions.0 != signature {
            *positions = (signature, BTreeMap::new());
        }
    }
    let client = state.eventgrid.client();
    loop {
        if !still_current(&state, &stream) {
            return;
        }
        let offsets = match plan.source.broker.partition_offsets(&plan.source.instance, &plan.source.topic) {
            Ok(o) => o,
            Err(e) => {
                stats.error(Some(format!("source: {e}")));
                tokio::time::sleep(RETRY_INTERVAL).await;
                continue;
            }
        };
        let mut moved = 0usize;
        for po in offsets {
            let start = {
                let mut positions = stats.positions.lock();
                let pos = positions.1.entry(po.partition).or_insert(if plan.earliest {
                    po.log_start_offset
                } else {
                    po.high_watermark
                });
                if *pos < po.log_start_offset || *pos > po.high_watermark {
                    *pos = po.log_start_offset;
                }
                *pos
            };
            if start >= po.high_watermark {
                continue;
            }
            let records = match plan.source.broker.read_local(
                &plan.source.instance,
                &plan.source.topic,
                po.partition,
                start,
                plan.batch,
            ) {
                Ok(r) => r,
                Err(LocalError::OffsetOutOfRange { .. }) => {
                    stats.positions.lock().1.insert(po.partition, po.log_start_offset);
                    continue;
                }
                Err(e) => {
                    stats.error(Some(format!("source: {e}")));
                    continue;
                }
            };
            for record in records {
                moved += 1;
                stats.received.fetch_add(1, Ordering::Relaxed);
                let event = cloud_event(&plan.source, &record);
                if plan.filter.as_ref().is_some_and(|f| !filter::matches(f, &event)) {
                    stats.filtered.fetch_add(1, Ordering::Relaxed);
                } else {
                    match deliver(&plan, client.as_ref(), &event, &record).await {
                        Ok(()) => {
                            stats.delivered.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(why) => {
                            stats.failed.fetch_add(1, Ordering::Relaxed);
                            stats.error(Some(why));
                        }
                    }
                }
                stats.positions.lock().1.insert(record.partition, record.offset + 1);
            }
        }
        if moved == 0 {
            tokio::time::sleep(POLL_INTERVAL).await;
        } else if !plan.interval.is_zero() {
            tokio::time::sleep(plan.interval).await;
        }
    }
}

async fn deliver(
    plan: &Plan,
    client: Option<&reqwest::Client>,
    event: &Value,
    record: &LocalRecord,
) -> Result<(), String> {
    let payload = plan.transform.apply(event);
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(super::delivery::backoff(attempt)).await;
        }
        let result = match &plan.sink {
            SinkPlan::Kafka { to, key_rule } => {
                let key = kafka::key_of(key_rule.as_ref(), event, record.key.as_deref());
                kafka::produce(to, key, payload.body.clone().into_bytes())
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("sink {to:?}: {e}"))
            }
            SinkPlan::Http(url) => match client {
                None => Err("the HTTP client could not be built".to_string()),
                Some(c) => match c
                    .post(url)
                    .header(reqwest::header::CONTENT_TYPE, payload.content_type)
                    .body(payload.body.clone())
                    .send()
                    .await
                {
                    Ok(r) if r.status().is_success() => Ok(()),
                    Ok(r) => Err(format!("sink {url} answered HTTP {}", r.status().as_u16())),
                    Err(e) => Err(format!("sink {url} could not be reached: {e}")),
                },
            },
        };
        match result {
            Ok(()) => return Ok(()),
            Err(why) => last = why,
        }
    }
    Err(last)
}

/// The CloudEvent of a record (see the module documentation).
pub fn cloud_event(source: &LocalTopic, r: &LocalRecord) -> Value {
    if let Some(Value::Object(event)) = r.value.as_deref().and_then(|v| serde_json::from_slice::<Value>(v).ok()) {
        let is_event =
            ["id", "source", "specversion", "type"].iter().all(|k| event.get(*k).is_some_and(Value::is_string));
        if is_event {
            return Value::Object(event);
        }
    }
    let text = |b: &Option<bytes::Bytes>| match b {
        None => Value::Null,
        Some(b) => {
            serde_json::from_slice::<Value>(b).unwrap_or_else(|_| Value::from(String::from_utf8_lossy(b).into_owned()))
        }
    };
    let headers: Map<String, Value> = r
        .headers
        .iter()
        .map(|(k, v)| {
            (k.clone(), v.as_ref().map_or(Value::Null, |b| Value::from(String::from_utf8_lossy(b).into_owned())))
        })
        .collect();
    let time = chrono::DateTime::from_timestamp_millis(r.timestamp_ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default();
    json!({
        "specversion": "1.0",
        "id": format!("{}-{}-{}", source.topic, r.partition, r.offset),
        "source": source.topic,
        "type": "kafka:record",
        "subject": format!("{}/{}/{}", source.instance, source.topic, r.partition),
        "time": time,
        "datacontenttype": "application/json",
        "data": {
            "topic": source.topic,
            "partition": r.partition,
            "offset": r.offset,
            "timestamp": r.timestamp_ms,
            "key": r.key.as_ref().map(|k| String::from_utf8_lossy(k).into_owned()),
            "value": text(&r.value),
            "headers": headers,
        },
    })
}
