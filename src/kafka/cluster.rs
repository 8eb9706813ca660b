//! The one place where the Kafka data plane touches the management model (src/engine/kafka.rs): which
//! instances exist and where they listen, their topics and partition counts, committed group offsets, and
//! the log offsets the management APIs report. Everything else in src/kafka works on the plain values
//! returned here, so re-pointing the data plane at a reshaped engine means editing this file only.

use crate::engine::kafka::{with_model, KafkaModel, Millis, OffsetCommit, Scope, Topic, TopicConfig};
use crate::engine::Cloud;
use crate::state::AppState;

/// An instance as the listeners need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceInfo {
    pub id: String,
    pub cloud: Cloud,
    pub account: String,
    pub region: String,
    /// Unix seconds (ties of the listen-address choice are broken by age).
    pub created_at: i64,
    /// The address the management APIs answer (Tencent `vip`/`vport`, Alibaba `EndPoint`).
    pub vip: String,
    pub vport: u16,
    /// The default instance of its account in [`DEFAULT_REGION`] (Tencent's): it owns a shared vport.
    pub is_default: bool,
}

/// The region whose default Tencent instance owns 127.0.0.1:9092 when several instances answer that
/// address (the region of the README's examples).
pub const DEFAULT_REGION: &str = "ap-guangzhou";

/// A topic as the broker needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: u32,
    /// Creation time in Unix ms: a topic deleted and created again under the same name is a new log.
    pub created_at_ms: i64,
    pub replica_num: u32,
    pub retention_ms: Option<i64>,
    pub segment_ms: Option<i64>,
    pub min_insync_replicas: u32,
    pub unclean_leader_election: bool,
    /// The instance-wide retention (minutes) that applies when the topic sets none.
    pub instance_retention_minutes: u64,
}

impl TopicInfo {
    /// Effective retention in ms: the topic's own, else the instance's.
    pub fn effective_retention_ms(&self) -> i64 {
        if self.retention_ms == Some(-1) {
            // Kafka's "no time limit" (set through AlterConfigs).
            return i64::MAX;
        }
        self.retention_ms
            .filter(|r| *r > 0)
            .unwrap_or_else(|| i64::try_from(self.instance_retention_minutes).unwrap_or(i64::MAX / 60_000) * 60_000)
    }
}

/// Every Kafka instance of every cloud and account.
pub fn instances(state: &AppState) -> Vec<InstanceInfo> {
    let model = state.store.kafka.read();
    model
        .instances_of(Scope::ANY)
        .iter()
        .map(|h| {
            let i = h.read();
            InstanceInfo {
                id: i.id.clone(),
                cloud: i.cloud,
                account: i.account.clone(),
                region: i.region.clone(),
                created_at: i.created_at_ms.as_secs(),
                vip: i.vip.clone(),
                vport: i.vport,
                is_default: i.cloud == Cloud::Tencent
                    && i.region == DEFAULT_REGION
                    && i.id == crate::tencent::ckafka::default_instance_id(&i.account, DEFAULT_REGION),
            }
        })
        .collect()
}

/// The account requests are signed for by default (the listen-address tie-break prefers its instances).
pub fn default_account(state: &AppState) -> String {
    state.credentials.read().default_account().to_string()
}

fn topic_info(t: &Topic, instance_retention_minutes: u64) -> TopicInfo {
    TopicInfo {
        name: t.name.clone(),
        partitions: t.partitions.len() as u32,
        created_at_ms: t.created_at_ms.0,
        replica_num: t.replica_num,
        retention_ms: t.config.retention_ms,
        segment_ms: t.config.segment_ms,
        min_insync_replicas: t.config.min_insync_replicas,
        unclean_leader_election: t.config.unclean_leader_election,
        instance_retention_minutes,
    }
}

fn read<R>(state: &AppState, instance: &str, f: impl FnOnce(&crate::engine::kafka::KafkaInstance) -> R) -> Option<R> {
    let model: &KafkaModel = &state.store.kafka.read();
    model.read_instance(Scope::ANY, instance, f).ok()
}

/// An instance's topics in creation order; None when the instance no longer exists.
pub fn topics(state: &AppState, instance: &str) -> Option<Vec<TopicInfo>> {
    read(state, instance, |i| {
        let mut v: Vec<TopicInfo> = i.topics_newest_first().map(|t| topic_info(t, i.msg_retention_minutes)).collect();
        v.reverse();
        v
    })
}

/// One topic of an instance.
pub fn topic(state: &AppState, instance: &str, name: &str) -> Option<TopicInfo> {
    read(state, instance, |i| i.topic(name).ok().map(|t| topic_info(t, i.msg_retention_minutes))).flatten()
}

/// Whether the instance still exists.
pub fn instance_exists(state: &AppState, instance: &str) -> bool {
    state.store.kafka.read().contains_instance(instance)
}

/// Mirrors a partition's log offsets into the model, which the management APIs read (Alibaba
/// GetTopicStatus, Tencent GetTopicAttributes, consumer lag). The log is their durable source, so this
/// writes no management state. Does nothing if the topic is gone.
pub fn record_log_offsets(
    state: &AppState,
    instance: &str,
    topic: &str,
    partition: u32,
    log_start_offset: i64,
    high_watermark: i64,
    last_update_ms: i64,
) {
    state.store.kafka.read().mirror_log_offsets(
        instance,
        topic,
        partition,
        log_start_offset,
        high_watermark,
        Millis(last_update_ms),
    );
}

/// A group's committed offset for one partition.
pub fn committed_offset(state: &AppState, instance: &str, group: &str, topic: &str, partition: u32) -> Option<i64> {
    read(state, instance, |i| {
        i.group(group).ok().and_then(|g| g.offsets.get(topic)).and_then(|p| p.get(&partition)).map(|c| c.offset)
    })
    .flatten()
}

/// Every committed offset of a group: (topic, partition, offset), topics in name order.
pub fn committed_offsets(state: &AppState, instance: &str, group: &str) -> Vec<(String, u32, i64)> {
    read(state, instance, |i| {
        i.group(group)
            .map(|g| {
                g.offsets
                    .iter()
                    .flat_map(|(t, parts)| parts.iter().map(move |(p, c)| (t.clone(), *p, c.offset)))
                    .collect()
            })
            .unwrap_or_default()
    })
    .unwrap_or_default()
}

/// Why a commit was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitError {
    UnknownTopicOrPartition,
    UnknownInstance,
}

/// Commits a group's offset for one partition (the group is created on first use, as Kafka does).
/// `produced_at_ms`: when the last consumed record (`offset - 1`) was produced, read from the log
/// (GetConsumerProgress's LastTimestamp).
pub fn commit_offset(
    state: &AppState,
    instance: &str,
    group: &str,
    topic: &str,
    partition: u32,
    offset: i64,
    produced_at_ms: Option<i64>,
) -> Result<(), CommitError> {
    let commit = OffsetCommit { group, topic, partition, offset, produced_at: produced_at_ms.map(Millis) };
    with_model(&state.store.kafka, |m| m.commit_offset(Scope::ANY, instance, commit)).map_err(|e| match e {
        crate::engine::kafka::KafkaError::InstanceNotFound(_) => CommitError::UnknownInstance,
        _ => CommitError::UnknownTopicOrPartition,
    })
}

/// Makes sure a group a client uses exists in the model, so the management APIs list it.
pub fn ensure_group(state: &AppState, instance: &str, group: &str) {
    if read(state, instance, |i| i.group(group).is_ok()).unwrap_or(true) {
        return;
    }
    let _ = with_model(&state.store.kafka, |m| m.ensure_group(Scope::ANY, instance, group));
}

/// The groups the model knows for an instance (created through the APIs or by clients), oldest first.
pub fn group_names(state: &AppState, instance: &str) -> Vec<String> {
    read(state, instance, |i| i.groups_newest_first().rev().map(|g| g.name.clone()).collect()).unwrap_or_default()
}

/// A topic's Kafka configs as the model holds them, and its replica count; None when there is no such
/// topic.
pub fn topic_config(state: &AppState, instance: &str, name: &str) -> Option<(TopicConfig, u32)> {
    read(state, instance, |i| i.topic(name).ok().map(|t| (t.config.clone(), t.replica_num))).flatten()
}

/// Replaces a topic's configs (AlterConfigs / IncrementalAlterConfigs). Err: the engine's message.
pub fn set_topic_config(state: &AppState, instance: &str, name: &str, config: TopicConfig) -> Result<(), String> {
    with_model(&state.store.kafka, |m| m.set_topic_config(Scope::ANY, instance, name, config))
        .map_err(|e| e.to_string())
}

/// Whether the model knows a group of the instance (created through an API or by a client).
pub fn group_exists(state: &AppState, instance: &str, group: &str) -> bool {
    read(state, instance, |i| i.group(group).is_ok()).unwrap_or(false)
}

/// Deletes a group and its committed offsets from the model (DeleteGroups); false when it was not there.
pub fn delete_group(state: &AppState, instance: &str, group: &str) -> bool {
    with_model(&state.store.kafka, |m| m.delete_group(Scope::ANY, instance, group)).is_ok()
}

/// Removes a group's committed offsets for partitions of a topic (OffsetDelete): how many were removed;
/// None when there is no such group.
pub fn delete_offsets(state: &AppState, instance: &str, group: &str, topic: &str, partitions: &[u32]) -> Option<usize> {
    with_model(&state.store.kafka, |m| m.delete_offsets(Scope::ANY, instance, group, topic, partitions)).ok()
}

/// Makes model changes durable with `--data-dir` (commits, groups created on the fly).
pub async fn persist(state: &AppState) {
    if let Err(e) = state.persist().await {
        tracing::warn!(error = %e, "persisting the Kafka model failed");
    }
}

pub use crate::engine::kafka::security::{
    AclOperation, AclPatternType, AclPermission, AclResourceType, AclRule, SecurityError,
};

/// The stored password of one of an instance's SASL users (Tencent CreateUser, Alibaba CreateSaslUser),
/// for the SASL exchanges of [`super::sasl`]; None when there is no such user or instance.
pub fn sasl_password(state: &AppState, instance: &str, user: &str) -> Option<String> {
    read(state, instance, |i| i.users().get(user).map(|u| u.password.clone())).flatten()
}

/// The instance's ACLs for a SASL user: whether `User:<user>` from `host` may do `operation` on the
/// resource (the engine's authoriser: DENY wins, no rules at all allows everything).
pub fn acl_allows(
    state: &AppState,
    instance: &str,
    user: &str,
    host: &str,
    kind: AclResourceType,
    name: &str,
    operation: AclOperation,
) -> bool {
    state.store.kafka.read().acl_allows(instance, user, host, kind, name, operation)
}

/// The instance's ACL rules in creation order (DescribeAcls); None when the instance no longer exists.
pub fn acl_rules(state: &AppState, instance: &str) -> Option<Vec<AclRule>> {
    read(state, instance, |i| i.acls().values().cloned().collect())
}

/// Adds ACL rules to the instance (CreateAcls; an equal rule is kept once). Err: the engine's reason
/// (instance gone, quota reached: nothing added).
pub fn create_acl_rules(state: &AppState, instance: &str, rules: Vec<AclRule>) -> Result<(), SecurityError> {
    with_model(&state.store.kafka, |m| m.create_acls(Scope::ANY, instance, rules)).map(|_| ())
}

/// Removes the rules `claim` assigns to a filter (DeleteAcls): `(filter index, rule)` pairs.
pub fn remove_acl_rules(
    state: &AppState,
    instance: &str,
    claim: impl Fn(&AclRule) -> Option<usize>,
) -> Result<Vec<(usize, AclRule)>, SecurityError> {
    with_model(&state.store.kafka, |m| m.remove_acls_claimed(Scope::ANY, instance, claim))
}

/// Instances that share a vport (state files from before vports were allocated) get their own; the one
/// that keeps a shared vport is the first by `owner_order` (the listeners' order). Returns the moved
/// instances with their new vports.
pub fn separate_vports(state: &AppState, owner_order: &[InstanceInfo]) -> Vec<(String, u16)> {
    let ids: Vec<String> = owner_order.iter().map(|i| i.id.clone()).collect();
    state.store.kafka.read().separate_vports(&ids)
}
