//! A vendor-neutral Kafka cluster model: instances, topics, partitions with offsets, consumer groups with
//! committed offsets. Tencent CKafka and Alibaba Kafka facades and the Kafka protocol listener share it.
//!
//! Sealed: callers read through [`KafkaModel::read_instance`] / [`KafkaModel::instances_of`] (shared
//! borrows only) and change state only through the command methods, which keep the invariants (quotas,
//! the instance's partition total as a counter) and mark the changed resources for the storage layer
//! ([`crate::storage::Resources`], keys `i/<instance>`, `t/<instance>/<topic>`, `g/<instance>/<group>`).
//!
//! Locking: every instance has its own `RwLock`, found through a map whose own lock is written only when
//! instances are added or removed. All methods take `&self`, so facades hold the outer `Model` read lock
//! only: requests on two instances (hence two accounts) never wait on each other.

mod resources;
pub mod security;
mod types;
pub mod vports;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use indexmap::IndexSet;
use parking_lot::{Mutex, RwLock, RwLockReadGuard};
use serde::{Deserialize, Serialize};

pub use types::*;

use super::Cloud;

/// Why a command or query failed. Neutral: facades map these onto their vendor's codes and parameter names.
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
    /// `min.insync.replicas` above the topic's replica count.
    MinInsyncAboveReplicas {
        requested: u32,
        replicas: u32,
    },
    /// A quota of the instance (topics, partitions, whitelist entries) would be exceeded.
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
            KafkaError::MinInsyncAboveReplicas { replicas, .. } => {
                write!(f, "cannot exceed the topic's {replicas} replicas")
            }
            KafkaError::QuotaExceeded(what) => write!(f, "quota exceeded: {what}"),
        }
    }
}

/// Most partitions one topic may have, whatever the instance quota says: a fixture or an imported state can
/// raise `max_partitions` to `u32::MAX`, and a request must never make localyun allocate billions of
/// partitions. Far above what either vendor allows a topic.
pub const MAX_PARTITIONS_PER_TOPIC: u32 = 100_000;

/// Most whitelist entries a topic may hold.
pub const MAX_WHITELIST_IPS: usize = 256;

/// Who may see an instance: a facade passes its cloud, the caller's account and (when the vendor scopes
/// instances by region) the request's region; another owner's instance is "not found". The Kafka protocol
/// listener, which addresses instances by id alone, uses [`Scope::ANY`].
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// The cloud whose API created the instance; None: any.
    pub cloud: Option<Cloud>,
    /// The owning account; None: any.
    pub account: Option<&'a str>,
    /// The instance's region; None: any.
    pub region: Option<&'a str>,
}

impl<'a> Scope<'a> {
    /// Every instance, whoever owns it.
    pub const ANY: Scope<'static> = Scope { cloud: None, account: None, region: None };

    /// The instances one account created through one cloud's API.
    pub fn owner(cloud: Cloud, account: &'a str) -> Scope<'a> {
        Scope { cloud: Some(cloud), account: Some(account), region: None }
    }

    /// Narrowed to one region (None: any region).
    pub fn in_region(self, region: Option<&'a str>) -> Scope<'a> {
        Scope { region, ..self }
    }

    fn admits(&self, meta: &SlotKey) -> bool {
        self.cloud.is_none_or(|c| c == meta.cloud)
            && self.account.is_none_or(|a| a == meta.account)
            && self.region.is_none_or(|r| r == meta.region)
    }
}

/// An instance's owner, fixed at creation: read without taking the instance's lock.
#[derive(Debug)]
struct SlotKey {
    cloud: Cloud,
    account: String,
    region: String,
}

/// One instance behind its own lock.
#[derive(Debug)]
struct Slot {
    key: SlotKey,
    instance: RwLock<KafkaInstance>,
}

impl Slot {
    fn new(instance: KafkaInstance) -> Arc<Slot> {
        let key = SlotKey { cloud: instance.cloud, account: instance.account.clone(), region: instance.region.clone() };
        Arc::new(Slot { key, instance: RwLock::new(instance) })
    }
}

/// A shared handle on one instance (from [`KafkaModel::instances_of`]); `read()` borrows it.
#[derive(Clone)]
pub struct InstanceHandle(Arc<Slot>);

impl InstanceHandle {
    /// The instance, read-locked (only this instance).
    pub fn read(&self) -> RwLockReadGuard<'_, KafkaInstance> {
        self.0.instance.read()
    }

    /// The instance's id (no lock taken).
    pub fn id(&self) -> String {
        self.0.instance.read().id.clone()
    }
}

/// All Kafka instances of all clouds and accounts.
#[derive(Default)]
pub struct KafkaModel {
    instances: RwLock<BTreeMap<String, Arc<Slot>>>,
    /// Keys of resources changed since the storage layer last drained them, in first-change order.
    dirty: Mutex<IndexSet<String>>,
    /// Commands that changed something, since start (lets a caller tell whether a request changed state).
    changes: AtomicU64,
}

impl std::fmt::Debug for KafkaModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaModel").field("instances", &self.instances.read().len()).finish()
    }
}

impl Clone for KafkaModel {
    /// A deep copy (instances are copied, not shared); the copy has no dirty keys.
    fn clone(&self) -> Self {
        let map = self.instances.read();
        KafkaModel {
            instances: RwLock::new(
                map.iter().map(|(k, s)| (k.clone(), Slot::new(s.instance.read().clone()))).collect(),
            ),
            dirty: Mutex::default(),
            changes: AtomicU64::new(0),
        }
    }
}

impl Serialize for KafkaModel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeStruct};
        struct Instances<'a>(&'a BTreeMap<String, Arc<Slot>>);
        impl Serialize for Instances<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (id, slot) in self.0 {
                    m.serialize_entry(id, &*slot.instance.read())?;
                }
                m.end()
            }
        }
        let map = self.instances.read();
        let mut st = s.serialize_struct("KafkaModel", 1)?;
        st.serialize_field("instances", &Instances(&map))?;
        st.end()
    }
}

impl<'de> Deserialize<'de> for KafkaModel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Record {
            #[serde(default)]
            instances: BTreeMap<String, KafkaInstance>,
        }
        let r = Record::deserialize(d)?;
        let model = KafkaModel::default();
        *model.instances.write() = r.instances.into_iter().map(|(id, i)| (id, Slot::new(i))).collect();
        Ok(model)
    }
}

impl KafkaModel {
    // ------------------------------------------------------------------------------------------ internals

    fn mark(&self, keys: impl IntoIterator<Item = String>) {
        let mut dirty = self.dirty.lock();
        dirty.extend(keys);
        self.changes.fetch_add(1, Ordering::Release);
    }

    fn slot(&self, scope: Scope<'_>, id: &str) -> Result<Arc<Slot>, KafkaError> {
        self.instances
            .read()
            .get(id)
            .filter(|s| scope.admits(&s.key))
            .cloned()
            .ok_or_else(|| KafkaError::InstanceNotFound(id.to_string()))
    }

    /// Runs `f` on one instance under its write lock; on success marks the keys `f` reports.
    fn update<R>(
        &self,
        scope: Scope<'_>,
        id: &str,
        f: impl FnOnce(&mut KafkaInstance) -> Result<(R, Vec<String>), KafkaError>,
    ) -> Result<R, KafkaError> {
        let slot = self.slot(scope, id)?;
        let mut instance = slot.instance.write();
        let (r, keys) = f(&mut instance)?;
        if !keys.is_empty() {
            self.mark(keys);
        }
        Ok(r)
    }

    // ----------------------------------------------------------------------------------------- queries

    /// Runs `f` on one instance the scope admits, under that instance's read lock.
    /// Errors: `InstanceNotFound` (also for another owner's instance).
    pub fn read_instance<R>(
        &self,
        scope: Scope<'_>,
        id: &str,
        f: impl FnOnce(&KafkaInstance) -> R,
    ) -> Result<R, KafkaError> {
        let slot = self.slot(scope, id)?;
        let guard = slot.instance.read();
        Ok(f(&guard))
    }

    /// A handle on one instance the scope admits. Errors: `InstanceNotFound`.
    pub fn instance(&self, scope: Scope<'_>, id: &str) -> Result<InstanceHandle, KafkaError> {
        self.slot(scope, id).map(InstanceHandle)
    }

    /// Handles on the instances a scope admits, in id order (no instance lock is taken to find them).
    pub fn instances_of(&self, scope: Scope<'_>) -> Vec<InstanceHandle> {
        self.instances.read().values().filter(|s| scope.admits(&s.key)).map(|s| InstanceHandle(s.clone())).collect()
    }

    /// Whether an instance with this id exists (any owner).
    pub fn contains_instance(&self, id: &str) -> bool {
        self.instances.read().contains_key(id)
    }

    /// How many commands changed something since start; compare two readings to learn whether anything
    /// changed in between.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Acquire)
    }

    /// How many partitions a topic has. For the protocol listener's metadata answers.
    pub fn topic_partition_count(&self, scope: Scope<'_>, instance: &str, topic: &str) -> Result<u32, KafkaError> {
        self.read_instance(scope, instance, |i| i.topic(topic).map(|t| t.partitions.len() as u32))?
    }

    /// A group's committed offset on one partition (None: never committed). For OffsetFetch.
    pub fn committed_offset(
        &self,
        scope: Scope<'_>,
        instance: &str,
        group: &str,
        topic: &str,
        partition: u32,
    ) -> Result<Option<CommittedOffset>, KafkaError> {
        self.read_instance(scope, instance, |i| {
            i.groups.get(group).and_then(|g| g.offsets.get(topic)).and_then(|m| m.get(&partition)).copied()
        })
    }

    // -------------------------------------------------------------------------------- instance commands

    /// Adds an instance. Errors: `InstanceExists`.
    /// An instance whose `vport` is 0 gets the first free block of [`vports::STEP`] ports from
    /// [`vports::FIRST_ALLOCATED`] (under the same lock, so two creations never share one).
    pub fn add_instance(&self, mut meta: InstanceMeta) -> Result<(), KafkaError> {
        let mut map = self.instances.write();
        if map.contains_key(&meta.id) {
            return Err(KafkaError::InstanceExists(meta.id));
        }
        if meta.vport == 0 {
            let used: Vec<u16> = map.values().map(|s| s.instance.read().vport).collect();
            meta.vport = vports::first_free(&used);
        }
        let id = meta.id.clone();
        map.insert(id.clone(), Slot::new(KafkaInstance::assemble(meta, Default::default(), Default::default())));
        drop(map);
        self.mark([format!("i/{id}")]);
        Ok(())
    }

    /// Gives every instance after the first one holding a vport (state written before vports were
    /// allocated, when every instance answered 9092) a free block of its own (see [`vports`]).
    /// `owners_first` lists instance ids, the ones that keep a shared vport first; instances it leaves
    /// out keep theirs. Returns the moved instances with their new vports.
    pub fn separate_vports(&self, owners_first: &[String]) -> Vec<(String, u16)> {
        let mut used: Vec<u16> = Vec::new();
        let mut moved = Vec::new();
        for id in owners_first {
            let Ok(current) = self.read_instance(Scope::ANY, id, |i| i.vport) else { continue };
            if !used.contains(&current) {
                used.push(current);
                continue;
            }
            // Leave room for every instance that keeps its vport.
            let mut taken = used.clone();
            taken.extend(owners_first.iter().filter_map(|o| self.read_instance(Scope::ANY, o, |i| i.vport).ok()));
            let port = vports::first_free(&taken);
            let changed = self.update(Scope::ANY, id, |i| {
                i.meta.vport = port;
                Ok(((), vec![format!("i/{id}")]))
            });
            if changed.is_ok() {
                used.push(port);
                moved.push((id.clone(), port));
            }
        }
        moved
    }

    /// Gives an account its default instances, one per region (idempotent): `id_of(region)` names each, and
    /// `build(region, id)` makes the ones that do not exist yet. Both Kafka facades provision through here.
    pub fn provision_defaults<E>(
        &self,
        regions: &[&str],
        id_of: impl Fn(&str) -> String,
        build: impl Fn(&str, &str) -> Result<InstanceMeta, E>,
    ) {
        for region in regions {
            let id = id_of(region);
            if self.contains_instance(&id) {
                continue;
            }
            if let Ok(meta) = build(region, &id) {
                // A concurrent provisioning of the same id loses harmlessly.
                let _ = self.add_instance(meta);
            }
        }
    }

    /// Removes the instances a scope admits (admin reset); marks each with everything it owned.
    pub fn remove_instances(&self, scope: Scope<'_>) {
        let removed: Vec<(String, Arc<Slot>)> = {
            let mut map = self.instances.write();
            let ids: Vec<String> = map.iter().filter(|(_, s)| scope.admits(&s.key)).map(|(k, _)| k.clone()).collect();
            ids.into_iter().filter_map(|id| map.remove(&id).map(|s| (id, s))).collect()
        };
        if removed.is_empty() {
            return;
        }
        let mut keys = Vec::new();
        for (id, slot) in &removed {
            let i = slot.instance.read();
            keys.push(format!("i/{id}"));
            keys.extend(i.topics.keys().map(|t| topic_key(id, t)));
            keys.extend(i.groups.keys().map(|g| group_key(id, g)));
        }
        self.mark(keys);
    }

    /// Forgets every resource of one account (admin reset); defaults are provisioned again by the caller.
    pub fn remove_account(&self, account: &str) {
        self.remove_instances(Scope { account: Some(account), ..Scope::ANY });
    }

    /// Forgets every resource created through one cloud's API.
    pub fn remove_cloud(&self, cloud: Cloud) {
        self.remove_instances(Scope { cloud: Some(cloud), ..Scope::ANY });
    }

    /// Changes an instance's settings (name, retention, quotas). Quotas apply to later commands; what
    /// exists already stays.
    pub fn update_instance(&self, scope: Scope<'_>, id: &str, update: InstanceUpdate) -> Result<(), KafkaError> {
        self.update(scope, id, |i| {
            if let Some(n) = update.name {
                i.meta.name = n;
            }
            if let Some(r) = update.msg_retention_minutes {
                i.meta.msg_retention_minutes = r;
            }
            if let Some(m) = update.max_topics {
                i.meta.max_topics = m;
            }
            if let Some(m) = update.max_partitions {
                i.meta.max_partitions = m;
            }
            if let Some(b) = update.brokers {
                i.meta.brokers = b;
            }
            Ok(((), vec![format!("i/{id}")]))
        })
    }

    // ----------------------------------------------------------------------------------- topic commands

    /// Creates a topic. Errors: `TopicExists`, `TooManyReplicas`, `QuotaExceeded` (topics per instance,
    /// partitions per topic or per instance). The partition quota is checked against the running total.
    pub fn create_topic(&self, scope: Scope<'_>, instance: &str, spec: NewTopic) -> Result<String, KafkaError> {
        self.update(scope, instance, |i| {
            if i.topics.contains_key(&spec.name) {
                return Err(KafkaError::TopicExists(spec.name));
            }
            if spec.replica_num > i.brokers {
                return Err(KafkaError::TooManyReplicas { requested: spec.replica_num, brokers: i.brokers });
            }
            if i.topics.len() >= i.max_topics as usize {
                return Err(KafkaError::QuotaExceeded(format!("at most {} topics per instance", i.max_topics)));
            }
            if spec.partitions > MAX_PARTITIONS_PER_TOPIC {
                return Err(KafkaError::QuotaExceeded(format!(
                    "at most {MAX_PARTITIONS_PER_TOPIC} partitions per topic"
                )));
            }
            if i.partition_total + u64::from(spec.partitions) > u64::from(i.max_partitions) {
                return Err(KafkaError::QuotaExceeded(format!("at most {} partitions per instance", i.max_partitions)));
            }
            let mut spec = spec;
            if spec.config.min_insync_replicas == 0 {
                spec.config.min_insync_replicas = 1;
            }
            let name = spec.name.clone();
            let topic = Topic::build(spec, Millis::now());
            let id = topic.id.clone();
            i.partition_total += topic.partitions.len() as u64;
            i.topics.insert(name.clone(), topic);
            Ok((id, vec![topic_key(instance, &name)]))
        })
    }

    /// Deletes a topic and every group's committed offsets on it (as Kafka does). Errors: `TopicNotFound`.
    pub fn delete_topic(&self, scope: Scope<'_>, instance: &str, name: &str) -> Result<(), KafkaError> {
        self.update(scope, instance, |i| {
            let topic = i.topics.shift_remove(name).ok_or_else(|| KafkaError::TopicNotFound(name.to_string()))?;
            i.partition_total -= topic.partitions.len() as u64;
            let mut keys = vec![topic_key(instance, name)];
            for group in i.groups.values_mut() {
                if group.offsets.remove(name).is_some() {
                    keys.push(group_key(instance, &group.name));
                }
            }
            Ok(((), keys))
        })
    }

    /// Grows a topic to `total` partitions. Errors: `TopicNotFound`, `PartitionsCannotShrink`,
    /// `QuotaExceeded`.
    pub fn grow_partitions(&self, scope: Scope<'_>, instance: &str, name: &str, total: u32) -> Result<(), KafkaError> {
        self.update(scope, instance, |i| {
            let current_total = i.partition_total;
            let max = i.max_partitions;
            let topic = i.topics.get_mut(name).ok_or_else(|| KafkaError::TopicNotFound(name.to_string()))?;
            let current = topic.partitions.len() as u32;
            if total < current {
                return Err(KafkaError::PartitionsCannotShrink { current, requested: total });
            }
            if total > MAX_PARTITIONS_PER_TOPIC {
                return Err(KafkaError::QuotaExceeded(format!(
                    "at most {MAX_PARTITIONS_PER_TOPIC} partitions per topic"
                )));
            }
            if current_total + u64::from(total - current) > u64::from(max) {
                return Err(KafkaError::QuotaExceeded(format!("at most {max} partitions per instance")));
            }
            topic.partitions.resize_with(total as usize, Partition::default);
            i.partition_total += u64::from(total - current);
            Ok(((), vec![topic_key(instance, name)]))
        })
    }

    /// Changes a topic's settings. Errors: `TopicNotFound`, `MinInsyncAboveReplicas` (nothing changes then).
    pub fn update_topic(&self, scope: Scope<'_>, instance: &str, name: &str, u: TopicUpdate) -> Result<(), KafkaError> {
        self.update(scope, instance, |i| {
            let topic = i.topics.get_mut(name).ok_or_else(|| KafkaError::TopicNotFound(name.to_string()))?;
            if let Some(m) = u.min_insync_replicas {
                if m > topic.replica_num {
                    return Err(KafkaError::MinInsyncAboveReplicas { requested: m, replicas: topic.replica_num });
                }
            }
            if let Some(n) = u.remark {
                topic.remark = n;
            }
            if let Some(e) = u.whitelist_enabled {
                topic.whitelist.enabled = e;
            }
            if let Some(m) = u.min_insync_replicas {
                topic.config.min_insync_replicas = m;
            }
            if let Some(v) = u.unclean_leader_election {
                topic.config.unclean_leader_election = v;
            }
            if let Some(r) = u.retention_ms {
                topic.config.retention_ms = Some(r);
            }
            if let Some(s) = u.segment_ms {
                topic.config.segment_ms = Some(s);
            }
            Ok(((), vec![topic_key(instance, name)]))
        })
    }

    /// Replaces a topic's Kafka configs at once (Kafka's AlterConfigs / IncrementalAlterConfigs, after the
    /// broker validated each value). Errors: `TopicNotFound`, `MinInsyncAboveReplicas` (nothing changes
    /// then).
    pub fn set_topic_config(
        &self,
        scope: Scope<'_>,
        instance: &str,
        name: &str,
        config: TopicConfig,
    ) -> Result<(), KafkaError> {
        self.update(scope, instance, |i| {
            let topic = i.topics.get_mut(name).ok_or_else(|| KafkaError::TopicNotFound(name.to_string()))?;
            if config.min_insync_replicas > topic.replica_num {
                return Err(KafkaError::MinInsyncAboveReplicas {
                    requested: config.min_insync_replicas,
                    replicas: topic.replica_num,
                });
            }
            topic.config = config;
            Ok(((), vec![topic_key(instance, name)]))
        })
    }

    /// Starts forwarding a topic to a bucket (`Some`), or pauses an existing forward (`None`).
    pub fn set_forward(
        &self,
        scope: Scope<'_>,
        instance: &str,
        name: &str,
        forward: Option<Forward>,
    ) -> Result<(), KafkaError> {
        self.update(scope, instance, |i| {
            let topic = i.topics.get_mut(name).ok_or_else(|| KafkaError::TopicNotFound(name.to_string()))?;
            match forward {
                Some(f) => topic.forward = Some(f),
                None => {
                    if let Some(f) = topic.forward.as_mut() {
                        f.active = false;
                    }
                }
            }
            Ok(((), vec![topic_key(instance, name)]))
        })
    }

    /// Adds addresses to a topic's whitelist (trimmed, deduplicated). Errors: `TopicNotFound`,
    /// `QuotaExceeded` past [`MAX_WHITELIST_IPS`] (nothing changes then).
    pub fn add_whitelist_ips(
        &self,
        scope: Scope<'_>,
        instance: &str,
        name: &str,
        ips: &[String],
    ) -> Result<(), KafkaError> {
        self.update(scope, instance, |i| {
            let topic = i.topics.get_mut(name).ok_or_else(|| KafkaError::TopicNotFound(name.to_string()))?;
            let mut merged = topic.whitelist.ips.clone();
            for ip in ips {
                let ip = ip.trim().to_string();
                if !merged.contains(&ip) {
                    merged.push(ip);
                }
            }
            if merged.len() > MAX_WHITELIST_IPS {
                return Err(KafkaError::QuotaExceeded(format!(
                    "a topic's whitelist holds at most {MAX_WHITELIST_IPS} addresses"
                )));
            }
            topic.whitelist.ips = merged;
            Ok(((), vec![topic_key(instance, name)]))
        })
    }

    /// Removes addresses from a topic's whitelist. Errors: `TopicNotFound`.
    pub fn remove_whitelist_ips(
        &self,
        scope: Scope<'_>,
        instance: &str,
        name: &str,
        ips: &[String],
    ) -> Result<(), KafkaError> {
        self.update(scope, instance, |i| {
            let topic = i.topics.get_mut(name).ok_or_else(|| KafkaError::TopicNotFound(name.to_string()))?;
            topic.whitelist.ips.retain(|existing| !ips.iter().any(|ip| ip.trim() == existing));
            Ok(((), vec![topic_key(instance, name)]))
        })
    }

    /// Advances a partition's log end by `count` messages appended now (the broker calls this after it
    /// wrote them to the message log). Returns the first new offset and the append time.
    /// Errors: `TopicNotFound`, `PartitionNotFound`.
    pub fn advance_offsets(
        &self,
        scope: Scope<'_>,
        instance: &str,
        topic: &str,
        partition: u32,
        count: u64,
    ) -> Result<(i64, Millis), KafkaError> {
        self.update(scope, instance, |i| {
            let p = partition_mut(i, topic, partition)?;
            let first = p.high_watermark;
            let now = Millis::now();
            if count == 0 {
                return Ok(((first, now), Vec::new()));
            }
            p.high_watermark = p.high_watermark.saturating_add(i64::try_from(count).unwrap_or(i64::MAX));
            p.last_update = now;
            Ok(((first, now), vec![topic_key(instance, topic)]))
        })
    }

    /// Mirrors a partition's log offsets from the data plane's message log (which is their durable source:
    /// the broker reports them again after recovery), so the management APIs show them. Marks no resource
    /// dirty: a produce must not cost a management-state write. Unknown instance, topic or partition: no-op.
    pub fn mirror_log_offsets(
        &self,
        instance: &str,
        topic: &str,
        partition: u32,
        log_start: i64,
        high_watermark: i64,
        last_update: Millis,
    ) {
        let Ok(slot) = self.slot(Scope::ANY, instance) else { return };
        let mut i = slot.instance.write();
        if let Some(p) = i.topics.get_mut(topic).and_then(|t| t.partitions.get_mut(partition as usize)) {
            p.log_start_offset = log_start;
            p.high_watermark = high_watermark;
            if last_update.0 > 0 {
                p.last_update = last_update;
            }
        }
    }

    /// Moves a partition's log start forward (retention or DeleteRecords); never past the high watermark,
    /// never backwards. Errors: `TopicNotFound`, `PartitionNotFound`.
    pub fn trim_log(
        &self,
        scope: Scope<'_>,
        instance: &str,
        topic: &str,
        partition: u32,
        log_start: i64,
    ) -> Result<i64, KafkaError> {
        self.update(scope, instance, |i| {
            let p = partition_mut(i, topic, partition)?;
            let new_start = log_start.clamp(p.log_start_offset, p.high_watermark);
            if new_start == p.log_start_offset {
                return Ok((new_start, Vec::new()));
            }
            p.log_start_offset = new_start;
            Ok((new_start, vec![topic_key(instance, topic)]))
        })
    }

    // ----------------------------------------------------------------------------------- group commands

    /// Creates a consumer group. Errors: `GroupExists`.
    pub fn create_group(
        &self,
        scope: Scope<'_>,
        instance: &str,
        name: &str,
        remark: &str,
        tags: Vec<Tag>,
    ) -> Result<(), KafkaError> {
        self.update(scope, instance, |i| {
            if i.groups.contains_key(name) {
                return Err(KafkaError::GroupExists(name.to_string()));
            }
            i.groups.insert(name.to_string(), ConsumerGroup::build(name, remark, tags, Millis::now()));
            Ok(((), vec![group_key(instance, name)]))
        })
    }

    /// Creates a group unless it exists (Kafka creates groups on a consumer's first JoinGroup or commit);
    /// returns whether it was created.
    pub fn ensure_group(&self, scope: Scope<'_>, instance: &str, name: &str) -> Result<bool, KafkaError> {
        self.update(scope, instance, |i| {
            if i.groups.contains_key(name) {
                return Ok((false, Vec::new()));
            }
            i.groups.insert(name.to_string(), ConsumerGroup::build(name, "", Vec::new(), Millis::now()));
            Ok((true, vec![group_key(instance, name)]))
        })
    }

    /// Deletes a consumer group. Errors: `GroupNotFound`.
    pub fn delete_group(&self, scope: Scope<'_>, instance: &str, name: &str) -> Result<(), KafkaError> {
        self.update(scope, instance, |i| {
            i.groups.shift_remove(name).ok_or_else(|| KafkaError::GroupNotFound(name.to_string()))?;
            Ok(((), vec![group_key(instance, name)]))
        })
    }

    /// Removes a group's committed offsets for some partitions of a topic (Kafka's OffsetDelete); a topic
    /// left without offsets is forgotten by the group. Returns how many offsets were removed.
    /// Errors: `GroupNotFound`.
    pub fn delete_offsets(
        &self,
        scope: Scope<'_>,
        instance: &str,
        group: &str,
        topic: &str,
        partitions: &[u32],
    ) -> Result<usize, KafkaError> {
        self.update(scope, instance, |i| {
            let g = i.groups.get_mut(group).ok_or_else(|| KafkaError::GroupNotFound(group.to_string()))?;
            let Some(offsets) = g.offsets.get_mut(topic) else { return Ok((0, Vec::new())) };
            let removed = partitions.iter().filter(|p| offsets.remove(p).is_some()).count();
            if offsets.is_empty() {
                g.offsets.remove(topic);
            }
            let dirty = if removed > 0 { vec![group_key(instance, group)] } else { Vec::new() };
            Ok((removed, dirty))
        })
    }

    /// Records a group's committed offset for one partition, creating the group as Kafka does on a first
    /// commit (OffsetCommit). Errors: `TopicNotFound`, `PartitionNotFound` (nothing changes then).
    pub fn commit_offset(&self, scope: Scope<'_>, instance: &str, commit: OffsetCommit<'_>) -> Result<(), KafkaError> {
        let OffsetCommit { group, topic, partition, offset, produced_at } = commit;
        self.update(scope, instance, |i| {
            let t = i.topics.get(topic).ok_or_else(|| KafkaError::TopicNotFound(topic.to_string()))?;
            if partition as usize >= t.partitions.len() {
                return Err(KafkaError::PartitionNotFound { topic: topic.to_string(), partition });
            }
            let now = Millis::now();
            let g =
                i.groups.entry(group.to_string()).or_insert_with(|| ConsumerGroup::build(group, "", Vec::new(), now));
            g.offsets
                .entry(topic.to_string())
                .or_default()
                .insert(partition, CommittedOffset { offset, committed_at: now, produced_at });
            Ok(((), vec![group_key(instance, group)]))
        })
    }
}

/// One partition of an instance's topic, for a command. Errors: `TopicNotFound`, `PartitionNotFound`.
fn partition_mut<'i>(i: &'i mut KafkaInstance, topic: &str, partition: u32) -> Result<&'i mut Partition, KafkaError> {
    let t = i.topics.get_mut(topic).ok_or_else(|| KafkaError::TopicNotFound(topic.to_string()))?;
    t.partitions
        .get_mut(partition as usize)
        .ok_or_else(|| KafkaError::PartitionNotFound { topic: topic.to_string(), partition })
}

/// Runs `f` (commands and queries) under the store's outer read lock only, and reports a change it made to
/// the store's generation counter (what persistence watches). Facades, fixtures and reset use this, never
/// the outer write lock, so requests on different instances never wait on each other.
pub fn with_model<R>(model: &crate::state::Model<KafkaModel>, f: impl FnOnce(&KafkaModel) -> R) -> R {
    let guard = model.read();
    let before = guard.changes();
    let r = f(&guard);
    let changed = guard.changes() != before;
    drop(guard);
    if changed {
        model.mark_changed();
    }
    r
}

/// The resource key of an instance's topic.
pub(crate) fn topic_key(instance: &str, topic: &str) -> String {
    format!("t/{instance}/{topic}")
}

/// The resource key of an instance's consumer group.
pub(crate) fn group_key(instance: &str, group: &str) -> String {
    format!("g/{instance}/{group}")
}

impl KafkaInstance {
    /// A topic by name. Errors: `TopicNotFound`.
    pub fn topic(&self, name: &str) -> Result<&Topic, KafkaError> {
        self.topics.get(name).ok_or_else(|| KafkaError::TopicNotFound(name.to_string()))
    }

    /// A group by name. Errors: `GroupNotFound`.
    pub fn group(&self, name: &str) -> Result<&ConsumerGroup, KafkaError> {
        self.groups.get(name).ok_or_else(|| KafkaError::GroupNotFound(name.to_string()))
    }

    /// Topics, most recently created first: the creation-ordered map walked backwards, so a page costs
    /// O(page), not a sort of every topic.
    pub fn topics_newest_first(&self) -> impl DoubleEndedIterator<Item = &Topic> + ExactSizeIterator {
        self.topics.values().rev()
    }

    /// Consumer groups, most recently created first.
    pub fn groups_newest_first(&self) -> impl DoubleEndedIterator<Item = &ConsumerGroup> + ExactSizeIterator {
        self.groups.values().rev()
    }

    /// A group's progress on one topic, every partition of the topic included.
    /// Errors: `GroupNotFound`, `TopicNotFound`.
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
                    last_commit: c.map_or(Millis::default(), |c| c.committed_at),
                }
            })
            .collect())
    }

    /// Per-partition log start / end offsets and last write time of a topic. Errors: `TopicNotFound`.
    pub fn topic_offsets(&self, topic: &str) -> Result<TopicOffsets, KafkaError> {
        let t = self.topic(topic)?;
        let partitions: Vec<PartitionOffsets> = t
            .partitions
            .iter()
            .enumerate()
            .map(|(i, p)| PartitionOffsets {
                partition: i as u32,
                min_offset: p.log_start_offset,
                max_offset: p.high_watermark,
                last_update: p.last_update,
            })
            .collect();
        let total_count = partitions.iter().map(|p| (p.max_offset - p.min_offset).max(0)).sum();
        let last_update = partitions.iter().map(|p| p.last_update).max().unwrap_or_default();
        Ok(TopicOffsets { partitions, total_count, last_update })
    }

    /// The existing topics a group has committed offsets on, in name order. Errors: `GroupNotFound`.
    pub fn group_topics(&self, group: &str) -> Result<Vec<&str>, KafkaError> {
        let g = self.group(group)?;
        Ok(g.offsets.keys().filter(|t| self.topics.contains_key(*t)).map(String::as_str).collect())
    }

    /// When the last message a group consumed from a partition was produced, as the committer reported it;
    /// the commit time when it did not know; 0 before any commit or at offset 0.
    pub fn consumed_timestamp(&self, group: &str, topic: &str, partition: u32) -> Millis {
        let committed =
            self.groups.get(group).and_then(|g| g.offsets.get(topic)).and_then(|m| m.get(&partition)).copied();
        match committed {
            Some(c) if c.offset > 0 => c.produced_at.unwrap_or(c.committed_at),
            _ => Millis::default(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
