//! The message store of one instance: message payloads per topic queue, timed messages not yet due, each
//! group's retry and dead-letter queues, failure counts and consumption history.
//!
//! This is the boundary between the management model (topics, groups, offsets: durable resources journaled
//! per key) and message data, which is never part of a management resource. Today the store is in memory
//! (and only whole-model snapshots carry it); the RocketMQ data plane will put queues into the append-only,
//! indexed message log (`crate::storage::log`), one log per queue. Everything the model needs from message
//! data goes through [`QueueLog`] and the methods of [`MessageStore`], so that move touches this file only.

use std::collections::BTreeMap;

use super::{ConsumeEvent, Message, Millis};

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
    pub(super) fn record(&mut self, event: ConsumeEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.events.drain(..MAX_EVENTS / 10);
        }
        self.events.push(event);
    }
}

/// Every message-side state of one instance.
#[derive(Debug, Default, Clone)]
pub struct MessageStore {
    pub(super) topics: BTreeMap<String, TopicLog>,
    pub(super) groups: BTreeMap<String, GroupLog>,
}

impl MessageStore {
    pub(super) fn add_topic(&mut self, name: &str, queues: u32) {
        self.topics.insert(
            name.to_string(),
            TopicLog { queues: (0..queues).map(|_| MemoryQueue::default()).collect(), ..TopicLog::default() },
        );
    }

    /// Drops a topic's messages and the group retries that came from it.
    pub(super) fn remove_topic(&mut self, name: &str) {
        self.topics.remove(name);
        for group in self.groups.values_mut() {
            group.retry.retain(|m| m.topic != name);
        }
    }

    pub(super) fn add_group(&mut self, id: &str) {
        self.groups.entry(id.to_string()).or_default();
    }

    pub(super) fn remove_group(&mut self, id: &str) {
        self.groups.remove(id);
    }

    pub(super) fn topic(&self, name: &str) -> Option<&TopicLog> {
        self.topics.get(name)
    }

    pub(super) fn topic_mut(&mut self, name: &str) -> &mut TopicLog {
        self.topics.entry(name.to_string()).or_default()
    }

    pub(super) fn group(&self, id: &str) -> Option<&GroupLog> {
        self.groups.get(id)
    }

    pub(super) fn group_mut(&mut self, id: &str) -> &mut GroupLog {
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
        let mut moved = false;
        for topic in self.topics.values_mut() {
            moved |= topic.settle(now);
        }
        moved
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
    pub(super) fn settle(&mut self, now: Millis) -> bool {
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
