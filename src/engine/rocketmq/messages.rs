//! Messages in the RocketMQ model: producing, timed delivery, consuming with per-queue offsets, retries and
//! the dead-letter queue, and the read models the management API computes from them (backlog, time span,
//! traces, statistics, paged queries).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    invalid, now_ms, Group, Instance, Message, Result, RocketMqError, RocketMqModel, Subscription, Topic, STORE_HOST,
};
use crate::engine::rocketmq::ConsumerClient;

/// Largest message body (seed: "消息体长度默认不超过4 MB").
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Largest serialised property block (seed: "所占空间不能超过32767字节").
pub const MAX_PROPERTY_BYTES: usize = 32767;
/// Furthest a timed message may be scheduled (seed: "最大延迟时间为40天").
pub const MAX_DELAY_MS: i64 = 40 * 24 * 3600 * 1000;
/// Consumption events remembered per group.
const MAX_EVENTS: usize = 100_000;
/// Paged queries remembered at once.
const MAX_QUERY_TASKS: usize = 1000;
/// Pages a paged query can reach (seed: currentPage "最大值为50") and the largest page.
pub const MAX_PAGES: usize = 50;
pub const MAX_PAGE_SIZE: usize = 50;
/// Window over which TPS figures are averaged.
const TPS_WINDOW_MS: i64 = 60_000;

/// What a producer sends; everything but the body is optional.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub tag: Option<String>,
    pub keys: Vec<String>,
    pub body: Vec<u8>,
    pub user_properties: BTreeMap<String, String>,
    /// Producer-side creation time; defaults to the store time.
    pub born_ms: Option<i64>,
    pub born_host: Option<String>,
    /// Broker-side store time; defaults to now (tests set it to place messages in the past).
    pub store_ms: Option<i64>,
    /// Absolute delivery time of a timed/delayed message.
    pub start_deliver_ms: Option<i64>,
    pub sharding_key: Option<String>,
    pub producer_group: Option<String>,
}

impl NewMessage {
    pub fn new(tag: &str, key: &str, body: &str) -> NewMessage {
        NewMessage {
            tag: (!tag.is_empty()).then(|| tag.to_string()),
            keys: if key.is_empty() { Vec::new() } else { vec![key.to_string()] },
            body: body.as_bytes().to_vec(),
            ..NewMessage::default()
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Consumed,
    /// Skipped because the tag did not match the subscription.
    Filtered,
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConsumeEvent {
    pub topic: String,
    pub msg_id: String,
    pub store_ms: i64,
    pub at_ms: i64,
    pub outcome: Outcome,
}

/// A paged message query (`taskId`): the matching messages fixed at the first call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueryTask {
    pub seq: u64,
    pub account: String,
    pub instance_id: String,
    /// Set for a topic query; hits are (queue id, queue offset).
    pub topic: Option<String>,
    /// Set for a dead-letter query; hits are (0, index in the group's dead-letter queue).
    pub group: Option<String>,
    pub hits: Vec<(u32, i64)>,
}

pub struct QueryPage {
    pub task_id: String,
    pub max_page_count: usize,
    pub current_page: usize,
    /// Messages the task found (all pages).
    pub total: usize,
    pub messages: Vec<Message>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopicBacklog {
    pub topic: String,
    pub total_diff: i64,
    /// Store time of the newest message the group consumed from the topic (0: none yet).
    pub last_timestamp: i64,
    /// How long the oldest unconsumed message has waited (0: no backlog).
    pub delay_time: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Accumulation {
    pub online: bool,
    pub total_diff: i64,
    pub consume_tps: f64,
    pub last_timestamp: i64,
    pub delay_time: i64,
    pub topics: Vec<TopicBacklog>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimeSpan {
    pub min_timestamp: i64,
    pub max_timestamp: i64,
    pub consume_timestamp: i64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ResetTarget {
    /// Skip every stored message (`type=0`, "清除所有消息").
    Latest,
    /// Consume again from the first message stored at or after this time (`type=1`).
    Time(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackType {
    Consumed,
    ConsumedButFiltered,
    NotConsumeYet,
    NotOnline,
    Unknown,
}

impl TrackType {
    pub fn as_str(self) -> &'static str {
        match self {
            TrackType::Consumed => "CONSUMED",
            TrackType::ConsumedButFiltered => "CONSUMED_BUT_FILTERED",
            TrackType::NotConsumeYet => "NOT_CONSUME_YET",
            TrackType::NotOnline => "NOT_ONLINE",
            TrackType::Unknown => "UNKNOWN",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageTrack {
    pub group: String,
    pub track_type: TrackType,
    pub exception_desc: String,
}

/// Whether a tag expression (`*`, empty, or `a || b`) selects a message's tag.
pub fn tag_matches(expression: &str, tag: Option<&str>) -> bool {
    let expression = expression.trim();
    if expression.is_empty() || expression == "*" {
        return true;
    }
    let Some(tag) = tag else { return false };
    expression.split("||").any(|t| t.trim() == tag)
}

/// The properties RocketMQ keeps with a message: system ones (`TAGS`, `KEYS`, `UNIQ_KEY`, ...) then the user's.
pub fn properties(m: &Message) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(m.user_properties.len() + 5);
    if let Some(tag) = &m.tag {
        out.push(("TAGS".to_string(), tag.clone()));
    }
    if !m.keys.is_empty() {
        out.push(("KEYS".to_string(), m.keys.join(" ")));
    }
    out.push(("UNIQ_KEY".to_string(), m.msg_id.clone()));
    if let Some(t) = m.start_deliver_ms {
        out.push(("__STARTDELIVERTIME".to_string(), t.to_string()));
    }
    if let Some(k) = &m.sharding_key {
        out.push(("__SHARDINGKEY".to_string(), k.clone()));
    }
    if let Some(g) = &m.producer_group {
        out.push(("PGROUP".to_string(), g.clone()));
    }
    out.extend(m.user_properties.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// RocketMQ's serialised property block: `name\u{1}value\u{2}` per property.
fn property_bytes(props: &[(String, String)]) -> usize {
    props.iter().map(|(k, v)| k.len() + v.len() + 2).sum()
}

/// The stored size RocketMQ's commit log format gives the message (fixed header, body, topic, properties).
pub fn store_size(m: &Message) -> usize {
    91 + 4 + m.body.len() + 1 + m.topic.len() + 2 + property_bytes(&properties(m))
}

/// RocketMQ's body CRC (CRC32, sign bit cleared).
pub fn body_crc(m: &Message) -> i64 {
    i64::from(crc32fast::hash(&m.body) & 0x7FFF_FFFF)
}

/// An offset message id: store host IPv4 and port, then the commit-log offset, as 32 hex digits.
fn offset_msg_id(commit_offset: i64) -> String {
    format!("7F00000100002A9F{:016X}", commit_offset)
}

impl Topic {
    /// Moves timed messages whose delivery time has come into their queues.
    fn settle(&mut self, now: i64) {
        if !self.has_due(now) {
            return;
        }
        let (mut due, waiting): (Vec<Message>, Vec<Message>) =
            self.scheduled.drain(..).partition(|m| m.start_deliver_ms.unwrap_or(0) <= now);
        self.scheduled = waiting;
        due.sort_by_key(|m| (m.start_deliver_ms, m.commit_offset));
        for mut m in due {
            if let Some(queue) = self.queues.get_mut(m.queue_id as usize) {
                m.queue_offset = queue.messages.len() as i64;
                queue.messages.push(m);
            }
        }
    }

    /// Whether a timed message's delivery time has come by `now`.
    fn has_due(&self, now: i64) -> bool {
        self.scheduled.iter().any(|m| m.start_deliver_ms.unwrap_or(0) <= now)
    }

    fn message_at(&self, queue_id: u32, offset: i64) -> Option<&Message> {
        self.queues.get(queue_id as usize)?.messages.get(usize::try_from(offset).ok()?)
    }

    fn find(&self, msg_id: &str) -> Option<&Message> {
        self.all_messages().find(|m| m.msg_id == msg_id)
    }
}

impl Instance {
    /// Whether any timed message has come due, i.e. whether [`Instance::settle_due`] would move anything. Reads
    /// check this under the read lock and take the write lock only when it holds.
    pub fn has_due(&self) -> bool {
        let now = now_ms();
        self.topics.values().any(|t| t.has_due(now))
    }

    /// Moves due timed messages into their queues (call before reading consumer state).
    pub fn settle_due(&mut self) {
        let now = now_ms();
        for topic in self.topics.values_mut() {
            topic.settle(now);
        }
    }
}

impl Group {
    fn subscription(&self, topic: &str) -> Result<&Subscription> {
        self.subscriptions
            .get(topic)
            .ok_or_else(|| RocketMqError::SubscriptionNotFound(self.id.clone(), topic.to_string()))
    }

    fn record(&mut self, event: ConsumeEvent) {
        if self.events.len() >= MAX_EVENTS {
            self.events.drain(..MAX_EVENTS / 10);
        }
        self.events.push(event);
    }

    /// Subscribes a topic; a new subscription starts at the queues' current end (consume from last offset).
    fn subscribe(&mut self, topic: &Topic, expression: &str) {
        let version = self.subscriptions.get(&topic.name).map_or(0, |s| s.version + 1).max(now_ms());
        self.subscriptions.insert(topic.name.clone(), Subscription { expression: expression.to_string(), version });
        self.offsets
            .entry(topic.name.clone())
            .or_insert_with(|| topic.queues.iter().map(|q| q.messages.len() as i64).collect());
    }

    fn offsets_for(&self, topic: &Topic) -> Vec<i64> {
        let mut offsets = self.offsets.get(&topic.name).cloned().unwrap_or_default();
        offsets.resize(topic.queues.len(), 0);
        offsets
    }

    fn last_consumed_store_ms(&self, topic: &str) -> i64 {
        self.events.iter().rev().find(|e| e.topic == topic && e.outcome == Outcome::Consumed).map_or(0, |e| e.store_ms)
    }

    fn backlog(&self, topic: &Topic, now: i64) -> TopicBacklog {
        let offsets = self.offsets_for(topic);
        let mut diff = 0i64;
        let mut oldest: Option<i64> = None;
        for (queue, offset) in topic.queues.iter().zip(offsets.iter()) {
            let start = (*offset).clamp(0, queue.messages.len() as i64);
            diff += queue.messages.len() as i64 - start;
            if let Some(m) = queue.messages.get(start as usize) {
                oldest = Some(oldest.map_or(m.store_ms, |o: i64| o.min(m.store_ms)));
            }
        }
        for m in self.retry.iter().filter(|m| m.topic == topic.name) {
            diff += 1;
            oldest = Some(oldest.map_or(m.store_ms, |o: i64| o.min(m.store_ms)));
        }
        TopicBacklog {
            topic: topic.name.clone(),
            total_diff: diff,
            last_timestamp: self.last_consumed_store_ms(&topic.name),
            delay_time: oldest.map_or(0, |o| (now - o).max(0)),
        }
    }

    /// Events of an outcome in the TPS window, per second.
    fn tps(&self, outcome: Outcome, topic: Option<&str>, now: i64) -> f64 {
        let n = self
            .events
            .iter()
            .rev()
            .take_while(|e| e.at_ms > now - TPS_WINDOW_MS)
            .filter(|e| e.outcome == outcome && topic.is_none_or(|t| e.topic == t))
            .count();
        n as f64 * 1000.0 / TPS_WINDOW_MS as f64
    }
}

impl RocketMqModel {
    /// An instance by id regardless of account (the data plane addresses instances by id).
    fn instance_by_id_mut(&mut self, instance_id: &str) -> Result<&mut Instance> {
        self.instances.get_mut(instance_id).ok_or_else(|| RocketMqError::InstanceNotFound(instance_id.to_string()))
    }

    fn instance_by_id(&self, instance_id: &str) -> Result<&Instance> {
        self.instances.get(instance_id).ok_or_else(|| RocketMqError::InstanceNotFound(instance_id.to_string()))
    }

    /// Stores a message (the producer side of the data plane); returns its message id.
    pub fn send(&mut self, instance_id: &str, topic: &str, msg: NewMessage) -> Result<String> {
        if msg.body.len() > MAX_BODY_BYTES {
            return Err(invalid("body", format!("at most {MAX_BODY_BYTES} bytes")));
        }
        let now = now_ms();
        if let Some(t) = msg.start_deliver_ms {
            if t > now + MAX_DELAY_MS {
                return Err(invalid("startDeliverTime", "at most 40 days ahead"));
            }
        }
        let commit_offset = self.commit_log_offset;
        let instance = self.instance_by_id_mut(instance_id)?;
        let topic_ref = instance.topic_mut(topic)?;
        if !topic_ref.writable() {
            return Err(RocketMqError::Forbidden(topic.to_string(), "write"));
        }
        topic_ref.settle(now);
        let queue_count = topic_ref.queues.len().max(1) as u32;
        let queue_id = match &msg.sharding_key {
            Some(key) => crc32fast::hash(key.as_bytes()) % queue_count,
            None => {
                let q = topic_ref.next_queue % queue_count;
                topic_ref.next_queue = (q + 1) % queue_count;
                q
            }
        };
        let store_ms = msg.store_ms.unwrap_or(now);
        let message = Message {
            msg_id: offset_msg_id(commit_offset),
            topic: topic.to_string(),
            queue_id,
            queue_offset: -1,
            commit_offset,
            tag: msg.tag,
            keys: msg.keys,
            body: msg.body,
            user_properties: msg.user_properties,
            born_ms: msg.born_ms.unwrap_or(store_ms),
            born_host: msg.born_host.unwrap_or_else(|| "127.0.0.1:0".into()),
            store_ms,
            store_host: STORE_HOST.into(),
            reconsume_times: 0,
            start_deliver_ms: msg.start_deliver_ms,
            sharding_key: msg.sharding_key,
            producer_group: msg.producer_group,
        };
        if property_bytes(&properties(&message)) > MAX_PROPERTY_BYTES {
            return Err(invalid("properties", format!("at most {MAX_PROPERTY_BYTES} bytes serialised")));
        }
        let msg_id = message.msg_id.clone();
        if message.start_deliver_ms.is_some_and(|t| t > now) {
            topic_ref.scheduled.push(message);
        } else if let Some(queue) = topic_ref.queues.get_mut(queue_id as usize) {
            let mut message = message;
            message.queue_offset = queue.messages.len() as i64;
            queue.messages.push(message);
        }
        self.commit_log_offset += 1;
        Ok(msg_id)
    }

    /// Subscribes a group to a topic with a tag expression.
    pub fn subscribe(&mut self, instance_id: &str, group: &str, topic: &str, expression: &str) -> Result<()> {
        let instance = self.instance_by_id_mut(instance_id)?;
        let Instance { topics, groups, .. } = instance;
        let topic_ref = topics.get(topic).ok_or_else(|| RocketMqError::TopicNotFound(topic.to_string()))?;
        let group_ref = groups.get_mut(group).ok_or_else(|| RocketMqError::GroupNotFound(group.to_string()))?;
        group_ref.subscribe(topic_ref, expression);
        Ok(())
    }

    /// A consumer client comes online for a group, subscribing what it declares.
    pub fn connect_consumer(&mut self, instance_id: &str, group: &str, client: ConsumerClient) -> Result<()> {
        let instance = self.instance_by_id_mut(instance_id)?;
        let Instance { topics, groups, .. } = instance;
        for topic in client.subscriptions.keys() {
            if !topics.contains_key(topic) {
                return Err(RocketMqError::TopicNotFound(topic.clone()));
            }
        }
        let group_ref = groups.get_mut(group).ok_or_else(|| RocketMqError::GroupNotFound(group.to_string()))?;
        for (topic, expression) in &client.subscriptions {
            if let Some(t) = topics.get(topic) {
                group_ref.subscribe(t, expression);
            }
        }
        group_ref.message_model = client.message_model;
        group_ref.clients.retain(|c| c.client_id != client.client_id);
        group_ref.clients.push(client);
        Ok(())
    }

    pub fn disconnect_consumer(&mut self, instance_id: &str, group: &str, client_id: &str) -> Result<()> {
        let group_ref = self.instance_by_id_mut(instance_id)?.group_mut(group)?;
        group_ref.clients.retain(|c| c.client_id != client_id);
        Ok(())
    }

    /// Hands up to `max` messages of a topic to a group (retries first, then queues in store order),
    /// advancing its offsets; messages whose tag the subscription does not select are skipped as filtered.
    /// Nothing is delivered while the group's reading is disabled or the topic forbids reading.
    pub fn deliver(&mut self, instance_id: &str, group: &str, topic: &str, max: usize) -> Result<Vec<Message>> {
        let now = now_ms();
        let instance = self.instance_by_id_mut(instance_id)?;
        let Instance { topics, groups, .. } = instance;
        let topic_ref = topics.get_mut(topic).ok_or_else(|| RocketMqError::TopicNotFound(topic.to_string()))?;
        topic_ref.settle(now);
        let topic_ref = &*topic_ref;
        let group_ref = groups.get_mut(group).ok_or_else(|| RocketMqError::GroupNotFound(group.to_string()))?;
        let expression = group_ref.subscription(topic)?.expression.clone();
        let mut out = Vec::new();
        if !group_ref.read_enable || !topic_ref.readable() {
            return Ok(out);
        }
        while out.len() < max {
            let Some(pos) = group_ref.retry.iter().position(|m| m.topic == topic) else { break };
            let m = group_ref.retry.remove(pos);
            group_ref.record(event(&m, now, Outcome::Consumed));
            out.push(m);
        }
        let mut offsets = group_ref.offsets_for(topic_ref);
        while out.len() < max {
            // The queue whose next message was stored first.
            let next = offsets
                .iter()
                .enumerate()
                .filter_map(|(q, off)| topic_ref.message_at(q as u32, *off).map(|m| (q, m)))
                .min_by_key(|(_, m)| m.commit_offset);
            let Some((q, m)) = next else { break };
            if let Some(off) = offsets.get_mut(q) {
                *off += 1;
            }
            if tag_matches(&expression, m.tag.as_deref()) {
                group_ref.record(event(m, now, Outcome::Consumed));
                out.push(m.clone());
            } else {
                group_ref.record(event(m, now, Outcome::Filtered));
            }
        }
        group_ref.offsets.insert(topic.to_string(), offsets);
        Ok(out)
    }

    /// The group failed to consume a delivered message: it goes to the retry queue with one more reconsume,
    /// or, past the group's maximum, to the dead-letter queue. Returns whether it was dead-lettered.
    pub fn consume_failed(&mut self, instance_id: &str, group: &str, msg_id: &str) -> Result<bool> {
        let now = now_ms();
        let instance = self.instance_by_id_mut(instance_id)?;
        let Instance { topics, groups, .. } = instance;
        let group_ref = groups.get_mut(group).ok_or_else(|| RocketMqError::GroupNotFound(group.to_string()))?;
        let original = group_ref
            .subscriptions
            .keys()
            .filter_map(|t| topics.get(t))
            .find_map(|t| t.find(msg_id))
            .or_else(|| group_ref.dead_letters.iter().rev().find(|m| m.msg_id == msg_id))
            .cloned()
            .ok_or_else(|| RocketMqError::NoMessage(format!("message {msg_id} of group {group}")))?;
        let attempts = group_ref.failures.get(msg_id).copied().unwrap_or(0) + 1;
        group_ref.record(event(&original, now, Outcome::Failed));
        let mut copy = original;
        if attempts > group_ref.max_reconsume_times {
            group_ref.failures.remove(msg_id);
            copy.reconsume_times = group_ref.max_reconsume_times;
            copy.store_ms = now;
            group_ref.dead_letters.push(copy);
            Ok(true)
        } else {
            group_ref.failures.insert(msg_id.to_string(), attempts);
            copy.reconsume_times = attempts;
            group_ref.retry.push(copy);
            Ok(false)
        }
    }

    /// Sends a dead-lettered message back to its group for one more consumption. The dead-letter entry stays
    /// (seed: "重发后消费成功的消息不会从死信队列中移除").
    pub fn resend_dead_letter(&mut self, instance_id: &str, group: &str, msg_id: &str) -> Result<()> {
        let group_ref = self.instance_by_id_mut(instance_id)?.group_mut(group)?;
        let entry = group_ref
            .dead_letters
            .iter()
            .rev()
            .find(|m| m.msg_id == msg_id)
            .cloned()
            .ok_or_else(|| RocketMqError::NoMessage(format!("dead letter {msg_id} of group {group}")))?;
        group_ref.retry.push(entry);
        Ok(())
    }

    pub fn message_by_id<'a>(&'a self, instance_id: &str, topic: &str, msg_id: &str) -> Result<&'a Message> {
        self.instance_by_id(instance_id)?
            .topic(topic)?
            .find(msg_id)
            .ok_or_else(|| RocketMqError::NoMessage(format!("message {msg_id} in topic {topic}")))
    }

    pub fn messages_by_key<'a>(&'a self, instance_id: &str, topic: &str, key: &str) -> Result<Vec<&'a Message>> {
        let found: Vec<&Message> = self
            .instance_by_id(instance_id)?
            .topic(topic)?
            .all_messages()
            .filter(|m| m.keys.iter().any(|k| k == key))
            .collect();
        if found.is_empty() {
            return Err(RocketMqError::NoMessage(format!("key {key} in topic {topic}")));
        }
        Ok(found)
    }

    pub fn dead_letter_by_id<'a>(&'a self, instance_id: &str, group: &str, msg_id: &str) -> Result<&'a Message> {
        self.instance_by_id(instance_id)?
            .group(group)?
            .dead_letters
            .iter()
            .rev()
            .find(|m| m.msg_id == msg_id)
            .ok_or_else(|| RocketMqError::NoMessage(format!("dead letter {msg_id} of group {group}")))
    }

    /// Starts a paged query over a topic's messages stored in `[begin, end]`; returns the task id.
    pub fn start_topic_query(
        &mut self,
        account: &str,
        instance_id: &str,
        topic: &str,
        begin: i64,
        end: i64,
    ) -> Result<String> {
        let topic_ref = self.instance_by_id(instance_id)?.topic(topic)?;
        let mut found: Vec<&Message> =
            topic_ref.all_messages().filter(|m| (begin..=end).contains(&m.store_ms)).collect();
        found.sort_by_key(|m| (m.store_ms, m.commit_offset));
        // Scheduled messages have no queue position yet; they are addressed by commit offset instead.
        let hits: Vec<(u32, i64)> = found
            .iter()
            .take(MAX_PAGES * MAX_PAGE_SIZE)
            .map(|m| if m.queue_offset < 0 { (u32::MAX, m.commit_offset) } else { (m.queue_id, m.queue_offset) })
            .collect();
        if hits.is_empty() {
            return Err(RocketMqError::NoMessage(format!("topic {topic} between {begin} and {end}")));
        }
        Ok(self.add_task(account, instance_id, Some(topic), None, hits))
    }

    /// Starts a paged query over a group's dead letters stored in `[begin, end]`; returns the task id.
    pub fn start_dead_letter_query(
        &mut self,
        account: &str,
        instance_id: &str,
        group: &str,
        begin: i64,
        end: i64,
    ) -> Result<String> {
        let group_ref = self.instance_by_id(instance_id)?.group(group)?;
        let hits: Vec<(u32, i64)> = group_ref
            .dead_letters
            .iter()
            .enumerate()
            .filter(|(_, m)| (begin..=end).contains(&m.store_ms))
            .take(MAX_PAGES * MAX_PAGE_SIZE)
            .map(|(i, _)| (0, i as i64))
            .collect();
        if hits.is_empty() {
            return Err(RocketMqError::NoMessage(format!("dead letters of {group} between {begin} and {end}")));
        }
        Ok(self.add_task(account, instance_id, None, Some(group), hits))
    }

    fn add_task(
        &mut self,
        account: &str,
        instance_id: &str,
        topic: Option<&str>,
        group: Option<&str>,
        hits: Vec<(u32, i64)>,
    ) -> String {
        self.next_task_seq += 1;
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.query_tasks.insert(
            id.clone(),
            QueryTask {
                seq: self.next_task_seq,
                account: account.to_string(),
                instance_id: instance_id.to_string(),
                topic: topic.map(str::to_string),
                group: group.map(str::to_string),
                hits,
            },
        );
        while self.query_tasks.len() > MAX_QUERY_TASKS {
            let oldest = self.query_tasks.iter().min_by_key(|(_, t)| t.seq).map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.query_tasks.remove(&k),
                None => break,
            };
        }
        id
    }

    /// One page of a query task the caller started for this topic or group.
    pub fn query_page(
        &self,
        account: &str,
        instance_id: &str,
        task_id: &str,
        source: (Option<&str>, Option<&str>),
        page: usize,
        page_size: usize,
    ) -> Result<QueryPage> {
        let task = self
            .query_tasks
            .get(task_id)
            .filter(|t| t.account == account && t.instance_id == instance_id)
            .filter(|t| (t.topic.as_deref(), t.group.as_deref()) == source)
            .ok_or_else(|| invalid("taskId", format!("no query task {task_id:?} for this query")))?;
        let page_size = page_size.clamp(1, MAX_PAGE_SIZE);
        let max_page_count = task.hits.len().div_ceil(page_size).min(MAX_PAGES);
        if page == 0 || page > max_page_count {
            return Err(invalid("currentPage", format!("must be between 1 and the {max_page_count} pages found")));
        }
        let instance = self.instance_by_id(instance_id)?;
        let hits = task.hits.iter().skip((page - 1) * page_size).take(page_size);
        let messages: Vec<Message> = match (&task.topic, &task.group) {
            (Some(topic), _) => {
                let topic_ref = instance.topic(topic)?;
                hits.filter_map(|(q, off)| {
                    if *q == u32::MAX {
                        topic_ref.all_messages().find(|m| m.commit_offset == *off)
                    } else {
                        topic_ref.message_at(*q, *off)
                    }
                })
                .cloned()
                .collect()
            }
            (None, Some(group)) => {
                let group_ref = instance.group(group)?;
                hits.filter_map(|(_, i)| group_ref.dead_letters.get(*i as usize)).cloned().collect()
            }
            (None, None) => Vec::new(),
        };
        Ok(QueryPage {
            task_id: task_id.to_string(),
            max_page_count,
            current_page: page,
            total: task.hits.len(),
            messages,
        })
    }

    /// A group's backlog over every topic it subscribes.
    pub fn accumulation(&self, instance_id: &str, group: &str) -> Result<Accumulation> {
        let now = now_ms();
        let instance = self.instance_by_id(instance_id)?;
        let group_ref = instance.group(group)?;
        let topics: Vec<TopicBacklog> = group_ref
            .subscriptions
            .keys()
            .filter_map(|t| instance.topics.get(t))
            .map(|t| group_ref.backlog(t, now))
            .collect();
        Ok(Accumulation {
            online: group_ref.online(),
            total_diff: topics.iter().map(|t| t.total_diff).sum(),
            consume_tps: group_ref.tps(Outcome::Consumed, None, now),
            last_timestamp: topics.iter().map(|t| t.last_timestamp).max().unwrap_or(0),
            delay_time: topics.iter().map(|t| t.delay_time).max().unwrap_or(0),
            topics,
        })
    }

    /// Consumed and failed TPS of a group on one topic, and failures in the last hour.
    pub fn running_data(&self, instance_id: &str, group: &str, topic: &str) -> Result<(f64, f64, usize)> {
        let now = now_ms();
        let group_ref = self.instance_by_id(instance_id)?.group(group)?;
        let failed_hour = group_ref
            .events
            .iter()
            .filter(|e| e.topic == topic && e.outcome == Outcome::Failed && e.at_ms > now - 3_600_000)
            .count();
        Ok((
            group_ref.tps(Outcome::Consumed, Some(topic), now),
            group_ref.tps(Outcome::Failed, Some(topic), now),
            failed_hour,
        ))
    }

    /// The stored time range of a topic and where the group's consumption stands in it.
    pub fn time_span(&self, instance_id: &str, group: &str, topic: &str) -> Result<TimeSpan> {
        let instance = self.instance_by_id(instance_id)?;
        let topic_ref = instance.topic(topic)?;
        let group_ref = instance.group(group)?;
        group_ref.subscription(topic)?;
        let stored = topic_ref.queues.iter().flat_map(|q| q.messages.iter()).map(|m| m.store_ms);
        let (min, max) = stored.fold((i64::MAX, 0), |(lo, hi), t| (lo.min(t), hi.max(t)));
        Ok(TimeSpan {
            min_timestamp: if min == i64::MAX { 0 } else { min },
            max_timestamp: max,
            consume_timestamp: group_ref.last_consumed_store_ms(topic),
        })
    }

    /// Moves a group's offsets on a topic; pending retries of the topic are dropped with the old position.
    pub fn reset_offset(&mut self, instance_id: &str, group: &str, topic: &str, target: ResetTarget) -> Result<()> {
        let instance = self.instance_by_id_mut(instance_id)?;
        let Instance { topics, groups, .. } = instance;
        let topic_ref = topics.get_mut(topic).ok_or_else(|| RocketMqError::TopicNotFound(topic.to_string()))?;
        topic_ref.settle(now_ms());
        let group_ref = groups.get_mut(group).ok_or_else(|| RocketMqError::GroupNotFound(group.to_string()))?;
        group_ref.subscription(topic)?;
        let offsets: Vec<i64> = topic_ref
            .queues
            .iter()
            .map(|q| match target {
                ResetTarget::Latest => q.messages.len() as i64,
                ResetTarget::Time(t) => {
                    q.messages.iter().position(|m| m.store_ms >= t).unwrap_or(q.messages.len()) as i64
                }
            })
            .collect();
        group_ref.offsets.insert(topic.to_string(), offsets);
        group_ref.retry.retain(|m| m.topic != topic);
        Ok(())
    }

    /// Whether each group subscribing the topic consumed the message, judged from offsets (as the seed
    /// warns, a reset makes the answer unreliable).
    pub fn trace(&self, instance_id: &str, topic: &str, msg_id: &str) -> Result<Vec<MessageTrack>> {
        let instance = self.instance_by_id(instance_id)?;
        let topic_ref = instance.topic(topic)?;
        let m = topic_ref
            .find(msg_id)
            .ok_or_else(|| RocketMqError::NoMessage(format!("message {msg_id} in topic {topic}")))?;
        let mut out = Vec::new();
        for group in instance.groups.values() {
            let Some(sub) = group.subscriptions.get(topic) else { continue };
            let passed = m.queue_offset >= 0
                && group.offsets_for(topic_ref).get(m.queue_id as usize).is_some_and(|off| *off > m.queue_offset);
            let (track_type, desc) = if group.dead_letters.iter().any(|d| d.msg_id == msg_id) {
                (
                    TrackType::Unknown,
                    "consumption failed beyond the retry limit; the message is in the dead-letter queue".to_string(),
                )
            } else if let Some(n) = group.failures.get(msg_id) {
                (TrackType::NotConsumeYet, format!("consumption failed {n} times; waiting for a retry"))
            } else if passed && tag_matches(&sub.expression, m.tag.as_deref()) {
                (TrackType::Consumed, String::new())
            } else if passed {
                (
                    TrackType::ConsumedButFiltered,
                    format!("the tag does not match the subscription {:?}", sub.expression),
                )
            } else if group.online() {
                (TrackType::NotConsumeYet, String::new())
            } else {
                (TrackType::NotOnline, "no consumer of the group is online".to_string())
            };
            out.push(MessageTrack { group: group.id.clone(), track_type, exception_desc: desc });
        }
        Ok(out)
    }

    /// Messages stored in a topic per `period_ms` bucket from `begin` to `end`: (bucket start, count).
    pub fn topic_input_series(
        &self,
        instance_id: &str,
        topic: &str,
        begin: i64,
        end: i64,
        period_ms: i64,
    ) -> Result<Vec<(i64, u64)>> {
        let topic_ref = self.instance_by_id(instance_id)?.topic(topic)?;
        Ok(bucket(topic_ref.all_messages().map(|m| m.store_ms), begin, end, period_ms))
    }

    /// Messages a group consumed from a topic per bucket: (bucket start, count).
    pub fn group_output_series(
        &self,
        instance_id: &str,
        group: &str,
        topic: &str,
        begin: i64,
        end: i64,
        period_ms: i64,
    ) -> Result<Vec<(i64, u64)>> {
        let instance = self.instance_by_id(instance_id)?;
        instance.topic(topic)?;
        let group_ref = instance.group(group)?;
        group_ref.subscription(topic)?;
        let times =
            group_ref.events.iter().filter(|e| e.topic == topic && e.outcome == Outcome::Consumed).map(|e| e.at_ms);
        Ok(bucket(times, begin, end, period_ms))
    }

    /// Messages stored plus consumed per second over the last minute, across the instance.
    pub fn instance_tps(&self, instance_id: &str) -> Result<f64> {
        let now = now_ms();
        let instance = self.instance_by_id(instance_id)?;
        let since = now - TPS_WINDOW_MS;
        let stored = instance.topics.values().flat_map(|t| t.all_messages()).filter(|m| m.store_ms > since).count();
        let consumed = instance
            .groups
            .values()
            .flat_map(|g| g.events.iter().rev().take_while(|e| e.at_ms > since))
            .filter(|e| e.outcome == Outcome::Consumed)
            .count();
        Ok((stored + consumed) as f64 * 1000.0 / TPS_WINDOW_MS as f64)
    }
}

fn event(m: &Message, now: i64, outcome: Outcome) -> ConsumeEvent {
    ConsumeEvent { topic: m.topic.clone(), msg_id: m.msg_id.clone(), store_ms: m.store_ms, at_ms: now, outcome }
}

/// Most buckets one series may have.
const MAX_BUCKETS: usize = 100_000;

fn bucket(times: impl Iterator<Item = i64>, begin: i64, end: i64, period_ms: i64) -> Vec<(i64, u64)> {
    // Callers bound the number of periods; the checks here keep a direct caller from overflowing or
    // allocating without bound all the same.
    let Some(periods) = end.checked_sub(begin).filter(|_| period_ms > 0).map(|span| span / period_ms) else {
        return Vec::new();
    };
    let Some(n) = usize::try_from(periods).ok().filter(|n| *n < MAX_BUCKETS).map(|n| n + 1) else {
        return Vec::new();
    };
    let mut counts = vec![0u64; n];
    for t in times.filter(|t| (begin..=end).contains(t)) {
        // `t - begin` cannot overflow: begin <= t <= end and end - begin fits.
        if let Some(c) = usize::try_from((t - begin) / period_ms).ok().and_then(|i| counts.get_mut(i)) {
            *c += 1;
        }
    }
    // Each start is at most `end`, so it fits.
    counts.into_iter().zip((0..).map(|i: i64| begin + i * period_ms)).map(|(c, x)| (x, c)).collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::model_with_instance;
    use super::*;
    use crate::engine::rocketmq::MessageType;

    fn setup() -> RocketMqModel {
        let mut m = model_with_instance(true);
        m.create_topic("a", "mq-private", "I1", "t", MessageType::Normal, "").unwrap();
        m.create_group("a", "mq-private", "I1", "GID_g", "").unwrap();
        m
    }

    #[test]
    fn tags_filter_and_offsets_advance() {
        let mut m = setup();
        m.subscribe("I1", "GID_g", "t", "a || b").unwrap();
        let a = m.send("I1", "t", NewMessage::new("a", "k1", "1")).unwrap();
        m.send("I1", "t", NewMessage::new("c", "k2", "2")).unwrap();
        m.send("I1", "t", NewMessage::new("b", "k3", "3")).unwrap();
        assert_eq!(m.accumulation("I1", "GID_g").unwrap().total_diff, 3);
        let got = m.deliver("I1", "GID_g", "t", 10).unwrap();
        assert_eq!(got.iter().map(|m| m.body.clone()).collect::<Vec<_>>(), vec![b"1".to_vec(), b"3".to_vec()]);
        assert_eq!(m.accumulation("I1", "GID_g").unwrap().total_diff, 0);
        let track = m.trace("I1", "t", &a).unwrap();
        assert_eq!(track[0].track_type, TrackType::Consumed);
    }

    #[test]
    fn failures_retry_then_dead_letter() {
        let mut m = setup();
        m.subscribe("I1", "GID_g", "t", "*").unwrap();
        m.instances.get_mut("I1").unwrap().groups.get_mut("GID_g").unwrap().max_reconsume_times = 1;
        let id = m.send("I1", "t", NewMessage::new("a", "k", "x")).unwrap();
        m.deliver("I1", "GID_g", "t", 1).unwrap();
        assert!(!m.consume_failed("I1", "GID_g", &id).unwrap());
        let again = m.deliver("I1", "GID_g", "t", 1).unwrap();
        assert_eq!(again[0].reconsume_times, 1);
        assert!(m.consume_failed("I1", "GID_g", &id).unwrap());
        assert_eq!(m.dead_letter_by_id("I1", "GID_g", &id).unwrap().reconsume_times, 1);
        m.resend_dead_letter("I1", "GID_g", &id).unwrap();
        assert_eq!(m.deliver("I1", "GID_g", "t", 5).unwrap()[0].msg_id, id);
    }

    #[test]
    fn buckets_count_per_period() {
        let b = bucket([0, 5, 10, 25].into_iter(), 0, 29, 10);
        assert_eq!(b, vec![(0, 2), (10, 1), (20, 1)]);
    }
}
