//! Vendor-neutral RocketMQ model: regions and clusters, instances (with or without a namespace), topics with
//! queues, groups with subscriptions, per-queue consumer offsets, connected consumer clients, retry and
//! dead-letter queues, and topic grants to other users.
//!
//! The model is sealed: its state is private and changes only through command methods that keep the rules
//! that do not depend on a wire format (name rules, uniqueness scopes, quotas, cascades). Facades translate
//! requests into calls here and map [`RocketMqError`] onto their own codes and parameter names.
//!
//! Concurrency: every method takes `&self`. Each instance sits behind its own lock, so requests on two
//! instances (or two accounts) never wait on each other. The only shared locks are the instance directory
//! (held for a lookup or an insert, never across another lock), a per-account lock for instance lifecycle,
//! and the shared naming scope of instances without a namespace (whose names are global by the seed's rule).
//! Lock order: account lock, shared scope, then at most one instance lock at a time; the query-task table and
//! the dirty set are leaves.
//!
//! Durability: management resources (`Resources`, see `resources.rs`) are keyed per region, instance, topic
//! and group; command methods mark the keys they change. Message payloads, retry and dead-letter queues,
//! consumption history and half messages live in each instance's [`store::MessageStore`], outside those
//! resources; with `--data-dir` its changes go to the instance's message log (`msglog.rs`,
//! `crate::storage::mqlog`), never to the journal or the snapshots.
//!
//! Until a data plane exists, producers and consumers act through [`RocketMqModel::send`],
//! [`RocketMqModel::connect_consumer`], [`RocketMqModel::deliver`] and [`RocketMqModel::consume_failed`].

mod messages;
mod msglog;
mod pop;
mod resources;
mod store;
pub mod tcp;
mod topic_stats;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use serde::{Deserialize, Serialize};

pub use messages::{
    body_crc, offset_msg_id, offset_msg_id_at, properties, store_size, tag_matches, Accumulation, ConsumeEvent,
    MessageTrack, NewMessage, Outcome, QueryPage, ResetTarget, TimeSpan, TopicBacklog, TrackType, MAX_PAGES,
    MAX_PAGE_SIZE,
};
pub use msglog::{decode_record, encode_event, LogRecord};
pub use pop::{AckError, HalfMessage, PopLedger};
pub use resources::{group_key, instance_key, region_key, topic_key, without_messages};
pub use store::{PreparedHalf, StoreEvent};
pub use topic_stats::TopicStats;

// Tags and group types (tags.rs), per-message consumption records and pushes (traces.rs).
mod tags;
mod traces;
pub use tags::{GroupType, TagError, TagTarget, Tags, MAX_TAGS_PER_RESOURCE};

/// Most instances one account may hold in one region (seed: "每个地域（Region）最大的实例数量为500").
pub const MAX_INSTANCES_PER_REGION: usize = 500;
/// Topic capacity of an instance created without a capacity (the seed names the limit, not a default).
pub const DEFAULT_TOPIC_CAPACITY: u32 = 1000;
/// Queues of a topic; a globally ordered topic has one queue so that all messages keep one order.
pub const DEFAULT_QUEUES: u32 = 8;
/// Retries before a message goes to the group's dead-letter queue (seed: MaxReconsumeTimes default 16).
pub const DEFAULT_MAX_RECONSUME_TIMES: u32 = 16;
/// The store host messages get while no TCP data plane listens (reported as storeHost, encoded in offset
/// message ids); with one, its address (see [`RocketMqModel::set_served_address`]).
pub const STORE_HOST: &str = "127.0.0.1:10911";
/// The name server address stored with each instance (the TCP data plane's default address); the Open API
/// answers the address actually served when the data plane listens ([`RocketMqModel::tcp_endpoint`]).
pub const NAME_SERVER: &str = "127.0.0.1:9876";

/// A point in time: milliseconds since the Unix epoch (the one time representation of this model).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Millis(i64);

impl Millis {
    /// The current time.
    pub fn now() -> Millis {
        Millis(super::now_ms())
    }

    /// From milliseconds since the epoch.
    pub const fn from_ms(ms: i64) -> Millis {
        Millis(ms)
    }

    /// Milliseconds since the epoch.
    pub const fn as_ms(self) -> i64 {
        self.0
    }
}

/// The value an [`RocketMqError::Invalid`] is about, in the model's own terms; facades name the parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Cluster,
    InstanceId,
    InstanceName,
    MaxSendTps,
    MaxReceiveTps,
    TopicCapacity,
    Topic,
    GroupId,
    Perm,
    Relation,
    Grantee,
    Body,
    Properties,
    DeliverTime,
    QueryTask,
    Page,
}

/// Which quota a request would exceed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quota {
    /// `MAX_INSTANCES_PER_REGION` instances of one account in one region.
    InstancesPerRegion,
    /// One instance without a namespace per account and region.
    SharedInstance,
    /// The instance holds its topic capacity.
    Topics { instance: String, capacity: u32 },
}

/// Why the model refused an operation, in its own terms (facades map these onto their codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RocketMqError {
    /// A value breaks a documented rule (which value, why).
    Invalid(Field, String),
    RegionNotFound(String),
    InstanceNotFound(String),
    /// The instance still holds topics or groups.
    InstanceNotEmpty(String),
    QuotaExceeded(Quota),
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

impl std::fmt::Display for Quota {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Quota::InstancesPerRegion => write!(f, "at most {MAX_INSTANCES_PER_REGION} instances per region"),
            Quota::SharedInstance => write!(f, "at most 1 instance without a namespace per region"),
            Quota::Topics { instance, capacity } => {
                write!(f, "instance {instance} holds its capacity of {capacity} topics")
            }
        }
    }
}

impl std::fmt::Display for RocketMqError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RocketMqError::Invalid(field, why) => write!(f, "invalid {field:?}: {why}"),
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

impl std::error::Error for RocketMqError {}

/// A model operation's outcome.
pub type Result<T> = std::result::Result<T, RocketMqError>;

fn invalid(field: Field, why: impl Into<String>) -> RocketMqError {
    RocketMqError::Invalid(field, why.into())
}

/// A region (the `mq-private` Apsara Stack region and any a fixture adds).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Region {
    /// The database number the region list reports.
    pub id: i64,
    pub region_id: String,
    pub name: String,
}

/// A broker cluster of a region.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Cluster {
    pub region_id: String,
    pub name: String,
    pub created_ms: Millis,
    pub modified_ms: Millis,
}

/// The kinds of message a topic carries.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    Normal,
    PartitionOrder,
    GlobalOrder,
    Transaction,
    Delay,
}

/// Topic permission bits as RocketMQ numbers them: 6 read and write, 4 read only (write forbidden), 2 write
/// only (read forbidden).
pub const PERM_READ: u8 = 4;
pub const PERM_WRITE: u8 = 2;
pub const PERM_READ_WRITE: u8 = 6;

/// How a group's consumers share messages: each message to one consumer, or to every consumer.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum MessageModel {
    #[default]
    Clustering,
    Broadcasting,
}

/// How clients reach an instance's brokers after a tunnel switch.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub enum Tunnel {
    /// Never switched.
    #[default]
    #[serde(rename = "")]
    Unset,
    #[serde(rename = "anyTunnel")]
    Any,
    #[serde(rename = "singleTunnel")]
    Single,
}

/// The durable facts of an instance (its topics and groups are resources of their own).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct InstanceMeta {
    id: String,
    account: String,
    region: String,
    cluster: String,
    name: String,
    remark: String,
    /// With a namespace, names are unique inside the instance; without, across every non-namespaced instance.
    independent_naming: bool,
    max_send_tps: i64,
    max_receive_tps: i64,
    topic_capacity: u32,
    created_ms: Millis,
    #[serde(default)]
    tunnel_type: Tunnel,
    #[serde(default)]
    vswitch_id: String,
    name_server: String,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    tags: Tags,
}

/// A grant of a topic to another user (a primary account id or a sub-account name).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Grant {
    pub user: String,
    pub sub_account: bool,
    /// 2 publish, 4 subscribe, 6 both.
    pub relation: u8,
    pub created_ms: Millis,
}

/// A topic's management facts; its messages live in the instance's message store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Topic {
    name: String,
    owner: String,
    message_type: MessageType,
    remark: String,
    perm: u8,
    created_ms: Millis,
    modified_ms: Millis,
    /// Number of consume queues (0 in files written before the count was kept: taken from the queues).
    #[serde(default)]
    queue_count: u32,
    #[serde(default)]
    grants: Vec<Grant>,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    tags: Tags,
}

/// A stored message as the model hands it out (a copy; the message store keeps the original).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Message {
    pub msg_id: String,
    pub topic: String,
    pub queue_id: u32,
    /// Index in its queue; -1 while a timed message waits for its delivery time.
    pub queue_offset: i64,
    /// Position in the broker's commit log (also encoded in the message id).
    pub commit_offset: i64,
    pub tag: Option<String>,
    pub keys: Vec<String>,
    pub body: Vec<u8>,
    pub user_properties: BTreeMap<String, String>,
    pub born_ms: Millis,
    pub born_host: String,
    pub store_ms: Millis,
    pub store_host: String,
    pub reconsume_times: u32,
    /// Absolute delivery time of a timed/delayed message.
    pub start_deliver_ms: Option<Millis>,
    pub sharding_key: Option<String>,
    /// The producer's group id, when the producer named one.
    pub producer_group: Option<String>,
}

/// A group's subscription to one topic.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Subscription {
    /// Tag expression: `*` or `tagA || tagB`.
    pub expression: String,
    /// Increases on every change, as RocketMQ's subVersion.
    pub version: i64,
}

/// A consumer client connected for a group (what the broker learns from heartbeats): an input value, not
/// model state.
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
    pub started_ms: Millis,
    pub last_seen_ms: Millis,
    /// topic -> tag expression this client subscribes.
    pub subscriptions: BTreeMap<String, String>,
}

impl ConsumerClient {
    /// A Java push consumer at `ip`, subscribing `topic` with `expression` (a convenience for tests and fixtures).
    pub fn new(client_id: &str, ip: &str, subscriptions: &[(&str, &str)]) -> ConsumerClient {
        let now = Millis::now();
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

/// A group's management facts: settings, subscriptions, consumer offsets and connected clients. Its retry
/// and dead-letter queues and consumption history live in the instance's message store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    id: String,
    remark: String,
    created_ms: Millis,
    /// Consumption switch.
    read_enable: bool,
    message_model: MessageModel,
    max_reconsume_times: u32,
    #[serde(default)]
    subscriptions: BTreeMap<String, Subscription>,
    /// topic -> next offset to consume, per queue.
    #[serde(default)]
    offsets: BTreeMap<String, Vec<i64>>,
    #[serde(default)]
    clients: Vec<ConsumerClient>,
    #[serde(default, skip_serializing_if = "Tags::is_empty")]
    tags: Tags,
    #[serde(default, skip_serializing_if = "GroupType::is_tcp")]
    group_type: GroupType,
}

impl Group {
    fn new(id: &str, remark: &str) -> Group {
        Group {
            id: id.to_string(),
            remark: remark.to_string(),
            created_ms: Millis::now(),
            read_enable: true,
            message_model: MessageModel::Clustering,
            max_reconsume_times: DEFAULT_MAX_RECONSUME_TIMES,
            subscriptions: BTreeMap::new(),
            offsets: BTreeMap::new(),
            clients: Vec::new(),
            tags: Tags::new(),
            group_type: GroupType::Tcp,
        }
    }

    /// The id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The free-text remark.
    pub fn remark(&self) -> &str {
        &self.remark
    }
    /// When it was created.
    pub fn created(&self) -> Millis {
        self.created_ms
    }
    /// Whether the group may consume (the consumption switch).
    pub fn read_enable(&self) -> bool {
        self.read_enable
    }
    /// Retries before a failed message goes to the dead-letter queue.
    pub fn max_reconsume_times(&self) -> u32 {
        self.max_reconsume_times
    }
    /// The message model the group's clients last declared.
    pub fn message_model(&self) -> MessageModel {
        self.message_model
    }
    /// topic -> subscription.
    pub fn subscriptions(&self) -> &BTreeMap<String, Subscription> {
        &self.subscriptions
    }
    /// The consumer clients connected now.
    pub fn clients(&self) -> &[ConsumerClient] {
        &self.clients
    }
    /// Whether any consumer client is connected.
    pub fn online(&self) -> bool {
        !self.clients.is_empty()
    }
}

impl Topic {
    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The account that created the topic.
    pub fn owner(&self) -> &str {
        &self.owner
    }
    /// The kind of message the topic carries.
    pub fn message_type(&self) -> MessageType {
        self.message_type
    }
    /// The free-text remark.
    pub fn remark(&self) -> &str {
        &self.remark
    }
    /// Permission bits (`PERM_*`).
    pub fn perm(&self) -> u8 {
        self.perm
    }
    /// When it was created.
    pub fn created(&self) -> Millis {
        self.created_ms
    }
    /// When its settings last changed.
    pub fn modified(&self) -> Millis {
        self.modified_ms
    }
    /// Number of consume queues.
    pub fn queue_count(&self) -> u32 {
        self.queue_count
    }
    /// Grants of the topic to other users.
    pub fn grants(&self) -> &[Grant] {
        &self.grants
    }
    /// Whether the permission allows consuming.
    pub fn readable(&self) -> bool {
        self.perm & PERM_READ != 0
    }
    /// Whether the permission allows producing.
    pub fn writable(&self) -> bool {
        self.perm & PERM_WRITE != 0
    }
}

/// One instance with everything it owns; the unit of locking.
#[derive(Debug)]
pub struct Instance {
    meta: InstanceMeta,
    topics: BTreeMap<String, Topic>,
    groups: BTreeMap<String, Group>,
    store: store::MessageStore,
    /// Set under the write lock by a delete, so a request that looked the instance up just before the delete
    /// finds it gone instead of writing into a removed instance.
    deleted: bool,
}

impl Instance {
    /// The id.
    pub fn id(&self) -> &str {
        &self.meta.id
    }
    /// The owning account.
    pub fn account(&self) -> &str {
        &self.meta.account
    }
    /// The region id.
    pub fn region(&self) -> &str {
        &self.meta.region
    }
    /// The cluster it runs in.
    pub fn cluster(&self) -> &str {
        &self.meta.cluster
    }
    /// The name.
    pub fn name(&self) -> &str {
        &self.meta.name
    }
    /// The free-text remark.
    pub fn remark(&self) -> &str {
        &self.meta.remark
    }
    /// With a namespace: names are unique inside the instance only.
    pub fn independent_naming(&self) -> bool {
        self.meta.independent_naming
    }
    /// Send TPS limit.
    pub fn max_send_tps(&self) -> i64 {
        self.meta.max_send_tps
    }
    /// Receive TPS limit.
    pub fn max_receive_tps(&self) -> i64 {
        self.meta.max_receive_tps
    }
    /// Most topics the instance may hold.
    pub fn topic_capacity(&self) -> u32 {
        self.meta.topic_capacity
    }
    /// When it was created.
    pub fn created(&self) -> Millis {
        self.meta.created_ms
    }
    /// How clients reach the brokers.
    pub fn tunnel(&self) -> Tunnel {
        self.meta.tunnel_type
    }
    /// The vSwitch of a single-tunnel switch (empty otherwise).
    pub fn vswitch_id(&self) -> &str {
        &self.meta.vswitch_id
    }
    /// The name server address clients use.
    pub fn name_server(&self) -> &str {
        &self.meta.name_server
    }
    /// Topics in name order.
    pub fn topics(&self) -> impl ExactSizeIterator<Item = &Topic> {
        self.topics.values()
    }
    /// A topic by name.
    pub fn topic(&self, name: &str) -> Result<&Topic> {
        self.topics.get(name).ok_or_else(|| RocketMqError::TopicNotFound(name.to_string()))
    }
    /// Whether the topic exists.
    pub fn has_topic(&self, name: &str) -> bool {
        self.topics.contains_key(name)
    }
    /// Groups in id order.
    pub fn groups(&self) -> impl ExactSizeIterator<Item = &Group> {
        self.groups.values()
    }
    /// A group by id.
    pub fn group(&self, id: &str) -> Result<&Group> {
        self.groups.get(id).ok_or_else(|| RocketMqError::GroupNotFound(id.to_string()))
    }
    /// Whether the group exists.
    pub fn has_group(&self, id: &str) -> bool {
        self.groups.contains_key(id)
    }

    fn topic_mut(&mut self, name: &str) -> Result<&mut Topic> {
        self.topics.get_mut(name).ok_or_else(|| RocketMqError::TopicNotFound(name.to_string()))
    }

    fn group_mut(&mut self, id: &str) -> Result<&mut Group> {
        self.groups.get_mut(id).ok_or_else(|| RocketMqError::GroupNotFound(id.to_string()))
    }
}

/// Read access to one instance. Writes go through the model's command methods (which record what changed),
/// so the handle offers only `read`.
#[derive(Clone)]
pub struct InstanceHandle(Arc<RwLock<Instance>>);

impl InstanceHandle {
    /// The instance under its read lock (hold it briefly; never across an `.await`).
    pub fn read(&self) -> RwLockReadGuard<'_, Instance> {
        self.0.read()
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

/// Regions and their clusters.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Catalog {
    regions: BTreeMap<String, Region>,
    clusters: Vec<Cluster>,
}

/// The instance directory entry: the lock plus the facts that never change after creation, so lookups and
/// quota checks need no instance lock.
#[derive(Clone)]
struct Entry {
    account: String,
    region: String,
    independent_naming: bool,
    cell: Arc<RwLock<Instance>>,
}

/// Keys changed since the storage layer last asked, in change order, each once.
#[derive(Default)]
struct Dirty {
    order: Vec<String>,
    seen: HashSet<String>,
}

/// The RocketMQ model. `Default` is empty; see the module docs for locking and durability.
#[derive(Default)]
pub struct RocketMqModel {
    catalog: RwLock<Catalog>,
    instances: RwLock<BTreeMap<String, Entry>>,
    /// Per-account lock for instance create/rename/delete (names and quotas are per account and region).
    account_locks: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Serialises name claims in the shared scope of instances without a namespace.
    shared_scope: Mutex<()>,
    /// Next commit-log position; every stored message takes one.
    commit_log: AtomicI64,
    /// Paged message queries (runtime only: a query is a read).
    tasks: Mutex<messages::QueryTasks>,
    /// Pop deliveries awaiting acknowledgement and undecided half messages (runtime only, see `pop.rs`).
    pop: Mutex<PopLedger>,
    dirty: Mutex<Dirty>,
    /// With `--data-dir`: where every instance's store records its events for the message log (see
    /// `msglog.rs`); None in memory.
    message_sink: RwLock<Option<Arc<store::Sink>>>,
    /// The `ip:port` the TCP data plane serves (runtime only; set by `crate::rocketmq::remoting`): the name
    /// server the Open API answers and the store host message ids encode. None: not listening.
    served: RwLock<Option<String>>,
    /// Offset resets the TCP data plane has yet to announce to the group's running consumers (runtime,
    /// bounded: see `tcp.rs`).
    reset_notices: Mutex<std::collections::VecDeque<tcp::ResetNotice>>,
    /// Whether the MQ HTTP half messages kept in the stores joined the pop ledger (see `pop.rs`).
    http_halves_loaded: std::sync::atomic::AtomicBool,
    /// Counts every change, durable resource or message store alike.
    changes: AtomicU64,
}

impl std::fmt::Debug for RocketMqModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocketMqModel").field("instances", &self.instances.read().len()).finish_non_exhaustive()
    }
}

/// Topic names: `[A-Za-z0-9_-]{1,255}`, not starting with the group prefixes `CID` or `GID`.
pub fn check_topic_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 255 {
        return Err(invalid(Field::Topic, "must be 1 to 255 characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(invalid(Field::Topic, "only letters, digits, '-' and '_' are allowed"));
    }
    if name.starts_with("CID") || name.starts_with("GID") {
        return Err(invalid(Field::Topic, "\"CID\" and \"GID\" are reserved prefixes of group ids"));
    }
    Ok(())
}

/// Group ids of new groups: `GID_` or `GID-`, then letters, digits, `-`, `_`; 5 to 64 characters (seed,
/// group/create `groupid`: "以“GID_”或者“GID-”开头"; legacy `CID` ids keep working for clients but cannot be
/// created).
pub fn check_group_id(id: &str) -> Result<()> {
    if !id.starts_with("GID_") && !id.starts_with("GID-") {
        return Err(invalid(Field::GroupId, "must start with \"GID_\" or \"GID-\""));
    }
    if !(5..=64).contains(&id.len()) {
        return Err(invalid(Field::GroupId, "must be 5 to 64 characters"));
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(invalid(Field::GroupId, "only letters, digits, '-' and '_' are allowed"));
    }
    Ok(())
}

/// Instance names: 3 to 64 characters, Chinese or English.
pub fn check_instance_name(name: &str) -> Result<()> {
    let n = name.chars().count();
    if !(3..=64).contains(&n) {
        return Err(invalid(Field::InstanceName, "must be 3 to 64 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(invalid(Field::InstanceName, "control characters are not allowed"));
    }
    Ok(())
}

impl RocketMqModel {
    // ------------------------------------------------------------------------------------- change tracking

    fn mark(&self, key: String) {
        self.changes.fetch_add(1, Ordering::AcqRel);
        let mut dirty = self.dirty.lock();
        if dirty.seen.insert(key.clone()) {
            dirty.order.push(key);
        }
    }

    /// A change of an instance's message store (payloads, timed messages, retries, dead letters): no
    /// management resource changed (the store recorded its events for the message log), but the change
    /// count moves so the facades know to persist.
    fn touch(&self, _instance_id: &str) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// Records the `ip:port` the TCP data plane serves (name server and broker in one listener): the Open
    /// API then answers it as the instances' TCP endpoint and new messages encode it in their offset ids.
    pub fn set_served_address(&self, addr: &str) {
        if self.served.read().as_deref() != Some(addr) {
            *self.served.write() = Some(addr.to_string());
        }
    }

    /// The TCP endpoint of an instance whose stored name server is `stored`: the served address when the
    /// data plane listens, else `stored`.
    pub fn tcp_endpoint(&self, stored: &str) -> String {
        self.served.read().clone().unwrap_or_else(|| stored.to_string())
    }

    /// The store host of new messages: the served address, else [`STORE_HOST`].
    pub fn store_host(&self) -> String {
        self.served.read().clone().unwrap_or_else(|| STORE_HOST.to_string())
    }

    /// How many changes (resources or messages) the model has seen; a caller compares two readings to learn
    /// whether anything changed in between.
    pub fn change_count(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    // ------------------------------------------------------------------------------------------ lookups

    fn entry(&self, id: &str) -> Option<Entry> {
        self.instances.read().get(id).cloned()
    }

    /// An instance by id regardless of account (the data plane addresses instances by id).
    fn cell(&self, id: &str) -> Result<Arc<RwLock<Instance>>> {
        self.entry(id).map(|e| e.cell).ok_or_else(|| RocketMqError::InstanceNotFound(id.to_string()))
    }

    /// An instance by id under its write lock, unless deleted.
    fn write_by_id<'a>(cell: &'a Arc<RwLock<Instance>>, id: &str) -> Result<RwLockWriteGuard<'a, Instance>> {
        let guard = cell.write();
        if guard.deleted {
            return Err(RocketMqError::InstanceNotFound(id.to_string()));
        }
        Ok(guard)
    }

    fn owned_cell(&self, account: &str, region: &str, id: &str) -> Result<Arc<RwLock<Instance>>> {
        self.entry(id)
            .filter(|e| e.account == account && e.region == region)
            .map(|e| e.cell)
            .ok_or_else(|| RocketMqError::InstanceNotFound(id.to_string()))
    }

    /// The caller's instance under its write lock.
    fn with_owned<R>(
        &self,
        account: &str,
        region: &str,
        id: &str,
        f: impl FnOnce(&mut Instance) -> Result<R>,
    ) -> Result<R> {
        let cell = self.owned_cell(account, region, id)?;
        let mut guard = Self::write_by_id(&cell, id)?;
        f(&mut guard)
    }

    /// An instance by id under its write lock (data plane).
    fn with_id<R>(&self, id: &str, f: impl FnOnce(&mut Instance) -> Result<R>) -> Result<R> {
        let cell = self.cell(id)?;
        let mut guard = Self::write_by_id(&cell, id)?;
        f(&mut guard)
    }

    /// An instance by id under its read lock (data plane and tests).
    pub fn instance_by_id(&self, id: &str) -> Result<InstanceHandle> {
        self.cell(id).map(InstanceHandle)
    }

    /// The caller's instance in a region; another account's or region's is "not found".
    pub fn instance(&self, account: &str, region: &str, id: &str) -> Result<InstanceHandle> {
        let cell = self.owned_cell(account, region, id)?;
        if cell.read().deleted {
            return Err(RocketMqError::InstanceNotFound(id.to_string()));
        }
        Ok(InstanceHandle(cell))
    }

    /// The caller's instances in a region, in id order.
    pub fn instances_of(&self, account: &str, region: &str) -> Vec<InstanceHandle> {
        self.instances
            .read()
            .values()
            .filter(|e| e.account == account && e.region == region)
            .map(|e| InstanceHandle(e.cell.clone()))
            .collect()
    }

    /// Every instance id, in order.
    pub fn instance_ids(&self) -> Vec<String> {
        self.instances.read().keys().cloned().collect()
    }

    /// Whether an instance id is taken (by any account).
    pub fn instance_exists(&self, id: &str) -> bool {
        self.instances.read().contains_key(id)
    }

    /// The instance a request means: the named one, or, when none is named, the caller's instance without a
    /// namespace (the seed: "如果您的实例无命名空间，则无需填写该参数").
    pub fn resolve_instance(&self, account: &str, region: &str, id: Option<&str>) -> Result<String> {
        match id {
            Some(id) => self.instance(account, region, id).map(|_| id.to_string()),
            None => self
                .instances
                .read()
                .iter()
                .find(|(_, e)| e.account == account && e.region == region && !e.independent_naming)
                .map(|(id, _)| id.clone())
                .ok_or_else(|| invalid(Field::InstanceId, "required: the caller has no instance without a namespace")),
        }
    }

    fn account_lock(&self, account: &str) -> Arc<Mutex<()>> {
        self.account_locks.lock().entry(account.to_string()).or_default().clone()
    }

    // ------------------------------------------------------------------------------------ regions, clusters

    /// Adds a region unless it exists.
    pub fn add_region(&self, region_id: &str, name: &str) {
        let mut catalog = self.catalog.write();
        if !catalog.regions.contains_key(region_id) {
            let id = catalog.regions.len() as i64 + 1;
            catalog
                .regions
                .insert(region_id.to_string(), Region { id, region_id: region_id.into(), name: name.into() });
            drop(catalog);
            self.mark(region_key(region_id));
        }
    }

    /// The region id.
    /// A region by id.
    pub fn region(&self, region_id: &str) -> Result<Region> {
        self.catalog
            .read()
            .regions
            .get(region_id)
            .cloned()
            .ok_or_else(|| RocketMqError::RegionNotFound(region_id.to_string()))
    }

    /// Every region, in id order.
    pub fn regions(&self) -> Vec<Region> {
        self.catalog.read().regions.values().cloned().collect()
    }

    /// Adds a cluster to a region unless it exists.
    pub fn add_cluster(&self, region_id: &str, name: &str) -> Result<()> {
        let mut catalog = self.catalog.write();
        if !catalog.regions.contains_key(region_id) {
            return Err(RocketMqError::RegionNotFound(region_id.to_string()));
        }
        if !catalog.clusters.iter().any(|c| c.region_id == region_id && c.name == name) {
            let now = Millis::now();
            catalog.clusters.push(Cluster {
                region_id: region_id.into(),
                name: name.into(),
                created_ms: now,
                modified_ms: now,
            });
            drop(catalog);
            self.mark(region_key(region_id));
        }
        Ok(())
    }

    /// The clusters of a region.
    pub fn clusters_in(&self, region_id: &str) -> Vec<Cluster> {
        self.catalog.read().clusters.iter().filter(|c| c.region_id == region_id).cloned().collect()
    }

    // ------------------------------------------------------------------------------------------ instances

    /// Creates an instance; returns its id.
    pub fn create_instance(&self, spec: NewInstance) -> Result<String> {
        self.region(&spec.region)?;
        if !self.clusters_in(&spec.region).iter().any(|c| c.name == spec.cluster) {
            return Err(invalid(
                Field::Cluster,
                format!("cluster {:?} does not exist in region {}", spec.cluster, spec.region),
            ));
        }
        check_instance_name(&spec.name)?;
        if spec.max_send_tps <= 0 {
            return Err(invalid(Field::MaxSendTps, "must be a positive number"));
        }
        if spec.max_receive_tps <= 0 {
            return Err(invalid(Field::MaxReceiveTps, "must be a positive number"));
        }
        if spec.topic_capacity == Some(0) {
            return Err(invalid(Field::TopicCapacity, "must be a positive number"));
        }
        let account_lock = self.account_lock(&spec.account);
        let _account = account_lock.lock();
        if self.instance_exists(&spec.id) {
            return Err(invalid(Field::InstanceId, format!("instance {} already exists", spec.id)));
        }
        let mine = self.instances_of(&spec.account, &spec.region);
        for handle in &mine {
            let i = handle.read();
            if i.deleted {
                continue;
            }
            if i.meta.name == spec.name {
                return Err(invalid(
                    Field::InstanceName,
                    format!("an instance named {:?} exists in this region", spec.name),
                ));
            }
            if !spec.independent_naming && !i.meta.independent_naming {
                return Err(RocketMqError::QuotaExceeded(Quota::SharedInstance));
            }
        }
        if mine.len() >= MAX_INSTANCES_PER_REGION {
            return Err(RocketMqError::QuotaExceeded(Quota::InstancesPerRegion));
        }
        let id = spec.id.clone();
        let instance = Instance {
            meta: InstanceMeta {
                id: spec.id,
                account: spec.account.clone(),
                region: spec.region.clone(),
                cluster: spec.cluster,
                name: spec.name,
                remark: spec.remark,
                independent_naming: spec.independent_naming,
                max_send_tps: spec.max_send_tps,
                max_receive_tps: spec.max_receive_tps,
                topic_capacity: spec.topic_capacity.unwrap_or(DEFAULT_TOPIC_CAPACITY),
                created_ms: Millis::now(),
                tunnel_type: Tunnel::Unset,
                vswitch_id: String::new(),
                name_server: NAME_SERVER.into(),
                tags: Tags::new(),
            },
            topics: BTreeMap::new(),
            groups: BTreeMap::new(),
            store: store::MessageStore::default(),
            deleted: false,
        };
        self.insert_instance(instance);
        self.mark(instance_key(&id));
        Ok(id)
    }

    fn insert_instance(&self, mut instance: Instance) {
        instance.store.recorder = self.recorder_for(&instance.meta.id);
        let entry = Entry {
            account: instance.meta.account.clone(),
            region: instance.meta.region.clone(),
            independent_naming: instance.meta.independent_naming,
            cell: Arc::new(RwLock::new(instance)),
        };
        let id = entry.cell.read().meta.id.clone();
        self.instances.write().insert(id, entry);
    }

    /// Renames an instance and/or changes its remark (None leaves a field as it is).
    pub fn update_instance(
        &self,
        account: &str,
        region: &str,
        id: &str,
        name: Option<&str>,
        remark: Option<&str>,
    ) -> Result<()> {
        let cell = self.owned_cell(account, region, id)?;
        let account_lock = self.account_lock(account);
        let _account = account_lock.lock();
        if cell.read().deleted {
            return Err(RocketMqError::InstanceNotFound(id.to_string()));
        }
        if let Some(name) = name {
            check_instance_name(name)?;
            let taken = self.instances_of(account, region).iter().any(|h| {
                let i = h.read();
                !i.deleted && i.meta.id != id && i.meta.name == name
            });
            if taken {
                return Err(invalid(Field::InstanceName, format!("an instance named {name:?} exists in this region")));
            }
        }
        let mut instance = Self::write_by_id(&cell, id)?;
        if let Some(name) = name {
            instance.meta.name = name.to_string();
        }
        if let Some(remark) = remark {
            instance.meta.remark = remark.to_string();
        }
        drop(instance);
        self.mark(instance_key(id));
        Ok(())
    }

    /// Switches how clients reach the instance; returns the name server address clients use.
    pub fn switch_tunnel(
        &self,
        account: &str,
        region: &str,
        id: &str,
        tunnel: Tunnel,
        vswitch_id: &str,
    ) -> Result<String> {
        let name_server = self.with_owned(account, region, id, |i| {
            i.meta.tunnel_type = tunnel;
            i.meta.vswitch_id = vswitch_id.to_string();
            Ok(i.meta.name_server.clone())
        })?;
        self.mark(instance_key(id));
        Ok(name_server)
    }

    /// Deletes an instance that holds no topics and no groups.
    pub fn delete_instance(&self, account: &str, region: &str, id: &str) -> Result<()> {
        let cell = self.owned_cell(account, region, id)?;
        let account_lock = self.account_lock(account);
        let _account = account_lock.lock();
        {
            let mut instance = Self::write_by_id(&cell, id)?;
            if !instance.topics.is_empty() || !instance.groups.is_empty() {
                return Err(RocketMqError::InstanceNotEmpty(id.to_string()));
            }
            instance.deleted = true;
            instance.store.dropped();
        }
        self.instances.write().remove(id);
        self.tasks.lock().forget(|t| t.instance_id == id);
        self.mark(instance_key(id));
        Ok(())
    }

    // ----------------------------------------------------------------------------------- naming scopes

    /// Runs `f` with the shared-scope lock held when `instance` has no namespace (names must then be unique
    /// across every instance without one), passing the other instances of that scope.
    fn in_naming_scope<R>(
        &self,
        entry: &Entry,
        id: &str,
        f: impl FnOnce(&[(String, Entry)]) -> Result<R>,
    ) -> Result<R> {
        if entry.independent_naming {
            return f(&[]);
        }
        let _scope = self.shared_scope.lock();
        let others: Vec<(String, Entry)> = self
            .instances
            .read()
            .iter()
            .filter(|(other, e)| other.as_str() != id && !e.independent_naming)
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect();
        f(&others)
    }

    // ---------------------------------------------------------------------------------------- topics

    /// Creates a topic (name rules, the naming scope's uniqueness, the instance's topic capacity).
    pub fn create_topic(
        &self,
        account: &str,
        region: &str,
        instance_id: &str,
        name: &str,
        message_type: MessageType,
        remark: &str,
    ) -> Result<()> {
        check_topic_name(name)?;
        let entry = self
            .entry(instance_id)
            .filter(|e| e.account == account && e.region == region)
            .ok_or_else(|| RocketMqError::InstanceNotFound(instance_id.to_string()))?;
        self.in_naming_scope(&entry, instance_id, |others| {
            if others.iter().any(|(_, e)| e.cell.read().topics.contains_key(name)) {
                return Err(RocketMqError::TopicExists(name.to_string()));
            }
            let mut instance = Self::write_by_id(&entry.cell, instance_id)?;
            if instance.topics.contains_key(name) {
                return Err(RocketMqError::TopicExists(name.to_string()));
            }
            let capacity = instance.meta.topic_capacity;
            if instance.topics.len() >= capacity as usize {
                return Err(RocketMqError::QuotaExceeded(Quota::Topics {
                    instance: instance_id.to_string(),
                    capacity,
                }));
            }
            let queues = if message_type == MessageType::GlobalOrder { 1 } else { DEFAULT_QUEUES };
            let now = Millis::now();
            instance.topics.insert(
                name.to_string(),
                Topic {
                    name: name.to_string(),
                    owner: account.to_string(),
                    message_type,
                    remark: remark.to_string(),
                    perm: PERM_READ_WRITE,
                    created_ms: now,
                    modified_ms: now,
                    queue_count: queues,
                    grants: Vec::new(),
                    tags: Tags::new(),
                },
            );
            instance.store.add_topic(name, queues);
            Ok(())
        })?;
        self.mark(topic_key(instance_id, name));
        Ok(())
    }

    /// Deletes a topic with its messages, grants and every group's subscription to it.
    pub fn delete_topic(&self, account: &str, region: &str, instance_id: &str, name: &str) -> Result<()> {
        let touched = self.with_owned(account, region, instance_id, |i| {
            i.topics.remove(name).ok_or_else(|| RocketMqError::TopicNotFound(name.to_string()))?;
            i.store.remove_topic(name);
            let mut touched = Vec::new();
            for group in i.groups.values_mut() {
                let mut changed = group.subscriptions.remove(name).is_some();
                changed |= group.offsets.remove(name).is_some();
                for client in &mut group.clients {
                    changed |= client.subscriptions.remove(name).is_some();
                }
                if changed {
                    touched.push(group.id.clone());
                }
            }
            Ok(touched)
        })?;
        self.tasks.lock().forget(|t| t.instance_id == instance_id && t.topic.as_deref() == Some(name));
        self.mark(topic_key(instance_id, name));
        for group in touched {
            self.mark(group_key(instance_id, &group));
        }
        Ok(())
    }

    /// Sets a topic's permission bits (6, 4 or 2).
    pub fn set_topic_perm(&self, account: &str, region: &str, instance_id: &str, name: &str, perm: u8) -> Result<()> {
        if ![PERM_READ_WRITE, PERM_READ, PERM_WRITE].contains(&perm) {
            return Err(invalid(Field::Perm, "must be 6 (read and write), 4 (write forbidden) or 2 (read forbidden)"));
        }
        self.with_owned(account, region, instance_id, |i| {
            let topic = i.topic_mut(name)?;
            topic.perm = perm;
            topic.modified_ms = Millis::now();
            Ok(())
        })?;
        self.mark(topic_key(instance_id, name));
        Ok(())
    }

    /// Sets a topic's creation and modification times (fixtures and golden tests pin them).
    pub fn set_topic_times(
        &self,
        account: &str,
        region: &str,
        instance_id: &str,
        name: &str,
        created: Millis,
        modified: Millis,
    ) -> Result<()> {
        self.with_owned(account, region, instance_id, |i| {
            let topic = i.topic_mut(name)?;
            topic.created_ms = created;
            topic.modified_ms = modified;
            Ok(())
        })?;
        self.mark(topic_key(instance_id, name));
        Ok(())
    }

    // ---------------------------------------------------------------------------------------- groups

    /// Creates a group.
    pub fn create_group(&self, account: &str, region: &str, instance_id: &str, id: &str, remark: &str) -> Result<()> {
        check_group_id(id)?;
        let entry = self
            .entry(instance_id)
            .filter(|e| e.account == account && e.region == region)
            .ok_or_else(|| RocketMqError::InstanceNotFound(instance_id.to_string()))?;
        self.in_naming_scope(&entry, instance_id, |others| {
            let existing = |i: &Instance| -> Option<RocketMqError> {
                let group = i.groups.get(id)?;
                // A group with subscriptions, or one no producer ever used, is a consumer (subscription) group;
                // one that only produced messages is a producer (publisher) group.
                let consumer = !group.subscriptions.is_empty() || !i.store.produced_by(id);
                let group = id.to_string();
                Some(if i.meta.account == account {
                    RocketMqError::GroupExists { group, consumer }
                } else {
                    RocketMqError::GroupOwnedByOther { group, consumer }
                })
            };
            if let Some(e) = others.iter().find_map(|(_, e)| existing(&e.cell.read())) {
                return Err(e);
            }
            let mut instance = Self::write_by_id(&entry.cell, instance_id)?;
            if let Some(e) = existing(&instance) {
                return Err(e);
            }
            instance.groups.insert(id.to_string(), Group::new(id, remark));
            instance.store.add_group(id);
            Ok(())
        })?;
        self.mark(group_key(instance_id, id));
        Ok(())
    }

    /// Deletes a group with its retry and dead-letter queues.
    pub fn delete_group(&self, account: &str, region: &str, instance_id: &str, id: &str) -> Result<()> {
        self.with_owned(account, region, instance_id, |i| {
            i.groups.remove(id).ok_or_else(|| RocketMqError::GroupNotFound(id.to_string()))?;
            i.store.remove_group(id);
            Ok(())
        })?;
        self.tasks.lock().forget(|t| t.instance_id == instance_id && t.group.as_deref() == Some(id));
        self.mark(group_key(instance_id, id));
        Ok(())
    }

    /// Switches a group's consumption on or off.
    pub fn set_read_enable(
        &self,
        account: &str,
        region: &str,
        instance_id: &str,
        id: &str,
        enable: bool,
    ) -> Result<()> {
        self.with_owned(account, region, instance_id, |i| {
            i.group_mut(id)?.read_enable = enable;
            Ok(())
        })?;
        self.mark(group_key(instance_id, id));
        Ok(())
    }

    /// Sets how often a message is retried before it goes to the group's dead-letter queue.
    pub fn set_max_reconsume_times(
        &self,
        account: &str,
        region: &str,
        instance_id: &str,
        id: &str,
        times: u32,
    ) -> Result<()> {
        self.with_owned(account, region, instance_id, |i| {
            i.group_mut(id)?.max_reconsume_times = times;
            Ok(())
        })?;
        self.mark(group_key(instance_id, id));
        Ok(())
    }

    // ---------------------------------------------------------------------------------------- grants

    /// Grants a topic the caller owns to another user.
    #[allow(clippy::too_many_arguments)]
    pub fn grant(
        &self,
        account: &str,
        region: &str,
        instance_id: &str,
        topic: &str,
        user: &str,
        sub_account: bool,
        relation: u8,
    ) -> Result<()> {
        if ![2, 4, 6].contains(&relation) {
            return Err(invalid(Field::Relation, "must be 2 (publish), 4 (subscribe) or 6 (both)"));
        }
        if user == account {
            return Err(invalid(Field::Grantee, "the owner cannot authorise itself"));
        }
        self.owned_topic_write(account, region, instance_id, topic, |t| {
            if t.grants.iter().any(|g| g.user == user) {
                return Err(RocketMqError::GrantExists(format!("topic {topic} to user {user}")));
            }
            t.grants.push(Grant { user: user.to_string(), sub_account, relation, created_ms: Millis::now() });
            Ok(())
        })?;
        self.mark(topic_key(instance_id, topic));
        Ok(())
    }

    /// Withdraws a grant of a topic the caller owns.
    pub fn revoke(&self, account: &str, region: &str, instance_id: &str, topic: &str, user: &str) -> Result<()> {
        self.owned_topic_write(account, region, instance_id, topic, |t| {
            let before = t.grants.len();
            t.grants.retain(|g| g.user != user);
            if t.grants.len() == before {
                return Err(RocketMqError::GrantNotFound(format!("topic {topic} to user {user}")));
            }
            Ok(())
        })?;
        self.mark(topic_key(instance_id, topic));
        Ok(())
    }

    /// The grants of a topic the caller owns (read-only: listing grants changes nothing).
    pub fn grants(&self, account: &str, region: &str, instance_id: &str, topic: &str) -> Result<Vec<Grant>> {
        let handle = self.instance(account, region, instance_id)?;
        if let Some(t) = handle.read().topics.get(topic) {
            return Ok(t.grants.clone());
        }
        Err(self.not_owned(account, instance_id, topic))
    }

    fn owned_topic_write<R>(
        &self,
        account: &str,
        region: &str,
        instance_id: &str,
        topic: &str,
        f: impl FnOnce(&mut Topic) -> Result<R>,
    ) -> Result<R> {
        let cell = self.owned_cell(account, region, instance_id)?;
        {
            let mut instance = Self::write_by_id(&cell, instance_id)?;
            if let Some(t) = instance.topics.get_mut(topic) {
                return f(t);
            }
        }
        Err(self.not_owned(account, instance_id, topic))
    }

    /// Why the caller's instance has no such topic: a topic the caller can name but does not own (another
    /// user's topic without a namespace, or one granted to the caller) is `NotTopicOwner`; otherwise
    /// `TopicNotFound`. Called with no instance lock held.
    fn not_owned(&self, account: &str, instance_id: &str, topic: &str) -> RocketMqError {
        let others: Vec<Entry> = self
            .instances
            .read()
            .iter()
            .filter(|(id, e)| id.as_str() != instance_id && e.account != account)
            .map(|(_, e)| e.clone())
            .collect();
        let foreign = others.iter().any(|e| {
            let i = e.cell.read();
            i.topics
                .get(topic)
                .is_some_and(|t| !i.meta.independent_naming || t.grants.iter().any(|g| g.user == account))
        });
        if foreign {
            RocketMqError::NotTopicOwner(topic.to_string())
        } else {
            RocketMqError::TopicNotFound(topic.to_string())
        }
    }

    // --------------------------------------------------------------------------------------- accounts

    /// Forgets every resource of one account (admin reset); defaults are provisioned again by the caller.
    pub fn remove_account(&self, account: &str) {
        let account_lock = self.account_lock(account);
        let _account = account_lock.lock();
        let removed: Vec<(String, Entry)> = {
            let mut instances = self.instances.write();
            let ids: Vec<String> =
                instances.iter().filter(|(_, e)| e.account == account).map(|(k, _)| k.clone()).collect();
            ids.into_iter().filter_map(|id| instances.remove(&id).map(|e| (id, e))).collect()
        };
        for (id, entry) in &removed {
            let mut instance = entry.cell.write();
            instance.deleted = true;
            instance.store.dropped();
            drop(instance);
            self.tasks.lock().forget(|t| &t.instance_id == id);
            self.mark(instance_key(id));
        }
        let rest: Vec<(String, Entry)> = self.instances.read().iter().map(|(k, e)| (k.clone(), e.clone())).collect();
        for (id, entry) in rest {
            let mut instance = entry.cell.write();
            let mut touched = Vec::new();
            for topic in instance.topics.values_mut() {
                let before = topic.grants.len();
                topic.grants.retain(|g| g.user != account);
                if topic.grants.len() != before {
                    touched.push(topic.name.clone());
                }
            }
            drop(instance);
            for t in touched {
                self.mark(topic_key(&id, &t));
            }
        }
    }

    /// Empties the model (admin reset of the whole vendor), recording the deletes.
    pub fn clear(&self) {
        let instances = std::mem::take(&mut *self.instances.write());
        for (id, entry) in instances {
            let mut instance = entry.cell.write();
            instance.deleted = true;
            instance.store.dropped();
            drop(instance);
            self.mark(instance_key(&id));
        }
        let catalog = std::mem::take(&mut *self.catalog.write());
        for region in catalog.regions.keys() {
            self.mark(region_key(region));
        }
        self.tasks.lock().forget(|_| true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Instance `I1` (own naming) with a normal topic `t` and a group `GID_g` (the data-plane tests' start).
    pub(crate) fn model_with_topic_and_group() -> RocketMqModel {
        let m = model_with_instance(true);
        m.create_topic("a", "mq-private", "I1", "t", MessageType::Normal, "").unwrap();
        m.create_group("a", "mq-private", "I1", "GID_g", "").unwrap();
        m
    }

    pub(crate) fn model_with_instance(naming: bool) -> RocketMqModel {
        let m = RocketMqModel::default();
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
        // The seed's group/create allows only GID_/GID- (legacy CID ids are not created any more).
        assert_eq!(
            check_group_id("CID_a").unwrap_err(),
            invalid(Field::GroupId, "must start with \"GID_\" or \"GID-\"")
        );
        assert!(check_group_id("CID-a").is_err());
        assert!(check_group_id("GID_").is_err());
        assert!(check_group_id("PID_a").is_err());
        assert!(check_group_id(&format!("GID_{}", "a".repeat(60))).is_ok());
        assert!(check_group_id(&format!("GID_{}", "a".repeat(61))).is_err());
        assert!(check_instance_name("实例一").is_ok());
        assert!(check_instance_name("ab").is_err());
    }

    #[test]
    fn topic_capacity_and_cascade() {
        let m = model_with_instance(true);
        m.create_topic("a", "mq-private", "I1", "t1", MessageType::Normal, "").unwrap();
        assert_eq!(
            m.create_topic("a", "mq-private", "I1", "t1", MessageType::Normal, "").unwrap_err(),
            RocketMqError::TopicExists("t1".into())
        );
        m.create_topic("a", "mq-private", "I1", "t2", MessageType::GlobalOrder, "").unwrap();
        assert_eq!(
            m.create_topic("a", "mq-private", "I1", "t3", MessageType::Normal, "").unwrap_err(),
            RocketMqError::QuotaExceeded(Quota::Topics { instance: "I1".into(), capacity: 2 })
        );
        assert_eq!(m.instance("a", "mq-private", "I1").unwrap().read().topic("t2").unwrap().queue_count(), 1);
        assert_eq!(
            m.delete_instance("a", "mq-private", "I1").unwrap_err(),
            RocketMqError::InstanceNotEmpty("I1".into())
        );
    }

    #[test]
    fn another_accounts_instance_is_not_found() {
        let m = model_with_instance(true);
        assert_eq!(m.instance("b", "mq-private", "I1").err(), Some(RocketMqError::InstanceNotFound("I1".into())));
        assert!(m.create_topic("b", "mq-private", "I1", "t1", MessageType::Normal, "").is_err());
        assert!(m.instance("a", "elsewhere", "I1").is_err());
    }

    /// Two instances are locked separately: holding one instance's write lock does not stop a write to
    /// another instance (or another account's), which would deadlock here if there were one model-wide lock.
    #[test]
    fn writes_to_two_instances_do_not_wait_on_each_other() {
        let m = model_with_instance(true);
        m.create_instance(NewInstance {
            id: "I2".into(),
            account: "b".into(),
            region: "mq-private".into(),
            cluster: "c1".into(),
            name: "second".into(),
            remark: String::new(),
            independent_naming: true,
            max_send_tps: 1,
            max_receive_tps: 1,
            topic_capacity: None,
        })
        .unwrap();
        let held = m.cell("I1").unwrap();
        let _guard = held.write();
        let started = std::time::Instant::now();
        m.create_topic("b", "mq-private", "I2", "t", MessageType::Normal, "").unwrap();
        m.create_group("b", "mq-private", "I2", "GID_g", "").unwrap();
        m.update_instance("b", "mq-private", "I2", Some("renamed"), None).unwrap();
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn the_shared_scope_spans_accounts() {
        let m = model_with_instance(false);
        m.create_instance(NewInstance {
            id: "I2".into(),
            account: "b".into(),
            region: "mq-private".into(),
            cluster: "c1".into(),
            name: "second".into(),
            remark: String::new(),
            independent_naming: false,
            max_send_tps: 1,
            max_receive_tps: 1,
            topic_capacity: None,
        })
        .unwrap();
        m.create_topic("a", "mq-private", "I1", "t", MessageType::Normal, "").unwrap();
        assert_eq!(
            m.create_topic("b", "mq-private", "I2", "t", MessageType::Normal, "").unwrap_err(),
            RocketMqError::TopicExists("t".into())
        );
        m.create_group("a", "mq-private", "I1", "GID_g", "").unwrap();
        assert_eq!(
            m.create_group("b", "mq-private", "I2", "GID_g", "").unwrap_err(),
            RocketMqError::GroupOwnedByOther { group: "GID_g".into(), consumer: true }
        );
    }
}
