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
    /// The CloudEvent as compact JSON text (what ShowDetailOfEvent answers). Kept as text, not as a JSON
    /// tree: a tree is many small allocations to build and to free when the ring forgets the event, and
    /// nothing reads the trace's event other than as text and by the attributes below.
    pub event: String,
    /// The event's `id`, `source` and `type`, which traces are searched and listed by.
    pub attributes: EventAttributes,
    pub received: Millis,
    pub deliveries: Vec<SubscriptionTrace>,
}

impl EventRecord {
    pub fn event_id(&self) -> &str {
        self.attributes.id()
    }
    pub fn source(&self) -> &str {
        self.attributes.source()
    }
    pub fn event_type(&self) -> &str {
        self.attributes.event_type()
    }
}

/// A CloudEvent's `id`, `source` and `type` (each `""` when absent or not a string), held in one String.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventAttributes {
    text: String,
    id_end: usize,
    source_end: usize,
}

impl EventAttributes {
    /// The attributes of a CloudEvent JSON object.
    pub fn of(event: &Value) -> EventAttributes {
        let attribute = |name: &str| event.get(name).and_then(Value::as_str).unwrap_or("");
        EventAttributes::new(attribute("id"), attribute("source"), attribute("type"))
    }

    pub fn new(id: &str, source: &str, event_type: &str) -> EventAttributes {
        let mut text = String::with_capacity(id.len() + source.len() + event_type.len());
        text.push_str(id);
        text.push_str(source);
        text.push_str(event_type);
        EventAttributes { text, id_end: id.len(), source_end: id.len() + source.len() }
    }

    pub fn id(&self) -> &str {
        self.text.get(..self.id_end).unwrap_or("")
    }

    pub fn source(&self) -> &str {
        self.text.get(self.id_end..self.source_end).unwrap_or("")
    }

    pub fn event_type(&self) -> &str {
        self.text.get(self.source_end..).unwrap_or("")
    }
}

/// The traced events, oldest first, and an index by trace id. The records live in the ring itself (the
/// index holds sequence numbers, not a second copy of the records' keys): recording an event copies its
/// trace id once and forgetting the oldest needs no lookup beyond one index removal.
#[derive(Default)]
struct Ring {
    /// `records[i]` has the sequence number `first + i`.
    records: VecDeque<EventRecord>,
    first: u64,
    /// Trace id -> sequence number.
    index: HashMap<String, u64>,
}

impl Ring {
    fn position(&self, trace_id: &str) -> Option<usize> {
        let seq = *self.index.get(trace_id)?;
        usize::try_from(seq.checked_sub(self.first)?).ok()
    }

    fn get(&self, trace_id: &str) -> Option<&EventRecord> {
        self.records.get(self.position(trace_id)?)
    }

    fn get_mut(&mut self, trace_id: &str) -> Option<&mut EventRecord> {
        let at = self.position(trace_id)?;
        self.records.get_mut(at)
    }

    /// Rebuilds the index after records were removed from the middle.
    fn reindex(&mut self) {
        self.index.clear();
        for (i, record) in self.records.iter().enumerate() {
            self.index.insert(record.trace_id.clone(), self.first + i as u64);
        }
    }
}

/// The bounded trace store. Each call takes its own short lock; publishing a batch locks once per event,
/// so a 1,000-event batch never holds it across the batch.
#[derive(Default)]
pub struct Traces {
    ring: Mutex<Ring>,
}

impl std::fmt::Debug for Traces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Traces").field("events", &self.ring.lock().records.len()).finish()
    }
}

impl Traces {
    /// Stores a published event, forgetting the oldest beyond [`MAX_TRACED_EVENTS`].
    pub fn record(&self, record: EventRecord) {
        let forgotten = {
            let mut ring = self.ring.lock();
            let mut forgotten = None;
            while ring.records.len() >= MAX_TRACED_EVENTS {
                let Some(old) = ring.records.pop_front() else { break };
                let seq = ring.first;
                ring.first += 1;
                // A trace id recorded again later points at its newer record, which stays.
                if ring.index.get(&old.trace_id) == Some(&seq) {
                    ring.index.remove(&old.trace_id);
                }
                forgotten = Some(old);
            }
            let seq = ring.first + ring.records.len() as u64;
            ring.index.insert(record.trace_id.clone(), seq);
            ring.records.push_back(record);
            forgotten
        };
        // The forgotten record is freed after the lock is released.
        drop(forgotten);
    }

    /// Calls `f` with the event of a project by its trace id, or else by the CloudEvent `id` it was
    /// published with (the latest one); None when there is none.
    pub fn with_event<R>(&self, project: &str, id: &str, f: impl FnOnce(&EventRecord) -> R) -> Option<R> {
        let ring = self.ring.lock();
        if let Some(e) = ring.get(id).filter(|e| e.project_id == project) {
            return Some(f(e));
        }
        ring.records.iter().rev().find(|e| e.project_id == project && e.event_id() == id).map(f)
    }

    /// Calls `f` for every traced event, newest first, until it returns false.
    pub fn newest_first(&self, mut f: impl FnMut(&EventRecord) -> bool) {
        let ring = self.ring.lock();
        for record in ring.records.iter().rev() {
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
        let Some(record) = ring.get_mut(trace_id) else { return };
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
        ring.records.retain(|e| !projects.contains(&e.project_id));
        ring.reindex();
    }

    /// Forgets every trace (vendor reset).
    pub fn clear(&self) {
        *self.ring.lock() = Ring::default();
    }

    pub fn len(&self) -> usize {
        self.ring.lock().records.len()
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
            event: serde_json::json!({"id": format!("e-{id}")}).to_string(),
            attributes: EventAttributes::new(&format!("e-{id}"), "", ""),
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
        let attributes = EventAttributes::of(&serde_json::json!({"id": "i", "source": "s", "type": 5}));
        assert_eq!((attributes.id(), attributes.source(), attributes.event_type()), ("i", "s", ""));
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
        traces.record(record("q1", "q"));
        traces.forget_projects(&["p".to_string()]);
        assert_eq!(traces.len(), 1);
        assert!(traces.with_event("q", "q1", |r| r.trace_id.clone()).is_some_and(|t| t == "q1"), "reindexed");
        traces.attempt("q1", "s", "t", DeliveryStatus::Success, None, "");
        assert!(traces.with_event("q", "e-q1", |r| r.deliveries[0].targets[0].status) == Some(DeliveryStatus::Success));
        traces.forget_projects(&["q".to_string()]);
        assert!(traces.is_empty());
    }
}
