//! The Kafka model's data: instances (metadata, topics, consumer groups), partitions with offsets, committed
//! offsets. Vendor-neutral: no vendor status numbers or parameter names; facades translate. Message payloads
//! are not here (they belong to the broker's message log); partitions keep only the offsets and times the
//! management APIs show.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::Cloud;

/// A point in time: milliseconds since the Unix epoch (the model's one time representation).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Millis(pub i64);

impl Millis {
    /// Now.
    pub fn now() -> Millis {
        Millis(crate::engine::now_ms())
    }

    /// Whole seconds since the epoch (rounded down).
    pub fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// From Unix seconds (saturating).
    pub fn from_secs(secs: i64) -> Millis {
        Millis(secs.saturating_mul(1000))
    }
}

/// Instance lifecycle state. Vendors number these differently; their facades map them.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum InstanceStatus {
    Creating,
    #[default]
    Running,
    Deleting,
}

/// How clients reach an instance.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// Only from inside the VPC.
    #[default]
    Vpc,
    /// From the VPC and the internet.
    VpcAndInternet,
}

/// How an instance is paid for.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Billing {
    /// Paid in advance for a period.
    #[default]
    Subscription,
    /// Paid by use.
    PayAsYouGo,
}

/// The instance's disk class.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DiskType {
    /// An efficient ("ultra") cloud disk.
    #[default]
    Ultra,
    Ssd,
}

/// A resource tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    #[serde(default)]
    pub value: String,
}

/// Commercial and deployment attributes some vendors show (none is interpreted by the model).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceAttributes {
    /// When a subscription ends; None: never.
    pub expires_at: Option<Millis>,
    pub network: Network,
    pub billing: Billing,
    pub disk_type: DiskType,
    /// The product edition (e.g. `normal`, `professional`); None: the vendor's default.
    pub edition: Option<String>,
    /// The open-source Kafka version the instance claims; None: the vendor's default.
    pub kafka_version: Option<String>,
    /// The resource group; None: the account's default group.
    pub resource_group: Option<String>,
    pub tags: Vec<Tag>,
    /// The instance's IP allow-list per access point (`security.rs`); absent while empty, so stored
    /// instances keep their shape.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_ips: Vec<super::security::AllowedIp>,
}

/// An instance's own attributes (what the `i/<instance>` resource stores). Built by a facade with
/// [`InstanceMeta::new`] and handed to [`super::KafkaModel::add_instance`]; changed afterwards only through
/// the model's command methods.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceMeta {
    pub id: String,
    pub cloud: Cloud,
    pub account: String,
    pub region: String,
    pub name: String,
    #[serde(default)]
    pub status: InstanceStatus,
    #[serde(default)]
    pub created_at_ms: Millis,
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
    #[serde(default)]
    pub attributes: InstanceAttributes,
    /// State files before the typed attributes kept them in an untyped map; read once, then migrated.
    #[serde(default, rename = "extra", skip_serializing)]
    legacy_extra: BTreeMap<String, Value>,
    /// State files before [`Millis`] kept the creation time in Unix seconds.
    #[serde(default, rename = "created_at", skip_serializing)]
    legacy_created_at: Option<i64>,
}

impl InstanceMeta {
    /// A running instance created now, named by its id, with 3 brokers and quotas of 0 (nothing can be
    /// created until the facade sets them); the facade fills in its vendor's attributes.
    pub fn new(id: &str, cloud: Cloud, account: &str, region: &str) -> InstanceMeta {
        InstanceMeta {
            id: id.to_string(),
            cloud,
            account: account.to_string(),
            region: region.to_string(),
            name: id.to_string(),
            status: InstanceStatus::Running,
            created_at_ms: Millis::now(),
            brokers: 3,
            bandwidth_mbps: 0,
            disk_gb: 0,
            vip: "127.0.0.1".into(),
            // Assigned by `KafkaModel::add_instance` (see `super::vports`).
            vport: 0,
            vpc_id: String::new(),
            subnet_id: String::new(),
            zone_id: String::new(),
            msg_retention_minutes: 0,
            max_topics: 0,
            max_partitions: 0,
            attributes: InstanceAttributes::default(),
            legacy_extra: BTreeMap::new(),
            legacy_created_at: None,
        }
    }

    /// Moves what an older state file held in untyped fields into the typed ones.
    pub(super) fn migrate(&mut self) {
        if let Some(secs) = self.legacy_created_at.take() {
            if self.created_at_ms == Millis::default() {
                self.created_at_ms = Millis::from_secs(secs);
            }
        }
        let extra = std::mem::take(&mut self.legacy_extra);
        let a = &mut self.attributes;
        for (key, value) in extra {
            match key.as_str() {
                "ExpiredTime" => a.expires_at = value.as_i64().map(Millis),
                "DeployType" => {
                    a.network = if value.as_i64() == Some(4) { Network::VpcAndInternet } else { Network::Vpc }
                }
                "PaidType" => {
                    a.billing = if value.as_i64() == Some(1) { Billing::PayAsYouGo } else { Billing::Subscription }
                }
                "DiskType" => a.disk_type = if value.as_i64() == Some(1) { DiskType::Ssd } else { DiskType::Ultra },
                "SpecType" => a.edition = value.as_str().map(str::to_string),
                "OpenSourceVersion" => a.kafka_version = value.as_str().map(str::to_string),
                "ResourceGroupId" => a.resource_group = value.as_str().map(str::to_string),
                "Tags" => a.tags = legacy_tags(&value),
                _ => {}
            }
        }
    }
}

/// Tags as older state files kept them: `[{"Key": ..., "Value": ...}]`.
fn legacy_tags(value: &Value) -> Vec<Tag> {
    value
        .as_array()
        .map(|tags| {
            tags.iter()
                .filter_map(|t| {
                    let key = t.get("Key")?.as_str()?.to_string();
                    let value = t.get("Value").and_then(Value::as_str).unwrap_or("").to_string();
                    Some(Tag { key, value })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One instance: its attributes, topics in creation order, consumer groups in creation order, and the
/// running partition total its quota check uses (kept by every command, never recounted).
#[derive(Debug, Clone)]
pub struct KafkaInstance {
    pub(super) meta: InstanceMeta,
    pub(super) topics: IndexMap<String, Topic>,
    pub(super) groups: IndexMap<String, ConsumerGroup>,
    pub(super) partition_total: u64,
    /// SASL users by name (`security.rs`).
    pub(super) users: IndexMap<String, super::security::SaslUser>,
    /// ACL rules by id (`security.rs`).
    pub(super) acls: IndexMap<String, super::security::AclRule>,
}

/// An instance reads as its attributes (`instance.id`, `instance.region`, ...).
impl std::ops::Deref for KafkaInstance {
    type Target = InstanceMeta;
    fn deref(&self) -> &InstanceMeta {
        &self.meta
    }
}

/// The stored shape of an instance: its attributes, then `topics` and `groups`.
#[derive(Serialize)]
struct InstanceView<'a> {
    #[serde(flatten)]
    meta: &'a InstanceMeta,
    topics: &'a IndexMap<String, Topic>,
    groups: &'a IndexMap<String, ConsumerGroup>,
    /// Absent while empty, so instances without users keep their stored shape.
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    users: &'a IndexMap<String, super::security::SaslUser>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    acls: &'a IndexMap<String, super::security::AclRule>,
}

impl Serialize for KafkaInstance {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        InstanceView {
            meta: &self.meta,
            topics: &self.topics,
            groups: &self.groups,
            users: &self.users,
            acls: &self.acls,
        }
        .serialize(s)
    }
}

#[derive(Deserialize)]
struct InstanceRecord {
    #[serde(flatten)]
    meta: InstanceMeta,
    #[serde(default)]
    topics: IndexMap<String, Topic>,
    #[serde(default)]
    groups: IndexMap<String, ConsumerGroup>,
    #[serde(default)]
    users: IndexMap<String, super::security::SaslUser>,
    #[serde(default)]
    acls: IndexMap<String, super::security::AclRule>,
}

impl<'de> Deserialize<'de> for KafkaInstance {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = InstanceRecord::deserialize(d)?;
        let mut instance = KafkaInstance::assemble(r.meta, r.topics, r.groups);
        instance.users = r.users;
        instance.acls = r.acls;
        Ok(instance)
    }
}

impl KafkaInstance {
    /// An instance from stored parts (migrating older shapes), with its partition total computed once.
    pub(super) fn assemble(
        mut meta: InstanceMeta,
        mut topics: IndexMap<String, Topic>,
        mut groups: IndexMap<String, ConsumerGroup>,
    ) -> KafkaInstance {
        meta.migrate();
        topics.values_mut().for_each(Topic::migrate);
        groups.values_mut().for_each(ConsumerGroup::migrate);
        let partition_total = topics.values().map(|t| t.partitions.len() as u64).sum();
        KafkaInstance { meta, topics, groups, partition_total, users: IndexMap::new(), acls: IndexMap::new() }
    }

    /// The instance's attributes.
    pub fn meta(&self) -> &InstanceMeta {
        &self.meta
    }

    /// Topics in creation order.
    pub fn topics(&self) -> &IndexMap<String, Topic> {
        &self.topics
    }

    /// Consumer groups in creation order.
    pub fn groups(&self) -> &IndexMap<String, ConsumerGroup> {
        &self.groups
    }

    /// Partitions held by all topics (a counter kept by the commands, O(1)).
    pub fn partition_count(&self) -> u64 {
        self.partition_total
    }
}

/// Kafka topic-level settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TopicConfig {
    /// `retention.ms`; None: the instance's retention.
    pub retention_ms: Option<i64>,
    /// `segment.ms`; None: the broker default.
    pub segment_ms: Option<i64>,
    /// `min.insync.replicas`.
    pub min_insync_replicas: u32,
    /// `unclean.leader.election.enable`.
    pub unclean_leader_election: bool,
    /// `cleanup.policy=compact` (only for topics on local storage).
    #[serde(default)]
    pub compacted: bool,
    /// The topic keeps its log on the brokers' local disks instead of the vendor's cloud storage.
    #[serde(default)]
    pub local_storage: bool,
    /// Other Kafka topic configs a client set, by their Kafka names (e.g. `max.message.bytes`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub other: BTreeMap<String, String>,
}

/// The addresses allowed to use a topic.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Whitelist {
    pub enabled: bool,
    pub ips: Vec<String>,
}

/// A topic's forwarding of messages to object storage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Forward {
    pub cos_bucket: String,
    pub interval_secs: u32,
    pub active: bool,
}

/// A topic (what the `t/<instance>/<topic>` resource stores).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Topic {
    pub id: String,
    pub name: String,
    pub remark: String,
    pub replica_num: u32,
    pub created_at_ms: Millis,
    pub partitions: Vec<Partition>,
    #[serde(default)]
    pub config: TopicConfig,
    #[serde(default)]
    pub whitelist: Whitelist,
    #[serde(default)]
    pub forward: Option<Forward>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    #[serde(default, rename = "extra", skip_serializing)]
    legacy_extra: BTreeMap<String, Value>,
}

impl Topic {
    pub(super) fn build(spec: NewTopic, now: Millis) -> Topic {
        Topic {
            id: spec.id,
            name: spec.name,
            remark: spec.remark,
            replica_num: spec.replica_num,
            created_at_ms: now,
            partitions: (0..spec.partitions).map(|_| Partition::default()).collect(),
            config: spec.config,
            whitelist: spec.whitelist,
            forward: None,
            tags: spec.tags,
            legacy_extra: BTreeMap::new(),
        }
    }

    /// Moves an older state file's untyped topic settings into the typed ones.
    pub(super) fn migrate(&mut self) {
        for (key, value) in std::mem::take(&mut self.legacy_extra) {
            match key.as_str() {
                "LocalTopic" => self.config.local_storage = value.as_bool().unwrap_or(false),
                "CompactTopic" => self.config.compacted = value.as_bool().unwrap_or(false),
                "MinInsyncReplicas" => {
                    if let Some(m) = value.as_u64().and_then(|m| u32::try_from(m).ok()) {
                        self.config.min_insync_replicas = m;
                    }
                }
                "Config" => {
                    if let Value::Object(map) = value {
                        for (k, v) in map {
                            self.config.set_kafka_config(&k, &v);
                        }
                    }
                }
                "Tags" => self.tags = legacy_tags(&value),
                _ => {}
            }
        }
    }
}

impl TopicConfig {
    /// Applies one Kafka topic config given by its Kafka name (`retention.ms`, ...); values may be JSON
    /// strings or numbers. Unknown names are kept in `other`.
    pub fn set_kafka_config(&mut self, name: &str, value: &Value) {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let int = text.trim().parse::<i64>().ok();
        match (name, int) {
            ("retention.ms", Some(v)) => self.retention_ms = Some(v),
            ("segment.ms", Some(v)) => self.segment_ms = Some(v),
            ("cleanup.policy", _) => self.compacted = text.contains("compact"),
            _ => {
                self.other.insert(name.to_string(), text);
            }
        }
    }
}

/// A partition's offsets (payloads live in the broker's message log).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Partition {
    /// First offset still held (grows when retention trims the log).
    pub log_start_offset: i64,
    /// Next offset to be written (Kafka's high watermark / log end offset).
    pub high_watermark: i64,
    /// When the last message was appended; 0 when nothing was ever written.
    #[serde(rename = "last_update_ms")]
    pub last_update: Millis,
}

/// A group's committed position on one partition.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct CommittedOffset {
    /// The next offset the group will read.
    pub offset: i64,
    /// When the commit was made.
    #[serde(rename = "timestamp_ms")]
    pub committed_at: Millis,
    /// When the last consumed message (`offset - 1`) was produced, if the committer knew it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produced_at: Option<Millis>,
}

/// A consumer group (what the `g/<instance>/<group>` resource stores).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConsumerGroup {
    pub name: String,
    pub remark: String,
    pub created_at_ms: Millis,
    /// topic -> partition -> committed offset.
    #[serde(default)]
    pub offsets: BTreeMap<String, BTreeMap<u32, CommittedOffset>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    #[serde(default, rename = "extra", skip_serializing)]
    legacy_extra: BTreeMap<String, Value>,
}

impl ConsumerGroup {
    pub(super) fn build(name: &str, remark: &str, tags: Vec<Tag>, now: Millis) -> ConsumerGroup {
        ConsumerGroup {
            name: name.to_string(),
            remark: remark.to_string(),
            created_at_ms: now,
            offsets: BTreeMap::new(),
            tags,
            legacy_extra: BTreeMap::new(),
        }
    }

    pub(super) fn migrate(&mut self) {
        if let Some(tags) = std::mem::take(&mut self.legacy_extra).get("Tags") {
            self.tags = legacy_tags(tags);
        }
    }
}

/// What a caller asks for when creating a topic; the model fills in the creation time and partitions.
#[derive(Debug, Clone, Default)]
pub struct NewTopic {
    pub id: String,
    pub name: String,
    pub remark: String,
    pub partitions: u32,
    pub replica_num: u32,
    pub whitelist: Whitelist,
    /// Initial settings; `min_insync_replicas` 0 means 1.
    pub config: TopicConfig,
    pub tags: Vec<Tag>,
}

/// One partition's offset commit by a consumer group.
#[derive(Debug, Clone, Copy)]
pub struct OffsetCommit<'a> {
    pub group: &'a str,
    pub topic: &'a str,
    pub partition: u32,
    /// The next offset the group will read.
    pub offset: i64,
    /// When the last consumed message (`offset - 1`) was produced, if the committer knows it (the broker
    /// reads it from its message log); GetConsumerProgress-style answers report it.
    pub produced_at: Option<Millis>,
}

/// Changes to a topic's settings; None leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct TopicUpdate {
    pub remark: Option<String>,
    pub whitelist_enabled: Option<bool>,
    pub min_insync_replicas: Option<u32>,
    pub unclean_leader_election: Option<bool>,
    pub retention_ms: Option<i64>,
    pub segment_ms: Option<i64>,
}

/// Changes to an instance's settings; None leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct InstanceUpdate {
    pub name: Option<String>,
    pub msg_retention_minutes: Option<u64>,
    /// Quotas and size (admin and tests; no vendor API changes them).
    pub max_topics: Option<u32>,
    pub max_partitions: Option<u32>,
    pub brokers: Option<u32>,
}

/// Per-partition lag of a group on a topic.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionProgress {
    pub partition: u32,
    pub broker_offset: i64,
    pub consumer_offset: i64,
    /// When the last commit was made, 0 if never committed.
    pub last_commit: Millis,
}

impl PartitionProgress {
    /// Messages not yet consumed (never negative).
    pub fn lag(&self) -> i64 {
        (self.broker_offset - self.consumer_offset).max(0)
    }
}

/// One partition's offsets, as a topic-status table row reports them.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionOffsets {
    pub partition: u32,
    pub min_offset: i64,
    pub max_offset: i64,
    /// When the last message was appended, 0 when nothing was ever written.
    pub last_update: Millis,
}

/// A topic's offset table plus its totals.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicOffsets {
    pub partitions: Vec<PartitionOffsets>,
    /// Messages held: the sum over partitions of `max - min`.
    pub total_count: i64,
    /// The latest `last_update` of any partition.
    pub last_update: Millis,
}
