//! The RocketMQ model as durable resources ([`crate::storage::Resources`]) and as one whole document.
//!
//! Resource keys (each path component percent-escapes `%` and `/`):
//! - `region/<region>`: a region with its clusters;
//! - `i/<instance>`: an instance's own facts (not its topics or groups);
//! - `t/<instance>/<topic>`: a topic's facts and grants, without its messages;
//! - `g/<instance>/<group>`: a group's settings, subscriptions, consumer offsets and connected clients;
//! - `m/<instance>`: the instance's message store (queues, timed messages, retry and dead-letter queues,
//!   consumption history) and the commit-log position, until the data plane moves payloads into the
//!   append-only message log.
//!
//! Message payloads, retry and dead-letter queues and consumption history are never part of a resource.
//! The whole-model document (state export, snapshots) keeps the layout localyun has always written (messages
//! inside `instances.<id>.topics.<name>.queues`), so existing data files and exports still load.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::store::{GroupLog, HttpHalf, MemoryQueue, MessageStore, PreparedHalf, QueueLog, TopicLog};
use super::{
    Catalog, Cluster, ConsumeEvent, Entry, Group, Instance, InstanceMeta, Message, Region, RocketMqModel, Topic,
};

fn escape(component: &str) -> String {
    component.replace('%', "%25").replace('/', "%2F")
}

fn unescape(component: &str) -> String {
    component.replace("%2F", "/").replace("%25", "%")
}

/// The key of a region (with its clusters).
pub fn region_key(region: &str) -> String {
    format!("region/{}", escape(region))
}

/// The key of an instance's own facts.
pub fn instance_key(instance: &str) -> String {
    format!("i/{}", escape(instance))
}

/// The key of a topic.
pub fn topic_key(instance: &str, topic: &str) -> String {
    format!("t/{}/{}", escape(instance), escape(topic))
}

/// The key of a group.
pub fn group_key(instance: &str, group: &str) -> String {
    format!("g/{}/{}", escape(instance), escape(group))
}

enum Key {
    Region(String),
    Instance(String),
    Topic(String, String),
    Group(String, String),
    Messages(String),
}

fn parse_key(key: &str) -> Option<Key> {
    let (kind, rest) = key.split_once('/')?;
    match kind {
        "region" => Some(Key::Region(unescape(rest))),
        "i" => Some(Key::Instance(unescape(rest))),
        "m" => Some(Key::Messages(unescape(rest))),
        "t" | "g" => {
            let (instance, name) = rest.split_once('/')?;
            let (instance, name) = (unescape(instance), unescape(name));
            Some(if kind == "t" { Key::Topic(instance, name) } else { Key::Group(instance, name) })
        }
        _ => None,
    }
}

/// The value of a region key.
#[derive(Serialize, Deserialize)]
struct RegionDoc {
    region: Region,
    clusters: Vec<Cluster>,
}

impl crate::storage::Resources for RocketMqModel {
    fn dirty_len(&self) -> usize {
        self.dirty.lock().order.len()
    }

    fn take_dirty(&self) -> Option<Vec<String>> {
        let mut dirty = self.dirty.lock();
        dirty.seen.clear();
        Some(std::mem::take(&mut dirty.order))
    }

    fn resource(&self, key: &str) -> Option<Value> {
        match parse_key(key)? {
            Key::Region(id) => {
                let catalog = self.catalog.read();
                let region = catalog.regions.get(&id)?.clone();
                let clusters = catalog.clusters.iter().filter(|c| c.region_id == id).cloned().collect();
                serde_json::to_value(RegionDoc { region, clusters }).ok()
            }
            Key::Instance(id) => {
                let cell = self.cell(&id).ok()?;
                let instance = cell.read();
                (!instance.deleted).then(|| serde_json::to_value(&instance.meta).ok())?
            }
            Key::Topic(id, topic) => {
                let cell = self.cell(&id).ok()?;
                let instance = cell.read();
                serde_json::to_value(instance.topics.get(&topic)?).ok()
            }
            Key::Group(id, group) => {
                let cell = self.cell(&id).ok()?;
                let instance = cell.read();
                serde_json::to_value(instance.groups.get(&group)?).ok()
            }
            Key::Messages(id) => {
                let cell = self.cell(&id).ok()?;
                let instance = cell.read();
                if instance.deleted {
                    return None;
                }
                let doc = MessagesDoc::of(&instance.store, self.commit_log.load(std::sync::atomic::Ordering::Acquire));
                serde_json::to_value(doc).ok()
            }
        }
    }

    fn apply(&mut self, key: &str, value: Option<Value>) -> Result<(), String> {
        let parsed = parse_key(key).ok_or_else(|| format!("not a RocketMQ resource key: {key:?}"))?;
        let bad = |e: serde_json::Error| format!("{key}: {e}");
        match parsed {
            Key::Region(id) => {
                let catalog = self.catalog.get_mut();
                catalog.clusters.retain(|c| c.region_id != id);
                match value {
                    None => {
                        catalog.regions.remove(&id);
                    }
                    Some(v) => {
                        let doc: RegionDoc = serde_json::from_value(v).map_err(bad)?;
                        catalog.regions.insert(id, doc.region);
                        catalog.clusters.extend(doc.clusters);
                    }
                }
            }
            Key::Instance(id) => match value {
                None => {
                    self.instances.get_mut().remove(&id);
                }
                Some(v) => {
                    let meta: InstanceMeta = serde_json::from_value(v).map_err(bad)?;
                    if meta.id != id {
                        return Err(format!("{key}: holds instance {:?}", meta.id));
                    }
                    match self.instances.get_mut().get(&id) {
                        Some(entry) => entry.cell.write().meta = meta,
                        None => self.insert_instance(Instance {
                            meta,
                            topics: BTreeMap::new(),
                            groups: BTreeMap::new(),
                            store: MessageStore::default(),
                            deleted: false,
                        }),
                    }
                }
            },
            Key::Topic(id, name) => {
                let cell = self.cell(&id).map_err(|e| format!("{key}: {e}"))?;
                let mut instance = cell.write();
                match value {
                    None => {
                        instance.topics.remove(&name);
                        instance.store.remove_topic(&name);
                    }
                    Some(v) => {
                        let topic: Topic = serde_json::from_value(v).map_err(bad)?;
                        if instance.store.topic(&name).is_none() {
                            instance.store.add_topic(&name, topic.queue_count);
                        }
                        instance.topics.insert(name, topic);
                    }
                }
            }
            Key::Group(id, name) => {
                let cell = self.cell(&id).map_err(|e| format!("{key}: {e}"))?;
                let mut instance = cell.write();
                match value {
                    None => {
                        instance.groups.remove(&name);
                        instance.store.remove_group(&name);
                    }
                    Some(v) => {
                        let group: Group = serde_json::from_value(v).map_err(bad)?;
                        instance.store.add_group(&name);
                        instance.groups.insert(name, group);
                    }
                }
            }
            Key::Messages(id) => {
                // A deleted instance's message key may follow its `i/` delete in the journal: nothing to do.
                let Ok(cell) = self.cell(&id) else { return Ok(()) };
                let mut instance = cell.write();
                match value {
                    None => instance.store.replace_content(MessageStore::default()),
                    Some(v) => {
                        let doc: MessagesDoc = serde_json::from_value(v).map_err(bad)?;
                        let commit_log = self.commit_log.get_mut();
                        *commit_log = (*commit_log).max(doc.commit_log_offset);
                        instance.store.replace_content(doc.into_store());
                    }
                }
            }
        }
        Ok(())
    }
}

/// The value of a legacy `m/<instance>` key (data dirs of localyun before the message log) and of a message
/// log checkpoint: an instance's whole message store.
#[derive(Serialize, Deserialize, Default)]
pub(super) struct MessagesDoc {
    #[serde(default)]
    topics: BTreeMap<String, TopicLogDoc>,
    #[serde(default)]
    groups: BTreeMap<String, GroupLogDoc>,
    /// The model's commit-log position when this was written (message offsets never repeat after recovery).
    #[serde(default)]
    pub(super) commit_log_offset: i64,
    /// Undecided TCP half messages (absent before they were kept in the store).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    halves: Vec<PreparedHalf>,
    /// Undecided MQ HTTP half messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    http_halves: Vec<HttpHalf>,
}

#[derive(Serialize, Deserialize, Default)]
struct TopicLogDoc {
    queues: Vec<QueueDoc>,
    #[serde(default)]
    scheduled: Vec<Message>,
    #[serde(default)]
    next_queue: u32,
}

#[derive(Serialize, Deserialize, Default)]
struct GroupLogDoc {
    #[serde(default)]
    retry: Vec<Message>,
    #[serde(default)]
    dead_letters: Vec<Message>,
    #[serde(default)]
    failures: BTreeMap<String, u32>,
    #[serde(default)]
    events: Vec<ConsumeEvent>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    retry_queue: Vec<Message>,
}

impl TopicLogDoc {
    fn of(log: &TopicLog) -> TopicLogDoc {
        TopicLogDoc {
            queues: log.queues.iter().map(|q| QueueDoc { messages: q.iter().cloned().collect() }).collect(),
            scheduled: log.scheduled.clone(),
            next_queue: log.next_queue,
        }
    }

    fn into_log(self) -> TopicLog {
        let queues = self.queues.into_iter().map(|q| MemoryQueue::from_messages(q.messages)).collect();
        TopicLog { queues, scheduled: self.scheduled, next_queue: self.next_queue }
    }
}

impl GroupLogDoc {
    fn of(log: &GroupLog) -> GroupLogDoc {
        GroupLogDoc {
            retry: log.retry.clone(),
            dead_letters: log.dead_letters.clone(),
            failures: log.failures.clone(),
            events: log.events.clone(),
            retry_queue: log.retry_queue.clone(),
        }
    }

    fn into_log(self) -> GroupLog {
        GroupLog {
            retry: self.retry,
            dead_letters: self.dead_letters,
            failures: self.failures,
            events: self.events,
            retry_queue: self.retry_queue,
        }
    }
}

impl MessagesDoc {
    pub(super) fn of(store: &MessageStore, commit_log_offset: i64) -> MessagesDoc {
        MessagesDoc {
            topics: store.topics.iter().map(|(name, log)| (name.clone(), TopicLogDoc::of(log))).collect(),
            groups: store.groups.iter().map(|(id, log)| (id.clone(), GroupLogDoc::of(log))).collect(),
            commit_log_offset,
            halves: store.halves.values().cloned().collect(),
            http_halves: store.http_halves.values().cloned().collect(),
        }
    }

    pub(super) fn into_store(self) -> MessageStore {
        MessageStore {
            topics: self.topics.into_iter().map(|(name, doc)| (name, doc.into_log())).collect(),
            groups: self.groups.into_iter().map(|(id, doc)| (id, doc.into_log())).collect(),
            halves: self.halves.into_iter().map(|h| (h.id, h)).collect(),
            http_halves: self.http_halves.into_iter().map(|h| (h.msg_id.clone(), h)).collect(),
            recorder: None,
        }
    }
}

// ------------------------------------------------------------------------------------ the whole document

thread_local! {
    static WITHOUT_MESSAGES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with this thread's serialisations of the model leaving every instance's message store out
/// (queues empty, no retries, dead letters, history or half messages): what the management snapshots and
/// whole-model journal records hold with `--data-dir`, where messages live in the message log
/// (`crate::storage::mqlog`). The admin state export does not use it, so it keeps carrying messages.
pub fn without_messages<R>(f: impl FnOnce() -> R) -> R {
    let before = WITHOUT_MESSAGES.replace(true);
    let out = f();
    WITHOUT_MESSAGES.set(before);
    out
}

#[derive(Serialize, Deserialize, Default)]
struct ModelDoc {
    #[serde(default)]
    regions: BTreeMap<String, Region>,
    #[serde(default)]
    clusters: Vec<Cluster>,
    #[serde(default)]
    instances: BTreeMap<String, InstanceDoc>,
    /// Next commit-log position.
    #[serde(default)]
    commit_log_offset: i64,
}

#[derive(Serialize, Deserialize)]
struct InstanceDoc {
    #[serde(flatten)]
    meta: InstanceMeta,
    #[serde(default)]
    topics: BTreeMap<String, TopicDoc>,
    #[serde(default)]
    groups: BTreeMap<String, GroupDoc>,
    /// Undecided TCP half messages (omitted when none, as in files written before they were kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    halves: Vec<PreparedHalf>,
    /// Undecided MQ HTTP half messages (omitted when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    http_halves: Vec<HttpHalf>,
}

#[derive(Serialize, Deserialize)]
struct TopicDoc {
    #[serde(flatten)]
    topic: Topic,
    queues: Vec<QueueDoc>,
    #[serde(default)]
    scheduled: Vec<Message>,
    #[serde(default)]
    next_queue: u32,
}

#[derive(Serialize, Deserialize, Default)]
struct QueueDoc {
    messages: Vec<Message>,
}

#[derive(Serialize, Deserialize)]
struct GroupDoc {
    #[serde(flatten)]
    group: Group,
    #[serde(default)]
    retry: Vec<Message>,
    #[serde(default)]
    dead_letters: Vec<Message>,
    #[serde(default)]
    failures: BTreeMap<String, u32>,
    #[serde(default)]
    events: Vec<ConsumeEvent>,
    /// The TCP retry topic's queue (absent in files written before the TCP data plane).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    retry_queue: Vec<Message>,
}

impl InstanceDoc {
    fn of(i: &Instance) -> InstanceDoc {
        let empty_topic = TopicLog::default();
        let empty_group = GroupLog::default();
        let empty_store = MessageStore::default();
        // Management snapshots leave the message store out: it is in the message log.
        let store = if WITHOUT_MESSAGES.get() { &empty_store } else { &i.store };
        InstanceDoc {
            halves: store.halves.values().cloned().collect(),
            http_halves: store.http_halves.values().cloned().collect(),
            meta: i.meta.clone(),
            topics: i
                .topics
                .iter()
                .map(|(name, t)| {
                    let log = TopicLogDoc::of(store.topic(name).unwrap_or(&empty_topic));
                    let doc = TopicDoc {
                        topic: t.clone(),
                        queues: log.queues,
                        scheduled: log.scheduled,
                        next_queue: log.next_queue,
                    };
                    (name.clone(), doc)
                })
                .collect(),
            groups: i
                .groups
                .iter()
                .map(|(id, g)| {
                    let log = GroupLogDoc::of(store.group(id).unwrap_or(&empty_group));
                    let doc = GroupDoc {
                        group: g.clone(),
                        retry: log.retry,
                        dead_letters: log.dead_letters,
                        failures: log.failures,
                        events: log.events,
                        retry_queue: log.retry_queue,
                    };
                    (id.clone(), doc)
                })
                .collect(),
        }
    }

    fn into_instance(self) -> Instance {
        let mut store = MessageStore::default();
        let mut topics = BTreeMap::new();
        for (name, doc) in self.topics {
            let mut topic = doc.topic;
            if topic.queue_count == 0 {
                // Files written before the count was kept.
                topic.queue_count = doc.queues.len() as u32;
            }
            let mut log =
                TopicLogDoc { queues: doc.queues, scheduled: doc.scheduled, next_queue: doc.next_queue }.into_log();
            log.queues.resize_with(topic.queue_count as usize, MemoryQueue::default);
            store.topics.insert(name.clone(), log);
            topics.insert(name, topic);
        }
        let mut groups = BTreeMap::new();
        for (id, doc) in self.groups {
            let log = GroupLogDoc {
                retry: doc.retry,
                dead_letters: doc.dead_letters,
                failures: doc.failures,
                events: doc.events,
                retry_queue: doc.retry_queue,
            };
            store.groups.insert(id.clone(), log.into_log());
            groups.insert(id, doc.group);
        }
        store.halves = self.halves.into_iter().map(|h| (h.id, h)).collect();
        store.http_halves = self.http_halves.into_iter().map(|h| (h.msg_id.clone(), h)).collect();
        Instance { meta: self.meta, topics, groups, store, deleted: false }
    }
}

impl Serialize for RocketMqModel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let catalog = self.catalog.read().clone();
        let cells: Vec<(String, Arc<RwLock<Instance>>)> =
            self.instances.read().iter().map(|(k, e)| (k.clone(), e.cell.clone())).collect();
        let instances = cells.into_iter().map(|(id, cell)| (id, InstanceDoc::of(&cell.read()))).collect();
        ModelDoc {
            regions: catalog.regions,
            clusters: catalog.clusters,
            instances,
            commit_log_offset: self.commit_log.load(std::sync::atomic::Ordering::Acquire),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RocketMqModel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let doc = ModelDoc::deserialize(deserializer)?;
        let model = RocketMqModel {
            catalog: RwLock::new(Catalog { regions: doc.regions, clusters: doc.clusters }),
            commit_log: doc.commit_log_offset.into(),
            ..RocketMqModel::default()
        };
        let mut instances = BTreeMap::new();
        for (id, doc) in doc.instances {
            if doc.meta.id != id {
                return Err(serde::de::Error::custom(format!("instances.{id} holds instance {:?}", doc.meta.id)));
            }
            let instance = doc.into_instance();
            let entry = Entry {
                account: instance.meta.account.clone(),
                region: instance.meta.region.clone(),
                independent_naming: instance.meta.independent_naming,
                cell: Arc::new(RwLock::new(instance)),
            };
            instances.insert(id, entry);
        }
        *model.instances.write() = instances;
        Ok(model)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::model_with_instance;
    use super::super::{ConsumerClient, MessageType, Millis, NewMessage, ResetTarget};
    use super::*;
    use crate::storage::Resources;

    const R: &str = "mq-private";

    fn drained(m: &RocketMqModel) -> Vec<String> {
        m.take_dirty().unwrap()
    }

    #[test]
    fn keys_escape_their_separators() {
        assert_eq!(topic_key("I/1", "t%x"), "t/I%2F1/t%25x");
        match parse_key(&topic_key("I/1", "t%x")) {
            Some(Key::Topic(i, t)) => assert_eq!((i.as_str(), t.as_str()), ("I/1", "t%x")),
            _ => panic!("not a topic key"),
        }
        assert!(parse_key("x/1").is_none());
        assert!(parse_key("t/only-instance").is_none());
    }

    #[test]
    fn commands_mark_exactly_what_they_change() {
        let m = model_with_instance(true);
        assert_eq!(drained(&m), vec!["region/mq-private".to_string(), "i/I1".into()]);
        m.create_topic("a", R, "I1", "t", MessageType::Normal, "").unwrap();
        m.create_group("a", R, "I1", "GID_g", "").unwrap();
        assert_eq!(drained(&m), vec!["t/I1/t".to_string(), "g/I1/GID_g".into()]);
        m.subscribe("I1", "GID_g", "t", "*").unwrap();
        m.set_topic_perm("a", R, "I1", "t", 4).unwrap();
        m.set_topic_perm("a", R, "I1", "t", 6).unwrap();
        // Each key once per drain, in first-change order.
        assert_eq!(drained(&m), vec!["g/I1/GID_g".to_string(), "t/I1/t".into()]);
        m.delete_topic("a", R, "I1", "t").unwrap();
        // The cascade removed the group's subscription: both keys.
        assert_eq!(drained(&m), vec!["t/I1/t".to_string(), "g/I1/GID_g".into()]);
        assert_eq!(m.resource("t/I1/t"), None);
        assert!(m.resource("g/I1/GID_g").unwrap()["subscriptions"].as_object().unwrap().is_empty());
    }

    #[test]
    fn reads_and_rejected_writes_leave_no_dirty_key() {
        let m = model_with_instance(true);
        m.create_topic("a", R, "I1", "t", MessageType::Normal, "").unwrap();
        m.create_group("a", R, "I1", "GID_g", "").unwrap();
        m.subscribe("I1", "GID_g", "t", "*").unwrap();
        let msg_id = m.send("I1", "t", NewMessage::new("a", "k", "x")).unwrap();
        drained(&m);
        let changes = m.change_count();
        // Rejected writes.
        assert!(m.create_topic("a", R, "I1", "t", MessageType::Normal, "").is_err());
        assert!(m.create_topic("b", R, "I1", "u", MessageType::Normal, "").is_err());
        assert!(m.create_group("a", R, "I1", "GID_g", "").is_err());
        assert!(m.create_group("a", R, "I1", "CID_g", "").is_err());
        assert!(m.set_topic_perm("a", R, "I1", "t", 3).is_err());
        assert!(m.delete_group("a", R, "I1", "GID_none").is_err());
        assert!(m.revoke("a", R, "I1", "t", "someone").is_err());
        assert!(m.grant("a", R, "I1", "t", "a", false, 6).is_err());
        assert!(m.update_instance("a", R, "I1", Some("x"), None).is_err());
        assert!(m.delete_instance("a", R, "I1").is_err());
        assert!(m.reset_offset("I1", "GID_g", "nope", ResetTarget::Latest).is_err());
        // Reads, including a paged query and its pages.
        let handle = m.instance("a", R, "I1").unwrap();
        handle.read().accumulation("GID_g").unwrap();
        handle.read().trace("t", &msg_id).unwrap();
        handle.read().messages_by_key("t", "k").unwrap();
        m.grants("a", R, "I1", "t").unwrap();
        let task = m.start_topic_query("a", "I1", "t", Millis::from_ms(0), Millis::now()).unwrap();
        m.query_page("a", "I1", &task, (Some("t"), None), 1, 20).unwrap();
        assert!(!m.settle_due("I1").unwrap());
        assert_eq!(drained(&m), Vec::<String>::new());
        assert_eq!(m.change_count(), changes, "a read or a refused write counted as a change");
    }

    #[test]
    fn message_bodies_are_not_part_of_any_resource() {
        let m = model_with_instance(true);
        m.create_topic("a", R, "I1", "t", MessageType::Normal, "").unwrap();
        m.create_group("a", R, "I1", "GID_g", "").unwrap();
        m.connect_consumer("I1", "GID_g", ConsumerClient::new("c1", "10.0.0.1", &[("t", "*")])).unwrap();
        drained(&m);
        m.enable_message_log();
        let msg_id = m.send("I1", "t", NewMessage::new("a", "k", "secret-payload")).unwrap();
        // Producing changes no management resource: the store records one event for the message log.
        assert_eq!(drained(&m), Vec::<String>::new());
        let events = m.take_message_events();
        assert_eq!(events.len(), 2, "{events:?}"); // the round-robin position, then the message
        match &events[1] {
            (i, crate::engine::rocketmq::StoreEvent::Append { topic, message, .. }) => {
                assert_eq!((&**i, topic.as_str(), message.msg_id.as_str()), ("I1", "t", msg_id.as_str()));
                assert_eq!(message.body, b"secret-payload");
            }
            other => panic!("not an append: {other:?}"),
        }
        m.deliver("I1", "GID_g", "t", 10).unwrap();
        // Consuming moves the group's offsets (a resource) but the group carries no message.
        assert_eq!(drained(&m), vec!["g/I1/GID_g".to_string()]);
        for key in ["i/I1", "t/I1/t", "g/I1/GID_g", "region/mq-private"] {
            let text = m.resource(key).unwrap().to_string();
            assert!(!text.contains("secret") && !text.contains("messages"), "{key}: {text}");
        }
        // The whole document still carries the message (the admin export), management snapshots do not.
        assert!(serde_json::to_string(&m).unwrap().contains("\"queues\":[{\"messages\":["));
        let snapshot = without_messages(|| serde_json::to_string(&m).unwrap());
        assert!(!snapshot.contains("secret") && !snapshot.contains(&msg_id), "{snapshot}");
    }

    #[test]
    fn applying_every_resource_rebuilds_the_model() {
        let m = model_with_instance(false);
        m.create_topic("a", R, "I1", "t", MessageType::GlobalOrder, "r").unwrap();
        m.create_group("a", R, "I1", "GID_g", "").unwrap();
        m.subscribe("I1", "GID_g", "t", "x").unwrap();
        m.grant("a", R, "I1", "t", "42", false, 6).unwrap();
        let keys = drained(&m);
        let mut rebuilt = RocketMqModel::default();
        for key in &keys {
            rebuilt.apply(key, m.resource(key)).unwrap();
        }
        let (a, b) = (serde_json::to_value(&m).unwrap(), serde_json::to_value(&rebuilt).unwrap());
        assert_eq!(a["instances"], b["instances"]);
        assert_eq!(a["regions"], b["regions"]);
        assert_eq!(rebuilt.instance("a", R, "I1").unwrap().read().topic("t").unwrap().queue_count(), 1);
        // A journaled delete removes the key; a key of a missing instance is refused.
        rebuilt.apply("t/I1/t", None).unwrap();
        assert!(rebuilt.instance("a", R, "I1").unwrap().read().topic("t").is_err());
        assert!(rebuilt.apply("t/NOPE/t", Some(serde_json::json!({}))).is_err());
        assert!(rebuilt.apply("bogus", None).is_err());
        rebuilt.apply("i/I1", None).unwrap();
        assert!(rebuilt.instance("a", R, "I1").is_err());
    }

    #[test]
    fn the_document_round_trips_and_old_files_load() {
        let m = model_with_instance(true);
        m.create_topic("a", R, "I1", "t", MessageType::Normal, "").unwrap();
        m.send("I1", "t", NewMessage::new("a", "k", "x")).unwrap();
        let text = serde_json::to_string(&m).unwrap();
        let back: RocketMqModel = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
        // A file in the format written before the model was sealed (query tasks, no queue count).
        let mut old: Value = serde_json::from_str(&text).unwrap();
        old["query_tasks"] = serde_json::json!({});
        old["next_task_seq"] = 3.into();
        old["instances"]["I1"]["topics"]["t"].as_object_mut().unwrap().remove("queue_count");
        let loaded: RocketMqModel = serde_json::from_value(old).unwrap();
        let handle = loaded.instance("a", R, "I1").unwrap();
        assert_eq!(handle.read().topic("t").unwrap().queue_count(), 8);
        assert_eq!(handle.read().message_counts("t").unwrap(), (0, 1));
    }
}
