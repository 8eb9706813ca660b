//! The trace of published events: a bounded, in-memory ring outside the management resources. Traces are
//! not persisted or exported (whole CloudEvents do not belong in the management state); a restart starts
//! with an empty trace, as the seed's traces are a short-lived diagnostic.

use std::collections::{HashMap, VecDeque};

use parking_lot::Mutex;
use serde_json::Value;

use super::Millis;

/// Events whose trace is kept, over all projects; the oldest are forgotten first.
pub const MAX_TRACED_EVENTS: usize = 10_000;
/// Attempt details kept per target (the seed's trace suggests "only the latest three").
pub const MAX_ATTEMPT_DETAILS: usize = 3;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Success,
    Failed,
    /// The target is a cloud service that cannot be reached locally.
    NotDelivered,
}

/// One delivery attempt of an event to a target.
#[derive(Clone, Debug)]
pub struct AttemptDetail {
    pub time: Millis,
    pub success: bool,
    /// How long the attempt took, in milliseconds.
    pub consuming_ms: u64,
    /// The HTTP status as text, or empty when no response came.
    pub rsp_code: String,
}

#[derive(Clone, Debug)]
pub struct TargetTrace {
    pub target_id: String,
    pub target_name: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub details: VecDeque<AttemptDetail>,
    /// Why the last attempt failed, or why nothing was delivered.
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct SubscriptionTrace {
    pub subscription_id: String,
    pub subscription_name: String,
    pub source_provider: String,
    pub targets: Vec<TargetTrace>,
}

/// A published event with its planned and attempted deliveries.
#[derive(Clone, Debug)]
pub struct EventRecord {
    pub trace_id: String,
    pub project_id: String,
    pub channel_id: String,
    pub channel_name: String,
    pub event: Value,
    pub received: Millis,
    pub deliveries: Vec<SubscriptionTrace>,
}

impl EventRecord {
    pub fn event_id(&self) -> &str {
        self.event.get("id").and_then(Value::as_str).unwrap_or("")
    }
    pub fn source(&self) -> &str {
        self.event.get("source").and_then(Value::as_str).unwrap_or("")
    }
    pub fn event_type(&self) -> &str {
        self.event.get("type").and_then(Value::as_str).unwrap_or("")
    }
}

#[derive(Default)]
struct Ring {
    events: HashMap<String, EventRecord>,
    order: VecDeque<String>,
}

/// The bounded trace store. Each call takes its own short lock; publishing a batch locks once per event,
/// so a 1,000-event batch never holds it across the batch.
#[derive(Default)]
pub struct Traces {
    ring: Mutex<Ring>,
}

impl std::fmt::Debug for Traces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traces").field("events", &self.ring.lock().order.len()).finish()
    }
}

impl Traces {
    /// Stores a published event, forgetting the oldest beyond [`MAX_TRACED_EVENTS`].
    pub fn record(&self, record: EventRecord) {
        let mut ring = self.ring.lock();
        while ring.order.len() >= MAX_TRACED_EVENTS {
            if let Some(old) = ring.order.pop_front() {
                ring.events.remove(&old);
            }
        }
        ring.order.push_back(record.trace_id.clone());
        ring.events.insert(record.trace_id.clone(), record);
    }

    /// Calls `f` with the event of a project by its trace id, or else by the CloudEvent `id` it was
    /// published with (the latest one); None when there is none.
    pub fn with_event<R>(&self, project: &str, id: &str, f: impl FnOnce(&EventRecord) -> R) -> Option<R> {
        let ring = self.ring.lock();
        if let Some(e) = ring.events.get(id).filter(|e| e.project_id == project) {
            return Some(f(e));
        }
        ring.order
            .iter()
            .rev()
            .filter_map(|t| ring.events.get(t))
            .find(|e| e.project_id == project && e.event_id() == id)
            .map(f)
    }

    /// Calls `f` for every traced event, newest first, until it returns false.
    pub fn newest_first(&self, mut f: impl FnMut(&EventRecord) -> bool) {
        let ring = self.ring.lock();
        for record in ring.order.iter().rev().filter_map(|id| ring.events.get(id)) {
            if !f(record) {
                break;
            }
        }
    }

    /// Records one delivery attempt (or its final state) of an event to a target.
    pub fn attempt(
        &self,
        trace_id: &str,
        subscription_id: &str,
        target_id: &str,
        status: DeliveryStatus,
        detail: Option<AttemptDetail>,
        message: &str,
    ) {
        let mut ring = self.ring.lock();
        let Some(record) = ring.events.get_mut(trace_id) else { return };
        let Some(sub) = record.deliveries.iter_mut().find(|d| d.subscription_id == subscription_id) else { return };
        let Some(target) = sub.targets.iter_mut().find(|t| t.target_id == target_id) else { return };
        target.status = status;
        target.message = message.to_string();
        if let Some(detail) = detail {
            target.attempts += 1;
            if target.details.len() == MAX_ATTEMPT_DETAILS {
                target.details.pop_front();
            }
            target.details.push_back(detail);
        }
    }

    /// Forgets the traces of some projects (account reset).
    pub fn forget_projects(&self, projects: &[String]) {
        let mut ring = self.ring.lock();
        ring.events.retain(|_, e| !projects.contains(&e.project_id));
        let Ring { events, order } = &mut *ring;
        order.retain(|id| events.contains_key(id));
    }

    /// Forgets every trace (vendor reset).
    pub fn clear(&self) {
        *self.ring.lock() = Ring::default();
    }

    pub fn len(&self) -> usize {
        self.ring.lock().order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, project: &str) -> EventRecord {
        EventRecord {
            trace_id: id.into(),
            project_id: project.into(),
            channel_id: "c".into(),
            channel_name: "c".into(),
            event: serde_json::json!({"id": format!("e-{id}")}),
            received: Millis(0),
            deliveries: vec![SubscriptionTrace {
                subscription_id: "s".into(),
                subscription_name: "s".into(),
                source_provider: "CUSTOM".into(),
                targets: vec![TargetTrace {
                    target_id: "t".into(),
                    target_name: "t".into(),
                    status: DeliveryStatus::Pending,
                    attempts: 0,
                    details: VecDeque::new(),
                    message: String::new(),
                }],
            }],
        }
    }

    #[test]
    fn the_ring_is_bounded_and_keeps_the_latest_attempts() {
        let traces = Traces::default();
        for i in 0..MAX_TRACED_EVENTS + 5 {
            traces.record(record(&i.to_string(), "p"));
        }
        assert_eq!(traces.len(), MAX_TRACED_EVENTS);
        assert!(traces.with_event("p", "0", |_| ()).is_none());
        assert!(traces.with_event("p", "5", |_| ()).is_some());
        assert!(traces.with_event("p", "e-6", |r| r.trace_id.clone()).is_some_and(|t| t == "6"));
        assert!(traces.with_event("q", "6", |_| ()).is_none(), "invisible from another project");
        for n in 0..5 {
            let detail = AttemptDetail { time: Millis(n), success: false, consuming_ms: 1, rsp_code: "500".into() };
            traces.attempt("6", "s", "t", DeliveryStatus::Failed, Some(detail), "x");
        }
        let (attempts, kept, first) = traces
            .with_event("p", "6", |r| {
                let t = &r.deliveries[0].targets[0];
                (t.attempts, t.details.len(), t.details[0].time)
            })
            .unwrap();
        assert_eq!((attempts, kept, first), (5, MAX_ATTEMPT_DETAILS, Millis(2)));
        traces.forget_projects(&["p".to_string()]);
        assert!(traces.is_empty());
    }
}
