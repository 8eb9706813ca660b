//! Event-router jobs that replicate Kafka to Kafka (seed 5.16, scene DISASTER_BACKUP on a KAFKA cluster):
//! one background task per RUNNING job whose `source_config.source_kafka` and `sink_config.sink_kafka` name
//! instances localyun serves (`instance_id`, else `address`). The task copies every topic that
//! `advance_config.kafka2kafka` selects (`topics`, comma-separated, or `topic_regex`, re-read every round so
//! new topics join) from its own positions (a new job starts at `seek_to`: `earliest`, else the latest
//! offset) into the sink topic of the same name, or the `topic_mappings` target when `rename_topic` is
//! true; records keep key, value, headers and partition (when the sink topic has it); `is_add_header`
//! adds `x-eg-source: <cluster_alias>/<topic>/<partition>/<offset>`. Sink topics are not created: a
//! missing one is reported in the job's `err_message` (create it through a Kafka management API).
//!
//! Progress is what ShowEventRouterTaskSyncDetail answers (`items_kafka`); positions and counts live in
//! memory, so after a restart a running job starts again from `seek_to`. RocketMQ and DCS jobs keep their
//! states but move nothing (no local data path).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::streaming::{POLL_INTERVAL, RETRY_INTERVAL};
use crate::engine::eventbus::{JobStatus, Millis, RouterJob};
use crate::kafka::local::{LocalError, NewRecord};
use crate::kafka::KafkaBroker;
use crate::state::AppState;

/// Records copied per partition per round.
const BATCH: usize = 500;

/// One replicated topic's progress.
#[derive(Clone, Debug, Default)]
pub struct TopicProgress {
    pub sink_topic: String,
    /// Records copied.
    pub copied: u64,
    /// Per partition: (next offset to copy, high watermark when last looked).
    pub partitions: BTreeMap<u32, (i64, i64)>,
}

/// A job's progress and last error.
#[derive(Default)]
pub struct Progress {
    pub cluster_alias: Mutex<String>,
    pub topics: Mutex<BTreeMap<String, TopicProgress>>,
    pub last_error: Mutex<Option<String>>,
}

struct Entry {
    progress: Arc<Progress>,
    task: Option<(Millis, tokio::task::AbortHandle)>,
}

/// The replicating jobs of a state.
#[derive(Default)]
pub struct Jobs {
    entries: Mutex<HashMap<String, Entry>>,
    restored: AtomicBool,
}

fn key(project: &str, id: &str) -> String {
    format!("{project}/{id}")
}

impl Jobs {
    /// A job's progress (None when it never ran here).
    pub fn progress(&self, project: &str, id: &str) -> Option<Arc<Progress>> {
        self.entries.lock().get(&key(project, id)).map(|e| e.progress.clone())
    }
}

/// Starts, restarts or stops the task of one job after a change.
pub fn reconcile(state: &AppState, project: &str, id: &str) {
    let job = state.store.eventbus.read().router_job(project, id).ok().cloned();
    let jobs = &state.eventgrid.jobs;
    let mut entries = jobs.entries.lock();
    let k = key(project, id);
    let Some(job) = job else {
        if let Some((_, h)) = entries.remove(&k).and_then(|e| e.task) {
            h.abort();
        }
        return;
    };
    let entry = entries.entry(k).or_insert_with(|| Entry { progress: Arc::default(), task: None });
    let current = entry.task.as_ref().is_some_and(|(g, h)| *g == job.updated_ms && !h.is_finished());
    if job.status == JobStatus::Running && current {
        return;
    }
    if let Some((_, h)) = entry.task.take() {
        h.abort();
    }
    if job.status != JobStatus::Running {
        return;
    }
    let Ok(handle) = tokio::runtime::Handle::try_current() else { return };
    let task = handle.spawn(run(state.clone(), job.clone(), entry.progress.clone()));
    entry.task = Some((job.updated_ms, task.abort_handle()));
}

/// Once per state: starts the jobs that were RUNNING when the state was stored.
pub fn restore(state: &AppState) {
    if state.eventgrid.jobs.restored.swap(true, Ordering::AcqRel) {
        return;
    }
    let running: Vec<(String, String)> = state
        .store
        .eventbus
        .read()
        .all_router_jobs()
        .filter(|j| j.status == JobStatus::Running)
        .map(|j| (j.project_id.clone(), j.id.clone()))
        .collect();
    for (project, id) in running {
        reconcile(state, &project, &id);
    }
}

fn field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty())
}

struct Plan {
    broker: Arc<KafkaBroker>,
    source: String,
    sink: String,
    alias: String,
    topics: Option<Vec<String>>,
    regex: Option<regex::Regex>,
    mappings: HashMap<String, String>,
    earliest: bool,
    add_header: bool,
}

fn side_instance(broker: &KafkaBroker, config: Option<&Value>, side: &str) -> Result<(String, String), String> {
    let kafka = config
        .and_then(|c| c.get(format!("{side}_kafka")))
        .filter(|k| k.is_object())
        .ok_or_else(|| format!("{side}_config.{side}_kafka is not set: only Kafka jobs move records here"))?;
    let names: Vec<&str> = ["instance_id", "address"].iter().filter_map(|k| field(kafka, k)).collect();
    let instance = names
        .iter()
        .find_map(|n| broker.resolve_instance(n))
        .ok_or_else(|| format!("{side}: no local Kafka instance is named {}", names.join(" or ")))?;
    Ok((instance, field(kafka, "cluster_alias").unwrap_or("").to_string()))
}

fn plan(state: &AppState, job: &RouterJob) -> Result<Plan, String> {
    let broker = state.kafka().ok_or("the Kafka data plane is off (LOCALYUN_KAFKA=off)")?;
    let (source, alias) = side_instance(&broker, job.source_config.as_ref(), "source")?;
    let (sink, _) = side_instance(&broker, job.sink_config.as_ref(), "sink")?;
    let advance = job.advance_config.as_ref().and_then(|a| a.get("kafka2kafka")).cloned().unwrap_or(Value::Null);
    let topics = field(&advance, "topics")
        .map(|t| t.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>());
    let regex = match field(&advance, "topic_regex") {
        Some(r) => Some(regex::Regex::new(&format!("^(?:{r})$")).map_err(|e| format!("topic_regex: {e}"))?),
        None => None,
    };
    if topics.is_none() && regex.is_none() {
        return Err("advance_config.kafka2kafka names no topics or topic_regex".into());
    }
    let rename = advance.get("rename_topic").and_then(Value::as_bool).unwrap_or(false);
    let mappings = if rename {
        advance
            .get("topic_mappings")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| Some((field(m, "source_topic")?.to_string(), field(m, "sink_topic")?.to_string())))
            .collect()
    } else {
        HashMap::new()
    };
    Ok(Plan {
        broker,
        source,
        sink,
        alias,
        topics,
        regex,
        mappings,
        earliest: field(&advance, "seek_to").is_some_and(|s| s.eq_ignore_ascii_case("earliest")),
        add_header: advance.get("is_add_header").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn still_current(state: &AppState, job: &RouterJob) -> bool {
    state
        .store
        .eventbus
        .read()
        .router_job(&job.project_id, &job.id)
        .is_ok_and(|now| now.status == JobStatus::Running && now.updated_ms == job.updated_ms)
}

async fn run(state: AppState, job: RouterJob, progress: Arc<Progress>) {
    let plan = loop {
        if !still_current(&state, &job) {
            return;
        }
        match plan(&state, &job) {
            Ok(p) => break p,
            Err(why) => {
                *progress.last_error.lock() = Some(why);
                tokio::time::sleep(RETRY_INTERVAL).await;
            }
        }
    };
    *progress.cluster_alias.lock() = plan.alias.clone();
    loop {
        if !still_current(&state, &job) {
            return;
        }
        let topics = match (&plan.topics, &plan.regex) {
            (Some(list), _) => list.clone(),
            (None, Some(re)) => match plan.broker.topic_names(&plan.source) {
                Ok(names) => names.into_iter().filter(|n| re.is_match(n)).collect(),
                Err(e) => {
                    *progress.last_error.lock() = Some(format!("source: {e}"));
                    tokio::time::sleep(RETRY_INTERVAL).await;
                    continue;
                }
            },
            (None, None) => Vec::new(),
        };
        let mut moved = 0usize;
        let mut error = None;
        for topic in &topics {
            let sink_topic = plan.mappings.get(topic).cloned().unwrap_or_else(|| topic.clone());
            match copy_topic(&plan, &progress, topic, &sink_topic).await {
                Ok(n) => moved += n,
                Err(why) => error = Some(why),
            }
        }
        *progress.last_error.lock() = error;
        if moved == 0 {
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// Copies what is new in one topic; answers how many records moved.
async fn copy_topic(plan: &Plan, progress: &Progress, topic: &str, sink_topic: &str) -> Result<usize, String> {
    if plan.source == plan.sink && topic == sink_topic {
        return Err(format!("sink: topic {topic} is its own source on instance {}: records would loop", plan.sink));
    }
    let offsets = plan.broker.partition_offsets(&plan.source, topic).map_err(|e| format!("source: {e}"))?;
    let sink_partitions =
        plan.broker.partition_offsets(&plan.sink, sink_topic).map_err(|e| format!("sink: {e}"))?.len();
    let mut moved = 0;
    for po in offsets {
        let start = {
            let mut topics = progress.topics.lock();
            let t = topics.entry(topic.to_string()).or_default();
            t.sink_topic = sink_topic.to_string();
            let earliest = plan.earliest;
            let entry = t
                .partitions
                .entry(po.partition)
                .or_insert((if earliest { po.log_start_offset } else { po.high_watermark }, po.high_watermark));
            if entry.0 < po.log_start_offset || entry.0 > po.high_watermark {
                entry.0 = po.log_start_offset;
            }
            entry.1 = po.high_watermark;
            entry.0
        };
        if start >= po.high_watermark {
            continue;
        }
        let records = match plan.broker.read_local(&plan.source, topic, po.partition, start, BATCH) {
            Ok(r) => r,
            Err(LocalError::OffsetOutOfRange { .. }) => continue,
            Err(e) => return Err(format!("source: {e}")),
        };
        let Some(last) = records.last().map(|r| r.offset) else { continue };
        let batch: Vec<NewRecord> = records
            .iter()
            .map(|r| {
                let mut headers = r.headers.clone();
                if plan.add_header {
                    let origin = format!("{}/{topic}/{}/{}", plan.alias, r.partition, r.offset);
                    headers.push(("x-eg-source".into(), Some(Bytes::from(origin))));
                }
                NewRecord { key: r.key.clone(), value: r.value.clone(), headers }
            })
            .collect();
        if (po.partition as usize) < sink_partitions {
            plan.broker
                .produce_local(&plan.sink, sink_topic, Some(po.partition), &batch)
                .await
                .map_err(|e| format!("sink: {e}"))?;
        } else {
            for record in &batch {
                plan.broker
                    .produce_local(&plan.sink, sink_topic, None, std::slice::from_ref(record))
                    .await
                    .map_err(|e| format!("sink: {e}"))?;
            }
        }
        moved += batch.len();
        let mut topics = progress.topics.lock();
        let t = topics.entry(topic.to_string()).or_default();
        t.copied += batch.len() as u64;
        if let Some(p) = t.partitions.get_mut(&po.partition) {
            p.0 = last + 1;
        }
    }
    Ok(moved)
}

/// The seed's `KafkaSyncDetailData` of every replicated topic (表 5-667), filtered by `keep`.
pub fn kafka_items(progress: &Progress, keep: impl Fn(&str) -> bool) -> Vec<Value> {
    let alias = progress.cluster_alias.lock().clone();
    progress
        .topics
        .lock()
        .iter()
        .filter(|(t, _)| keep(t))
        .map(|(topic, p)| {
            let remain: i64 = p.partitions.values().map(|(pos, hw)| (hw - pos).max(0)).sum();
            let details: Vec<Value> = p
                .partitions
                .iter()
                .map(|(partition, (pos, hw))| {
                    json!({
                        "partition": {"cluter": alias, "topic": topic, "partition": partition},
                        "offset": {"offset": pos, "max_offset": hw},
                    })
                })
                .collect();
            json!({"topic": topic, "number": p.copied, "sync_remain_num": remain, "offset_details": details})
        })
        .collect()
}
