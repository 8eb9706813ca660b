//! Asynchronous delivery of routed events to HTTP targets: a bounded number of pending deliveries, a bounded
//! number in flight, each retried `retry_times` times with exponential back-off, every attempt traced in the
//! event bus model. Runtime-only state (tokens, HTTP client, counters) lives in `Runtime`, in `AppState`.

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
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime {
            tokens: Tokens::default(),
            client: OnceLock::new(),
            pending: Arc::new(AtomicUsize::new(0)),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }
}

impl Runtime {
    fn client(&self) -> Option<reqwest::Client> {
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

/// One event to one HTTP target.
pub struct Job {
    pub trace_id: String,
    pub subscription_id: String,
    pub target_id: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub payload: Payload,
    pub retries: u32,
    /// The target's dead letter queue (`KAFKA topic t of instance i`), named in the trace of a final failure.
    pub dead_letter: Option<String>,
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
            attempt_once(&client, &job).await
        };
        let last = attempt + 1 == attempts;
        let status = match (outcome.success, last) {
            (true, _) => DeliveryStatus::Success,
            (false, true) => DeliveryStatus::Failed,
            (false, false) => DeliveryStatus::Pending,
        };
        let mut outcome = outcome;
        if let (DeliveryStatus::Failed, Some(queue)) = (status, &job.dead_letter) {
            // No Kafka data plane runs locally: the dead letter is recorded in the trace instead.
            outcome.message.push_str(&format!("; dead letter for {queue} recorded here (no local Kafka)"));
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

async fn attempt_once(client: &reqwest::Client, job: &Job) -> Outcome {
    let time_ms = Millis::now();
    let started = Instant::now();
    let mut request = client
        .post(&job.url)
        .header(reqwest::header::CONTENT_TYPE, job.payload.content_type)
        .header("x-eg-trace-id", &job.trace_id)
        .body(job.payload.body.clone());
    for (k, v) in &job.headers {
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
