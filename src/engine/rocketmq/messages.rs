//! Messages in the RocketMQ model: producing, timed delivery, consuming with per-queue offsets, retries and
//! the dead-letter queue, and the read models the management API computes from them (backlog, time span,
//! traces, statistics, paged queries).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::store::{GroupLog, QueueLog, StoreEvent, TopicLog};
use super::{
    invalid, ConsumerClient, Field, Group, Instance, Message, Millis, Result, RocketMqError, RocketMqModel,
    Subscription, Topic, STORE_HOST,
};

/// Largest message body (seed: "消息体长度默认不超过4 MB").
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Largest serialised property block (seed: "所占空间不能超过32767字节").
pub const MAX_PROPERTY_BYTES: usize = 32767;
/// Furthest a timed message may be scheduled (seed: "最大延迟时间为40天").
pub const MAX_DELAY_MS: i64 = 40 * 24 * 3600 * 1000;
/// Paged queries remembered at once.
const MAX_QUERY_TASKS: usize = 1000;
/// Pages a paged query can reach (the seed caps the page number at 50) and the largest page.
pub const MAX_PAGES: usize = 50;
pub const MAX_PAGE_SIZE: usize = 50;
/// Window over which TPS figures are averaged.
const TPS_WINDOW_MS: i64 = 60_000;

/// What a producer sends; everything but the body is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct NewMessage {
    pub tag: Option<String>,
    pub keys: Vec<String>,
    pub body: Vec<u8>,
    pub user_properties: BTreeMap<String, String>,
    /// Producer-side creation time; defaults to the store time.
    pub born_ms: Option<Millis>,
    pub born_host: Option<String>,
    /// Broker-side store time; defaults to now (tests set it to place messages in the past).
    pub store_ms: Option<Millis>,
    /// Absolute delivery time of a timed/delayed message.
    pub start_deliver_ms: Option<Millis>,
    pub sharding_key: Option<String>,
    pub producer_group: Option<String>,
    /// The queue a TCP producer chose (its queue selector); None: by sharding key, else round robin. A
    /// queue id beyond the topic's queues falls back to that rule.
    pub queue_id: Option<u32>,
}

impl NewMessage {
    /// A message with a tag and one key (either may be empty: none) and a text body.
    pub fn new(tag: &str, key: &str, body: &str) -> NewMessage {
        NewMessage {
            tag: (!tag.is_empty()).then(|| tag.to_string()),
            keys: if key.is_empty() { Vec::new() } else { vec![key.to_string()] },
            body: body.as_bytes().to_vec(),
            ..NewMessage::default()
        }
    }
}

/// What became of one delivery to a group.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Consumed,
    /// Skipped because the tag did not match the subscription.
    Filtered,
    Failed,
}

/// One entry of a group's consumption history.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConsumeEvent {
    pub topic: String,
    pub msg_id: String,
    pub store_ms: Millis,
    pub at_ms: Millis,
    pub outcome: Outcome,
}

/// A paged message query: the matching messages fixed at the first call. Runtime only (a query is a read).
#[derive(Debug, Clone)]
pub(super) struct QueryTask {
    seq: u64,
    account: String,
    pub(super) instance_id: String,
    /// Set for a topic query; hits are (queue id, queue offset), or (u32::MAX, commit offset) for a message
    /// that was still timed when the query started.
    pub(super) topic: Option<String>,
    /// Set for a dead-letter query; hits are (0, index in the group's dead-letter queue).
    pub(super) group: Option<String>,
    hits: Vec<(u32, i64)>,
}

/// The paged queries remembered, bounded (the oldest is forgotten first).
#[derive(Debug, Default)]
pub(super) struct QueryTasks {
    tasks: BTreeMap<String, QueryTask>,
    next_seq: u64,
}

impl QueryTasks {
    /// Forgets the tasks `f` selects (their instance, topic or group is gone).
    pub(super) fn forget(&mut self, f: impl Fn(&QueryTask) -> bool) {
        self.tasks.retain(|_, t| !f(t));
    }

    fn add(&mut self, mut task: QueryTask) -> String {
        self.next_seq += 1;
        task.seq = self.next_seq;
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.tasks.insert(id.clone(), task);
        while self.tasks.len() > MAX_QUERY_TASKS {
            let oldest = self.tasks.iter().min_by_key(|(_, t)| t.seq).map(|(k, _)| k.clone());
            match oldest {
                Some(k) => self.tasks.remove(&k),
                None => break,
            };
        }
        id
    }
}

/// One page of a paged message query.
pub struct QueryPage {
    pub task_id: String,
    pub max_page_count: usize,
    pub current_page: usize,
    /// Messages the task found (all pages).
    pub total: usize,
    pub messages: Vec<Message>,
}

/// A group's backlog on one topic.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicBacklog {
    pub topic: String,
    pub total_diff: i64,
    /// Store time of the newest message the group consumed from the topic (0: none yet).
    pub last_timestamp: Millis,
    /// How long the oldest unconsumed message has waited, in milliseconds (0: no backlog).
    pub delay_time: i64,
}

/// A group's backlog over every topic it subscribes, with its consumption rate (messages per second).
#[derive(Debug, Clone, PartialEq)]
pub struct Accumulation {
    pub online: bool,
    pub total_diff: i64,
    pub consume_tps: f64,
    pub last_timestamp: Millis,
    /// Milliseconds.
    pub delay_time: i64,
    pub topics: Vec<TopicBacklog>,
}

/// The stored time range of a topic and the store time of the newest message a group consumed from it.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSpan {
    pub min_timestamp: Millis,
    pub max_timestamp: Millis,
    pub consume_timestamp: Millis,
}

/// Where a consumer offset reset moves a group's position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ResetTarget {
    /// Skip every stored message.
    Latest,
    /// Consume again from the first message stored at or after this time.
    Time(Millis),
}

/// Whether a group consumed a message, as RocketMQ's message trace reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackType {
    Consumed,
    ConsumedButFiltered,
    NotConsumeYet,
    NotOnline,
    Unknown,
}

impl TrackType {
    /// RocketMQ's name of the state.
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

/// One group's consumption state of a message.
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
        out.push(("__STARTDELIVERTIME".to_string(), t.as_ms().to_string()));
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

/// An offset message id of the default store host [`STORE_HOST`]: see [`offset_msg_id_at`].
pub fn offset_msg_id(commit_offset: i64) -> String {
    offset_msg_id_at(STORE_HOST, commit_offset)
}

/// An offset message id as RocketMQ's `MessageDecoder.createMessageId` builds it: the store host's IPv4
/// (4 bytes) and port (4 bytes), then the commit-log offset (8 bytes), as 32 upper-case hex digits. Clients
/// decode it to find the broker that stores the message (`viewMessage`). A host that is not `ipv4:port`
/// counts as [`STORE_HOST`].
pub fn offset_msg_id_at(store_host: &str, commit_offset: i64) -> String {
    let parsed = store_host.parse::<std::net::SocketAddrV4>().ok();
    let host = parsed.unwrap_or(std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 10911));
    format!("{}{:08X}{:016X}", hex::encode_upper(host.ip().octets()), u32::from(host.port()), commit_offset)
}

impl Group {
    fn subscription(&self, topic: &str) -> Result<&Subscription> {
        self.subscriptions
            .get(topic)
            .ok_or_else(|| RocketMqError::SubscriptionNotFound(self.id.clone(), topic.to_string()))
    }

    /// Subscribes a topic; a new subscription starts at the queues' current end (consume from last offset).
    pub(super) fn subscribe(&mut self, topic: &str, ends: Vec<i64>, expression: &str) {
        let version = self.subscriptions.get(topic).map_or(0, |s| s.version + 1).max(Millis::now().as_ms());
        self.subscriptions.insert(topic.to_string(), Subscription { expression: expression.to_string(), version });
        self.offsets.entry(topic.to_string()).or_insert(ends);
    }

    fn offsets_for(&self, topic: &str, queues: usize) -> Vec<i64> {
        let mut offsets = self.offsets.get(topic).cloned().unwrap_or_default();
        offsets.resize(queues, 0);
        offsets
    }
}

impl GroupLog {
    fn last_consumed_store_ms(&self, topic: &str) -> Millis {
        self.events
            .iter()
            .rev()
            .find(|e| e.topic == topic && e.outcome == Outcome::Consumed)
            .map_or(Millis::default(), |e| e.store_ms)
    }

    /// Events of an outcome in the TPS window, per second.
    fn tps(&self, outcome: Outcome, topic: Option<&str>, now: Millis) -> f64 {
        let n = self
            .events
            .iter()
            .rev()
            .take_while(|e| e.at_ms.as_ms() > now.as_ms() - TPS_WINDOW_MS)
            .filter(|e| e.outcome == outcome && topic.is_none_or(|t| e.topic == t))
            .count();
        n as f64 * 1000.0 / TPS_WINDOW_MS as f64
    }
}

static EMPTY_GROUP_LOG: std::sync::LazyLock<GroupLog> = std::sync::LazyLock::new(GroupLog::default);
static EMPTY_TOPIC_LOG: std::sync::LazyLock<TopicLog> = std::sync::LazyLock::new(TopicLog::default);

impl Instance {
    pub(super) fn group_log(&self, group: &str) -> &GroupLog {
        self.store.group(group).unwrap_or(&EMPTY_GROUP_LOG)
    }

    pub(super) fn topic_log(&self, topic: &str) -> &TopicLog {
        self.store.topic(topic).unwrap_or(&EMPTY_TOPIC_LOG)
    }

    /// Whether any timed message has come due, i.e. whether [`RocketMqModel::settle_due`] would move anything.
    pub fn has_due(&self) -> bool {
        self.store.has_due(Millis::now())
    }

    fn backlog(&self, group: &Group, topic: &Topic, now: Millis) -> TopicBacklog {
        let log = self.topic_log(&topic.name);
        let glog = self.group_log(&group.id);
        let offsets = group.offsets_for(&topic.name, log.queues.len());
        let mut diff = 0i64;
        let mut oldest: Option<Millis> = None;
        for (queue, offset) in log.queues.iter().zip(offsets.iter()) {
            let start = (*offset).clamp(0, queue.end());
            diff += queue.end() - start;
            if let Some(m) = queue.get(start) {
                oldest = Some(oldest.map_or(m.store_ms, |o| o.min(m.store_ms)));
            }
        }
        let retry_from =
            group.offsets.get(&super::tcp::retry_topic(&group.id)).and_then(|o| o.first().copied()).unwrap_or(0).max(0)
                as usize;
        let tcp_retries = glog.retry_queue.iter().skip(retry_from);
        for m in glog.retry.iter().chain(tcp_retries).filter(|m| m.topic == topic.name) {
            diff += 1;
            oldest = Some(oldest.map_or(m.store_ms, |o| o.min(m.store_ms)));
        }
        TopicBacklog {
            topic: topic.name.clone(),
            total_diff: diff,
            last_timestamp: glog.last_consumed_store_ms(&topic.name),
            delay_time: oldest.map_or(0, |o| (now.as_ms() - o.as_ms()).max(0)),
        }
    }

    /// A group's backlog over every topic it subscribes.
    pub fn accumulation(&self, group: &str) -> Result<Accumulation> {
        let now = Millis::now();
        let group_ref = self.group(group)?;
        let topics: Vec<TopicBacklog> = group_ref
            .subscriptions
            .keys()
            .filter_map(|t| self.topics.get(t))
            .map(|t| self.backlog(group_ref, t, now))
            .collect();
        Ok(Accumulation {
            online: group_ref.online(),
            total_diff: topics.iter().map(|t| t.total_diff).sum(),
            consume_tps: self.group_log(group).tps(Outcome::Consumed, None, now),
            last_timestamp: topics.iter().map(|t| t.last_timestamp).max().unwrap_or_default(),
            delay_time: topics.iter().map(|t| t.delay_time).max().unwrap_or(0),
            topics,
        })
    }

    /// Consumed and failed TPS of a group on one topic, and failures in the last hour.
    pub fn running_data(&self, group: &str, topic: &str) -> Result<(f64, f64, usize)> {
        let now = Millis::now();
        self.group(group)?;
        let log = self.group_log(group);
        let failed_hour = log
            .events
            .iter()
            .filter(|e| e.topic == topic && e.outcome == Outcome::Failed && e.at_ms.as_ms() > now.as_ms() - 3_600_000)
            .count();
        Ok((log.tps(Outcome::Consumed, Some(topic), now), log.tps(Outcome::Failed, Some(topic), now), failed_hour))
    }

    /// The stored time range of a topic and where the group's consumption stands in it.
    pub fn time_span(&self, group: &str, topic: &str) -> Result<TimeSpan> {
        self.topic(topic)?;
        let group_ref = self.group(group)?;
        group_ref.subscription(topic)?;
        let stored = self.topic_log(topic).queues.iter().flat_map(|q| q.iter()).map(|m| m.store_ms.as_ms());
        let (min, max) = stored.fold((i64::MAX, 0), |(lo, hi), t| (lo.min(t), hi.max(t)));
        Ok(TimeSpan {
            min_timestamp: Millis::from_ms(if min == i64::MAX { 0 } else { min }),
            max_timestamp: Millis::from_ms(max),
            consume_timestamp: self.group_log(group).last_consumed_store_ms(topic),
        })
    }

    /// Whether each group subscribing the topic consumed the message, judged from offsets (as the seed
    /// warns, a reset makes the answer unreliable).
    pub fn trace(&self, topic: &str, msg_id: &str) -> Result<Vec<MessageTrack>> {
        let topic_ref = self.topic(topic)?;
        let log = self.topic_log(topic);
        let m =
            log.find(msg_id).ok_or_else(|| RocketMqError::NoMessage(format!("message {msg_id} in topic {topic}")))?;
        let mut out = Vec::new();
        for group in self.groups.values() {
            let Some(sub) = group.subscriptions.get(topic) else { continue };
            let glog = self.group_log(&group.id);
            let passed = m.queue_offset >= 0
                && group
                    .offsets_for(&topic_ref.name, log.queues.len())
                    .get(m.queue_id as usize)
                    .is_some_and(|off| *off > m.queue_offset);
            let (track_type, desc) = if glog.dead_letters.iter().any(|d| d.msg_id == msg_id) {
                (
                    TrackType::Unknown,
                    "consumption failed beyond the retry limit; the message is in the dead-letter queue".to_string(),
                )
            } else if let Some(n) = glog.failures.get(msg_id) {
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
        topic: &str,
        begin: Millis,
        end: Millis,
        period_ms: i64,
    ) -> Result<Vec<(Millis, u64)>> {
        self.topic(topic)?;
        Ok(bucket(self.topic_log(topic).all_messages().map(|m| m.store_ms), begin, end, period_ms))
    }

    /// Messages a group consumed from a topic per bucket: (bucket start, count).
    pub fn group_output_series(
        &self,
        group: &str,
        topic: &str,
        begin: Millis,
        end: Millis,
        period_ms: i64,
    ) -> Result<Vec<(Millis, u64)>> {
        self.topic(topic)?;
        self.group(group)?.subscription(topic)?;
        let times = self
            .group_log(group)
            .events
            .iter()
            .filter(|e| e.topic == topic && e.outcome == Outcome::Consumed)
            .map(|e| e.at_ms);
        Ok(bucket(times, begin, end, period_ms))
    }

    /// Messages stored plus consumed per second over the last minute, across the instance.
    pub fn tps(&self) -> f64 {
        let since = Millis::now().as_ms() - TPS_WINDOW_MS;
        let stored =
            self.store.topics.values().flat_map(|t| t.all_messages()).filter(|m| m.store_ms.as_ms() > since).count();
        let consumed = self
            .store
            .groups
            .values()
            .flat_map(|g| g.events.iter().rev().take_while(|e| e.at_ms.as_ms() > since))
            .filter(|e| e.outcome == Outcome::Consumed)
            .count();
        (stored + consumed) as f64 * 1000.0 / TPS_WINDOW_MS as f64
    }

    /// A stored message of a topic by id.
    pub fn message_by_id(&self, topic: &str, msg_id: &str) -> Result<Message> {
        self.topic(topic)?;
        self.topic_log(topic)
            .find(msg_id)
            .cloned()
            .ok_or_else(|| RocketMqError::NoMessage(format!("message {msg_id} in topic {topic}")))
    }

    /// The stored messages of a topic carrying `key`.
    pub fn messages_by_key(&self, topic: &str, key: &str) -> Result<Vec<Message>> {
        self.topic(topic)?;
        let found: Vec<Message> =
            self.topic_log(topic).all_messages().filter(|m| m.keys.iter().any(|k| k == key)).cloned().collect();
        if found.is_empty() {
            return Err(RocketMqError::NoMessage(format!("key {key} in topic {topic}")));
        }
        Ok(found)
    }

    /// A group's dead letter by message id (the newest copy).
    pub fn dead_letter_by_id(&self, group: &str, msg_id: &str) -> Result<Message> {
        self.group(group)?;
        self.group_log(group)
            .dead_letters
            .iter()
            .rev()
            .find(|m| m.msg_id == msg_id)
            .cloned()
            .ok_or_else(|| RocketMqError::NoMessage(format!("dead letter {msg_id} of group {group}")))
    }

    /// The queued and timed messages of a topic (for tests and the data plane): (timed, queued).
    pub fn message_counts(&self, topic: &str) -> Result<(usize, usize)> {
        self.topic(topic)?;
        let log = self.topic_log(topic);
        Ok((log.scheduled.len(), log.queues.iter().map(|q| q.end() as usize).sum()))
    }
}

impl RocketMqModel {
    /// Moves the instance's due timed messages into their queues (call before reading consumer state).
    /// Takes the instance's write lock only when something is due; returns whether anything moved. Moving
    /// messages changes the message store, not a management resource.
    pub fn settle_due(&self, instance_id: &str) -> Result<bool> {
        let cell = self.cell(instance_id)?;
        if !cell.read().has_due() {
            return Ok(false);
        }
        let moved = Self::write_by_id(&cell, instance_id)?.store.settle_all(Millis::now());
        if moved {
            self.touch(instance_id);
        }
        Ok(moved)
    }

    /// Stores a message (the producer side of the data plane); returns its message id.
    pub fn send(&self, instance_id: &str, topic: &str, msg: NewMessage) -> Result<String> {
        self.send_as(instance_id, topic, msg, None)
    }

    /// Stores a message under an id given earlier (a committed transactional message keeps the id its half
    /// message was reported with), or under its commit-log id.
    pub(super) fn send_as(
        &self,
        instance_id: &str,
        topic: &str,
        msg: NewMessage,
        given_id: Option<String>,
    ) -> Result<String> {
        self.send_stored(instance_id, topic, msg, given_id).map(|m| m.msg_id)
    }

    /// Stores a message under `given_id` (a TCP producer's `UNIQ_KEY`), else under its commit-log id, and
    /// returns the stored copy (queue, queue offset -1 while timed, commit offset).
    pub fn send_stored(
        &self,
        instance_id: &str,
        topic: &str,
        msg: NewMessage,
        given_id: Option<String>,
    ) -> Result<Message> {
        if msg.body.len() > MAX_BODY_BYTES {
            return Err(invalid(Field::Body, format!("at most {MAX_BODY_BYTES} bytes")));
        }
        let now = Millis::now();
        if let Some(t) = msg.start_deliver_ms {
            if t.as_ms() > now.as_ms().saturating_add(MAX_DELAY_MS) {
                return Err(invalid(Field::DeliverTime, "at most 40 days ahead"));
            }
        }
        let store_host = self.store_host();
        let stored = self.with_id(instance_id, |instance| {
            let topic_ref = instance.topic(topic)?;
            if !topic_ref.writable() {
                return Err(RocketMqError::Forbidden(topic.to_string(), "write"));
            }
            instance.store.settle_topic(topic, now);
            let (queue_count, next_queue) =
                instance.store.topic(topic).map_or((1, 0), |log| (log.queues.len().max(1) as u32, log.next_queue));
            let (queue_id, round_robin) = match (&msg.queue_id, &msg.sharding_key) {
                (Some(q), _) if *q < queue_count => (*q, false),
                (_, Some(key)) => (crc32fast::hash(key.as_bytes()) % queue_count, false),
                _ => (next_queue % queue_count, true),
            };
            let store_ms = msg.store_ms.unwrap_or(now);
            let mut message = Message {
                msg_id: String::new(),
                topic: topic.to_string(),
                queue_id,
                queue_offset: -1,
                commit_offset: 0,
                tag: msg.tag,
                keys: msg.keys,
                body: msg.body,
                user_properties: msg.user_properties,
                born_ms: msg.born_ms.unwrap_or(store_ms),
                born_host: msg.born_host.unwrap_or_else(|| "127.0.0.1:0".into()),
                store_ms,
                store_host: store_host.clone(),
                reconsume_times: 0,
                start_deliver_ms: msg.start_deliver_ms,
                sharding_key: msg.sharding_key,
                producer_group: msg.producer_group,
            };
            if property_bytes(&properties(&message)) > MAX_PROPERTY_BYTES {
                return Err(invalid(Field::Properties, format!("at most {MAX_PROPERTY_BYTES} bytes serialised")));
            }
            // Taken only once the message is accepted, so a refused message leaves no gap.
            let commit_offset = self.commit_log.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            message.commit_offset = commit_offset;
            message.msg_id = given_id.unwrap_or_else(|| offset_msg_id_at(&store_host, commit_offset));
            let mut stored = message.clone();
            stored.body = Vec::new();
            if round_robin {
                let next = (queue_id + 1) % queue_count;
                instance.store.exec(StoreEvent::NextQueue { topic: topic.to_string(), next });
            }
            let topic = topic.to_string();
            if message.start_deliver_ms.is_some_and(|t| t > now) {
                instance.store.exec(StoreEvent::Schedule { topic, message });
            } else if let Some(end) =
                instance.store.topic(&topic).and_then(|log| log.queues.get(queue_id as usize)).map(QueueLog::end)
            {
                stored.queue_offset = end;
                instance.store.exec(StoreEvent::Append { topic, queue: queue_id, message });
            }
            Ok(stored)
        })?;
        self.touch(instance_id);
        Ok(stored)
    }

    /// Subscribes a group to a topic with a tag expression.
    pub fn subscribe(&self, instance_id: &str, group: &str, topic: &str, expression: &str) -> Result<()> {
        self.with_id(instance_id, |i| {
            i.topic(topic)?;
            let ends = i.topic_log(topic).ends();
            i.group_mut(group)?.subscribe(topic, ends, expression);
            Ok(())
        })?;
        self.mark(super::group_key(instance_id, group));
        Ok(())
    }

    /// A consumer client comes online for a group, subscribing what it declares.
    pub fn connect_consumer(&self, instance_id: &str, group: &str, client: ConsumerClient) -> Result<()> {
        self.with_id(instance_id, |i| {
            for topic in client.subscriptions.keys() {
                i.topic(topic)?;
            }
            i.group(group)?;
            let ends: Vec<(String, Vec<i64>)> =
                client.subscriptions.keys().map(|t| (t.clone(), i.topic_log(t).ends())).collect();
            let group_ref = i.group_mut(group)?;
            for (topic, ends) in ends {
                let expression = client.subscriptions.get(&topic).cloned().unwrap_or_default();
                group_ref.subscribe(&topic, ends, &expression);
            }
            group_ref.message_model = client.message_model;
            group_ref.clients.retain(|c| c.client_id != client.client_id);
            group_ref.clients.push(client);
            Ok(())
        })?;
        self.mark(super::group_key(instance_id, group));
        Ok(())
    }

    pub fn disconnect_consumer(&self, instance_id: &str, group: &str, client_id: &str) -> Result<()> {
        self.with_id(instance_id, |i| {
            i.group_mut(group)?.clients.retain(|c| c.client_id != client_id);
            Ok(())
        })?;
        self.mark(super::group_key(instance_id, group));
        Ok(())
    }

    /// Hands up to `max` messages of a topic to a group (retries first, then queues in store order),
    /// advancing its offsets; messages whose tag the subscription does not select are skipped as filtered.
    /// Nothing is delivered while the group's reading is disabled or the topic forbids reading.
    pub fn deliver(&self, instance_id: &str, group: &str, topic: &str, max: usize) -> Result<Vec<Message>> {
        let now = Millis::now();
        let out = self.with_id(instance_id, |instance| {
            let readable = instance.topic(topic)?.readable();
            let group_ref = instance.group(group)?;
            let expression = group_ref.subscription(topic)?.expression.clone();
            let read_enable = group_ref.read_enable;
            let Instance { groups, store, .. } = instance;
            store.settle_topic(topic, now);
            let group_ref = groups.get_mut(group).ok_or_else(|| RocketMqError::GroupNotFound(group.to_string()))?;
            let mut out = Vec::new();
            if !read_enable || !readable {
                return Ok(out);
            }
            while out.len() < max {
                let Some((pos, m)) = store
                    .group(group)
                    .and_then(|g| g.retry.iter().enumerate().find(|(_, m)| m.topic == topic))
                    .map(|(p, m)| (p, m.clone()))
                else {
                    break;
                };
                store.exec(StoreEvent::RetryTake { group: group.to_string(), index: pos });
                store.record(group, event(&m, now, Outcome::Consumed));
                out.push(m);
            }
            let log = store.topic(topic).unwrap_or(&EMPTY_TOPIC_LOG);
            let mut records = Vec::new();
            let mut offsets = group_ref.offsets_for(topic, log.queues.len());
            while out.len() < max {
                // The queue whose next message was stored first.
                let next = offsets
                    .iter()
                    .enumerate()
                    .filter_map(|(q, off)| log.message_at(q as u32, *off).map(|m| (q, m)))
                    .min_by_key(|(_, m)| m.commit_offset);
                let Some((q, m)) = next else { break };
                if let Some(off) = offsets.get_mut(q) {
                    *off += 1;
                }
                if tag_matches(&expression, m.tag.as_deref()) {
                    records.push(event(m, now, Outcome::Consumed));
                    out.push(m.clone());
                } else {
                    records.push(event(m, now, Outcome::Filtered));
                }
            }
            for r in records {
                store.record(group, r);
            }
            group_ref.offsets.insert(topic.to_string(), offsets);
            Ok(out)
        })?;
        // The offsets are part of the group resource.
        self.mark(super::group_key(instance_id, group));
        Ok(out)
    }

    /// The group failed to consume a delivered message: it goes to the retry queue with one more reconsume,
    /// or, past the group's maximum, to the dead-letter queue. Returns whether it was dead-lettered.
    pub fn consume_failed(&self, instance_id: &str, group: &str, msg_id: &str) -> Result<bool> {
        let now = Millis::now();
        let dead = self.with_id(instance_id, |instance| {
            let group_ref = instance.group(group)?;
            let max = group_ref.max_reconsume_times;
            let original = group_ref
                .subscriptions
                .keys()
                .filter_map(|t| instance.store.topic(t))
                .find_map(|t| t.find(msg_id))
                .or_else(|| instance.group_log(group).dead_letters.iter().rev().find(|m| m.msg_id == msg_id))
                .cloned()
                .ok_or_else(|| RocketMqError::NoMessage(format!("message {msg_id} of group {group}")))?;
            let store = &mut instance.store;
            let attempts = store.group(group).and_then(|g| g.failures.get(msg_id)).copied().unwrap_or(0) + 1;
            store.record(group, event(&original, now, Outcome::Failed));
            let mut copy = original;
            let (group, msg_id) = (group.to_string(), msg_id.to_string());
            if attempts > max {
                store.exec(StoreEvent::Failures { group: group.clone(), msg_id, attempts: None });
                copy.reconsume_times = max;
                copy.store_ms = now;
                store.exec(StoreEvent::DeadLetter { group, message: copy });
                Ok(true)
            } else {
                store.exec(StoreEvent::Failures { group: group.clone(), msg_id, attempts: Some(attempts) });
                copy.reconsume_times = attempts;
                store.exec(StoreEvent::RetryPush { group, message: copy });
                Ok(false)
            }
        })?;
        self.touch(instance_id);
        Ok(dead)
    }

    /// Sends a dead-lettered message back to its group for one more consumption. The dead-letter entry stays
    /// (seed: "重发后消费成功的消息不会从死信队列中移除").
    pub fn resend_dead_letter(&self, instance_id: &str, group: &str, msg_id: &str) -> Result<()> {
        self.with_id(instance_id, |instance| {
            // A group whose consumers speak TCP (they pull its retry topic) gets the message there.
            let tcp = instance.group(group)?.offsets.contains_key(&super::tcp::retry_topic(group));
            if tcp {
                return super::tcp::resend_to_retry_queue(instance, group, msg_id, &self.commit_log);
            }
            let entry = instance
                .group_log(group)
                .dead_letters
                .iter()
                .rev()
                .find(|m| m.msg_id == msg_id)
                .cloned()
                .ok_or_else(|| RocketMqError::NoMessage(format!("dead letter {msg_id} of group {group}")))?;
            instance.store.exec(StoreEvent::RetryPush { group: group.to_string(), message: entry });
            Ok(())
        })?;
        self.touch(instance_id);
        Ok(())
    }

    /// Moves a group's offsets on a topic; pending retries of the topic are dropped with the old position.
    pub fn reset_offset(&self, instance_id: &str, group: &str, topic: &str, target: ResetTarget) -> Result<()> {
        self.with_id(instance_id, |instance| {
            instance.topic(topic)?;
            instance.group(group)?.subscription(topic)?;
            instance.store.settle_topic(topic, Millis::now());
            let offsets: Vec<i64> = instance
                .topic_log(topic)
                .queues
                .iter()
                .map(|q| match target {
                    ResetTarget::Latest => q.end(),
                    ResetTarget::Time(t) => q.iter().position(|m| m.store_ms >= t).map_or(q.end(), |p| p as i64),
                })
                .collect();
            let drop = StoreEvent::RetryDropTopic { group: group.to_string(), topic: topic.to_string() };
            instance.store.exec(drop);
            instance.group_mut(group)?.offsets.insert(topic.to_string(), offsets.clone());
            Ok(offsets)
        })
        .map(|offsets| {
            // Running TCP consumers of the group are told (RESET_CONSUMER_CLIENT_OFFSET), or their next
            // offset commit would undo the reset.
            self.notify_reset(super::tcp::ResetNotice {
                instance: instance_id.to_string(),
                group: group.to_string(),
                topic: topic.to_string(),
                offsets,
            })
        })?;
        self.mark(super::group_key(instance_id, group));
        Ok(())
    }

    /// Starts a paged query over a topic's messages stored in `[begin, end]`; returns the task id. A query
    /// is a read: the task is runtime state, not a resource.
    pub fn start_topic_query(
        &self,
        account: &str,
        instance_id: &str,
        topic: &str,
        begin: Millis,
        end: Millis,
    ) -> Result<String> {
        let handle = self.instance_by_id(instance_id)?;
        let hits: Vec<(u32, i64)> = {
            let instance = handle.read();
            instance.topic(topic)?;
            let mut found: Vec<&Message> =
                instance.topic_log(topic).all_messages().filter(|m| (begin..=end).contains(&m.store_ms)).collect();
            found.sort_by_key(|m| (m.store_ms, m.commit_offset));
            // Scheduled messages have no queue position yet; they are addressed by commit offset instead.
            found
                .iter()
                .take(MAX_PAGES * MAX_PAGE_SIZE)
                .map(|m| if m.queue_offset < 0 { (u32::MAX, m.commit_offset) } else { (m.queue_id, m.queue_offset) })
                .collect()
        };
        if hits.is_empty() {
            return Err(RocketMqError::NoMessage(format!(
                "topic {topic} between {} and {}",
                begin.as_ms(),
                end.as_ms()
            )));
        }
        Ok(self.add_task(account, instance_id, Some(topic), None, hits))
    }

    /// Starts a paged query over a group's dead letters stored in `[begin, end]`; returns the task id.
    pub fn start_dead_letter_query(
        &self,
        account: &str,
        instance_id: &str,
        group: &str,
        begin: Millis,
        end: Millis,
    ) -> Result<String> {
        let handle = self.instance_by_id(instance_id)?;
        let hits: Vec<(u32, i64)> = {
            let instance = handle.read();
            instance.group(group)?;
            instance
                .group_log(group)
                .dead_letters
                .iter()
                .enumerate()
                .filter(|(_, m)| (begin..=end).contains(&m.store_ms))
                .take(MAX_PAGES * MAX_PAGE_SIZE)
                .map(|(i, _)| (0, i as i64))
                .collect()
        };
        if hits.is_empty() {
            return Err(RocketMqError::NoMessage(format!(
                "dead letters of {group} between {} and {}",
                begin.as_ms(),
                end.as_ms()
            )));
        }
        Ok(self.add_task(account, instance_id, None, Some(group), hits))
    }

    fn add_task(
        &self,
        account: &str,
        instance_id: &str,
        topic: Option<&str>,
        group: Option<&str>,
        hits: Vec<(u32, i64)>,
    ) -> String {
        self.tasks.lock().add(QueryTask {
            seq: 0,
            account: account.to_string(),
            instance_id: instance_id.to_string(),
            topic: topic.map(str::to_string),
            group: group.map(str::to_string),
            hits,
        })
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
            .tasks
            .lock()
            .tasks
            .get(task_id)
            .filter(|t| t.account == account && t.instance_id == instance_id)
            .filter(|t| (t.topic.as_deref(), t.group.as_deref()) == source)
            .cloned()
            .ok_or_else(|| invalid(Field::QueryTask, format!("no query task {task_id:?} for this query")))?;
        let page_size = page_size.clamp(1, MAX_PAGE_SIZE);
        let max_page_count = task.hits.len().div_ceil(page_size).min(MAX_PAGES);
        if page == 0 || page > max_page_count {
            return Err(invalid(Field::Page, format!("must be between 1 and the {max_page_count} pages found")));
        }
        let handle = self.instance_by_id(instance_id)?;
        let instance = handle.read();
        let hits = task.hits.iter().skip((page - 1) * page_size).take(page_size);
        let messages: Vec<Message> = match (&task.topic, &task.group) {
            (Some(topic), _) => {
                instance.topic(topic)?;
                let log = instance.topic_log(topic);
                hits.filter_map(|(q, off)| {
                    if *q == u32::MAX {
                        log.all_messages().find(|m| m.commit_offset == *off)
                    } else {
                        log.message_at(*q, *off)
                    }
                })
                .cloned()
                .collect()
            }
            (None, Some(group)) => {
                instance.group(group)?;
                let glog = instance.group_log(group);
                hits.filter_map(|(_, i)| glog.dead_letters.get(*i as usize)).cloned().collect()
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
}

pub(super) fn event(m: &Message, now: Millis, outcome: Outcome) -> ConsumeEvent {
    ConsumeEvent { topic: m.topic.clone(), msg_id: m.msg_id.clone(), store_ms: m.store_ms, at_ms: now, outcome }
}

/// Most buckets one series may have.
const MAX_BUCKETS: usize = 100_000;

fn bucket(times: impl Iterator<Item = Millis>, begin: Millis, end: Millis, period_ms: i64) -> Vec<(Millis, u64)> {
    let (begin, end) = (begin.as_ms(), end.as_ms());
    // Callers bound the number of periods; the checks here keep a direct caller from overflowing or
    // allocating without bound all the same.
    let Some(periods) = end.checked_sub(begin).filter(|_| period_ms > 0).map(|span| span / period_ms) else {
        return Vec::new();
    };
    let Some(n) = usize::try_from(periods).ok().filter(|n| *n < MAX_BUCKETS).map(|n| n + 1) else {
        return Vec::new();
    };
    let mut counts = vec![0u64; n];
    for t in times.map(Millis::as_ms).filter(|t| (begin..=end).contains(t)) {
        // `t - begin` cannot overflow: begin <= t <= end and end - begin fits.
        if let Some(c) = usize::try_from((t - begin) / period_ms).ok().and_then(|i| counts.get_mut(i)) {
            *c += 1;
        }
    }
    // Each start is at most `end`, so it fits.
    counts.into_iter().zip((0..).map(|i: i64| Millis::from_ms(begin + i * period_ms))).map(|(c, x)| (x, c)).collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::model_with_instance;
    use super::*;
    use crate::engine::rocketmq::MessageType;

    fn setup() -> RocketMqModel {
        let m = model_with_instance(true);
        m.create_topic("a", "mq-private", "I1", "t", MessageType::Normal, "").unwrap();
        m.create_group("a", "mq-private", "I1", "GID_g", "").unwrap();
        m
    }

    fn accumulation(m: &RocketMqModel) -> Accumulation {
        m.instance_by_id("I1").unwrap().read().accumulation("GID_g").unwrap()
    }

    #[test]
    fn tags_filter_and_offsets_advance() {
        let m = setup();
        m.subscribe("I1", "GID_g", "t", "a || b").unwrap();
        let a = m.send("I1", "t", NewMessage::new("a", "k1", "1")).unwrap();
        m.send("I1", "t", NewMessage::new("c", "k2", "2")).unwrap();
        m.send("I1", "t", NewMessage::new("b", "k3", "3")).unwrap();
        assert_eq!(accumulation(&m).total_diff, 3);
        let got = m.deliver("I1", "GID_g", "t", 10).unwrap();
        assert_eq!(got.iter().map(|m| m.body.clone()).collect::<Vec<_>>(), vec![b"1".to_vec(), b"3".to_vec()]);
        assert_eq!(accumulation(&m).total_diff, 0);
        let track = m.instance_by_id("I1").unwrap().read().trace("t", &a).unwrap();
        assert_eq!(track[0].track_type, TrackType::Consumed);
    }

    #[test]
    fn failures_retry_then_dead_letter() {
        let m = setup();
        m.subscribe("I1", "GID_g", "t", "*").unwrap();
        m.set_max_reconsume_times("a", "mq-private", "I1", "GID_g", 1).unwrap();
        let id = m.send("I1", "t", NewMessage::new("a", "k", "x")).unwrap();
        m.deliver("I1", "GID_g", "t", 1).unwrap();
        assert!(!m.consume_failed("I1", "GID_g", &id).unwrap());
        let again = m.deliver("I1", "GID_g", "t", 1).unwrap();
        assert_eq!(again[0].reconsume_times, 1);
        assert!(m.consume_failed("I1", "GID_g", &id).unwrap());
        assert_eq!(m.instance_by_id("I1").unwrap().read().dead_letter_by_id("GID_g", &id).unwrap().reconsume_times, 1);
        m.resend_dead_letter("I1", "GID_g", &id).unwrap();
        assert_eq!(m.deliver("I1", "GID_g", "t", 5).unwrap()[0].msg_id, id);
    }

    #[test]
    fn a_refused_message_takes_no_commit_offset() {
        let m = setup();
        let first = m.send("I1", "t", NewMessage::new("a", "", "x")).unwrap();
        let too_big = NewMessage { body: vec![0; MAX_BODY_BYTES + 1], ..NewMessage::default() };
        assert_eq!(
            m.send("I1", "t", too_big).unwrap_err(),
            RocketMqError::Invalid(Field::Body, format!("at most {MAX_BODY_BYTES} bytes"))
        );
        let second = m.send("I1", "t", NewMessage::new("a", "", "y")).unwrap();
        assert_eq!(first, offset_msg_id(0));
        assert_eq!(second, offset_msg_id(1));
    }

    #[test]
    fn buckets_count_per_period() {
        let b = bucket([0, 5, 10, 25].into_iter().map(Millis::from_ms), Millis::from_ms(0), Millis::from_ms(29), 10);
        assert_eq!(b, vec![(Millis::from_ms(0), 2), (Millis::from_ms(10), 1), (Millis::from_ms(20), 1)]);
    }
}
