//! A vendor-neutral Kafka cluster model: instances, topics, partitions with offsets (and records, for the
//! data plane), consumer groups with committed offsets. Tencent CKafka and Alibaba Kafka facades share it.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{now_ms, Cloud};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KafkaError {
    InstanceNotFound(String),
    InstanceExists(String),
    TopicNotFound(String),
    TopicExists(String),
    GroupNotFound(String),
    GroupExists(String),
    PartitionNotFound {
        topic: String,
        partition: u32,
    },
    /// Partition counts only grow.
    PartitionsCannotShrink {
        current: u32,
        requested: u32,
    },
    /// More replicas than the instance has brokers.
    TooManyReplicas {
        requested: u32,
        brokers: u32,
    },
    /// A quota of the instance (topics, partitions, groups) would be exceeded.
    QuotaExceeded(String),
}

impl std::fmt::Display for KafkaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KafkaError::InstanceNotFound(id) => write!(f, "instance {id} does not exist"),
            KafkaError::InstanceExists(id) => write!(f, "instance {id} already exists"),
            KafkaError::TopicNotFound(t) => write!(f, "topic {t} does not exist"),
            KafkaError::TopicExists(t) => write!(f, "topic {t} already exists"),
            KafkaError::GroupNotFound(g) => write!(f, "consumer group {g} does not exist"),
            KafkaError::GroupExists(g) => write!(f, "consumer group {g} already exists"),
            KafkaError::PartitionNotFound { topic, partition } => {
                write!(f, "partition {partition} of topic {topic} does not exist")
            }
            KafkaError::PartitionsCannotShrink { current, requested } => {
                write!(f, "partition count can only grow: topic has {current}, requested {requested}")
            }
            KafkaError::TooManyReplicas { requested, brokers } => {
                write!(f, "replica count {requested} exceeds the instance's {brokers} brokers")
            }
            KafkaError::QuotaExceeded(what) => write!(f, "quota exceeded: {what}"),
        }
    }
}

/// Most partitions one topic may have, whatever the instance quota says: a fixture or an imported state can
/// raise `max_partitions` to `u32::MAX`, and a request must never make localyun allocate billions of
/// partitions. Far above what either vendor allows a topic.
pub const MAX_PARTITIONS_PER_TOPIC: u32 = 100_000;

/// Instance lifecycle state, with Tencent's numbering (0 creating, 1 running, 2 deleting).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum InstanceStatus {
    Creating,
    #[default]
    Running,
    Deleting,
}

impl InstanceStatus {
    pub fn code(self) -> i64 {
        match self {
            InstanceStatus::Creating => 0,
            InstanceStatus::Running => 1,
            InstanceStatus::Deleting => 2,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KafkaInstance {
    pub id: String,
    pub cloud: Cloud,
    pub account: String,
    pub region: String,
    pub name: String,
    #[serde(default)]
    pub status: InstanceStatus,
    /// Unix seconds.
    pub created_at: i64,
    pub brokers: u32,
    pub bandwidth_mbps: u32,
    pub disk_gb: u32,
    pub vip: String,
    pub vport: u16,
    #[serde(default)]
    pub vpc_id: String,
    #[serde(default)]
    pub subnet_id: String,
    #[serde(default)]
    pub zone_id: String,
    /// Longest message retention, in minutes.
    pub msg_retention_minutes: u64,
    pub max_topics: u32,
    pub max_partitions: u32,
    /// Vendor-specific attributes the neutral model does not interpret (e.g. Alibaba's spec type).
    #[serde(default)]
    pub extra: BTreeMap<String, Value>,
    /// Topics in creation order (lists page newest-first by walking it backwards, without sorting).
    #[serde(default)]
    pub topics: IndexMap<String, Topic>,
    /// Consumer groups in creation order.
    #[serde(default)]
    pub groups: IndexMap<String, ConsumerGroup>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TopicConfig {
    pub retention_ms: Option<i64>,
    pub segment_ms: Option<i64>,
    pub min_insync_replicas: u32,
    pub unclean_leader_election: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Whitelist {
    pub enabled: bool,
    pub ips: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Forward {
    pub cos_bucket: String,
    pub interval_secs: u32,
    pub active: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Topic {
    pub id: String,
    pub name: String,
    pub remark: String,
    pub replica_num: u32,
    /// Unix milliseconds.
    pub created_at_ms: i64,
    pub partitions: Vec<Partition>,
    #[serde(default)]
    pub config: TopicConfig,
    #[serde(default)]
    pub whitelist: Whitelist,
    #[serde(default)]
    pub forward: Option<Forward>,
    #[serde(default)]
    pub extra: BTreeMap<String, Value>,
}

/// One stored record: what a producer sent, at the offset the partition gave it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub offset: i64,
    pub timestamp_ms: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Partition {
    /// First offset still held (grows when retention trims the log).
    pub log_start_offset: i64,
    /// Next offset to be written (Kafka's high watermark / log end offset).
    pub high_watermark: i64,
    /// Unix ms of the last append; 0 when nothing was ever written.
    pub last_update_ms: i64,
    #[serde(default)]
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct CommittedOffset {
    pub offset: i64,
    pub timestamp_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsumerGroup {
    pub name: String,
    pub remark: String,
    pub created_at_ms: i64,
    /// topic -> partition -> committed offset.
    #[serde(default)]
    pub offsets: BTreeMap<String, BTreeMap<u32, CommittedOffset>>,
    #[serde(default)]
    pub extra: BTreeMap<String, Value>,
}

/// What a caller asks for when creating a topic; the model fills in ids and partitions.
#[derive(Debug, Clone, Default)]
pub struct NewTopic {
    pub id: String,
    pub name: String,
    pub remark: String,
    pub partitions: u32,
    pub replica_num: u32,
    pub whitelist: Whitelist,
    pub extra: BTreeMap<String, Value>,
}

/// Per-partition lag of a group on a topic.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionProgress {
    pub partition: u32,
    pub broker_offset: i64,
    pub consumer_offset: i64,
    /// Unix ms of the last commit, 0 if never committed.
    pub last_timestamp_ms: i64,
}

impl PartitionProgress {
    pub fn lag(&self) -> i64 {
        (self.broker_offset - self.consumer_offset).max(0)
    }
}

impl KafkaInstance {
    pub fn topic(&self, name: &str) -> Result<&Topic, KafkaError> {
        self.topics.get(name).ok_or_else(|| KafkaError::TopicNotFound(name.to_string()))
    }

    pub fn topic_mut(&mut self, name: &str) -> Result<&mut Topic, KafkaError> {
        self.topics.get_mut(name).ok_or_else(|| KafkaError::TopicNotFound(name.to_string()))
    }

    pub fn group(&self, name: &str) -> Result<&ConsumerGroup, KafkaError> {
        self.groups.get(name).ok_or_else(|| KafkaError::GroupNotFound(name.to_string()))
    }

    /// Partitions held by all topics (u64: a sum of u32 counts must not overflow).
    pub fn partition_count(&self) -> u64 {
        self.topics.values().map(|t| t.partitions.len() as u64).sum()
    }

    pub fn create_topic(&mut self, spec: NewTopic) -> Result<&Topic, KafkaError> {
        if self.topics.contains_key(&spec.name) {
            return Err(KafkaError::TopicExists(spec.name));
        }
        if spec.replica_num > self.brokers {
            return Err(KafkaError::TooManyReplicas { requested: spec.replica_num, brokers: self.brokers });
        }
        if self.topics.len() >= self.max_topics as usize {
            return Err(KafkaError::QuotaExceeded(format!("at most {} topics per instance", self.max_topics)));
        }
        if spec.partitions > MAX_PARTITIONS_PER_TOPIC {
            return Err(KafkaError::QuotaExceeded(format!("at most {MAX_PARTITIONS_PER_TOPIC} partitions per topic")));
        }
        if self.partition_count() + u64::from(spec.partitions) > u64::from(self.max_partitions) {
            return Err(KafkaError::QuotaExceeded(format!("at most {} partitions per instance", self.max_partitions)));
        }
        let topic = Topic {
            id: spec.id,
            name: spec.name.clone(),
            remark: spec.remark,
            replica_num: spec.replica_num,
            created_at_ms: now_ms(),
            partitions: (0..spec.partitions).map(|_| Partition::default()).collect(),
            config: TopicConfig { min_insync_replicas: 1, ..TopicConfig::default() },
            whitelist: spec.whitelist,
            forward: None,
            extra: spec.extra,
        };
        Ok(self.topics.entry(spec.name).or_insert(topic))
    }

    pub fn delete_topic(&mut self, name: &str) -> Result<Topic, KafkaError> {
        let topic = self.topics.shift_remove(name).ok_or_else(|| KafkaError::TopicNotFound(name.to_string()))?;
        // Committed offsets of a deleted topic go with it, as in Kafka.
        for group in self.groups.values_mut() {
            group.offsets.remove(name);
        }
        Ok(topic)
    }

    /// Grows a topic to `total` partitions.
    pub fn grow_partitions(&mut self, name: &str, total: u32) -> Result<(), KafkaError> {
        let current_total = self.partition_count();
        let max = self.max_partitions;
        let topic = self.topic_mut(name)?;
        let current = topic.partitions.len() as u32;
        if total < current {
            return Err(KafkaError::PartitionsCannotShrink { current, requested: total });
        }
        if total > MAX_PARTITIONS_PER_TOPIC {
            return Err(KafkaError::QuotaExceeded(format!("at most {MAX_PARTITIONS_PER_TOPIC} partitions per topic")));
        }
        if current_total + u64::from(total - current) > u64::from(max) {
            return Err(KafkaError::QuotaExceeded(format!("at most {max} partitions per instance")));
        }
        topic.partitions.resize_with(total as usize, Partition::default);
        Ok(())
    }

    pub fn create_group(&mut self, name: &str, remark: &str) -> Result<&ConsumerGroup, KafkaError> {
        if self.groups.contains_key(name) {
            return Err(KafkaError::GroupExists(name.to_string()));
        }
        let group = ConsumerGroup {
            name: name.to_string(),
            remark: remark.to_string(),
            created_at_ms: now_ms(),
            offsets: BTreeMap::new(),
            extra: BTreeMap::new(),
        };
        Ok(self.groups.entry(name.to_string()).or_insert(group))
    }

    pub fn delete_group(&mut self, name: &str) -> Result<ConsumerGroup, KafkaError> {
        self.groups.shift_remove(name).ok_or_else(|| KafkaError::GroupNotFound(name.to_string()))
    }

    /// Appends records to one partition; returns the offset of the first. This is the data plane's entry
    /// point (and the tests'): offsets and "last update" answers of the management APIs follow it.
    pub fn append(
        &mut self,
        topic: &str,
        partition: u32,
        records: impl IntoIterator<Item = (Option<Vec<u8>>, Option<Vec<u8>>)>,
    ) -> Result<i64, KafkaError> {
        let t = self.topic_mut(topic)?;
        let p = t
            .partitions
            .get_mut(partition as usize)
            .ok_or_else(|| KafkaError::PartitionNotFound { topic: topic.to_string(), partition })?;
        let first = p.high_watermark;
        let now = now_ms();
        for (key, value) in records {
            p.records.push(Record { offset: p.high_watermark, timestamp_ms: now, key, value });
            p.high_watermark += 1;
        }
        if p.high_watermark > first {
            p.last_update_ms = now;
        }
        Ok(first)
    }

    /// Records a group's committed offset for one partition (creating the group as Kafka does on first commit).
    pub fn commit_offset(&mut self, group: &str, topic: &str, partition: u32, offset: i64) -> Result<(), KafkaError> {
        let t = self.topic(topic)?;
        if partition as usize >= t.partitions.len() {
            return Err(KafkaError::PartitionNotFound { topic: topic.to_string(), partition });
        }
        if !self.groups.contains_key(group) {
            self.create_group(group, "")?;
        }
        let g = self.groups.get_mut(group).ok_or_else(|| KafkaError::GroupNotFound(group.to_string()))?;
        g.offsets
            .entry(topic.to_string())
            .or_default()
            .insert(partition, CommittedOffset { offset, timestamp_ms: now_ms() });
        Ok(())
    }

    /// A group's progress on one topic, every partition of the topic included.
    pub fn group_progress(&self, group: &str, topic: &str) -> Result<Vec<PartitionProgress>, KafkaError> {
        let g = self.group(group)?;
        let t = self.topic(topic)?;
        let committed = g.offsets.get(topic);
        Ok(t.partitions
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let c = committed.and_then(|m| m.get(&(i as u32)));
                PartitionProgress {
                    partition: i as u32,
                    broker_offset: p.high_watermark,
                    consumer_offset: c.map_or(0, |c| c.offset),
                    last_timestamp_ms: c.map_or(0, |c| c.timestamp_ms),
                }
            })
            .collect())
    }
}

/// All Kafka instances of all clouds and accounts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct KafkaModel {
    pub instances: BTreeMap<String, KafkaInstance>,
}

impl KafkaModel {
    pub fn add_instance(&mut self, instance: KafkaInstance) -> Result<(), KafkaError> {
        if self.instances.contains_key(&instance.id) {
            return Err(KafkaError::InstanceExists(instance.id));
        }
        self.instances.insert(instance.id.clone(), instance);
        Ok(())
    }

    /// Gives an account its default instances, one per region (idempotent): `id_of(region)` names each, and
    /// `build(region, id)` makes the ones that do not exist yet. Both Kafka facades provision through here.
    pub fn provision_defaults<E>(
        &mut self,
        regions: &[&str],
        id_of: impl Fn(&str) -> String,
        build: impl Fn(&str, &str) -> Result<KafkaInstance, E>,
    ) {
        for region in regions {
            let id = id_of(region);
            if self.instances.contains_key(&id) {
                continue;
            }
            if let Ok(instance) = build(region, &id) {
                self.instances.insert(id, instance);
            }
        }
    }

    /// Forgets every resource of one account (admin reset); defaults are provisioned again by the caller.
    pub fn remove_account(&mut self, account: &str) {
        self.instances.retain(|_, i| i.account != account);
    }

    /// Forgets every resource created through one cloud's API.
    pub fn remove_cloud(&mut self, cloud: Cloud) {
        self.instances.retain(|_, i| i.cloud != cloud);
    }

    /// Instances one account sees through one cloud's API, in id order.
    pub fn instances_of<'a>(
        &'a self,
        cloud: Cloud,
        account: &'a str,
        region: Option<&'a str>,
    ) -> impl Iterator<Item = &'a KafkaInstance> + 'a {
        self.instances
            .values()
            .filter(move |i| i.cloud == cloud && i.account == account && region.is_none_or(|r| i.region == r))
    }

    /// An instance, if it exists and belongs to the caller; another account's instance is "not found".
    pub fn instance(&self, cloud: Cloud, account: &str, id: &str) -> Result<&KafkaInstance, KafkaError> {
        self.instances
            .get(id)
            .filter(|i| i.cloud == cloud && i.account == account)
            .ok_or_else(|| KafkaError::InstanceNotFound(id.to_string()))
    }

    pub fn instance_mut(&mut self, cloud: Cloud, account: &str, id: &str) -> Result<&mut KafkaInstance, KafkaError> {
        self.instances
            .get_mut(id)
            .filter(|i| i.cloud == cloud && i.account == account)
            .ok_or_else(|| KafkaError::InstanceNotFound(id.to_string()))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A running Tencent instance with small quotas (2 topics, 10 partitions) for model tests.
    pub(crate) fn instance() -> KafkaInstance {
        KafkaInstance {
            id: "ckafka-test0001".into(),
            cloud: Cloud::Tencent,
            account: "a".into(),
            region: "ap-guangzhou".into(),
            name: "test".into(),
            status: InstanceStatus::Running,
            created_at: 0,
            brokers: 3,
            bandwidth_mbps: 40,
            disk_gb: 500,
            vip: "127.0.0.1".into(),
            vport: 9092,
            vpc_id: String::new(),
            subnet_id: String::new(),
            zone_id: String::new(),
            msg_retention_minutes: 4320,
            max_topics: 2,
            max_partitions: 10,
            extra: BTreeMap::new(),
            topics: IndexMap::new(),
            groups: IndexMap::new(),
        }
    }

    fn new_topic(name: &str, partitions: u32) -> NewTopic {
        NewTopic { id: format!("topic-{name}"), name: name.into(), partitions, replica_num: 1, ..NewTopic::default() }
    }

    #[test]
    fn topics_are_unique_and_respect_quotas() {
        let mut i = instance();
        i.create_topic(new_topic("a", 4)).unwrap();
        assert_eq!(i.create_topic(new_topic("a", 1)).unwrap_err(), KafkaError::TopicExists("a".into()));
        assert!(matches!(i.create_topic(new_topic("b", 7)), Err(KafkaError::QuotaExceeded(_))));
        i.create_topic(new_topic("b", 6)).unwrap();
        assert!(matches!(i.create_topic(new_topic("c", 1)), Err(KafkaError::QuotaExceeded(_))));
        let mut too_many = new_topic("d", 1);
        too_many.replica_num = 4;
        i.topics.clear();
        assert_eq!(i.create_topic(too_many).unwrap_err(), KafkaError::TooManyReplicas { requested: 4, brokers: 3 });
    }

    #[test]
    fn topics_keep_creation_order_across_deletes() {
        let mut i = instance();
        i.max_topics = 10;
        for name in ["c", "a", "b"] {
            i.create_topic(new_topic(name, 1)).unwrap();
        }
        i.delete_topic("a").unwrap();
        i.create_topic(new_topic("a", 1)).unwrap();
        let names: Vec<&str> = i.topics.keys().map(String::as_str).collect();
        assert_eq!(names, ["c", "b", "a"]);
    }

    #[test]
    fn partitions_only_grow() {
        let mut i = instance();
        i.create_topic(new_topic("a", 2)).unwrap();
        assert_eq!(
            i.grow_partitions("a", 1).unwrap_err(),
            KafkaError::PartitionsCannotShrink { current: 2, requested: 1 }
        );
        i.grow_partitions("a", 5).unwrap();
        assert_eq!(i.topic("a").unwrap().partitions.len(), 5);
        assert!(matches!(i.grow_partitions("a", 11), Err(KafkaError::QuotaExceeded(_))));
    }

    #[test]
    fn offsets_follow_appends_and_commits() {
        let mut i = instance();
        i.create_topic(new_topic("a", 2)).unwrap();
        assert_eq!(i.append("a", 1, vec![(None, Some(b"x".to_vec())); 3]).unwrap(), 0);
        assert_eq!(i.append("a", 1, vec![(None, None)]).unwrap(), 3);
        assert!(matches!(i.append("a", 2, vec![]), Err(KafkaError::PartitionNotFound { .. })));
        i.commit_offset("g", "a", 1, 2).unwrap();
        let progress = i.group_progress("g", "a").unwrap();
        assert_eq!(progress.len(), 2);
        assert_eq!((progress[1].broker_offset, progress[1].consumer_offset, progress[1].lag()), (4, 2, 2));
        assert_eq!(progress[0].lag(), 0);
        i.delete_topic("a").unwrap();
        assert!(i.group("g").unwrap().offsets.is_empty());
    }
}

/// A fresh topic id in the cloud's shape (Tencent `topic-xxxxxxxx`; Alibaba topics are known by name).
pub fn topic_id(cloud: Cloud, name: &str) -> String {
    match cloud {
        Cloud::Alibaba => name.to_string(),
        _ => format!("topic-{}", super::ids::random_suffix(8)),
    }
}
