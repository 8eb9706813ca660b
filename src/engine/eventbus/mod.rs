//! Vendor-neutral event bus: projects bound to accounts, channels, event sources, subscriptions (one source
//! with a filter, N targets with transforms), connections, endpoints, quotas, and the trace of every
//! published event. The Huawei EventGrid facade translates its REST API into calls on this model; delivery
//! itself (HTTP, retries) runs outside the lock, in the facade's runtime.

pub mod filter;
pub mod transform;

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub use transform::{Transform, TransformKind};

/// The name of every project's system channel.
pub const DEFAULT_CHANNEL_NAME: &str = "default";
/// Events whose trace is kept, over all projects; the oldest are forgotten first.
pub const MAX_TRACED_EVENTS: usize = 10_000;
/// Attempt details kept per target (the seed's trace suggests "only the latest three").
pub const MAX_ATTEMPT_DETAILS: usize = 3;

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
    #[error("project {0} belongs to another account")]
    ProjectOfAnotherAccount(String),
}

pub type Result<T> = std::result::Result<T, EventBusError>;

fn not_found<T>(kind: &'static str, id: &str) -> Result<T> {
    Err(EventBusError::NotFound { kind, id: id.to_string() })
}

/// Resources that belong to one project: looked up by id, and invisible from any other project.
trait InProject {
    fn project_id(&self) -> &str;
}

macro_rules! in_project {
    ($($t:ty),*) => {$(
        impl InProject for $t {
            fn project_id(&self) -> &str {
                &self.project_id
            }
        }
    )*};
}

in_project!(Channel, EventSource, Subscription, Connection, Endpoint);

fn in_project<'a, T: InProject>(
    map: &'a BTreeMap<String, T>,
    kind: &'static str,
    project: &str,
    id: &str,
) -> Result<&'a T> {
    match map.get(id) {
        Some(r) if r.project_id() == project => Ok(r),
        _ => not_found(kind, id),
    }
}

fn in_project_mut<'a, T: InProject>(
    map: &'a mut BTreeMap<String, T>,
    kind: &'static str,
    project: &str,
    id: &str,
) -> Result<&'a mut T> {
    match map.get_mut(id) {
        Some(r) if r.project_id() == project => Ok(r),
        _ => not_found(kind, id),
    }
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
    pub created_ms: i64,
    pub updated_ms: i64,
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
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SubscriptionSource {
    pub id: String,
    pub name: String,
    pub provider_type: String,
    pub detail: Option<Value>,
    pub filter: Value,
    pub created_ms: i64,
    pub updated_ms: i64,
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
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// Where a target's events go, as far as a local emulator can take them.
#[derive(Clone, Debug, PartialEq)]
pub enum Destination {
    /// POST to this URL with these extra headers (webhooks and APIGW URLs).
    Http { url: String, headers: Vec<(String, String)> },
    /// Publish into another EventGrid channel (`eg_detail`), which may live in this emulator.
    Channel { project: String, channel_id: String },
    /// A cloud service localyun does not run (FunctionGraph, SMN, Kafka, ...): traced, not delivered.
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
        let service = if self.smn_detail.is_some() {
            Some("SMN")
        } else if self.kafka_detail.is_some() {
            Some("Kafka")
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
    pub created_ms: i64,
    pub updated_ms: i64,
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
    pub created_ms: i64,
    pub updated_ms: i64,
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
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeliveryStatus {
    Pending,
    Success,
    Failed,
    /// The target is a cloud service that cannot be reached locally.
    NotDelivered,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AttemptDetail {
    pub time_ms: i64,
    pub success: bool,
    pub consuming_ms: u64,
    /// The HTTP status as text, or empty when no response came.
    pub rsp_code: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetTrace {
    pub target_id: String,
    pub target_name: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub details: VecDeque<AttemptDetail>,
    /// Why the last attempt failed, or why nothing was delivered.
    pub message: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SubscriptionTrace {
    pub subscription_id: String,
    pub subscription_name: String,
    pub source_provider: String,
    pub targets: Vec<TargetTrace>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventRecord {
    pub trace_id: String,
    pub project_id: String,
    pub channel_id: String,
    pub channel_name: String,
    pub event: Value,
    pub received_ms: i64,
    pub deliveries: Vec<SubscriptionTrace>,
}

impl EventRecord {
    pub fn event_id(&self) -> &str {
        self.event.get("id").and_then(Value::as_str).unwrap_or("")
    }
    pub fn source(&self) -> &str {
        self.event.get("source").and_then(Value::as_str).unwrap_or("")
    }
    pub fn event_type(&self) -> &str {
        self.event.get("type").and_then(Value::as_str).unwrap_or("")
    }
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

#[derive(Default, Debug, Clone, Serialize, Deserialize)]
pub struct EventBusModel {
    /// project id -> the account it belongs to.
    pub projects: BTreeMap<String, String>,
    pub channels: BTreeMap<String, Channel>,
    pub sources: BTreeMap<String, EventSource>,
    pub subscriptions: BTreeMap<String, Subscription>,
    pub connections: BTreeMap<String, Connection>,
    pub endpoints: BTreeMap<String, Endpoint>,
    /// Published events by trace id, and their arrival order for eviction.
    pub events: BTreeMap<String, EventRecord>,
    pub event_order: VecDeque<String>,
    /// Per-project quota overrides (type -> limit).
    pub quota_overrides: BTreeMap<String, BTreeMap<String, u32>>,
}

impl EventBusModel {
    /// Forgets every resource of one account (admin reset); defaults are provisioned again by the caller.
    /// The account keeps its projects: a binding is an identity, not a resource, so `provision_defaults`
    /// gives them their default channel and official sources again.
    pub fn remove_account(&mut self, account: &str) {
        let projects: Vec<String> =
            self.projects.iter().filter(|(_, a)| a.as_str() == account).map(|(p, _)| p.clone()).collect();
        for project in &projects {
            self.remove_project_resources(project);
        }
    }

    fn remove_project_resources(&mut self, project: &str) {
        self.channels.retain(|_, c| c.project_id != project);
        self.sources.retain(|_, s| s.project_id != project);
        self.subscriptions.retain(|_, s| s.project_id != project);
        self.connections.retain(|_, c| c.project_id != project);
        self.endpoints.retain(|_, e| e.project_id != project);
        self.events.retain(|_, e| e.project_id != project);
        let events = &self.events;
        self.event_order.retain(|id| events.contains_key(id));
        self.quota_overrides.remove(project);
    }

    pub fn projects_of<'a>(&'a self, account: &'a str) -> impl Iterator<Item = &'a String> + 'a {
        self.projects.iter().filter(move |(_, a)| a.as_str() == account).map(|(p, _)| p)
    }

    /// Binds a project to an account (first come) and gives it the default channel and official sources.
    /// A project bound to another account is refused.
    pub fn bind_project(&mut self, project: &str, account: &str, now_ms: i64) -> Result<()> {
        match self.projects.get(project) {
            Some(owner) if owner != account => return Err(EventBusError::ProjectOfAnotherAccount(project.to_string())),
            Some(_) => {}
            None => {
                self.projects.insert(project.to_string(), account.to_string());
            }
        }
        self.provision_project(project, now_ms);
        Ok(())
    }

    /// The project's default channel and official sources (idempotent; ids are stable across restarts).
    pub fn provision_project(&mut self, project: &str, now_ms: i64) {
        let channel_id = default_channel_id(project);
        self.channels.entry(channel_id.clone()).or_insert_with(|| Channel {
            id: channel_id.clone(),
            project_id: project.to_string(),
            name: DEFAULT_CHANNEL_NAME.into(),
            description: "默认事件通道 (default channel)".into(),
            provider_type: "OFFICIAL".into(),
            enterprise_project_id: "0".into(),
            policy: None,
            created_ms: now_ms,
            updated_ms: now_ms,
        });
        for (name, label, service) in OFFICIAL_SOURCES {
            let id = stable_uuid(&format!("huawei/{project}/source/{name}"));
            self.sources.entry(id.clone()).or_insert_with(|| EventSource {
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
                created_ms: now_ms,
                updated_ms: now_ms,
            });
        }
    }

    pub fn project_owner(&self, project: &str) -> Option<&str> {
        self.projects.get(project).map(String::as_str)
    }

    // ---- quotas ----

    pub fn quota_limit(&self, project: &str, quota: &'static str) -> u32 {
        self.quota_overrides
            .get(project)
            .and_then(|m| m.get(quota))
            .copied()
            .or_else(|| QUOTAS.iter().find(|(q, _, _)| *q == quota).map(|(_, _, d)| *d))
            .unwrap_or(u32::MAX)
    }

    /// What a quota has used in a project (per-parent quotas report their largest parent).
    pub fn quota_used(&self, project: &str, quota: &str) -> u32 {
        let count = |n: usize| n as u32;
        match quota {
            "CHANNEL" => {
                count(self.channels.values().filter(|c| c.project_id == project && c.provider_type == "CUSTOM").count())
            }
            "SOURCE" => count(self.custom_sources(project).count()),
            "SOURCE_RABBITMQ" => count(self.custom_sources(project).filter(|s| s.source_type == "RABBITMQ").count()),
            "SOURCE_ROCKETMQ" => count(self.custom_sources(project).filter(|s| s.source_type == "ROCKETMQ").count()),
            "SUBSCRIPTION" => count(self.subscriptions.values().filter(|s| s.project_id == project).count()),
            "CHANNEL_SUBSCRIPTION" => {
                let mut per_channel: BTreeMap<&str, u32> = BTreeMap::new();
                for s in self.subscriptions.values().filter(|s| s.project_id == project) {
                    *per_channel.entry(s.channel_id.as_str()).or_default() += 1;
                }
                per_channel.values().copied().max().unwrap_or(0)
            }
            "SUBSCRIPTION_TARGET" => self
                .subscriptions
                .values()
                .filter(|s| s.project_id == project)
                .map(|s| count(s.targets.len()))
                .max()
                .unwrap_or(0),
            "CONNECTION" => count(self.connections.values().filter(|c| c.project_id == project).count()),
            "PRIVATE_ENDPOINT" => {
                count(self.endpoints.values().filter(|e| e.project_id == project && e.kind == "PRIVATE").count())
            }
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

    fn custom_sources<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a EventSource> + 'a {
        self.sources.values().filter(move |s| s.project_id == project && s.provider_type == "CUSTOM")
    }

    // ---- channels ----

    pub fn channel(&self, project: &str, id: &str) -> Result<&Channel> {
        in_project(&self.channels, "channel", project, id)
    }

    pub fn channels_of<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a Channel> + 'a {
        self.channels.values().filter(move |c| c.project_id == project)
    }

    pub fn create_channel(&mut self, channel: Channel) -> Result<&Channel> {
        let project = channel.project_id.clone();
        if self.channels_of(&project).any(|c| c.name == channel.name) {
            return Err(EventBusError::NameDuplicated { kind: "channel", name: channel.name });
        }
        self.check_quota(&project, "CHANNEL", self.quota_used(&project, "CHANNEL"), 1)?;
        let id = channel.id.clone();
        Ok(self.channels.entry(id).or_insert(channel))
    }

    pub fn custom_channel_mut(&mut self, project: &str, id: &str) -> Result<&mut Channel> {
        self.channel(project, id)?;
        match self.channels.get_mut(id) {
            Some(c) if c.provider_type == "CUSTOM" => Ok(c),
            Some(c) => Err(EventBusError::NotModifiable(format!("channel {} is a system channel", c.name))),
            None => not_found("channel", id),
        }
    }

    pub fn delete_channel(&mut self, project: &str, id: &str) -> Result<()> {
        self.custom_channel_mut(project, id)?;
        if self.sources.values().any(|s| s.channel_id == id && s.project_id == project) {
            return Err(EventBusError::Conflict(format!("channel {id} still has event sources")));
        }
        if self.subscriptions.values().any(|s| s.channel_id == id && s.project_id == project) {
            return Err(EventBusError::Conflict(format!("channel {id} still has subscriptions")));
        }
        self.channels.remove(id);
        Ok(())
    }

    // ---- event sources ----

    pub fn source(&self, project: &str, id: &str) -> Result<&EventSource> {
        in_project(&self.sources, "event source", project, id)
    }

    pub fn sources_of<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a EventSource> + 'a {
        self.sources.values().filter(move |s| s.project_id == project)
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
        Ok(self.sources.entry(id).or_insert(source))
    }

    pub fn custom_source_mut(&mut self, project: &str, id: &str) -> Result<&mut EventSource> {
        self.source(project, id)?;
        match self.sources.get_mut(id) {
            Some(s) if s.provider_type == "CUSTOM" => Ok(s),
            Some(s) => Err(EventBusError::NotModifiable(format!("event source {} is an official source", s.name))),
            None => not_found("event source", id),
        }
    }

    pub fn delete_source(&mut self, project: &str, id: &str) -> Result<()> {
        let source = self.custom_source_mut(project, id)?;
        let (name, channel_id) = (source.name.clone(), source.channel_id.clone());
        let used = self.subscriptions.values().any(|s| {
            s.project_id == project && s.channel_id == channel_id && s.sources.iter().any(|src| src.name == name)
        });
        if used {
            return Err(EventBusError::Conflict(format!("event source {name} is used by a subscription")));
        }
        self.sources.remove(id);
        Ok(())
    }

    // ---- subscriptions ----

    pub fn subscription(&self, project: &str, id: &str) -> Result<&Subscription> {
        in_project(&self.subscriptions, "subscription", project, id)
    }

    pub fn subscription_mut(&mut self, project: &str, id: &str) -> Result<&mut Subscription> {
        in_project_mut(&mut self.subscriptions, "subscription", project, id)
    }

    pub fn subscriptions_of<'a>(&'a self, project: &'a str) -> impl Iterator<Item = &'a Subscription> + 'a {
        self.subscriptions.values().filter(move |s| s.project_id == project)
    }

    /// Subscription source and target ids are globally unique; `except` is the subscription being rewritten.
    fn check_part_ids(&self, sub: &Subscription, except: Option<&str>) -> Result<()> {
        let mut seen: Vec<&str> = Vec::new();
        for id in sub.sources.iter().map(|s| s.id.as_str()).chain(sub.targets.iter().map(|t| t.id.as_str())) {
            if seen.contains(&id) {
                return Err(EventBusError::NameDuplicated {
                    kind: "subscription source or target id",
                    name: id.to_string(),
                });
            }
            seen.push(id);
        }
        for other in self.subscriptions.values().filter(|s| Some(s.id.as_str()) != except) {
            let taken = other.sources.iter().map(|s| s.id.as_str()).chain(other.targets.iter().map(|t| t.id.as_str()));
            for id in taken {
                if seen.contains(&id) {
                    return Err(EventBusError::NameDuplicated {
                        kind: "subscription source or target id",
                        name: id.to_string(),
                    });
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
                match self.connections.get(id) {
                    Some(c) if c.project_id == project => {}
                    _ => return not_found("connection", id),
                }
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
        let on_channel = self.subscriptions_of(&project).filter(|s| s.channel_id == sub.channel_id).count() as u32;
        self.check_quota(&project, "CHANNEL_SUBSCRIPTION", on_channel, 1)?;
        self.check_quota(&project, "SUBSCRIPTION_TARGET", 0, sub.targets.len() as u32)?;
        let id = sub.id.clone();
        Ok(self.subscriptions.entry(id).or_insert(sub))
    }

    /// Replaces a subscription after an update (sources/targets rewritten in full), re-checking the rules.
    pub fn replace_subscription(&mut self, sub: Subscription) -> Result<&Subscription> {
        let project = sub.project_id.clone();
        self.subscription(&project, &sub.id)?;
        self.check_part_ids(&sub, Some(&sub.id))?;
        self.check_connections(&project, &sub.targets)?;
        self.check_quota(&project, "SUBSCRIPTION_TARGET", 0, sub.targets.len() as u32)?;
        let id = sub.id.clone();
        self.subscriptions.insert(id.clone(), sub);
        self.subscription(&project, &id)
    }

    pub fn delete_subscription(&mut self, project: &str, id: &str) -> Result<()> {
        self.subscription(project, id)?;
        self.subscriptions.remove(id);
        Ok(())
    }

    // ---- connections ----

    pub fn connection(&self, project: &str, id: &str) -> Result<&Connection> {
        in_project(&self.connections, "connection", project, id)
    }

    pub fn connection_mut(&mut self, project: &str, id: &str) -> Result<&mut Connection> {
        in_project_mut(&mut self.connections, "connection", project, id)
    }

    pub fn create_connection(&mut self, connection: Connection) -> Result<&Connection> {
        let project = connection.project_id.clone();
        if self.connections.values().any(|c| c.project_id == project && c.name == connection.name) {
            return Err(EventBusError::NameDuplicated { kind: "connection", name: connection.name });
        }
        self.check_quota(&project, "CONNECTION", self.quota_used(&project, "CONNECTION"), 1)?;
        let id = connection.id.clone();
        Ok(self.connections.entry(id).or_insert(connection))
    }

    pub fn delete_connection(&mut self, project: &str, id: &str) -> Result<()> {
        let connection = self.connection(project, id)?;
        if connection.status == "CREATING" {
            return Err(EventBusError::Conflict("CREATING".into()));
        }
        let used = self.subscriptions_of(project).flat_map(|s| s.targets.iter()).any(|t| {
            t.connection_id.as_deref() == Some(id)
                || t.dead_letter_queue.as_ref().and_then(|d| d.get("connection_id")).and_then(Value::as_str) == Some(id)
        });
        if used {
            return Err(EventBusError::Conflict(format!("connection {id} is used by a subscription target")));
        }
        self.connections.remove(id);
        Ok(())
    }

    // ---- endpoints ----

    pub fn endpoint_mut(&mut self, project: &str, id: &str) -> Result<&mut Endpoint> {
        in_project_mut(&mut self.endpoints, "endpoint", project, id)
    }

    pub fn create_endpoint(&mut self, endpoint: Endpoint) -> Result<&Endpoint> {
        let project = endpoint.project_id.clone();
        if self.endpoints.values().any(|e| e.project_id == project && e.name == endpoint.name) {
            return Err(EventBusError::NameDuplicated { kind: "endpoint", name: endpoint.name });
        }
        if self
            .endpoints
            .values()
            .any(|e| e.project_id == project && e.kind == "PRIVATE" && e.vpc_id == endpoint.vpc_id)
        {
            return Err(EventBusError::Conflict(format!("VPC {} already has a private endpoint", endpoint.vpc_id)));
        }
        self.check_quota(&project, "PRIVATE_ENDPOINT", self.quota_used(&project, "PRIVATE_ENDPOINT"), 1)?;
        let id = endpoint.id.clone();
        Ok(self.endpoints.entry(id).or_insert(endpoint))
    }

    pub fn delete_endpoint(&mut self, project: &str, id: &str) -> Result<()> {
        self.endpoint_mut(project, id)?;
        self.endpoints.remove(id);
        Ok(())
    }

    // ---- events ----

    /// The subscriptions of a channel that take this event, with the targets to deliver to.
    pub fn route(&self, project: &str, channel_id: &str, event: &Value) -> Vec<&Subscription> {
        self.subscriptions
            .values()
            .filter(|s| s.project_id == project && s.channel_id == channel_id && s.delivers() && s.accepts(event))
            .collect()
    }

    /// Stores a published event with its planned deliveries, forgetting the oldest beyond the bound.
    pub fn record_event(&mut self, record: EventRecord) {
        while self.event_order.len() >= MAX_TRACED_EVENTS {
            if let Some(old) = self.event_order.pop_front() {
                self.events.remove(&old);
            }
        }
        self.event_order.push_back(record.trace_id.clone());
        self.events.insert(record.trace_id.clone(), record);
    }

    /// An event by its trace id, or else by the CloudEvent `id` it was published with (the latest one).
    pub fn event(&self, project: &str, id: &str) -> Result<&EventRecord> {
        if let Some(e) = self.events.get(id).filter(|e| e.project_id == project) {
            return Ok(e);
        }
        self.event_order
            .iter()
            .rev()
            .filter_map(|t| self.events.get(t))
            .find(|e| e.project_id == project && e.event_id() == id)
            .map_or_else(|| not_found("event", id), Ok)
    }

    /// Records one delivery attempt (or its final state) of an event to a target.
    pub fn trace_attempt(
        &mut self,
        trace_id: &str,
        subscription_id: &str,
        target_id: &str,
        status: DeliveryStatus,
        detail: Option<AttemptDetail>,
        message: &str,
    ) {
        let Some(record) = self.events.get_mut(trace_id) else { return };
        let Some(sub) = record.deliveries.iter_mut().find(|d| d.subscription_id == subscription_id) else { return };
        let Some(target) = sub.targets.iter_mut().find(|t| t.target_id == target_id) else { return };
        target.status = status;
        target.message = message.to_string();
        if let Some(detail) = detail {
            target.attempts += 1;
            if target.details.len() == MAX_ATTEMPT_DETAILS {
                target.details.pop_front();
            }
            target.details.push_back(detail);
        }
    }
}

/// The id of a project's default channel: stable, so users may write it into their configuration.
pub fn default_channel_id(project: &str) -> String {
    stable_uuid(&format!("huawei/{project}/channel/default"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_belong_to_one_account_and_get_defaults() {
        let mut m = EventBusModel::default();
        m.bind_project("p1", "a", 0).unwrap();
        m.bind_project("p1", "a", 0).unwrap();
        assert_eq!(m.bind_project("p1", "b", 0), Err(EventBusError::ProjectOfAnotherAccount("p1".into())));
        assert_eq!(m.channels_of("p1").count(), 1);
        assert_eq!(m.sources_of("p1").count(), OFFICIAL_SOURCES.len());
        assert!(m.channel("p1", &default_channel_id("p1")).is_ok());
        assert!(m.channel("p2", &default_channel_id("p1")).is_err());
        m.bind_project("p2", "b", 0).unwrap();
        m.remove_account("a");
        assert_eq!(m.project_owner("p1"), Some("a"));
        assert_eq!(m.channels_of("p1").count(), 0);
        assert_eq!(m.sources_of("p1").count(), 0);
        assert_eq!(m.channels_of("p2").count(), 1);
        m.provision_project("p1", 0);
        assert_eq!(m.channels_of("p1").count(), 1);
    }

    #[test]
    fn the_model_round_trips_through_serde() {
        let mut m = EventBusModel::default();
        m.bind_project("p1", "a", 1).unwrap();
        let text = serde_json::to_string(&m).unwrap();
        let back: EventBusModel = serde_json::from_str(&text).unwrap();
        assert_eq!(back.project_owner("p1"), Some("a"));
        assert_eq!(back.channels_of("p1").count(), 1);
    }

    #[test]
    fn stable_uuids_look_like_uuids() {
        let id = stable_uuid("x");
        assert_eq!(id, stable_uuid("x"));
        assert_eq!(id.len(), 36);
        assert_eq!(id.matches('-').count(), 4);
    }
}
