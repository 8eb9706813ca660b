//! Vendor-neutral RocketMQ model: regions and clusters, instances (with or without a namespace), topics with
//! queues and stored messages, groups with subscriptions, per-queue consumer offsets, connected consumer
//! clients, retry and dead-letter queues, and topic grants to other users.
//!
//! The model owns the rules that do not depend on a wire format (name rules, uniqueness scopes, quotas,
//! cascades); facades translate requests into calls here. Until a data plane exists, producers and
//! consumers act through [`RocketMqModel::send`], [`RocketMqModel::connect_consumer`],
//! [`RocketMqModel::deliver`] and [`RocketMqModel::consume_failed`] (see `messages.rs`).

mod messages;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use messages::{
    body_crc, properties, store_size, tag_matches, Accumulation, ConsumeEvent, MessageTrack, NewMessage, Outcome,
    QueryPage, QueryTask, ResetTarget, TimeSpan, TopicBacklog, TrackType, MAX_PAGES, MAX_PAGE_SIZE,
};

use super::now_ms;

/// Most instances one account may hold in one region (seed: "每个地域（Region）最大的实例数量为500").
pub const MAX_INSTANCES_PER_REGION: usize = 500;
/// Topic capacity of an instance created without `topicCapacity` (the seed names the limit, not a default).
pub const DEFAULT_TOPIC_CAPACITY: u32 = 1000;
/// Queues of a topic; a globally ordered topic has one queue so that all messages keep one order.
pub const DEFAULT_QUEUES: u32 = 8;
/// Retries before a message goes to the group's dead-letter queue (seed: MaxReconsumeTimes default 16).
pub const DEFAULT_MAX_RECONSUME_TIMES: u32 = 16;
/// Where the emulated broker "stores" messages (reported as storeHost).
pub const STORE_HOST: &str = "127.0.0.1:10911";
/// The name server address handed out as the TCP endpoint and by the tunnel switch.
pub const NAME_SERVER: &str = "127.0.0.1:9876";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RocketMqError {
    /// A value breaks a documented rule (parameter name, reason).
    Invalid(String, String),
    RegionNotFound(String),
    InstanceNotFound(String),
    /// The instance still holds topics or groups.
    InstanceNotEmpty(String),
    /// A quota (instances per region, topics per instance, non-namespaced instances) is reached.
    QuotaExceeded(String),
    TopicNotFound(String),
    TopicExists(String),
    GroupNotFound(String),
    /// The group exists but does not subscribe the topic (group, topic).
    SubscriptionNotFound(String, String),
    /// The group id is already taken by the caller; `consumer` tells which role the existing group plays.
    GroupExists {
        group: String,
        consumer: bool,
    },
    /// The group id is taken by another account.
    GroupOwnedByOther {
        group: String,
        consumer: bool,
    },
    ConsumerNotOnline(String),
    NoMessage(String),
    GrantExists(String),
    GrantNotFound(String),
    /// The caller is not the owner of the topic it tries to grant.
    NotTopicOwner(String),
    /// The topic's permission forbids the operation (topic, "write" | "read").
    Forbidden(String, &'static str),
}

impl std::fmt::Display for RocketMqError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RocketMqError::Invalid(name, why) => write!(f, "invalid parameter {name}: {why}"),
            RocketMqError::RegionNotFound(r) => write!(f, "region {r} does not exist"),
            RocketMqError::InstanceNotFound(i) => write!(f, "instance {i} does not exist"),
            RocketMqError::InstanceNotEmpty(i) => {
                write!(f, "instance {i} still holds topics or group ids; delete them first")
            }
            RocketMqError::QuotaExceeded(what) => write!(f, "quota exceeded: {what}"),
            RocketMqError::TopicNotFound(t) => write!(f, "topic {t} does not exist"),
            RocketMqError::TopicExists(t) => write!(f, "topic {t} already exists"),
            RocketMqError::GroupNotFound(g) => write!(f, "group id {g} does not exist"),
            RocketMqError::SubscriptionNotFound(g, t) => write!(f, "group id {g} does not subscribe topic {t}"),
            RocketMqError::GroupExists { group, .. } => write!(f, "group id {group} already exists"),
            RocketMqError::GroupOwnedByOther { group, .. } => write!(f, "group id {group} belongs to another user"),
            RocketMqError::ConsumerNotOnline(g) => write!(f, "no consumer of group id {g} is online"),
            RocketMqError::NoMessage(what) => write!(f, "no message matches: {what}"),
            RocketMqError::GrantExists(what) => write!(f, "the authorisation already exists: {what}"),
            RocketMqError::GrantNotFound(what) => write!(f, "the authorisation does not exist: {what}"),
            RocketMqError::NotTopicOwner(t) => write!(f, "the caller is not the owner of topic {t}"),
            RocketMqError::Forbidden(t, what) => write!(f, "topic {t} does not permit {what}"),
        }
    }
}

pub type Result<T> = std::result::Result<T, RocketMqError>;

fn invalid(name: &str, why: impl Into<String>) -> RocketMqError {
    RocketMqError::Invalid(name.to_string(), why.into())
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Region {
    /// The database number the region list reports.
    pub id: i64,
    pub region_id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cluster {
    pub region_id: String,
    pub name: String,
    pub created_ms: i64,
    pub modified_ms: i64,
}

/// The seed's `orderType` values.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    Normal,
    PartitionOrder,
    GlobalOrder,
    Transaction,
    Delay,
}

impl MessageType {
    pub fn from_code(code: i64) -> Option<MessageType> {
        Some(match code {
            0 => MessageType::Normal,
            1 => MessageType::PartitionOrder,
            2 => MessageType::GlobalOrder,
            4 => MessageType::Transaction,
            5 => MessageType::Delay,
            _ => return None,
        })
    }

    pub fn code(self) -> i64 {
        match self {
            MessageType::Normal => 0,
            MessageType::PartitionOrder => 1,
            MessageType::GlobalOrder => 2,
            MessageType::Transaction => 4,
            MessageType::Delay => 5,
        }
    }
}

/// Topic permission bits as the seed numbers them: 6 read and write, 4 write forbidden, 2 read forbidden.
pub const PERM_READ: u8 = 4;
pub const PERM_WRITE: u8 = 2;
pub const PERM_READ_WRITE: u8 = 6;

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum MessageModel {
    #[default]
    Clustering,
    Broadcasting,
}

impl MessageModel {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageModel::Clustering => "CLUSTERING",
            MessageModel::Broadcasting => "BROADCASTING",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Instance {
    pub id: String,
    pub account: String,
    pub region: String,
    pub cluster: String,
    pub name: String,
    pub remark: String,
    /// With a namespace, names are unique inside the instance; without, across every non-namespaced instance.
    pub independent_naming: bool,
    pub max_send_tps: i64,
    pub max_receive_tps: i64,
    pub topic_capacity: u32,
    pub created_ms: i64,
    /// `anyTunnel` or `singleTunnel` after a tunnel switch; empty before.
    #[serde(default)]
    pub tunnel_type: String,
    #[serde(default)]
    pub vswitch_id: String,
    pub name_server: String,
    #[serde(default)]
    pub topics: BTreeMap<String, Topic>,
    #[serde(default)]
    pub groups: BTreeMap<String, Group>,
}

/// A grant of a topic to another user (a primary account id or a sub-account name).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Grant {
    pub user: String,
    pub sub_account: bool,
    /// 2 publish, 4 subscribe, 6 both.
    pub relation: u8,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Topic {
    pub name: String,
    pub owner: String,
    pub message_type: MessageType,
    pub remark: String,
    pub perm: u8,
    pub created_ms: i64,
    pub modified_ms: i64,
    pub queues: Vec<Queue>,
    /// Timed messages not yet due; they enter a queue at their delivery time.
    #[serde(default)]
    pub scheduled: Vec<Message>,
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Round-robin position for messages without a sharding key.
    #[serde(default)]
    pub next_queue: u32,
}

/// One consume queue; a message's queue offset is its index.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Queue {
    pub messages: Vec<Message>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Message {
    pub msg_id: String,
    pub topic: String,
    pub queue_id: u32,
    pub queue_offset: i64,
    /// Position in the broker's commit log (also encoded in the message id).
    pub commit_offset: i64,
    pub tag: Option<String>,
    pub keys: Vec<String>,
    pub body: Vec<u8>,
    pub user_properties: BTreeMap<String, String>,
    pub born_ms: i64,
    pub born_host: String,
    pub store_ms: i64,
    pub store_host: String,
    pub reconsume_times: u32,
    /// Absolute delivery time of a timed/delayed message.
    pub start_deliver_ms: Option<i64>,
    pub sharding_key: Option<String>,
    /// The producer's group id, when the producer named one.
    pub producer_group: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Subscription {
    /// Tag expression: `*` or `tagA || tagB`.
    pub expression: String,
    /// Increases on every change, as RocketMQ's subVersion.
    pub version: i64,
}

/// A consumer client connected for a group (what the broker learns from heartbeats).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ConsumerClient {
    pub client_id: String,
    /// `ip:port` of the connection.
    pub client_addr: String,
    pub language: String,
    pub version: String,
    pub remote_ip: String,
    /// PUSH or PULL.
    pub consume_type: String,
    pub message_model: MessageModel,
    pub thread_count: u32,
    pub started_ms: i64,
    pub last_seen_ms: i64,
    /// topic -> tag expression this client subscribes.
    pub subscriptions: BTreeMap<String, String>,
}

impl ConsumerClient {
    /// A Java push consumer at `ip`, subscribing `topic` with `expression` (a convenience for tests and fixtures).
    pub fn new(client_id: &str, ip: &str, subscriptions: &[(&str, &str)]) -> ConsumerClient {
        let now = now_ms();
        ConsumerClient {
            client_id: client_id.to_string(),
            client_addr: format!("{ip}:53412"),
            language: "JAVA".into(),
            version: "V4_9_4".into(),
            remote_ip: ip.to_string(),
            consume_type: "PUSH".into(),
            message_model: MessageModel::Clustering,
            thread_count: 20,
            started_ms: now,
            last_seen_ms: now,
            subscriptions: subscriptions.iter().map(|(t, e)| (t.to_string(), e.to_string())).collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub remark: String,
    pub created_ms: i64,
    /// Consumption switch (`group/consumerUpdate readEnable`).
    pub read_enable: bool,
    pub message_model: MessageModel,
    pub max_reconsume_times: u32,
    #[serde(default)]
    pub subscriptions: BTreeMap<String, Subscription>,
    /// topic -> next offset to consume, per queue.
    #[serde(default)]
    pub offsets: BTreeMap<String, Vec<i64>>,
    #[serde(default)]
    pub clients: Vec<ConsumerClient>,
    /// The group's retry queue (`%RETRY%<group>`): failed messages waiting for redelivery.
    #[serde(default)]
    pub retry: Vec<Message>,
    /// The group's dead-letter queue (`%DLQ%<group>`); entries are never removed by a resend.
    #[serde(default)]
    pub dead_letters: Vec<Message>,
    /// msg id -> failed consumption attempts so far (cleared when the message goes to the dead-letter queue).
    #[serde(default)]
    pub failures: BTreeMap<String, u32>,
    /// Consumption history, newest last (bounded), for statistics and traces.
    #[serde(default)]
    pub events: Vec<ConsumeEvent>,
}

impl Group {
    fn new(id: &str, remark: &str) -> Group {
        Group {
            id: id.to_string(),
            remark: remark.to_string(),
            created_ms: now_ms(),
            read_enable: true,
            message_model: MessageModel::Clustering,
            max_reconsume_times: DEFAULT_MAX_RECONSUME_TIMES,
            subscriptions: BTreeMap::new(),
            offsets: BTreeMap::new(),
            clients: Vec::new(),
            retry: Vec::new(),
            dead_letters: Vec::new(),
            failures: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    pub fn online(&self) -> bool {
        !self.clients.is_empty()
    }
}

/// What `create_instance` needs; the model assigns nothing but the creation time.
#[derive(Debug, Clone)]
pub struct NewInstance {
    pub id: String,
    pub account: String,
    pub region: String,
    pub cluster: String,
    pub name: String,
    pub remark: String,
    pub independent_naming: bool,
    pub max_send_tps: i64,
    pub max_receive_tps: i64,
    pub topic_capacity: Option<u32>,
}

#[derive(Default, Debug, Clone, Serialize, Deserialize)]
pub struct RocketMqModel {
    #[serde(default)]
    pub regions: BTreeMap<String, Region>,
    #[serde(default)]
    pub clusters: Vec<Cluster>,
    #[serde(default)]
    pub instances: BTreeMap<String, Instance>,
    /// Next commit-log position; every stored message takes one.
    #[serde(default)]
    pub commit_log_offset: i64,
    /// Paged message queries (`taskId`), bounded.
    #[serde(default)]
    pub query_tasks: BTreeMap<String, messages::QueryTask>,
    #[serde(default)]
    pub next_task_seq: u64,
}

/// Topic names: `[A-Za-z0-9_-]{1,255}`, not starting with the group prefixes `CID` or `GID`.
pub fn check_topic_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 255 {
        return Err(invalid("topic", "must be 1 to 255 characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(invalid("topic", "only letters, digits, '-' and '_' are allowed"));
    }
    if name.starts_with("CID") || name.starts_with("GID") {
        return Err(invalid("topic", "\"CID\" and \"GID\" are reserved prefixes of group ids"));
    }
    Ok(())
}

/// Group ids: `GID_`/`GID-` (or the legacy `CID_`/`CID-`), then letters, digits, `-`, `_`; 5 to 64 characters.
pub fn check_group_id(id: &str) -> Result<()> {
    let prefix_ok = ["GID_", "GID-", "CID_", "CID-"].iter().any(|p| id.starts_with(p));
    if !prefix_ok {
        return Err(invalid("groupId", "must start with \"GID_\" or \"GID-\""));
    }
    if !(5..=64).contains(&id.len()) {
        return Err(invalid("groupId", "must be 5 to 64 characters"));
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(invalid("groupId", "only letters, digits, '-' and '_' are allowed"));
    }
    Ok(())
}

/// Instance names: 3 to 64 characters, Chinese or English.
pub fn check_instance_name(name: &str) -> Result<()> {
    let n = name.chars().count();
    if !(3..=64).contains(&n) {
        return Err(invalid("instanceName", "must be 3 to 64 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid("instanceName", "control characters are not allowed"));
    }
    Ok(())
}

impl RocketMqModel {
    pub fn add_region(&mut self, region_id: &str, name: &str) {
        if !self.regions.contains_key(region_id) {
            let id = self.regions.len() as i64 + 1;
            self.regions.insert(region_id.to_string(), Region { id, region_id: region_id.into(), name: name.into() });
        }
    }

    pub fn region(&self, region_id: &str) -> Result<&Region> {
        self.regions.get(region_id).ok_or_else(|| RocketMqError::RegionNotFound(region_id.to_string()))
    }

    pub fn add_cluster(&mut self, region_id: &str, name: &str) -> Result<()> {
        self.region(region_id)?;
        if !self.clusters.iter().any(|c| c.region_id == region_id && c.name == name) {
            let now = now_ms();
            self.clusters.push(Cluster {
                region_id: region_id.into(),
                name: name.into(),
                created_ms: now,
                modified_ms: now,
            });
        }
        Ok(())
    }

    pub fn clusters_in<'a>(&'a self, region_id: &'a str) -> impl Iterator<Item = &'a Cluster> + 'a {
        self.clusters.iter().filter(move |c| c.region_id == region_id)
    }

    pub fn instances_of<'a>(&'a self, account: &'a str, region: &'a str) -> impl Iterator<Item = &'a Instance> + 'a {
        self.instances.values().filter(move |i| i.account == account && i.region == region)
    }

    pub fn create_instance(&mut self, spec: NewInstance) -> Result<&Instance> {
        self.region(&spec.region)?;
        if !self.clusters_in(&spec.region).any(|c| c.name == spec.cluster) {
            return Err(invalid(
                "cluster",
                format!("cluster {:?} does not exist in region {}", spec.cluster, spec.region),
            ));
        }
        check_instance_name(&spec.name)?;
        if spec.max_send_tps <= 0 {
            return Err(invalid("maxSendTps", "must be a positive number"));
        }
        if spec.max_receive_tps <= 0 {
            return Err(invalid("maxReceiveTps", "must be a positive number"));
        }
        if spec.topic_capacity == Some(0) {
            return Err(invalid("topicCapacity", "must be a positive number"));
        }
        if self.instances.contains_key(&spec.id) {
            return Err(invalid("instanceId", format!("instance {} already exists", spec.id)));
        }
        let mut count = 0;
        for i in self.instances_of(&spec.account, &spec.region) {
            count += 1;
            if i.name == spec.name {
                return Err(invalid(
                    "instanceName",
                    format!("an instance named {:?} exists in this region", spec.name),
                ));
            }
            if !spec.independent_naming && !i.independent_naming {
                return Err(RocketMqError::QuotaExceeded(
                    "at most 1 instance without a namespace (independentNaming=false) per region".into(),
                ));
            }
        }
        if count >= MAX_INSTANCES_PER_REGION {
            return Err(RocketMqError::QuotaExceeded(format!(
                "at most {MAX_INSTANCES_PER_REGION} instances per region"
            )));
        }
        let id = spec.id.clone();
        self.instances.insert(
            id.clone(),
            Instance {
                id: spec.id,
                account: spec.account,
                region: spec.region,
                cluster: spec.cluster,
                name: spec.name,
                remark: spec.remark,
                independent_naming: spec.independent_naming,
                max_send_tps: spec.max_send_tps,
                max_receive_tps: spec.max_receive_tps,
                topic_capacity: spec.topic_capacity.unwrap_or(DEFAULT_TOPIC_CAPACITY),
                created_ms: now_ms(),
                tunnel_type: String::new(),
                vswitch_id: String::new(),
                name_server: NAME_SERVER.into(),
                topics: BTreeMap::new(),
                groups: BTreeMap::new(),
            },
        );
        self.instances.get(&id).ok_or_else(|| RocketMqError::InstanceNotFound(id))
    }

    /// The caller's instance in a region; another account's or region's is "not found".
    pub fn instance(&self, account: &str, region: &str, id: &str) -> Result<&Instance> {
        self.instances
            .get(id)
            .filter(|i| i.account == account && i.region == region)
            .ok_or_else(|| RocketMqError::InstanceNotFound(id.to_string()))
    }

    pub fn instance_mut(&mut self, account: &str, region: &str, id: &str) -> Result<&mut Instance> {
        self.instances
            .get_mut(id)
            .filter(|i| i.account == account && i.region == region)
            .ok_or_else(|| RocketMqError::InstanceNotFound(id.to_string()))
    }

    /// The instance a request means: the named one, or, when `instanceId` is omitted, the caller's instance
    /// without a namespace (the seed: "如果您的实例无命名空间，则无需填写该参数").
    pub fn resolve_instance(&self, account: &str, region: &str, id: Option<&str>) -> Result<String> {
        match id {
            Some(id) => self.instance(account, region, id).map(|i| i.id.clone()),
            None => self
                .instances_of(account, region)
                .find(|i| !i.independent_naming)
                .map(|i| i.id.clone())
                .ok_or_else(|| invalid("instanceId", "required: the caller has no instance without a namespace")),
        }
    }

    pub fn update_instance(
        &mut self,
        account: &str,
        region: &str,
        id: &str,
        name: Option<&str>,
        remark: Option<&str>,
    ) -> Result<()> {
        self.instance(account, region, id)?;
        if let Some(name) = name {
            check_instance_name(name)?;
            if self.instances_of(account, region).any(|i| i.id != id && i.name == name) {
                return Err(invalid("instanceName", format!("an instance named {name:?} exists in this region")));
            }
        }
        let instance = self.instance_mut(account, region, id)?;
        if let Some(name) = name {
            instance.name = name.to_string();
        }
        if let Some(remark) = remark {
            instance.remark = remark.to_string();
        }
        Ok(())
    }

    /// Deletes an instance that holds no topics and no groups.
    pub fn delete_instance(&mut self, account: &str, region: &str, id: &str) -> Result<Instance> {
        let instance = self.instance(account, region, id)?;
        if !instance.topics.is_empty() || !instance.groups.is_empty() {
            return Err(RocketMqError::InstanceNotEmpty(id.to_string()));
        }
        self.query_tasks.retain(|_, t| t.instance_id != id);
        self.instances.remove(id).ok_or_else(|| RocketMqError::InstanceNotFound(id.to_string()))
    }

    /// Instances whose names share one namespace with `instance` (itself, or every non-namespaced one).
    fn naming_scope<'a>(&'a self, instance: &'a Instance) -> impl Iterator<Item = &'a Instance> + 'a {
        self.instances
            .values()
            .filter(move |i| i.id == instance.id || (!instance.independent_naming && !i.independent_naming))
    }

    pub fn create_topic(
        &mut self,
        account: &str,
        region: &str,
        instance_id: &str,
        name: &str,
        message_type: MessageType,
        remark: &str,
    ) -> Result<&Topic> {
        check_topic_name(name)?;
        let instance = self.instance(account, region, instance_id)?;
        if self.naming_scope(instance).any(|i| i.topics.contains_key(name)) {
            return Err(RocketMqError::TopicExists(name.to_string()));
        }
        if instance.topics.len() >= instance.topic_capacity as usize {
            return Err(RocketMqError::QuotaExceeded(format!(
                "instance {instance_id} holds its topicCapacity of {} topics",
                instance.topic_capacity
            )));
        }
        let queues = if message_type == MessageType::GlobalOrder { 1 } else { DEFAULT_QUEUES };
        let now = now_ms();
        let instance = self.instance_mut(account, region, instance_id)?;
        let topic = Topic {
            name: name.to_string(),
            owner: account.to_string(),
            message_type,
            remark: remark.to_string(),
            perm: PERM_READ_WRITE,
            created_ms: now,
            modified_ms: now,
            queues: (0..queues).map(|_| Queue::default()).collect(),
            scheduled: Vec::new(),
            grants: Vec::new(),
            next_queue: 0,
        };
        Ok(instance.topics.entry(name.to_string()).or_insert(topic))
    }

    /// Deletes a topic with its messages, grants and every group's subscription to it.
    pub fn delete_topic(&mut self, account: &str, region: &str, instance_id: &str, name: &str) -> Result<Topic> {
        let instance = self.instance_mut(account, region, instance_id)?;
        let topic = instance.topics.remove(name).ok_or_else(|| RocketMqError::TopicNotFound(name.to_string()))?;
        for group in instance.groups.values_mut() {
            group.subscriptions.remove(name);
            group.offsets.remove(name);
            group.retry.retain(|m| m.topic != name);
            for client in &mut group.clients {
                client.subscriptions.remove(name);
            }
        }
        self.query_tasks.retain(|_, t| !(t.instance_id == instance_id && t.topic.as_deref() == Some(name)));
        Ok(topic)
    }

    pub fn set_topic_perm(
        &mut self,
        account: &str,
        region: &str,
        instance_id: &str,
        name: &str,
        perm: u8,
    ) -> Result<()> {
        if ![PERM_READ_WRITE, PERM_READ, PERM_WRITE].contains(&perm) {
            return Err(invalid("perm", "must be 6 (read and write), 4 (write forbidden) or 2 (read forbidden)"));
        }
        let topic = self.instance_mut(account, region, instance_id)?.topic_mut(name)?;
        topic.perm = perm;
        topic.modified_ms = now_ms();
        Ok(())
    }

    pub fn create_group(
        &mut self,
        account: &str,
        region: &str,
        instance_id: &str,
        id: &str,
        remark: &str,
    ) -> Result<&Group> {
        check_group_id(id)?;
        let instance = self.instance(account, region, instance_id)?;
        for other in self.naming_scope(instance) {
            if let Some(existing) = other.groups.get(id) {
                // A group with subscriptions, or one no producer ever used, is a consumer (subscription) group;
                // one that only produced messages is a producer (publisher) group.
                let produced = other.topics.values().any(|t| t.produced_by(id));
                let consumer = !existing.subscriptions.is_empty() || !produced;
                let group = id.to_string();
                return Err(if other.account == account {
                    RocketMqError::GroupExists { group, consumer }
                } else {
                    RocketMqError::GroupOwnedByOther { group, consumer }
                });
            }
        }
        let instance = self.instance_mut(account, region, instance_id)?;
        Ok(instance.groups.entry(id.to_string()).or_insert_with(|| Group::new(id, remark)))
    }

    pub fn delete_group(&mut self, account: &str, region: &str, instance_id: &str, id: &str) -> Result<Group> {
        let instance = self.instance_mut(account, region, instance_id)?;
        let group = instance.groups.remove(id).ok_or_else(|| RocketMqError::GroupNotFound(id.to_string()))?;
        self.query_tasks.retain(|_, t| !(t.instance_id == instance_id && t.group.as_deref() == Some(id)));
        Ok(group)
    }

    /// Grants a topic the caller owns to another user.
    pub fn grant(
        &mut self,
        account: &str,
        region: &str,
        instance_id: &str,
        topic: &str,
        user: &str,
        sub_account: bool,
        relation: u8,
    ) -> Result<()> {
        if ![2, 4, 6].contains(&relation) {
            return Err(invalid("relation", "must be 2 (publish), 4 (subscribe) or 6 (both)"));
        }
        if user == account {
            return Err(invalid("empowerUser", "the owner cannot authorise itself"));
        }
        let topic_ref = self.owned_topic_mut(account, region, instance_id, topic)?;
        if topic_ref.grants.iter().any(|g| g.user == user) {
            return Err(RocketMqError::GrantExists(format!("topic {topic} to user {user}")));
        }
        topic_ref.grants.push(Grant { user: user.to_string(), sub_account, relation, created_ms: now_ms() });
        Ok(())
    }

    pub fn revoke(&mut self, account: &str, region: &str, instance_id: &str, topic: &str, user: &str) -> Result<()> {
        let topic_ref = self.owned_topic_mut(account, region, instance_id, topic)?;
        let before = topic_ref.grants.len();
        topic_ref.grants.retain(|g| g.user != user);
        if topic_ref.grants.len() == before {
            return Err(RocketMqError::GrantNotFound(format!("topic {topic} to user {user}")));
        }
        Ok(())
    }

    /// The grants of a topic the caller owns (read-only: listing grants changes nothing).
    pub fn grants(&self, account: &str, region: &str, instance_id: &str, topic: &str) -> Result<&[Grant]> {
        Ok(&self.owned_topic(account, region, instance_id, topic)?.grants)
    }

    /// The caller's topic for an authorisation. A topic the caller can name but does not own (another user's
    /// topic without a namespace, or one granted to the caller) is `NotTopicOwner`; otherwise `TopicNotFound`.
    fn owned_topic(&self, account: &str, region: &str, instance_id: &str, topic: &str) -> Result<&Topic> {
        let instance = self.instance(account, region, instance_id)?;
        if let Some(owned) = instance.topics.get(topic) {
            return Ok(owned);
        }
        let foreign = self.instances.values().any(|i| {
            i.account != account
                && i.topics
                    .get(topic)
                    .is_some_and(|t| !i.independent_naming || t.grants.iter().any(|g| g.user == account))
        });
        Err(if foreign {
            RocketMqError::NotTopicOwner(topic.to_string())
        } else {
            RocketMqError::TopicNotFound(topic.to_string())
        })
    }

    fn owned_topic_mut(&mut self, account: &str, region: &str, instance_id: &str, topic: &str) -> Result<&mut Topic> {
        self.owned_topic(account, region, instance_id, topic)?;
        self.instance_mut(account, region, instance_id)?.topic_mut(topic)
    }

    /// Forgets every resource of one account (admin reset); defaults are provisioned again by the caller.
    pub fn remove_account(&mut self, account: &str) {
        let removed: Vec<String> =
            self.instances.values().filter(|i| i.account == account).map(|i| i.id.clone()).collect();
        self.instances.retain(|_, i| i.account != account);
        self.query_tasks.retain(|_, t| !removed.contains(&t.instance_id));
        for instance in self.instances.values_mut() {
            for topic in instance.topics.values_mut() {
                topic.grants.retain(|g| g.user != account);
            }
        }
    }
}

impl Instance {
    pub fn topic(&self, name: &str) -> Result<&Topic> {
        self.topics.get(name).ok_or_else(|| RocketMqError::TopicNotFound(name.to_string()))
    }

    pub fn topic_mut(&mut self, name: &str) -> Result<&mut Topic> {
        self.topics.get_mut(name).ok_or_else(|| RocketMqError::TopicNotFound(name.to_string()))
    }

    pub fn group(&self, id: &str) -> Result<&Group> {
        self.groups.get(id).ok_or_else(|| RocketMqError::GroupNotFound(id.to_string()))
    }

    pub fn group_mut(&mut self, id: &str) -> Result<&mut Group> {
        self.groups.get_mut(id).ok_or_else(|| RocketMqError::GroupNotFound(id.to_string()))
    }
}

impl Topic {
    /// Whether any stored message names `group` as its producer group.
    pub fn produced_by(&self, group: &str) -> bool {
        self.queues
            .iter()
            .flat_map(|q| q.messages.iter())
            .chain(self.scheduled.iter())
            .any(|m| m.producer_group.as_deref() == Some(group))
    }

    pub fn readable(&self) -> bool {
        self.perm & PERM_READ != 0
    }

    pub fn writable(&self) -> bool {
        self.perm & PERM_WRITE != 0
    }

    /// Every stored message (queued or scheduled).
    pub fn all_messages(&self) -> impl Iterator<Item = &Message> {
        self.queues.iter().flat_map(|q| q.messages.iter()).chain(self.scheduled.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn model_with_instance(naming: bool) -> RocketMqModel {
        let mut m = RocketMqModel::default();
        m.add_region("mq-private", "private");
        m.add_cluster("mq-private", "c1").unwrap();
        m.create_instance(NewInstance {
            id: "I1".into(),
            account: "a".into(),
            region: "mq-private".into(),
            cluster: "c1".into(),
            name: "first".into(),
            remark: String::new(),
            independent_naming: naming,
            max_send_tps: 100,
            max_receive_tps: 100,
            topic_capacity: Some(2),
        })
        .unwrap();
        m
    }

    #[test]
    fn names_follow_the_documented_rules() {
        assert!(check_topic_name("T_a-1").is_ok());
        assert!(check_topic_name("GIDx").is_err());
        assert!(check_topic_name("CID_x").is_err());
        assert!(check_topic_name("a b").is_err());
        assert!(check_topic_name(&"a".repeat(256)).is_err());
        assert!(check_group_id("GID_a").is_ok());
        assert!(check_group_id("GID-a").is_ok());
        assert!(check_group_id("CID_a").is_ok());
        assert!(check_group_id("GID_").is_err());
        assert!(check_group_id("PID_a").is_err());
        assert!(check_group_id(&format!("GID_{}", "a".repeat(61))).is_err());
        assert!(check_instance_name("实例一").is_ok());
        assert!(check_instance_name("ab").is_err());
    }

    #[test]
    fn topic_capacity_and_cascade() {
        let mut m = model_with_instance(true);
        m.create_topic("a", "mq-private", "I1", "t1", MessageType::Normal, "").unwrap();
        assert_eq!(
            m.create_topic("a", "mq-private", "I1", "t1", MessageType::Normal, "").unwrap_err(),
            RocketMqError::TopicExists("t1".into())
        );
        m.create_topic("a", "mq-private", "I1", "t2", MessageType::GlobalOrder, "").unwrap();
        assert!(matches!(
            m.create_topic("a", "mq-private", "I1", "t3", MessageType::Normal, ""),
            Err(RocketMqError::QuotaExceeded(_))
        ));
        assert_eq!(m.instances["I1"].topics["t2"].queues.len(), 1);
        assert_eq!(
            m.delete_instance("a", "mq-private", "I1").unwrap_err(),
            RocketMqError::InstanceNotEmpty("I1".into())
        );
    }
}
