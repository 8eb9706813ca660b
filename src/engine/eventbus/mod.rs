//! Vendor-neutral event bus: projects bound to accounts, channels, event sources, subscriptions (one source
//! with a filter, N targets with transforms), connections, endpoints, quotas, and the trace of every
//! published event. The Huawei EventGrid facade translates its REST API into calls on this model; delivery
//! itself (HTTP, retries) runs outside the lock, in the facade's runtime.

pub mod filter;
pub mod schemas;
pub mod streams;
pub mod traces;
pub mod transform;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use parking_lot::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use schemas::{infer_schema, EventSchema, SchemaVersion};
pub use streams::{EventStream, JobOperation, JobStatus, RouterCluster, RouterJob, StreamStatus};
pub use traces::{
    AttemptDetail, DeliveryStatus, EventAttributes, EventRecord, SubscriptionTrace, TargetTrace, Traces,
    MAX_ATTEMPT_DETAILS, MAX_TRACED_EVENTS,
};
pub use transform::{Transform, TransformKind};

/// A point in time as Unix milliseconds (UTC): the event bus's one time representation. Serialised as
/// the bare number (the field names keep their `_ms` suffix on disk).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Millis(pub i64);

impl Millis {
    pub fn now() -> Millis {
        Millis(crate::engine::now_ms())
    }
}

/// The name of every project's system channel.
pub const DEFAULT_CHANNEL_NAME: &str = "default";
/// Official (cloud service) event sources every project sees in its default channel, with their event types.
pub const OFFICIAL_SOURCES: &[(&str, &str, &str)] = &[
    ("HC.OBS", "对象存储服务 OBS", "OBS"),
    ("HC.SMN", "消息通知服务 SMN", "SMN"),
    ("HC.ECS", "弹性云服务器 ECS", "ECS"),
    ("HC.FunctionGraph", "函数工作流 FunctionGraph", "FunctionGraph"),
    ("HC.DMS", "分布式消息服务 DMS", "DMS"),
];

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventBusError {
    #[error("{kind} {id} does not exist")]
    NotFound { kind: &'static str, id: String },
    #[error("a {kind} named {name:?} already exists")]
    NameDuplicated { kind: &'static str, name: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    InvalidChannel(String),
    #[error("quota {quota} of {limit} is used up")]
    QuotaExceeded { quota: &'static str, limit: u32 },
    #[error("{0}")]
    NotModifiable(String),
    #[error("{0}")]
    Conflict(String),
    /// The resource is still being created and cannot be deleted yet.
    #[error("{kind} {id} is still being created")]
    StillCreating { kind: &'static str, id: String },
    #[error("project {0} belongs to another account")]
    ProjectOfAnotherAccount(String),
}

pub type Result<T> = std::result::Result<T, EventBusError>;

fn not_found<T>(kind: &'static str, id: &str) -> Result<T> {
    Err(EventBusError::NotFound { kind, id: id.to_string() })
}

/// A UUID-shaped id derived from `seed`, stable across restarts (default channels and official sources).
pub fn stable_uuid(seed: &str) -> String {
    let hex = hex::encode(Sha256::digest(seed.as_bytes()));
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

pub fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Channel {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    /// OFFICIAL (the default channel) or CUSTOM.
    pub provider_type: String,
    pub enterprise_project_id: String,
    pub policy: Option<Value>,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventType {
    pub name: String,
    pub description: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventSource {
    pub id: String,
    pub project_id: String,
    pub channel_id: String,
    pub name: String,
    pub label: String,
    pub description: String,
    /// OFFICIAL or CUSTOM.
    pub provider_type: String,
    /// APPLICATION, RABBITMQ or ROCKETMQ.
    pub source_type: String,
    pub detail: Option<Value>,
    pub event_types: Vec<EventType>,
    pub status: String,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SubscriptionSource {
    pub id: String,
    pub name: String,
    pub provider_type: String,
    pub detail: Option<Value>,
    pub filter: Value,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SubscriptionTarget {
    pub id: String,
    pub name: String,
    pub provider_type: String,
    pub connection_id: Option<String>,
    pub detail: Option<Value>,
    pub kafka_detail: Option<Value>,
    pub smn_detail: Option<Value>,
    pub eg_detail: Option<Value>,
    pub apigw_detail: Option<Value>,
    pub rocketmq_detail: Option<Value>,
    pub dead_letter_queue: Option<Value>,
    pub retry_times: Option<u32>,
    pub transform: Transform,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

/// Where a target's events go, as far as a local emulator can take them.
#[derive(Clone, Debug, PartialEq)]
pub enum Destination {
    /// POST to this URL with these extra headers (webhooks and APIGW URLs).
    Http { url: String, headers: Vec<(String, String)> },
    /// Publish into another EventGrid channel (`eg_detail`), which may live in this emulator.
    Channel { project: String, channel_id: String },
    /// Produce into a Kafka topic (`kafka_detail`); the target's `connection_id` names the instance, which
    /// is delivered to when localyun serves it.
    Kafka { connection_id: Option<String>, topic: String, key_transform: Option<Value> },
    /// A cloud service localyun does not run (FunctionGraph, SMN, RocketMQ, ...): traced, not delivered.
    NotLocal(String),
}

impl SubscriptionTarget {
    /// The target kind, resolved from its detail objects (APIGW first, then the cloud services, then a URL).
    pub fn destination(&self) -> Destination {
        if let Some(url) = self.apigw_detail.as_ref().and_then(|d| d.get("url")).and_then(Value::as_str) {
            let headers = self
                .apigw_detail
                .as_ref()
                .and_then(|d| d.pointer("/invocation_http_parameters/header_parameters"))
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .filter_map(|h| {
                            Some((h.get("key")?.as_str()?.to_string(), h.get("value")?.as_str()?.to_string()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            return Destination::Http { url: url.to_string(), headers };
        }
        if let Some(eg) = &self.eg_detail {
            let field = |k: &str| eg.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            return Destination::Channel {
                project: field("target_project_id"),
                channel_id: field("target_channel_id"),
            };
        }
        if let Some(kafka) = &self.kafka_detail {
            return Destination::Kafka {
                connection_id: self.connection_id.clone(),
                topic: kafka.get("topic").and_then(Value::as_str).unwrap_or("").to_string(),
                key_transform: kafka.get("keyTransform").filter(|k| !k.is_null()).cloned(),
            };
        }
        let service = if self.smn_detail.is_some() {
            Some("SMN")
        } else if self.rocketmq_detail.is_some() {
            Some("RocketMQ")
        } else if self.detail.as_ref().and_then(|d| d.get("workflow_id")).is_some() {
            Some("FunctionGraph workflow")
        } else if self.detail.as_ref().and_then(|d| d.get("urn")).is_some() && self.name != "WEBHOOK" {
            Some("FunctionGraph")
        } else {
            None
        };
        if let Some(service) = service {
            return Destination::NotLocal(service.to_string());
        }
        match self.detail.as_ref().and_then(|d| d.get("url")).and_then(Value::as_str) {
            Some(url) => Destination::Http { url: url.to_string(), headers: Vec::new() },
            None => Destination::NotLocal(self.name.clone()),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Subscription {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub channel_id: String,
    /// CREATED, ENABLED, DISABLED, FROZEN or ERROR. CREATED and ENABLED deliver.
    pub status: String,
    pub enterprise_project_id: String,
    pub sources: Vec<SubscriptionSource>,
    pub targets: Vec<SubscriptionTarget>,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

impl Subscription {
    pub fn delivers(&self) -> bool {
        self.status == "CREATED" || self.status == "ENABLED"
    }

    /// Whether an event published on this subscription's channel is for it: the event's source is the
    /// subscription source's name and the filter matches.
    pub fn accepts(&self, event: &Value) -> bool {
        let source = event.get("source").and_then(Value::as_str).unwrap_or("");
        self.sources.iter().any(|s| s.name == source && filter::matches(&s.filter, event))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Connection {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    pub subnet_id: String,
    /// WEBHOOK, KAFKA or ROCKETMQ.
    pub kind: String,
    pub kafka_detail: Option<Value>,
    pub rocketmq_detail: Option<Value>,
    /// CREATING, CREATED or CREATE_FAILED.
    pub status: String,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Endpoint {
    pub id: String,
    pub project_id: String,
    pub name: String,
    pub vpc_id: String,
    pub subnet_id: String,
    pub description: String,
    /// PRIVATE or PUBLIC.
    pub kind: String,
    pub status: String,
    pub domain: String,
    pub created_ms: Millis,
    pub updated_ms: Millis,
}

/// Quota types of the seed with localyun's defaults (the seed documents the types, not the numbers).
pub const QUOTAS: &[(&str, &str, u32)] = &[
    ("CHANNEL", "事件通道", 100),
    ("CHANNEL_SUBSCRIPTION", "单通道事件订阅", 100),
    ("SOURCE", "自定义事件源", 100),
    ("SUBSCRIPTION", "事件订阅", 100),
    ("SUBSCRIPTION_TARGET", "单订阅事件目标", 5),
    ("CONNECTION", "目标连接", 100),
    ("PRIVATE_ENDPOINT", "内网访问端点", 10),
    ("SOURCE_RABBITMQ", "RabbitMQ自定义事件源", 10),
    ("SOURCE_ROCKETMQ", "RocketMQ自定义事件源", 10),
];

/// The persisted shape of the model: flat maps by id, as data dirs and state exports have always held it
/// (older files also carry `events` / `event_order`, which are ignored: traces are not state any more).
#[derive(Default, Serialize, Deserialize)]
struct Flat {
    #[serde(default)]
    projects: BTreeMap<String, String>,
    #[serde(default)]
    channels: BTreeMap<String, Channel>,
    #[serde(default)]
    sources: BTreeMap<String, EventSource>,
    #[serde(default)]
    subscriptions: BTreeMap<String, Subscription>,
    #[serde(default)]
    connections: BTreeMap<String, Connection>,
    #[serde(default)]
    endpoints: BTreeMap<String, Endpoint>,
    #[serde(default)]
    quota_overrides: BTreeMap<String, BTreeMap<String, u32>>,
    #[serde(default)]
    schemas: BTreeMap<String, EventSchema>,
    #[serde(default)]
    streams: BTreeMap<String, EventStream>,
    #[serde(default)]
    router_clusters: BTreeMap<String, RouterCluster>,
    #[serde(default)]
    router_jobs: BTreeMap<String, RouterJob>,
    /// project -> the service agencies created for it.
    #[serde(default)]
    agencies: BTreeMap<String, BTreeSet<String>>,
}

/// Borrowed view of [`Flat`] for serialising without copying the model.
#[derive(Serialize)]
struct FlatRef<'a> {
    projects: BTreeMap<&'a str, &'a str>,
    channels: BTreeMap<&'a str, &'a Channel>,
    sources: BTreeMap<&'a str, &'a EventSource>,
    subscriptions: BTreeMap<&'a str, &'a Subscription>,
    connections: BTreeMap<&'a str, &'a Connection>,
    endpoints: BTreeMap<&'a str, &'a Endpoint>,
    quota_overrides: BTreeMap<&'a str, &'a BTreeMap<String, u32>>,
    schemas: BTreeMap<&'a str, &'a EventSchema>,
    streams: BTreeMap<&'a str, &'a EventStream>,
    router_clusters: BTreeMap<&'a str, &'a RouterCluster>,
    router_jobs: BTreeMap<&'a str, &'a RouterJob>,
    agencies: BTreeMap<&'a str, &'a BTreeSet<String>>,
}

/// Everything of one project. Resources are found by (project, id); a project never sees another's.
#[derive(Default, Debug, Clone)]
struct Project {
    /// The account the project is bound to; empty for resources whose binding was lost (never shown).
    account: String,
    /// Quota type -> limit overrides.
    quotas: BTreeMap<String, u32>,
    channels: BTreeMap<String, Channel>,
    sources: BTreeMap<String, EventSource>,
    subscriptions: BTreeMap<String, Subscription>,
    connections: BTreeMap<String, Connection>,
    endpoints: BTreeMap<String, Endpoint>,
    schemas: BTreeMap<String, EventSchema>,
    streams: BTreeMap<String, EventStream>,
    router_clusters: BTreeMap<String, RouterCluster>,
    router_jobs: BTreeMap<String, RouterJob>,
    /// Service agencies created (CreateAgencies), by name.
    agencies: BTreeSet<String>,
    /// channel id -> event source name -> the subscriptions that subscribe to it: PutEvents looks its
    /// candidates up here instead of scanning every subscription. Nested rather than keyed by a pair so a
    /// lookup borrows the event's strings (a pair key needs two owned Strings per published event).
    route_index: HashMap<String, HashMap<String, BTreeSet<String>>>,
}

impl Project {
    fn index(&mut self, sub: &Subscription) {
        for source in &sub.sources {
            self.route_index
                .entry(sub.channel_id.clone())
                .or_default()
                .entry(source.name.clone())
                .or_default()
                .insert(sub.id.clone());
        }
    }

    fn unindex(&mut self, sub: &Subscription) {
        let Some(by_source) = self.route_index.get_mut(&sub.channel_id) else { return };
        for source in &sub.sources {
            if let Some(ids) = by_source.get_mut(&source.name) {
                ids.remove(&sub.id);
                if ids.is_empty() {
                    by_source.remove(&source.name);
                }
            }
        }
        if by_source.is_empty() {
            self.route_index.remove(&sub.channel_id);
        }
    }

    fn insert_subscription(&mut self, sub: Subscription) {
        if let Some(old) = self.subscriptions.remove(&sub.id) {
            self.unindex(&old);
        }
        self.index(&sub);
        self.subscriptions.insert(sub.id.clone(), sub);
    }

    fn remove_subscription(&mut self, id: &str) -> Option<Subscription> {
        let old = self.subscriptions.remove(id)?;
        self.unindex(&old);
        Some(old)
    }

    fn custom_sources(&self) -> impl Iterator<Item = &EventSource> {
        self.sources.values().filter(|s| s.provider_type == "CUSTOM")
    }

    /// Every resource key of this project (for the journal on removal).
    fn keys(&self, project: &str) -> Vec<String> {
        let mut keys = Vec::new();
        keys.extend(self.channels.keys().map(|id| key(Kind::Channel, project, id)));
        keys.extend(self.sources.keys().map(|id| key(Kind::Source, project, id)));
        keys.extend(self.subscriptions.keys().map(|id| key(Kind::Subscription, project, id)));
        keys.extend(self.connections.keys().map(|id| key(Kind::Connection, project, id)));
        keys.extend(self.endpoints.keys().map(|id| key(Kind::Endpoint, project, id)));
        keys.extend(self.schemas.keys().map(|id| key(Kind::Schema, project, id)));
        keys.extend(self.streams.keys().map(|id| key(Kind::Stream, project, id)));
        keys.extend(self.router_clusters.keys().map(|id| key(Kind::Cluster, project, id)));
        keys.extend(self.router_jobs.keys().map(|id| key(Kind::Job, project, id)));
        keys
    }
}

/// The kinds of durable resources and their key prefixes: `p/<project>` (binding and quota overrides),
/// `c/<project>/<channel>`, `s/<project>/<source>`, `sub/<project>/<subscription>`,
/// `conn/<project>/<connection>`, `ep/<project>/<endpoint>`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Kind {
    Project,
    Channel,
    Source,
    Subscription,
    Connection,
    Endpoint,
    Schema,
    Stream,
    Cluster,
    Job,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Project => "p",
            Kind::Channel => "c",
            Kind::Source => "s",
            Kind::Subscription => "sub",
            Kind::Connection => "conn",
            Kind::Endpoint => "ep",
            Kind::Schema => "schema",
            Kind::Stream => "es",
            Kind::Cluster => "erc",
            Kind::Job => "erj",
        }
    }

    fn parse(prefix: &str) -> Option<Kind> {
        [
            Kind::Project,
            Kind::Channel,
            Kind::Source,
            Kind::Subscription,
            Kind::Connection,
            Kind::Endpoint,
            Kind::Schema,
            Kind::Stream,
            Kind::Cluster,
            Kind::Job,
        ]
        .into_iter()
        .find(|k| k.prefix() == prefix)
    }
}

fn key(kind: Kind, project: &str, id: &str) -> String {
    format!("{}/{project}/{id}", kind.prefix())
}

fn project_key(project: &str) -> String {
    format!("p/{project}")
}

/// The durable part of a project binding (`p/<project>`).
#[derive(Serialize, Deserialize)]
struct Binding {
    account: String,
    #[serde(default)]
    quotas: BTreeMap<String, u32>,
    #[serde(default)]
    agencies: BTreeSet<String>,
}

/// The event bus. State is private: handlers read through queries and change it through commands, which
/// keep the routing index and record the resource keys they changed for the journal (reads and refused
/// commands record none). Published-event traces live beside it in [`Traces`], never in the state.
#[derive(Default, Debug)]
pub struct EventBusModel {
    projects: BTreeMap<String, Project>,
    dirty: Mutex<Vec<String>>,
    traces: Traces,
}

impl Serialize for EventBusModel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut flat = FlatRef {
            projects: BTreeMap::new(),
            channels: BTreeMap::new(),
            sources: BTreeMap::new(),
            subscriptions: BTreeMap::new(),
            connections: BTreeMap::new(),
            endpoints: BTreeMap::new(),
            quota_overrides: BTreeMap::new(),
            schemas: BTreeMap::new(),
            streams: BTreeMap::new(),
            router_clusters: BTreeMap::new(),
            router_jobs: BTreeMap::new(),
            agencies: BTreeMap::new(),
        };
        for (id, p) in &self.projects {
            if !p.account.is_empty() {
                flat.projects.insert(id, &p.account);
            }
            if !p.quotas.is_empty() {
                flat.quota_overrides.insert(id, &p.quotas);
            }
            flat.channels.extend(p.channels.iter().map(|(k, v)| (k.as_str(), v)));
            flat.sources.extend(p.sources.iter().map(|(k, v)| (k.as_str(), v)));
            flat.subscriptions.extend(p.subscriptions.iter().map(|(k, v)| (k.as_str(), v)));
            flat.connections.extend(p.connections.iter().map(|(k, v)| (k.as_str(), v)));
            flat.endpoints.extend(p.endpoints.iter().map(|(k, v)| (k.as_str(), v)));
            flat.schemas.extend(p.schemas.iter().map(|(k, v)| (k.as_str(), v)));
            flat.streams.extend(p.streams.iter().map(|(k, v)| (k.as_str(), v)));
            flat.router_clusters.extend(p.router_clusters.iter().map(|(k, v)| (k.as_str(), v)));
            flat.router_jobs.extend(p.router_jobs.iter().map(|(k, v)| (k.as_str(), v)));
            if !p.agencies.is_empty() {
                flat.agencies.insert(id, &p.agencies);
            }
        }
        flat.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for EventBusModel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let flat = Flat::deserialize(deserializer)?;
        let mut model = EventBusModel::default();
        for (project, account) in flat.projects {
            model.projects.entry(project).or_default().account = account;
        }
        for (project, quotas) in flat.quota_overrides {
            model.projects.entry(project).or_default().quotas = quotas;
        }
        for (_, c) in flat.channels {
            model.projects.entry(c.project_id.clone()).or_default().channels.insert(c.id.clone(), c);
        }
        for (_, s) in flat.sources {
            model.projects.entry(s.project_id.clone()).or_default().sources.insert(s.id.clone(), s);
        }
        for (_, s) in flat.subscriptions {
            model.projects.entry(s.project_id.clone()).or_default().insert_subscription(s);
        }
        for (_, c) in flat.connections {
            model.projects.entry(c.project_id.clone()).or_default().connections.insert(c.id.clone(), c);
        }
        for (_, e) in flat.endpoints {
            model.projects.entry(e.project_id.clone()).or_default().endpoints.insert(e.id.clone(), e);
        }
        for (_, schema) in flat.schemas {
            model.projects.entry(schema.project_id.clone()).or_default().schemas.insert(schema.id.clone(), schema);
        }
        for (_, x) in flat.streams {
            model.projects.entry(x.project_id.clone()).or_default().streams.insert(x.id.clone(), x);
        }
        for (_, x) in flat.router_clusters {
            model.projects.entry(x.project_id.clone()).or_default().router_clusters.insert(x.id.clone(), x);
        }
        for (_, x) in flat.router_jobs {
            model.projects.entry(x.project_id.clone()).or_default().router_jobs.insert(x.id.clone(), x);
        }
        for (project, agencies) in flat.agencies {
            model.projects.entry(project).or_default().agencies = agencies;
        }
        Ok(model)
    }
}

fn get<'a, T>(map: &'a BTreeMap<String, T>, kind: &'static str, id: &str) -> Result<&'a T> {
    map.get(id).ok_or_else(|| EventBusError::NotFound { kind, id: id.to_string() })
}

impl EventBusModel {
    fn touch(&mut self, key: String) {
        self.dirty.get_mut().push(key);
    }

    fn project(&self, project: &str) -> Option<&Project> {
        self.projects.get(project)
    }

    fn project_mut(&mut self, project: &str) -> &mut Project {
        self.projects.entry(project.to_string()).or_default()
    }

    /// The trace store (shared access: recording takes its own short lock).
    pub fn traces(&self) -> &Traces {
        &self.traces
    }

    // ---- projects and accounts ----

    /// Forgets every resource of one account (admin reset); defaults are provisioned again by the caller.
    /// The account keeps its projects: a binding is an identity, not a resource, so `provision_defaults`
    /// gives them their default channel and official sources again.
    pub fn remove_account(&mut self, account: &str) {
        let projects: Vec<String> =
            self.projects.iter().filter(|(_, p)| p.account == account).map(|(id, _)| id.clone()).collect();
        for id in &projects {
            let Some(p) = self.projects.get_mut(id) else { continue };
            let keys = p.keys(id);
            let account = std::mem::take(&mut p.account);
            *p = Project { account, ..Project::default() };
            self.dirty.get_mut().extend(keys);
            self.touch(project_key(id));
        }
        self.traces.forget_projects(&projects);
    }

    /// Forgets every resource and trace but keeps the project bindings (vendor reset: a binding is an
    /// identity, so another account cannot take a project over).
    pub fn reset_keep_projects(&mut self) {
        let ids: Vec<String> = self.projects.keys().cloned().collect();
        for id in ids {
            let Some(p) = self.projects.get_mut(&id) else { continue };
            let keys = p.keys(&id);
            let account = std::mem::take(&mut p.account);
            *p = Project { account, ..Project::default() };
            self.dirty.get_mut().extend(keys);
            self.touch(project_key(&id));
        }
        self.traces.clear();
    }

    pub fn projects_of<'a>(&'a self, account: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.projects.iter().filter(move |(_, p)| p.account == account).map(|(id, _)| id)
    }

    /// Binds a project to an account (first come) and gives it the default channel and official sources.
    /// A project bound to another account is refused.
    pub fn bind_project(&mut self, project: &str, account: &str, now: Millis) -> Result<()> {
        match self.project_owner(project) {
            Some(owner) if owner != account => return Err(EventBusError::ProjectOfAnotherAccount(project.to_string())),
            Some(_) => {}
            None => {
                self.project_mut(project).account = account.to_string();
                self.touch(project_key(project));
            }
        }
        self.provision_project(project, now);
        Ok(())
    }

    /// The project's default channel and official sources (idempotent; ids are stable across restarts).
    pub fn provision_project(&mut self, project: &str, now: Millis) {
        let channel_id = default_channel_id(project);
        let mut touched = Vec::new();
        let p = self.project_mut(project);
        if !p.channels.contains_key(&channel_id) {
            p.channels.insert(
                channel_id.clone(),
                Channel {
                    id: channel_id.clone(),
                    project_id: project.to_string(),
                    name: DEFAULT_CHANNEL_NAME.into(),
                    description: "默认事件通道 (default channel)".into(),
                    provider_type: "OFFICIAL".into(),
                    enterprise_project_id: "0".into(),
                    policy: None,
                    created_ms: now,
                    updated_ms: now,
                },
            );
            touched.push(key(Kind::Channel, project, &channel_id));
        }
        for (name, label, service) in OFFICIAL_SOURCES {
            let id = stable_uuid(&format!("huawei/{project}/source/{name}"));
            if p.sources.contains_key(&id) {
                continue;
            }
            touched.push(key(Kind::Source, project, &id));
            p.sources.insert(
                id.clone(),
                EventSource {
                    id,
                    project_id: project.to_string(),
                    channel_id: channel_id.clone(),
                    name: name.to_string(),
                    label: label.to_string(),
                    description: format!("{label} 云服务事件源"),
                    provider_type: "OFFICIAL".into(),
                    source_type: "APPLICATION".into(),
                    detail: None,
                    event_types: ["ApiCall", "ConsoleAction", "SystemAction"]
                        .iter()
                        .map(|kind| EventType {
                            name: format!("{service}:CloudTrace:{kind}"),
                            description: format!("{service} CloudTrace {kind}"),
                        })
                        .collect(),
                    status: "RUNNING".into(),
                    created_ms: now,
                    updated_ms: now,
                },
            );
        }
        self.dirty.get_mut().extend(touched);
    }

    pub fn project_owner(&self, project: &str) -> Option<&str> {
        self.project(project).map(|p| p.account.as_str()).filter(|a| !a.is_empty())
    }

    // ---- quotas ----

    /// Overrides one quota of a project (fixtures, tests).
    pub fn set_quota(&mut self, project: &str, quota: &str, limit: u32) -> Result<()> {
        if !QUOTAS.iter().any(|(q, _, _)| *q == quota) {
            return Err(EventBusError::Invalid(format!("unknown quota type {quota}")));
        }
        self.project_mut(project).quotas.insert(quota.to_string(), limit);
        self.touch(project_key(project));
        Ok(())
    }

    pub fn quota_limit(&self, project: &str, quota: &str) -> u32 {
        self.project(project)
            .and_then(|p| p.quotas.get(quota))
            .copied()
            .or_else(|| QUOTAS.iter().find(|(q, _, _)| *q == quota).map(|(_, _, d)| *d))
            .unwrap_or(u32::MAX)
    }

    /// What a quota has used in a project (per-parent quotas report their largest parent). Counts one
    /// project's resources only.
    pub fn quota_used(&self, project: &str, quota: &str) -> u32 {
        let Some(p) = self.project(project) else { return 0 };
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        match quota {
            "CHANNEL" => count(p.channels.values().filter(|c| c.provider_type == "CUSTOM").count()),
            "SOURCE" => count(p.custom_sources().count()),
            "SOURCE_RABBITMQ" => count(p.custom_sources().filter(|s| s.source_type == "RABBITMQ").count()),
            "SOURCE_ROCKETMQ" => count(p.custom_sources().filter(|s| s.source_type == "ROCKETMQ").count()),
            "SUBSCRIPTION" => count(p.subscriptions.len()),
            "CHANNEL_SUBSCRIPTION" => {
                let mut per_channel: BTreeMap<&str, u32> = BTreeMap::new();
                for s in p.subscriptions.values() {
                    *per_channel.entry(s.channel_id.as_str()).or_default() += 1;
                }
                per_channel.values().copied().max().unwrap_or(0)
            }
            "SUBSCRIPTION_TARGET" => p.subscriptions.values().map(|s| count(s.targets.len())).max().unwrap_or(0),
            "CONNECTION" => count(p.connections.len()),
            "PRIVATE_ENDPOINT" => count(p.endpoints.values().filter(|e| e.kind == "PRIVATE").count()),
            _ => 0,
        }
    }

    fn check_quota(&self, project: &str, quota: &'static str, used: u32, adding: u32) -> Result<()> {
        let limit = self.quota_limit(project, quota);
        if used.saturating_add(adding) > limit {
            return Err(EventBusError::QuotaExceeded { quota, limit });
        }
        Ok(())
    }

    // ---- channels ----

    pub fn channel(&self, project: &str, id: &str) -> Result<&Channel> {
        match self.project(project) {
            Some(p) => get(&p.channels, "channel", id),
            None => not_found("channel", id),
        }
    }

    pub fn channels_of<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a Channel> + 'a {
        self.project(project).into_iter().flat_map(|p| p.channels.values())
    }

    pub fn create_channel(&mut self, channel: Channel) -> Result<&Channel> {
        let project = channel.project_id.clone();
        if self.channels_of(&project).any(|c| c.name == channel.name) {
            return Err(EventBusError::NameDuplicated { kind: "channel", name: channel.name });
        }
        self.check_quota(&project, "CHANNEL", self.quota_used(&project, "CHANNEL"), 1)?;
        let id = channel.id.clone();
        self.touch(key(Kind::Channel, &project, &id));
        Ok(self.project_mut(&project).channels.entry(id).or_insert(channel))
    }

    /// Changes a custom channel with `change` (on a copy: an error leaves the channel as it was). The
    /// id and project cannot change.
    pub fn update_channel(
        &mut self,
        project: &str,
        id: &str,
        change: impl FnOnce(&mut Channel) -> Result<()>,
    ) -> Result<&Channel> {
        let mut channel = self.channel(project, id)?.clone();
        if channel.provider_type != "CUSTOM" {
            return Err(EventBusError::NotModifiable(format!("channel {} is a system channel", channel.name)));
        }
        change(&mut channel)?;
        (channel.id, channel.project_id) = (id.to_string(), project.to_string());
        self.touch(key(Kind::Channel, project, id));
        let p = self.project_mut(project);
        p.channels.insert(id.to_string(), channel);
        self.channel(project, id)
    }

    pub fn delete_channel(&mut self, project: &str, id: &str) -> Result<()> {
        let channel = self.channel(project, id)?;
        if channel.provider_type != "CUSTOM" {
            return Err(EventBusError::NotModifiable(format!("channel {} is a system channel", channel.name)));
        }
        if self.sources_of(project).any(|s| s.channel_id == id) {
            return Err(EventBusError::Conflict(format!("channel {id} still has event sources")));
        }
        if self.subscriptions_of(project).any(|s| s.channel_id == id) {
            return Err(EventBusError::Conflict(format!("channel {id} still has subscriptions")));
        }
        self.project_mut(project).channels.remove(id);
        self.touch(key(Kind::Channel, project, id));
        Ok(())
    }

    // ---- event sources ----

    pub fn source(&self, project: &str, id: &str) -> Result<&EventSource> {
        match self.project(project) {
            Some(p) => get(&p.sources, "event source", id),
            None => not_found("event source", id),
        }
    }

    pub fn sources_of<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a EventSource> + 'a {
        self.project(project).into_iter().flat_map(|p| p.sources.values())
    }

    pub fn create_source(&mut self, source: EventSource) -> Result<&EventSource> {
        let project = source.project_id.clone();
        let channel = self.channel(&project, &source.channel_id)?;
        if channel.provider_type != "CUSTOM" {
            return Err(EventBusError::InvalidChannel(format!(
                "event sources can only be created in custom channels, not in {}",
                channel.name
            )));
        }
        if self.sources_of(&project).any(|s| s.name == source.name) {
            return Err(EventBusError::NameDuplicated { kind: "event source", name: source.name });
        }
        self.check_quota(&project, "SOURCE", self.quota_used(&project, "SOURCE"), 1)?;
        match source.source_type.as_str() {
            "RABBITMQ" => {
                self.check_quota(&project, "SOURCE_RABBITMQ", self.quota_used(&project, "SOURCE_RABBITMQ"), 1)?
            }
            "ROCKETMQ" => {
                self.check_quota(&project, "SOURCE_ROCKETMQ", self.quota_used(&project, "SOURCE_ROCKETMQ"), 1)?
            }
            _ => {}
        }
        let id = source.id.clone();
        self.touch(key(Kind::Source, &project, &id));
        Ok(self.project_mut(&project).sources.entry(id).or_insert(source))
    }

    /// Changes a custom event source with `change` (on a copy; the id, project, channel and name stay).
    pub fn update_source(
        &mut self,
        project: &str,
        id: &str,
        change: impl FnOnce(&mut EventSource) -> Result<()>,
    ) -> Result<&EventSource> {
        let mut source = self.source(project, id)?.clone();
        if source.provider_type != "CUSTOM" {
            return Err(EventBusError::NotModifiable(format!("event source {} is an official source", source.name)));
        }
        let (channel_id, name) = (source.channel_id.clone(), source.name.clone());
        change(&mut source)?;
        (source.id, source.project_id, source.channel_id, source.name) =
            (id.to_string(), project.to_string(), channel_id, name);
        self.touch(key(Kind::Source, project, id));
        self.project_mut(project).sources.insert(id.to_string(), source);
        self.source(project, id)
    }

    pub fn delete_source(&mut self, project: &str, id: &str) -> Result<()> {
        let source = self.source(project, id)?;
        if source.provider_type != "CUSTOM" {
            return Err(EventBusError::NotModifiable(format!("event source {} is an official source", source.name)));
        }
        let (name, channel_id) = (source.name.clone(), source.channel_id.clone());
        let used = self
            .project(project)
            .and_then(|p| p.route_index.get(&channel_id))
            .and_then(|by_source| by_source.get(&name))
            .is_some_and(|ids| !ids.is_empty());
        if used {
            return Err(EventBusError::Conflict(format!("event source {name} is used by a subscription")));
        }
        self.project_mut(project).sources.remove(id);
        self.touch(key(Kind::Source, project, id));
        Ok(())
    }

    // ---- subscriptions ----

    pub fn subscription(&self, project: &str, id: &str) -> Result<&Subscription> {
        match self.project(project) {
            Some(p) => get(&p.subscriptions, "subscription", id),
            None => not_found("subscription", id),
        }
    }

    pub fn subscriptions_of<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a Subscription> + 'a {
        self.project(project).into_iter().flat_map(|p| p.subscriptions.values())
    }

    /// Subscription source and target ids are globally unique; `except` is the subscription being rewritten.
    fn check_part_ids(&self, sub: &Subscription, except: Option<&str>) -> Result<()> {
        let duplicate =
            |id: &str| EventBusError::NameDuplicated { kind: "subscription source or target id", name: id.to_string() };
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        for id in sub.sources.iter().map(|s| s.id.as_str()).chain(sub.targets.iter().map(|t| t.id.as_str())) {
            if !seen.insert(id) {
                return Err(duplicate(id));
            }
        }
        for other in self.projects.values().flat_map(|p| p.subscriptions.values()) {
            if Some(other.id.as_str()) == except {
                continue;
            }
            let taken = other.sources.iter().map(|s| s.id.as_str()).chain(other.targets.iter().map(|t| t.id.as_str()));
            for id in taken {
                if seen.contains(id) {
                    return Err(duplicate(id));
                }
            }
        }
        Ok(())
    }

    fn check_connections(&self, project: &str, targets: &[SubscriptionTarget]) -> Result<()> {
        for target in targets {
            let referenced =
                target.connection_id.iter().map(String::as_str).chain(
                    target.dead_letter_queue.as_ref().and_then(|d| d.get("connection_id")).and_then(Value::as_str),
                );
            for id in referenced {
                self.connection(project, id)?;
            }
        }
        Ok(())
    }

    pub fn create_subscription(&mut self, sub: Subscription) -> Result<&Subscription> {
        let project = sub.project_id.clone();
        self.channel(&project, &sub.channel_id)?;
        if self.subscriptions_of(&project).any(|s| s.name == sub.name) {
            return Err(EventBusError::NameDuplicated { kind: "subscription", name: sub.name });
        }
        self.check_part_ids(&sub, None)?;
        self.check_connections(&project, &sub.targets)?;
        self.check_quota(&project, "SUBSCRIPTION", self.quota_used(&project, "SUBSCRIPTION"), 1)?;
        let on_channel = self.subscriptions_of(&project).filter(|s| s.channel_id == sub.channel_id).count();
        self.check_quota(&project, "CHANNEL_SUBSCRIPTION", u32::try_from(on_channel).unwrap_or(u32::MAX), 1)?;
        self.check_quota(&project, "SUBSCRIPTION_TARGET", 0, u32::try_from(sub.targets.len()).unwrap_or(u32::MAX))?;
        let id = sub.id.clone();
        self.touch(key(Kind::Subscription, &project, &id));
        self.project_mut(&project).insert_subscription(sub);
        self.subscription(&project, &id)
    }

    /// Replaces a subscription after an update (sources/targets rewritten in full), re-checking the rules.
    pub fn replace_subscription(&mut self, sub: Subscription) -> Result<&Subscription> {
        let project = sub.project_id.clone();
        self.subscription(&project, &sub.id)?;
        self.check_part_ids(&sub, Some(&sub.id))?;
        self.check_connections(&project, &sub.targets)?;
        self.check_quota(&project, "SUBSCRIPTION_TARGET", 0, u32::try_from(sub.targets.len()).unwrap_or(u32::MAX))?;
        let id = sub.id.clone();
        self.touch(key(Kind::Subscription, &project, &id));
        self.project_mut(&project).insert_subscription(sub);
        self.subscription(&project, &id)
    }

    /// Sets a subscription's status (ENABLED, DISABLED, ...).
    pub fn set_subscription_status(&mut self, project: &str, id: &str, status: &str, now: Millis) -> Result<()> {
        let mut sub = self.subscription(project, id)?.clone();
        sub.status = status.to_string();
        sub.updated_ms = now;
        self.touch(key(Kind::Subscription, project, id));
        self.project_mut(project).insert_subscription(sub);
        Ok(())
    }

    pub fn delete_subscription(&mut self, project: &str, id: &str) -> Result<()> {
        self.subscription(project, id)?;
        self.project_mut(project).remove_subscription(id);
        self.touch(key(Kind::Subscription, project, id));
        Ok(())
    }

    // ---- connections ----

    pub fn connection(&self, project: &str, id: &str) -> Result<&Connection> {
        match self.project(project) {
            Some(p) => get(&p.connections, "connection", id),
            None => not_found("connection", id),
        }
    }

    pub fn connections_of<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a Connection> + 'a {
        self.project(project).into_iter().flat_map(|p| p.connections.values())
    }

    pub fn create_connection(&mut self, connection: Connection) -> Result<&Connection> {
        let project = connection.project_id.clone();
        if self.connections_of(&project).any(|c| c.name == connection.name) {
            return Err(EventBusError::NameDuplicated { kind: "connection", name: connection.name });
        }
        self.check_quota(&project, "CONNECTION", self.quota_used(&project, "CONNECTION"), 1)?;
        let id = connection.id.clone();
        self.touch(key(Kind::Connection, &project, &id));
        Ok(self.project_mut(&project).connections.entry(id).or_insert(connection))
    }

    /// Changes a connection with `change` (on a copy; id, project and name stay).
    pub fn update_connection(
        &mut self,
        project: &str,
        id: &str,
        change: impl FnOnce(&mut Connection) -> Result<()>,
    ) -> Result<&Connection> {
        let mut connection = self.connection(project, id)?.clone();
        let name = connection.name.clone();
        change(&mut connection)?;
        (connection.id, connection.project_id, connection.name) = (id.to_string(), project.to_string(), name);
        self.touch(key(Kind::Connection, project, id));
        self.project_mut(project).connections.insert(id.to_string(), connection);
        self.connection(project, id)
    }

    pub fn delete_connection(&mut self, project: &str, id: &str) -> Result<()> {
        let connection = self.connection(project, id)?;
        if connection.status == "CREATING" {
            return Err(EventBusError::StillCreating { kind: "connection", id: id.to_string() });
        }
        let used = self.subscriptions_of(project).flat_map(|s| s.targets.iter()).any(|t| {
            t.connection_id.as_deref() == Some(id)
                || t.dead_letter_queue.as_ref().and_then(|d| d.get("connection_id")).and_then(Value::as_str) == Some(id)
        });
        if used {
            return Err(EventBusError::Conflict(format!("connection {id} is used by a subscription target")));
        }
        self.project_mut(project).connections.remove(id);
        self.touch(key(Kind::Connection, project, id));
        Ok(())
    }

    // ---- endpoints ----

    pub fn endpoint(&self, project: &str, id: &str) -> Result<&Endpoint> {
        match self.project(project) {
            Some(p) => get(&p.endpoints, "endpoint", id),
            None => not_found("endpoint", id),
        }
    }

    pub fn endpoints_of<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a Endpoint> + 'a {
        self.project(project).into_iter().flat_map(|p| p.endpoints.values())
    }

    pub fn create_endpoint(&mut self, endpoint: Endpoint) -> Result<&Endpoint> {
        let project = endpoint.project_id.clone();
        if self.endpoints_of(&project).any(|e| e.name == endpoint.name) {
            return Err(EventBusError::NameDuplicated { kind: "endpoint", name: endpoint.name });
        }
        if self.endpoints_of(&project).any(|e| e.kind == "PRIVATE" && e.vpc_id == endpoint.vpc_id) {
            return Err(EventBusError::Conflict(format!("VPC {} already has a private endpoint", endpoint.vpc_id)));
        }
        self.check_quota(&project, "PRIVATE_ENDPOINT", self.quota_used(&project, "PRIVATE_ENDPOINT"), 1)?;
        let id = endpoint.id.clone();
        self.touch(key(Kind::Endpoint, &project, &id));
        Ok(self.project_mut(&project).endpoints.entry(id).or_insert(endpoint))
    }

    /// Changes an endpoint's description.
    pub fn update_endpoint(
        &mut self,
        project: &str,
        id: &str,
        description: Option<String>,
        now: Millis,
    ) -> Result<&Endpoint> {
        let mut endpoint = self.endpoint(project, id)?.clone();
        if let Some(d) = description {
            endpoint.description = d;
        }
        endpoint.updated_ms = now;
        self.touch(key(Kind::Endpoint, project, id));
        self.project_mut(project).endpoints.insert(id.to_string(), endpoint);
        self.endpoint(project, id)
    }

    pub fn delete_endpoint(&mut self, project: &str, id: &str) -> Result<()> {
        self.endpoint(project, id)?;
        self.project_mut(project).endpoints.remove(id);
        self.touch(key(Kind::Endpoint, project, id));
        Ok(())
    }

    // ---- event schemas ----

    pub fn schema(&self, project: &str, id: &str) -> Result<&EventSchema> {
        match self.project(project) {
            Some(p) => get(&p.schemas, "event schema", id),
            None => not_found("event schema", id),
        }
    }

    pub fn schemas_of<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a EventSchema> + 'a {
        self.project(project).into_iter().flat_map(|p| p.schemas.values())
    }

    /// Creates a schema whose `versions` holds its first version; names are unique per project.
    pub fn create_schema(&mut self, schema: EventSchema) -> Result<&EventSchema> {
        let project = schema.project_id.clone();
        if self.schemas_of(&project).any(|s| s.name == schema.name) {
            return Err(EventBusError::NameDuplicated { kind: "event schema", name: schema.name });
        }
        if schema.versions.is_empty() {
            return Err(EventBusError::Invalid("an event schema starts with one version".into()));
        }
        let id = schema.id.clone();
        self.touch(key(Kind::Schema, &project, &id));
        Ok(self.project_mut(&project).schemas.entry(id).or_insert(schema))
    }

    /// Changes a schema's description and compatibility.
    pub fn update_schema(
        &mut self,
        project: &str,
        id: &str,
        description: Option<String>,
        compatibility: Option<String>,
        now: Millis,
    ) -> Result<&EventSchema> {
        let mut schema = self.schema(project, id)?.clone();
        if let Some(d) = description {
            schema.description = d;
        }
        if let Some(c) = compatibility {
            schema.compatibility = c;
        }
        schema.updated_ms = now;
        self.touch(key(Kind::Schema, project, id));
        self.project_mut(project).schemas.insert(id.to_string(), schema);
        self.schema(project, id)
    }

    pub fn delete_schema(&mut self, project: &str, id: &str) -> Result<()> {
        self.schema(project, id)?;
        self.project_mut(project).schemas.remove(id);
        self.touch(key(Kind::Schema, project, id));
        Ok(())
    }

    /// Adds a version (numbered after every version the schema ever had) and returns it.
    pub fn add_schema_version(
        &mut self,
        project: &str,
        id: &str,
        version_id: String,
        definition: String,
        now: Millis,
    ) -> Result<SchemaVersion> {
        let mut schema = self.schema(project, id)?.clone();
        let version = SchemaVersion {
            id: version_id,
            version: schema.next_version,
            format: schema.format.clone(),
            definition,
            created_ms: now,
            updated_ms: now,
        };
        schema.next_version += 1;
        schema.versions.push(version.clone());
        schema.updated_ms = now;
        self.touch(key(Kind::Schema, project, id));
        self.project_mut(project).schemas.insert(id.to_string(), schema);
        Ok(version)
    }

    /// Deletes one version; the last remaining version cannot go (delete the schema instead).
    pub fn delete_schema_version(&mut self, project: &str, id: &str, version: u32, now: Millis) -> Result<()> {
        let mut schema = self.schema(project, id)?.clone();
        if schema.version(version).is_none() {
            return not_found("event schema version", &format!("{id}/{version}"));
        }
        if schema.versions.len() == 1 {
            return Err(EventBusError::Conflict(format!(
                "version {version} is the only version of event schema {}; delete the schema instead",
                schema.name
            )));
        }
        schema.versions.retain(|v| v.version != version);
        schema.updated_ms = now;
        self.touch(key(Kind::Schema, project, id));
        self.project_mut(project).schemas.insert(id.to_string(), schema);
        Ok(())
    }

    // ---- event streams ----

    pub fn stream(&self, project: &str, id: &str) -> Result<&EventStream> {
        match self.project(project) {
            Some(p) => get(&p.streams, "event stream", id),
            None => not_found("event stream", id),
        }
    }

    pub fn streams_of<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a EventStream> + 'a {
        self.project(project).into_iter().flat_map(|p| p.streams.values())
    }

    /// Every project's event streams (to restart the running ones after a start from stored state).
    pub fn all_streams(&self) -> impl Iterator<Item = &EventStream> + '_ {
        self.projects.values().flat_map(|p| p.streams.values())
    }

    /// Creates a stream, or replaces one (same id) after an update; names are unique per project.
    pub fn put_stream(&mut self, stream: EventStream, replace: bool) -> Result<&EventStream> {
        let project = stream.project_id.clone();
        if replace {
            self.stream(&project, &stream.id)?;
        }
        if self.streams_of(&project).any(|s| s.name == stream.name && s.id != stream.id) {
            return Err(EventBusError::NameDuplicated { kind: "event stream", name: stream.name });
        }
        let id = stream.id.clone();
        self.touch(key(Kind::Stream, &project, &id));
        self.project_mut(&project).streams.insert(id.clone(), stream);
        self.stream(&project, &id)
    }

    /// Moves a stream to `status`; the same status again is refused (nothing to do).
    pub fn set_stream_status(&mut self, project: &str, id: &str, status: StreamStatus, now: Millis) -> Result<()> {
        let mut stream = self.stream(project, id)?.clone();
        if stream.status == status {
            return Err(EventBusError::Conflict(format!(
                "event stream {} is already {}",
                stream.name,
                status.as_str()
            )));
        }
        stream.status = status;
        stream.updated_ms = now;
        self.touch(key(Kind::Stream, project, id));
        self.project_mut(project).streams.insert(id.to_string(), stream);
        Ok(())
    }

    pub fn delete_stream(&mut self, project: &str, id: &str) -> Result<()> {
        self.stream(project, id)?;
        self.project_mut(project).streams.remove(id);
        self.touch(key(Kind::Stream, project, id));
        Ok(())
    }

    // ---- event-router clusters and jobs ----

    /// Every project's router jobs (to restart the running ones after a start from stored state).
    pub fn all_router_jobs(&self) -> impl Iterator<Item = &RouterJob> + '_ {
        self.projects.values().flat_map(|p| p.router_jobs.values())
    }

    pub fn router_cluster(&self, project: &str, id: &str) -> Result<&RouterCluster> {
        match self.project(project) {
            Some(p) => get(&p.router_clusters, "event-router cluster", id),
            None => not_found("event-router cluster", id),
        }
    }

    pub fn router_clusters_of<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a RouterCluster> + 'a {
        self.project(project).into_iter().flat_map(|p| p.router_clusters.values())
    }

    /// How many jobs a cluster has.
    pub fn cluster_job_count(&self, project: &str, cluster_id: &str) -> usize {
        self.router_jobs_of(project).filter(|j| j.cluster_id == cluster_id).count()
    }

    /// Creates a cluster, or replaces one (same id) after an update; names are unique per project.
    pub fn put_router_cluster(&mut self, cluster: RouterCluster, replace: bool) -> Result<&RouterCluster> {
        let project = cluster.project_id.clone();
        if replace {
            self.router_cluster(&project, &cluster.id)?;
        }
        if self.router_clusters_of(&project).any(|c| c.name == cluster.name && c.id != cluster.id) {
            return Err(EventBusError::NameDuplicated { kind: "event-router cluster", name: cluster.name });
        }
        let id = cluster.id.clone();
        self.touch(key(Kind::Cluster, &project, &id));
        self.project_mut(&project).router_clusters.insert(id.clone(), cluster);
        self.router_cluster(&project, &id)
    }

    /// Deletes a cluster that has no jobs.
    pub fn delete_router_cluster(&mut self, project: &str, id: &str) -> Result<()> {
        let cluster = self.router_cluster(project, id)?;
        let jobs = self.cluster_job_count(project, id);
        if jobs > 0 {
            return Err(EventBusError::Conflict(format!(
                "event-router cluster {} still has {jobs} jobs",
                cluster.name
            )));
        }
        self.project_mut(project).router_clusters.remove(id);
        self.touch(key(Kind::Cluster, project, id));
        Ok(())
    }

    pub fn router_job(&self, project: &str, id: &str) -> Result<&RouterJob> {
        match self.project(project) {
            Some(p) => get(&p.router_jobs, "event-router job", id),
            None => not_found("event-router job", id),
        }
    }

    pub fn router_jobs_of<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a RouterJob> + 'a {
        self.project(project).into_iter().flat_map(|p| p.router_jobs.values())
    }

    /// Creates a job (or replaces one after an update) in a RUNNING cluster; names are unique per project.
    pub fn put_router_job(&mut self, job: RouterJob, replace: bool, now: Millis) -> Result<&RouterJob> {
        let project = job.project_id.clone();
        if replace {
            let old = self.router_job(&project, &job.id)?;
            if old.cluster_id != job.cluster_id {
                return Err(EventBusError::Invalid(format!(
                    "cluster_id: job {} belongs to cluster {}",
                    old.name, old.cluster_id
                )));
            }
        }
        let cluster = self.router_cluster(&project, &job.cluster_id)?;
        if cluster.status(now) != "RUNNING" {
            return Err(EventBusError::Conflict(format!(
                "event-router cluster {} is {}, not RUNNING",
                cluster.name,
                cluster.status(now)
            )));
        }
        if self.router_jobs_of(&project).any(|j| j.name == job.name && j.id != job.id) {
            return Err(EventBusError::NameDuplicated { kind: "event-router job", name: job.name });
        }
        let id = job.id.clone();
        self.touch(key(Kind::Job, &project, &id));
        self.project_mut(&project).router_jobs.insert(id.clone(), job);
        self.router_job(&project, &id)
    }

    /// Applies an operation to a job (see [`RouterJob::after`]).
    pub fn operate_router_job(&mut self, project: &str, id: &str, operation: JobOperation, now: Millis) -> Result<()> {
        let mut job = self.router_job(project, id)?.clone();
        job.status = job.after(operation).map_err(EventBusError::Conflict)?;
        job.updated_ms = now;
        self.touch(key(Kind::Job, project, id));
        self.project_mut(project).router_jobs.insert(id.to_string(), job);
        Ok(())
    }

    pub fn delete_router_job(&mut self, project: &str, id: &str) -> Result<()> {
        self.router_job(project, id)?;
        self.project_mut(project).router_jobs.remove(id);
        self.touch(key(Kind::Job, project, id));
        Ok(())
    }

    // ---- service agencies ----

    pub fn agencies_of(&self, project: &str) -> impl Iterator<Item = &String> {
        self.project(project).into_iter().flat_map(|p| p.agencies.iter())
    }

    /// Records a service agency (idempotent: an existing one changes nothing and marks nothing).
    pub fn create_agency(&mut self, project: &str, name: &str) {
        if self.agencies_of(project).any(|a| a == name) {
            return;
        }
        self.project_mut(project).agencies.insert(name.to_string());
        self.touch(project_key(project));
    }

    // ---- events ----

    /// The delivering subscriptions of a channel that take this event: candidates come from the
    /// (channel, source) index, then status and filter decide.
    pub fn route(&self, project: &str, channel_id: &str, event: &Value) -> Vec<&Subscription> {
        let source = event.get("source").and_then(Value::as_str).unwrap_or("");
        self.route_from(project, channel_id, source, event)
    }

    /// [`EventBusModel::route`] for a caller that has already read the event's `source` (a string, or
    /// `""` when it has none).
    pub fn route_from(&self, project: &str, channel_id: &str, source: &str, event: &Value) -> Vec<&Subscription> {
        let Some(p) = self.project(project) else { return Vec::new() };
        let Some(ids) = p.route_index.get(channel_id).and_then(|by_source| by_source.get(source)) else {
            return Vec::new();
        };
        ids.iter().filter_map(|id| p.subscriptions.get(id)).filter(|s| s.delivers() && s.accepts(event)).collect()
    }
}

impl crate::storage::Resources for EventBusModel {
    fn dirty_len(&self) -> usize {
        self.dirty.lock().len()
    }

    fn take_dirty(&self) -> Option<Vec<String>> {
        Some(std::mem::take(&mut *self.dirty.lock()))
    }

    fn resource(&self, key: &str) -> Option<Value> {
        let mut parts = key.splitn(3, '/');
        let kind = Kind::parse(parts.next()?)?;
        let project = self.project(parts.next()?)?;
        let id = parts.next();
        let value = match (kind, id) {
            (Kind::Project, None) => serde_json::to_value(Binding {
                account: project.account.clone(),
                quotas: project.quotas.clone(),
                agencies: project.agencies.clone(),
            }),
            (Kind::Channel, Some(id)) => serde_json::to_value(project.channels.get(id)?),
            (Kind::Source, Some(id)) => serde_json::to_value(project.sources.get(id)?),
            (Kind::Subscription, Some(id)) => serde_json::to_value(project.subscriptions.get(id)?),
            (Kind::Connection, Some(id)) => serde_json::to_value(project.connections.get(id)?),
            (Kind::Endpoint, Some(id)) => serde_json::to_value(project.endpoints.get(id)?),
            (Kind::Schema, Some(id)) => serde_json::to_value(project.schemas.get(id)?),
            (Kind::Stream, Some(id)) => serde_json::to_value(project.streams.get(id)?),
            (Kind::Cluster, Some(id)) => serde_json::to_value(project.router_clusters.get(id)?),
            (Kind::Job, Some(id)) => serde_json::to_value(project.router_jobs.get(id)?),
            _ => return None,
        };
        value.ok()
    }

    fn apply(&mut self, key: &str, value: Option<Value>) -> std::result::Result<(), String> {
        let mut parts = key.splitn(3, '/');
        let kind = parts.next().and_then(Kind::parse).ok_or_else(|| format!("unknown resource key {key:?}"))?;
        let project = parts.next().filter(|p| !p.is_empty()).ok_or_else(|| format!("no project in {key:?}"))?;
        let id = parts.next();
        let bad = |e: serde_json::Error| format!("{key}: {e}");
        match (kind, id, value) {
            (Kind::Project, None, Some(v)) => {
                let binding: Binding = serde_json::from_value(v).map_err(bad)?;
                let p = self.project_mut(project);
                (p.account, p.quotas, p.agencies) = (binding.account, binding.quotas, binding.agencies);
            }
            (Kind::Project, None, None) => {
                self.projects.remove(project);
            }
            (Kind::Channel, Some(id), v) => {
                let p = self.project_mut(project);
                match v {
                    Some(v) => drop(p.channels.insert(id.into(), serde_json::from_value(v).map_err(bad)?)),
                    None => drop(p.channels.remove(id)),
                }
            }
            (Kind::Source, Some(id), v) => {
                let p = self.project_mut(project);
                match v {
                    Some(v) => drop(p.sources.insert(id.into(), serde_json::from_value(v).map_err(bad)?)),
                    None => drop(p.sources.remove(id)),
                }
            }
            (Kind::Subscription, Some(id), v) => {
                let p = self.project_mut(project);
                match v {
                    Some(v) => p.insert_subscription(serde_json::from_value(v).map_err(bad)?),
                    None => drop(p.remove_subscription(id)),
                }
            }
            (Kind::Connection, Some(id), v) => {
                let p = self.project_mut(project);
                match v {
                    Some(v) => drop(p.connections.insert(id.into(), serde_json::from_value(v).map_err(bad)?)),
                    None => drop(p.connections.remove(id)),
                }
            }
            (Kind::Endpoint, Some(id), v) => {
                let p = self.project_mut(project);
                match v {
                    Some(v) => drop(p.endpoints.insert(id.into(), serde_json::from_value(v).map_err(bad)?)),
                    None => drop(p.endpoints.remove(id)),
                }
            }
            (Kind::Schema, Some(id), v) => {
                let p = self.project_mut(project);
                match v {
                    Some(v) => drop(p.schemas.insert(id.into(), serde_json::from_value(v).map_err(bad)?)),
                    None => drop(p.schemas.remove(id)),
                }
            }
            (Kind::Stream, Some(id), v) => {
                let p = self.project_mut(project);
                match v {
                    Some(v) => drop(p.streams.insert(id.into(), serde_json::from_value(v).map_err(bad)?)),
                    None => drop(p.streams.remove(id)),
                }
            }
            (Kind::Cluster, Some(id), v) => {
                let p = self.project_mut(project);
                match v {
                    Some(v) => drop(p.router_clusters.insert(id.into(), serde_json::from_value(v).map_err(bad)?)),
                    None => drop(p.router_clusters.remove(id)),
                }
            }
            (Kind::Job, Some(id), v) => {
                let p = self.project_mut(project);
                match v {
                    Some(v) => drop(p.router_jobs.insert(id.into(), serde_json::from_value(v).map_err(bad)?)),
                    None => drop(p.router_jobs.remove(id)),
                }
            }
            _ => return Err(format!("malformed resource key {key:?}")),
        }
        Ok(())
    }
}

/// The id of a project's default channel: stable, so users may write it into their configuration.
pub fn default_channel_id(project: &str) -> String {
    stable_uuid(&format!("huawei/{project}/channel/default"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Resources;

    fn now() -> Millis {
        Millis(0)
    }

    fn channel(project: &str, name: &str) -> Channel {
        Channel {
            id: new_uuid(),
            project_id: project.into(),
            name: name.into(),
            description: String::new(),
            provider_type: "CUSTOM".into(),
            enterprise_project_id: "0".into(),
            policy: None,
            created_ms: now(),
            updated_ms: now(),
        }
    }

    fn subscription(project: &str, channel_id: &str, source: &str, name: &str) -> Subscription {
        Subscription {
            id: new_uuid(),
            project_id: project.into(),
            name: name.into(),
            description: String::new(),
            channel_id: channel_id.into(),
            status: "CREATED".into(),
            enterprise_project_id: "0".into(),
            sources: vec![SubscriptionSource {
                id: new_uuid(),
                name: source.into(),
                provider_type: "CUSTOM".into(),
                detail: None,
                filter: serde_json::json!({"source": [{"op": "StringIn", "values": [source]}]}),
                created_ms: now(),
                updated_ms: now(),
            }],
            targets: Vec::new(),
            created_ms: now(),
            updated_ms: now(),
        }
    }

    #[test]
    fn projects_belong_to_one_account_and_get_defaults() {
        let mut m = EventBusModel::default();
        m.bind_project("p1", "a", now()).unwrap();
        m.bind_project("p1", "a", now()).unwrap();
        assert_eq!(m.bind_project("p1", "b", now()), Err(EventBusError::ProjectOfAnotherAccount("p1".into())));
        assert_eq!(m.channels_of("p1").count(), 1);
        assert_eq!(m.sources_of("p1").count(), OFFICIAL_SOURCES.len());
        assert!(m.channel("p1", &default_channel_id("p1")).is_ok());
        assert!(m.channel("p2", &default_channel_id("p1")).is_err());
        m.bind_project("p2", "b", now()).unwrap();
        m.remove_account("a");
        assert_eq!(m.project_owner("p1"), Some("a"));
        assert_eq!(m.channels_of("p1").count(), 0);
        assert_eq!(m.sources_of("p1").count(), 0);
        assert_eq!(m.channels_of("p2").count(), 1);
        m.provision_project("p1", now());
        assert_eq!(m.channels_of("p1").count(), 1);
    }

    #[test]
    fn the_model_round_trips_through_serde_in_the_flat_format() {
        let mut m = EventBusModel::default();
        m.bind_project("p1", "a", Millis(1)).unwrap();
        m.set_quota("p1", "CHANNEL", 3).unwrap();
        let c = m.create_channel(channel("p1", "c1")).unwrap().id.clone();
        let sub = m.create_subscription(subscription("p1", &c, "src", "s1")).unwrap().id.clone();
        let text = serde_json::to_string(&m).unwrap();
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["projects"]["p1"], "a");
        assert!(value["subscriptions"][&sub].is_object());
        assert!(value.get("events").is_none(), "traces are not state");
        let back: EventBusModel = serde_json::from_str(&text).unwrap();
        assert_eq!(back.project_owner("p1"), Some("a"));
        assert_eq!(back.channels_of("p1").count(), 2);
        assert_eq!(back.quota_limit("p1", "CHANNEL"), 3);
        let event = serde_json::json!({"source": "src", "id": "1", "type": "t", "specversion": "1.0"});
        assert_eq!(back.route("p1", &c, &event).len(), 1, "the index is rebuilt on load");
        // Older files with traces inside still load.
        let old = serde_json::json!({"projects": {"p9": "x"}, "events": {"t": {}}, "event_order": ["t"]});
        let old: EventBusModel = serde_json::from_value(old).unwrap();
        assert_eq!(old.project_owner("p9"), Some("x"));
    }

    #[test]
    fn routing_uses_the_index_and_follows_changes() {
        let mut m = EventBusModel::default();
        m.bind_project("p", "a", now()).unwrap();
        let c = m.create_channel(channel("p", "c")).unwrap().id.clone();
        let a = m.create_subscription(subscription("p", &c, "src-a", "a")).unwrap().id.clone();
        m.create_subscription(subscription("p", &c, "src-b", "b")).unwrap();
        let ev = |source: &str| serde_json::json!({"source": source, "id": "1", "type": "t", "specversion": "1.0"});
        let names = |m: &EventBusModel, source: &str| {
            m.route("p", &c, &ev(source)).iter().map(|s| s.name.clone()).collect::<Vec<_>>()
        };
        assert_eq!(names(&m, "src-a"), ["a"]);
        assert_eq!(names(&m, "src-b"), ["b"]);
        assert!(names(&m, "other").is_empty());
        assert!(m.route("q", &c, &ev("src-a")).is_empty(), "another project sees nothing");
        m.set_subscription_status("p", &a, "DISABLED", now()).unwrap();
        assert!(names(&m, "src-a").is_empty(), "disabled subscriptions do not deliver");
        let mut moved = m.subscription("p", &a).unwrap().clone();
        moved.status = "ENABLED".into();
        moved.sources[0].name = "src-b".into();
        moved.sources[0].filter = serde_json::json!({"source": [{"op": "StringIn", "values": ["src-b"]}]});
        m.replace_subscription(moved).unwrap();
        let mut both = names(&m, "src-b");
        both.sort();
        assert_eq!(both, ["a", "b"]);
        assert!(names(&m, "src-a").is_empty());
        m.delete_subscription("p", &a).unwrap();
        assert_eq!(names(&m, "src-b"), ["b"]);
    }

    #[test]
    fn commands_mark_keys_reads_and_refusals_do_not() {
        let mut m = EventBusModel::default();
        m.bind_project("p", "a", now()).unwrap();
        let first = m.take_dirty().unwrap();
        assert!(first.contains(&"p/p".to_string()));
        assert!(first.contains(&format!("c/p/{}", default_channel_id("p"))));
        let c = m.create_channel(channel("p", "c")).unwrap().id.clone();
        assert_eq!(m.take_dirty().unwrap(), vec![format!("c/p/{c}")]);
        // Reads and refused commands leave nothing.
        m.channel("p", &c).unwrap();
        let _ = m.channels_of("p").count();
        let _ = m.route("p", &c, &serde_json::json!({"source": "x"}));
        assert!(m.create_channel(channel("p", "c")).is_err(), "duplicate name");
        assert!(m.update_channel("p", &c, |_| Err(EventBusError::Invalid("no".into()))).is_err());
        assert!(m.delete_channel("p", "missing").is_err());
        assert!(m.update_channel("p", &default_channel_id("p"), |_| Ok(())).is_err(), "system channel");
        assert_eq!(m.take_dirty().unwrap(), Vec::<String>::new());
        // Traces are not resources.
        m.traces().record(EventRecord {
            trace_id: "t".into(),
            project_id: "p".into(),
            channel_id: c.clone(),
            channel_name: "c".into(),
            event: "{}".into(),
            attributes: Default::default(),
            received: now(),
            deliveries: Vec::new(),
        });
        assert_eq!(m.take_dirty().unwrap(), Vec::<String>::new());
        m.delete_channel("p", &c).unwrap();
        let key = format!("c/p/{c}");
        assert_eq!(m.take_dirty().unwrap(), vec![key.clone()]);
        assert_eq!(m.resource(&key), None);
    }

    #[test]
    fn resources_replay_into_an_equal_model() {
        let mut m = EventBusModel::default();
        m.bind_project("p", "a", now()).unwrap();
        let c = m.create_channel(channel("p", "c")).unwrap().id.clone();
        m.create_subscription(subscription("p", &c, "src", "s")).unwrap();
        m.set_quota("p", "SUBSCRIPTION", 7).unwrap();
        let doomed = m.create_channel(channel("p", "gone")).unwrap().id.clone();
        m.delete_channel("p", &doomed).unwrap();
        let mut replica = EventBusModel::default();
        for key in m.take_dirty().unwrap() {
            replica.apply(&key, m.resource(&key)).unwrap();
        }
        assert_eq!(serde_json::to_value(&replica).unwrap(), serde_json::to_value(&m).unwrap());
        let event = serde_json::json!({"source": "src", "id": "1", "type": "t", "specversion": "1.0"});
        assert_eq!(replica.route("p", &c, &event).len(), 1);
        assert!(replica.apply("zz/p/x", None).is_err());
        assert!(replica.apply(&format!("c/p/{c}"), Some(serde_json::json!("not a channel"))).is_err());
    }

    #[test]
    fn stable_uuids_look_like_uuids() {
        let id = stable_uuid("x");
        assert_eq!(id, stable_uuid("x"));
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }
}
