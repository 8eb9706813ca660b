//! Asynchronous delivery of routed events to HTTP targets and local Kafka topics: a bounded number of
//! pending deliveries, a bounded number in flight, each retried `retry_times` times with exponential
//! back-off, every attempt traced in the event bus model; after the last failed attempt the original
//! event goes to the target's Kafka dead-letter queue when that queue's instance is local. Runtime-only
//! state (tokens, HTTP client, counters, running event streams) lives in `Runtime`, in `AppState`.

use crate::engine::eventbus::Millis;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::auth::Tokens;
use crate::engine::eventbus::{transform::Payload, AttemptDetail, DeliveryStatus};
use crate::state::AppState;

/// Deliveries accepted but not finished, over all projects; beyond it new ones are traced as failed.
pub const MAX_PENDING: usize = 10_000;
/// HTTP requests in flight at once.
pub const MAX_IN_FLIGHT: usize = 64;
/// Timeout of one delivery attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Back-off before retry n (1-based): BASE * 2^(n-1), at most MAX.
pub const BACKOFF_BASE: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// EventGrid's runtime-only state.
pub struct Runtime {
    pub tokens: Tokens,
    client: OnceLock<Option<reqwest::Client>>,
    pending: Arc<AtomicUsize>,
    in_flight: Arc<Semaphore>,
    /// The running event streams and their counters.
    pub streams: super::streaming::Runners,
    /// The replicating event-router jobs and their progress.
    pub jobs: super::replication::Jobs,
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime {
            tokens: Tokens::default(),
            client: OnceLock::new(),
            pending: Arc::new(AtomicUsize::new(0)),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            streams: Default::default(),
            jobs: Default::default(),
        }
    }
}

impl Runtime {
    pub(super) fn client(&self) -> Option<reqwest::Client> {
        self.client
            .get_or_init(|| {
                // Targets are the user's local receivers: no proxy, and self-signed certificates are fine.
                reqwest::Client::builder()
                    .no_proxy()
                    .danger_accept_invalid_certs(true)
                    .timeout(ATTEMPT_TIMEOUT)
                    .build()
                    .ok()
            })
            .clone()
    }

    /// Deliveries not yet finished.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }
}

/// Where a job delivers.
pub enum Sink {
    /// POST to a URL with extra headers.
    Http { url: String, headers: Vec<(String, String)> },
    /// Produce into a Kafka topic; the connection (and so the instance) is resolved at delivery time.
    Kafka { connection_id: Option<String>, topic: String, key: Option<Vec<u8>> },
}

/// A dead-letter queue (seed 表 5-15: type KAFKA, instance_id, connection_id, topic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadLetter {
    pub instance_id: String,
    pub connection_id: String,
    pub topic: String,
}

impl DeadLetter {
    /// Reads a target's stored `dead_letter_queue`.
    pub fn of(queue: &serde_json::Value) -> DeadLetter {
        let field = |k: &str| queue.get(k).and_then(serde_json::Value::as_str).unwrap_or("").to_string();
        DeadLetter { instance_id: field("instance_id"), connection_id: field("connection_id"), topic: field("topic") }
    }
}

/// One event to one target.
pub struct Job {
    pub trace_id: String,
    pub project: String,
    pub subscription_id: String,
    pub target_id: String,
    pub sink: Sink,
    pub payload: Payload,
    pub retries: u32,
    /// The target's dead-letter queue: the original event goes there after the last failed attempt.
    pub dead_letter: Option<DeadLetter>,
    /// The event as published (what a dead-letter queue receives).
    pub event: String,
}

/// Starts delivering `job` in the background; Err(reason) when it cannot be queued.
pub fn enqueue(state: &AppState, job: Job) -> Result<(), &'static str> {
    let runtime = &state.eventgrid;
    let Ok(handle) = tokio::runtime::Handle::try_current() else {
        return Err("no async runtime to deliver on");
    };
    let Some(client) = runtime.client() else {
        return Err("the HTTP client could not be built");
    };
    if runtime.pending.fetch_add(1, Ordering::AcqRel) >= MAX_PENDING {
        runtime.pending.fetch_sub(1, Ordering::AcqRel);
        return Err("the delivery queue is full");
    }
    let guard = PendingGuard(runtime.pending.clone());
    let in_flight = runtime.in_flight.clone();
    handle.spawn(run(state.clone(), client, in_flight, job, guard));
    Ok(())
}

struct PendingGuard(Arc<AtomicUsize>);

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

pub fn backoff(retry: u32) -> Duration {
    BACKOFF_BASE.saturating_mul(2u32.saturating_pow(retry.saturating_sub(1).min(16))).min(BACKOFF_MAX)
}

async fn run(state: AppState, client: reqwest::Client, in_flight: Arc<Semaphore>, job: Job, _guard: PendingGuard) {
    let attempts = job.retries.saturating_add(1);
    for attempt in 0..attempts {
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt)).await;
        }
        let outcome = {
            let Ok(_permit) = in_flight.acquire().await else { return };
            match &job.sink {
                Sink::Http { url, headers } => attempt_http(&client, &job, url, headers).await,
                Sink::Kafka { connection_id, topic, key } => {
                    attempt_kafka(&state, &job, connection_id.as_deref(), topic, key.clone()).await
                }
            }
        };
        let last = attempt + 1 == attempts;
        let status = match (outcome.success, last) {
            (true, _) => DeliveryStatus::Success,
            (false, true) => DeliveryStatus::Failed,
            (false, false) => DeliveryStatus::Pending,
        };
        let mut outcome = outcome;
        if let (DeliveryStatus::Failed, Some(queue)) = (status, &job.dead_letter) {
            let note = dead_letter(&state, &job, queue).await;
            outcome.message.push_str("; ");
            outcome.message.push_str(&note);
        }
        state.store.eventbus.read().traces().attempt(
            &job.trace_id,
            &job.subscription_id,
            &job.target_id,
            status,
            Some(outcome.detail),
            &outcome.message,
        );
        if outcome.success {
            return;
        }
    }
}

struct Outcome {
    success: bool,
    detail: AttemptDetail,
    message: String,
}

/// Writes the original event into the dead-letter topic when its instance is local; says what happened.
async fn dead_letter(state: &AppState, job: &Job, queue: &DeadLetter) -> String {
    let names: Vec<String> = [&queue.instance_id].into_iter().filter(|s| !s.is_empty()).cloned().collect();
    let to = match super::kafka::resolve_connection(
        state,
        &job.project,
        Some(queue.connection_id.as_str()),
        &names,
        &queue.topic,
    ) {
        Ok(to) => to,
        Err(why) => {
            return format!(
                "dead letter not written to Kafka topic {} of instance {}: {why}",
                queue.topic, queue.instance_id
            )
        }
    };
    match super::kafka::produce(&to, Some(job.trace_id.clone().into_bytes()), job.event.clone().into_bytes()).await {
        Ok((partition, offset)) => format!(
            "dead letter written to Kafka topic {} of instance {} (partition {partition}, offset {offset})",
            to.topic, to.instance
        ),
        Err(e) => format!("dead letter not written to {to:?}: {}", super::kafka::describe(&e)),
    }
}

/// Produces the transformed event into a local Kafka topic; the attempt's `rsp_code` is the Kafka error
/// code (0 on success).
async fn attempt_kafka(
    state: &AppState,
    job: &Job,
    connection_id: Option<&str>,
    topic: &str,
    key: Option<Vec<u8>>,
) -> Outcome {
    let time_ms = Millis::now();
    let started = Instant::now();
    let result = match super::kafka::resolve_connection(state, &job.project, connection_id, &[], topic) {
        Ok(to) => super::kafka::produce(&to, key, job.payload.body.clone().into_bytes())
            .await
            .map(|(p, o)| format!("delivered to {to:?}, partition {p}, offset {o}"))
            .map_err(|e| {
                let code = match &e {
                    crate::kafka::local::LocalError::Kafka { code, .. } => code.to_string(),
                    crate::kafka::local::LocalError::UnknownTopic { .. } => "3".into(),
                    _ => String::new(),
                };
                (code, super::kafka::describe(&e))
            }),
        Err(why) => Err((String::new(), why)),
    };
    let consuming_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(message) => Outcome {
            success: true,
            detail: AttemptDetail { time: time_ms, success: true, consuming_ms, rsp_code: "0".into() },
            message,
        },
        Err((rsp_code, why)) => Outcome {
            success: false,
            detail: AttemptDetail { time: time_ms, success: false, consuming_ms, rsp_code },
            message: format!("not delivered to Kafka: {why}"),
        },
    }
}

async fn attempt_http(client: &reqwest::Client, job: &Job, url: &str, headers: &[(String, String)]) -> Outcome {
    let time_ms = Millis::now();
    let started = Instant::now();
    let mut request = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, job.payload.content_type)
        .header("x-eg-trace-id", &job.trace_id)
        .body(job.payload.body.clone());
    for (k, v) in headers {
        request = request.header(k.as_str(), v.as_str());
    }
    let result = request.send().await;
    let consuming_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(response) => {
            let status = response.status();
            let success = status.is_success();
            Outcome {
                success,
                detail: AttemptDetail { time: time_ms, success, consuming_ms, rsp_code: status.as_u16().to_string() },
                message: if success { String::new() } else { format!("the target answered HTTP {}", status.as_u16()) },
            }
        }
        Err(e) => Outcome {
            success: false,
            detail: AttemptDetail { time: time_ms, success: false, consuming_ms, rsp_code: String::new() },
            message: format!("the target could not be reached: {}", error_chain(&e)),
        },
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(200));
        assert_eq!(backoff(4), Duration::from_millis(800));
        assert_eq!(backoff(30), BACKOFF_MAX);
    }
}
