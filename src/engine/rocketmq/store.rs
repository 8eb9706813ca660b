//! The message store of one instance: message payloads per topic queue, timed messages not yet due, each
//! group's retry and dead-letter queues, failure counts and consumption history, and undecided
//! transactional (half) messages of both data planes (TCP and MQ HTTP).
//!
//! This is the boundary between the management model (topics, groups, offsets: durable resources journaled
//! per key) and message data, which is never part of a management resource. Every change of the store is a
//! [`StoreEvent`], applied by [`MessageStore::exec`]: live changes and the replay of the message log at start
//! go through the same `apply`, so a replayed store is the store that was written. With `--data-dir` the
//! store carries a [`Recorder`] and hands each event to the model's sink, which the storage layer drains
//! into the instance's append-only message log (`crate::storage::mqlog`) before the request is answered.
//! Without it nothing is recorded (no copies are made). Either way the messages are held here in memory.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::{ConsumeEvent, Message, Millis, NewMessage};

/// Consumption events remembered per group.
const MAX_EVENTS: usize = 100_000;

/// What the model needs from one consume queue: an append-only sequence addressed by queue offset.
pub trait QueueLog {
    /// Appends a message; returns its queue offset.
    fn append(&mut self, message: Message) -> i64;
    /// The message at a queue offset.
    fn get(&self, offset: i64) -> Option<&Message>;
    /// The next offset (number of messages appended).
    fn end(&self) -> i64;
    /// Every message, in offset order.
    fn iter(&self) -> std::slice::Iter<'_, Message>;
}

/// An in-memory queue.
#[derive(Debug, Default, Clone)]
pub struct MemoryQueue {
    messages: Vec<Message>,
}

impl MemoryQueue {
    pub(super) fn from_messages(messages: Vec<Message>) -> MemoryQueue {
        MemoryQueue { messages }
    }
}

impl QueueLog for MemoryQueue {
    fn append(&mut self, mut message: Message) -> i64 {
        let offset = self.messages.len() as i64;
        message.queue_offset = offset;
        self.messages.push(message);
        offset
    }

    fn get(&self, offset: i64) -> Option<&Message> {
        self.messages.get(usize::try_from(offset).ok()?)
    }

    fn end(&self) -> i64 {
        self.messages.len() as i64
    }

    fn iter(&self) -> std::slice::Iter<'_, Message> {
        self.messages.iter()
    }
}

/// One topic's messages.
#[derive(Debug, Default, Clone)]
pub struct TopicLog {
    pub(super) queues: Vec<MemoryQueue>,
    /// Timed messages not yet due; they enter a queue at their delivery time.
    pub(super) scheduled: Vec<Message>,
    /// Round-robin position for messages without a sharding key.
    pub(super) next_queue: u32,
}

/// One group's message-side state.
#[derive(Debug, Default, Clone)]
pub struct GroupLog {
    /// The group's retry queue (`%RETRY%<group>`): failed messages waiting for redelivery.
    pub(super) retry: Vec<Message>,
    /// The group's dead-letter queue (`%DLQ%<group>`); entries are never removed by a resend.
    pub(super) dead_letters: Vec<Message>,
    /// msg id -> failed consumption attempts so far (cleared when the message goes to the dead-letter queue).
    pub(super) failures: BTreeMap<String, u32>,
    /// Consumption history, newest last (bounded), for statistics and traces.
    pub(super) events: Vec<ConsumeEvent>,
    /// The queue of the group's TCP retry topic (`%RETRY%<group>`, one queue, addressed by offset): messages
    /// a TCP consumer sent back, each due at its `start_deliver_ms`. Copies keep their original topic.
    pub(super) retry_queue: Vec<Message>,
}

impl GroupLog {
    fn record(&mut self, event: ConsumeEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.events.drain(..MAX_EVENTS / 10);
        }
        self.events.push(event);
    }
}

/// A transactional half message of the TCP data plane, waiting for its producer's commit or rollback
/// (RocketMQ keeps these in its `RMQ_SYS_TRANS_HALF_TOPIC`, so they survive a broker restart and are
/// checked back after it). Kept in the message store, so it is in the message log with `--data-dir`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PreparedHalf {
    /// The id reported to the producer (the commit-log offset in `msgId`/`transactionId`).
    pub id: i64,
    /// The topic as stored (without the namespace) and as the producer named it.
    pub topic: String,
    pub client_topic: String,
    /// The producer group asked for the check-back.
    pub producer_group: String,
    /// The producer's `UNIQ_KEY`: a commit stores the message under it.
    pub uniq_id: Option<String>,
    pub message: NewMessage,
}

/// A transactional half message of the MQ HTTP protocol, waiting for its producer's commit or rollback (kept
/// by message id; receipt handles for it are runtime and issued again after a restart).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HttpHalf {
    pub topic: String,
    /// The producer group that may decide it (None: any group of the instance).
    pub group: Option<String>,
    /// The id its publish returned; a commit stores the message under it.
    pub msg_id: String,
    pub message: NewMessage,
    pub born_ms: Millis,
}

/// One change of an instance's message store. Events are what the message log records; applying the
/// events of a log in order to the store the journal rebuilt (topics and groups, no messages) yields the
/// store as it was. Settling timed messages is recorded as the time it ran at: it is a pure function of
/// the store and that time.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "e", rename_all = "snake_case")]
pub enum StoreEvent {
    /// A topic with `queues` empty queues (a topic already present is kept).
    AddTopic {
        topic: String,
        queues: u32,
    },
    /// A topic's messages and the group retries that came from it are dropped. `purge`: the topic held
    /// messages (or retries came from it), so the log starts over without them (a checkpoint); a topic that
    /// held none costs no checkpoint.
    RemoveTopic {
        topic: String,
        #[serde(default)]
        purge: bool,
    },
    AddGroup {
        group: String,
    },
    RemoveGroup {
        group: String,
    },
    /// A message appended to queue `queue` of `topic` (its queue offset is the queue's length).
    Append {
        topic: String,
        queue: u32,
        message: Message,
    },
    /// A timed message waiting for its delivery time.
    Schedule {
        topic: String,
        message: Message,
    },
    /// The round-robin position for messages without a sharding key.
    NextQueue {
        topic: String,
        next: u32,
    },
    /// Timed messages of `topic` due at `now` moved into their queues.
    Settle {
        topic: String,
        now: Millis,
    },
    /// A failed message into the group's (pop/HTTP) retry queue.
    RetryPush {
        group: String,
        message: Message,
    },
    /// The retry entry at `index` delivered (removed).
    RetryTake {
        group: String,
        index: usize,
    },
    /// The group's retries from `topic` dropped (an offset reset).
    RetryDropTopic {
        group: String,
        topic: String,
    },
    /// A message into the group's dead-letter queue.
    DeadLetter {
        group: String,
        message: Message,
    },
    /// A message's failed attempts (None: forgotten).
    Failures {
        group: String,
        msg_id: String,
        attempts: Option<u32>,
    },
    /// One consumption record.
    Consumed {
        group: String,
        event: ConsumeEvent,
    },
    /// A message into the group's TCP retry topic queue.
    RetryQueuePush {
        group: String,
        message: Message,
    },
    /// A transactional half message prepared.
    HalfPrepare {
        half: PreparedHalf,
    },
    /// A half message decided (committed, rolled back or given up).
    HalfEnd {
        id: i64,
    },
    /// An MQ HTTP half message prepared.
    HttpHalfPrepare {
        half: HttpHalf,
    },
    /// An MQ HTTP half message decided.
    HttpHalfEnd {
        msg_id: String,
    },
    /// The instance was deleted: its message log goes away.
    DropInstance,
}

impl StoreEvent {
    /// The body of the message the event carries, taken out (the log stores it raw after the event).
    pub fn take_body(&mut self) -> Vec<u8> {
        match self.body_slot() {
            Some(body) => std::mem::take(body),
            None => Vec::new(),
        }
    }

    /// Puts back a body taken by [`StoreEvent::take_body`].
    pub fn put_body(&mut self, body: Vec<u8>) {
        if let Some(slot) = self.body_slot() {
            *slot = body;
        }
    }

    fn body_slot(&mut self) -> Option<&mut Vec<u8>> {
        match self {
            StoreEvent::Append { message, .. }
            | StoreEvent::Schedule { message, .. }
            | StoreEvent::RetryPush { message, .. }
            | StoreEvent::DeadLetter { message, .. }
            | StoreEvent::RetryQueuePush { message, .. } => Some(&mut message.body),
            StoreEvent::HalfPrepare { half } => Some(&mut half.message.body),
            StoreEvent::HttpHalfPrepare { half } => Some(&mut half.message.body),
            _ => None,
        }
    }

    /// The highest commit-log position the event's message holds (recovery keeps new ones above it).
    pub fn commit_offset(&self) -> Option<i64> {
        match self {
            StoreEvent::Append { message, .. }
            | StoreEvent::Schedule { message, .. }
            | StoreEvent::RetryPush { message, .. }
            | StoreEvent::DeadLetter { message, .. }
            | StoreEvent::RetryQueuePush { message, .. } => Some(message.commit_offset),
            _ => None,
        }
    }
}

/// Events recorded by every instance of a model, in the order they happened per instance (pushed under
/// the instance's write lock), until the storage layer drains them.
pub type Sink = Mutex<Vec<(Arc<str>, StoreEvent)>>;

/// Where a store records its events (set only with `--data-dir`).
#[derive(Debug, Clone)]
pub struct Recorder {
    pub(super) instance: Arc<str>,
    pub(super) sink: Arc<Sink>,
}

/// Every message-side state of one instance.
#[derive(Debug, Default, Clone)]
pub struct MessageStore {
    pub(super) topics: BTreeMap<String, TopicLog>,
    pub(super) groups: BTreeMap<String, GroupLog>,
    /// Undecided half messages by id.
    pub(super) halves: BTreeMap<i64, PreparedHalf>,
    /// Undecided MQ HTTP half messages by message id.
    pub(super) http_halves: BTreeMap<String, HttpHalf>,
    pub(super) recorder: Option<Recorder>,
}

impl MessageStore {
    /// Applies a change and records it (when recording). The one way the store changes.
    pub(super) fn exec(&mut self, event: StoreEvent) {
        if let Some(r) = &self.recorder {
            r.sink.lock().push((r.instance.clone(), event.clone()));
        }
        self.apply(event);
    }

    /// Records that the instance was deleted (its log is dropped).
    pub(super) fn dropped(&self) {
        if let Some(r) = &self.recorder {
            r.sink.lock().push((r.instance.clone(), StoreEvent::DropInstance));
        }
    }

    /// Applies one event without recording it (replay).
    pub fn apply(&mut self, event: StoreEvent) {
        match event {
            StoreEvent::AddTopic { topic, queues } => {
                let log = self.topics.entry(topic).or_default();
                if log.queues.len() < queues as usize {
                    log.queues.resize_with(queues as usize, MemoryQueue::default);
                }
            }
            StoreEvent::RemoveTopic { topic, .. } => {
                self.topics.remove(&topic);
                for group in self.groups.values_mut() {
                    group.retry.retain(|m| m.topic != topic);
                }
            }
            StoreEvent::AddGroup { group } => {
                self.groups.entry(group).or_default();
            }
            StoreEvent::RemoveGroup { group } => {
                self.groups.remove(&group);
            }
            StoreEvent::Append { topic, queue, message } => {
                let log = self.topic_mut(&topic);
                if log.queues.len() <= queue as usize {
                    log.queues.resize_with(queue as usize + 1, MemoryQueue::default);
                }
                if let Some(q) = log.queues.get_mut(queue as usize) {
                    q.append(message);
                }
            }
            StoreEvent::Schedule { topic, message } => self.topic_mut(&topic).scheduled.push(message),
            StoreEvent::NextQueue { topic, next } => self.topic_mut(&topic).next_queue = next,
            StoreEvent::Settle { topic, now } => {
                self.topic_mut(&topic).settle(now);
            }
            StoreEvent::RetryPush { group, message } => self.group_mut(&group).retry.push(message),
            StoreEvent::RetryTake { group, index } => {
                let log = self.group_mut(&group);
                if index < log.retry.len() {
                    log.retry.remove(index);
                }
            }
            StoreEvent::RetryDropTopic { group, topic } => self.group_mut(&group).retry.retain(|m| m.topic != topic),
            StoreEvent::DeadLetter { group, message } => self.group_mut(&group).dead_letters.push(message),
            StoreEvent::Failures { group, msg_id, attempts } => {
                let log = self.group_mut(&group);
                match attempts {
                    Some(n) => log.failures.insert(msg_id, n),
                    None => log.failures.remove(&msg_id),
                };
            }
            StoreEvent::Consumed { group, event } => self.group_mut(&group).record(event),
            StoreEvent::RetryQueuePush { group, message } => self.group_mut(&group).retry_queue.push(message),
            StoreEvent::HalfPrepare { half } => {
                self.halves.insert(half.id, half);
            }
            StoreEvent::HalfEnd { id } => {
                self.halves.remove(&id);
            }
            StoreEvent::HttpHalfPrepare { half } => {
                self.http_halves.insert(half.msg_id.clone(), half);
            }
            StoreEvent::HttpHalfEnd { msg_id } => {
                self.http_halves.remove(&msg_id);
            }
            StoreEvent::DropInstance => {
                self.topics.clear();
                self.groups.clear();
                self.halves.clear();
                self.http_halves.clear();
            }
        }
    }

    /// A new topic's empty queues (a topic's store is removed with the topic, so none is left over).
    pub(super) fn add_topic(&mut self, name: &str, queues: u32) {
        self.exec(StoreEvent::AddTopic { topic: name.to_string(), queues });
    }

    /// Drops a topic's messages and the group retries that came from it.
    pub(super) fn remove_topic(&mut self, name: &str) {
        let purge =
            self.topics.get(name).is_some_and(|t| !t.scheduled.is_empty() || t.queues.iter().any(|q| q.end() > 0))
                || self.groups.values().any(|g| g.retry.iter().any(|m| m.topic == name));
        self.exec(StoreEvent::RemoveTopic { topic: name.to_string(), purge });
    }

    pub(super) fn add_group(&mut self, id: &str) {
        self.exec(StoreEvent::AddGroup { group: id.to_string() });
    }

    pub(super) fn remove_group(&mut self, id: &str) {
        self.exec(StoreEvent::RemoveGroup { group: id.to_string() });
    }

    /// Records one consumption of the group.
    pub(super) fn record(&mut self, group: &str, event: ConsumeEvent) {
        self.exec(StoreEvent::Consumed { group: group.to_string(), event });
    }

    /// Moves a topic's due timed messages into their queues; returns whether any moved.
    pub(super) fn settle_topic(&mut self, topic: &str, now: Millis) -> bool {
        if !self.topics.get(topic).is_some_and(|t| t.has_due(now)) {
            return false;
        }
        self.exec(StoreEvent::Settle { topic: topic.to_string(), now });
        true
    }

    /// Replaces the message content (topics' messages, group logs, half messages) with `other`'s, keeping
    /// the recorder (a checkpoint of the message log, or a legacy `m/<instance>` record).
    pub(super) fn replace_content(&mut self, other: MessageStore) {
        let recorder = self.recorder.take();
        *self = other;
        self.recorder = recorder;
    }

    /// Events that rebuild this store from an empty one (a message log checkpoint): every topic with its
    /// queues, round-robin position, queued and timed messages; every group with its retries, dead letters,
    /// failure counts, consumption records and retry-topic queue; the half messages. Applied in order they
    /// give back the same store (queue offsets follow from the order, and the history holds at most
    /// `MAX_EVENTS`, so replaying it trims nothing).
    pub(super) fn rebuilding_events(&self) -> Vec<StoreEvent> {
        let mut out = Vec::new();
        for (name, log) in &self.topics {
            let topic = || name.clone();
            out.push(StoreEvent::AddTopic { topic: topic(), queues: log.queues.len() as u32 });
            out.push(StoreEvent::NextQueue { topic: topic(), next: log.next_queue });
            for (q, queue) in log.queues.iter().enumerate() {
                for m in queue.iter() {
                    out.push(StoreEvent::Append { topic: topic(), queue: q as u32, message: m.clone() });
                }
            }
            for m in &log.scheduled {
                out.push(StoreEvent::Schedule { topic: topic(), message: m.clone() });
            }
        }
        for (id, log) in &self.groups {
            let group = || id.clone();
            out.push(StoreEvent::AddGroup { group: group() });
            out.extend(log.retry.iter().map(|m| StoreEvent::RetryPush { group: group(), message: m.clone() }));
            out.extend(log.dead_letters.iter().map(|m| StoreEvent::DeadLetter { group: group(), message: m.clone() }));
            out.extend(log.failures.iter().map(|(msg_id, n)| StoreEvent::Failures {
                group: group(),
                msg_id: msg_id.clone(),
                attempts: Some(*n),
            }));
            out.extend(log.events.iter().map(|e| StoreEvent::Consumed { group: group(), event: e.clone() }));
            out.extend(
                log.retry_queue.iter().map(|m| StoreEvent::RetryQueuePush { group: group(), message: m.clone() }),
            );
        }
        out.extend(self.halves.values().map(|h| StoreEvent::HalfPrepare { half: h.clone() }));
        out.extend(self.http_halves.values().map(|h| StoreEvent::HttpHalfPrepare { half: h.clone() }));
        out
    }

    /// Whether the store holds any message-side data (beyond empty topics and groups).
    pub(super) fn has_content(&self) -> bool {
        !self.halves.is_empty()
            || !self.http_halves.is_empty()
            || self.topics.values().any(|t| !t.scheduled.is_empty() || t.queues.iter().any(|q| q.end() > 0))
            || self.groups.values().any(|g| {
                !g.retry.is_empty()
                    || !g.dead_letters.is_empty()
                    || !g.failures.is_empty()
                    || !g.events.is_empty()
                    || !g.retry_queue.is_empty()
            })
    }

    pub(super) fn topic(&self, name: &str) -> Option<&TopicLog> {
        self.topics.get(name)
    }

    fn topic_mut(&mut self, name: &str) -> &mut TopicLog {
        self.topics.entry(name.to_string()).or_default()
    }

    pub(super) fn group(&self, id: &str) -> Option<&GroupLog> {
        self.groups.get(id)
    }

    fn group_mut(&mut self, id: &str) -> &mut GroupLog {
        self.groups.entry(id.to_string()).or_default()
    }

    /// Whether any stored message names `group` as its producer group.
    pub(super) fn produced_by(&self, group: &str) -> bool {
        self.topics.values().flat_map(|t| t.all_messages()).any(|m| m.producer_group.as_deref() == Some(group))
    }

    /// Whether a timed message has come due by `now` in any topic.
    pub(super) fn has_due(&self, now: Millis) -> bool {
        self.topics.values().any(|t| t.has_due(now))
    }

    /// Moves due timed messages into their queues; returns whether anything moved.
    pub(super) fn settle_all(&mut self, now: Millis) -> bool {
        let due: Vec<String> = self.topics.iter().filter(|(_, t)| t.has_due(now)).map(|(n, _)| n.clone()).collect();
        for topic in &due {
            self.exec(StoreEvent::Settle { topic: topic.clone(), now });
        }
        !due.is_empty()
    }
}

impl TopicLog {
    /// Every stored message (queued, then scheduled).
    pub(super) fn all_messages(&self) -> impl Iterator<Item = &Message> {
        self.queues.iter().flat_map(|q| q.iter()).chain(self.scheduled.iter())
    }

    pub(super) fn message_at(&self, queue_id: u32, offset: i64) -> Option<&Message> {
        self.queues.get(queue_id as usize)?.get(offset)
    }

    pub(super) fn find(&self, msg_id: &str) -> Option<&Message> {
        self.all_messages().find(|m| m.msg_id == msg_id)
    }

    /// The end offset of each queue.
    pub(super) fn ends(&self) -> Vec<i64> {
        self.queues.iter().map(QueueLog::end).collect()
    }

    pub(super) fn has_due(&self, now: Millis) -> bool {
        self.scheduled.iter().any(|m| m.start_deliver_ms.unwrap_or_default() <= now)
    }

    /// Moves timed messages whose delivery time has come into their queues; returns whether any moved.
    fn settle(&mut self, now: Millis) -> bool {
        if !self.has_due(now) {
            return false;
        }
        let (mut due, waiting): (Vec<Message>, Vec<Message>) =
            self.scheduled.drain(..).partition(|m| m.start_deliver_ms.unwrap_or_default() <= now);
        self.scheduled = waiting;
        due.sort_by_key(|m| (m.start_deliver_ms, m.commit_offset));
        for m in due {
            if let Some(queue) = self.queues.get_mut(m.queue_id as usize) {
                queue.append(m);
            }
        }
        true
    }
}
