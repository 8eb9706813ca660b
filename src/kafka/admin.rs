//! The Kafka admin APIs that admin clients and dev tools call (confluent-kafka / kafka-python / kafkajs
//! admin clients, `kafka-delete-records.sh`, `kafka-consumer-groups.sh --delete`, kafka-ui, AKHQ):
//!
//! - **DeleteRecords** (21, v0-2): moves partitions' log start (low watermark) forward; `-1` means the
//!   high watermark; an offset below the current start changes nothing; beyond the high watermark or
//!   negative: OFFSET_OUT_OF_RANGE. The start is kept durably beside the segments with `--data-dir`
//!   ([`crate::storage::log::START_CHECKPOINT`]) and mirrored to the management model (GetTopicStatus
//!   MinOffset, GetTopicAttributes).
//! - **DeleteGroups** (42, v0-2): an empty group and its committed offsets go (NON_EMPTY_GROUP while it
//!   has members, GROUP_ID_NOT_FOUND when unknown); the vendors' group lists no longer show it.
//! - **OffsetDelete** (47, v0): a group's committed offsets for partitions go; GROUP_SUBSCRIBED_TO_TOPIC
//!   for a topic a member of the group is subscribed to (its consumer-protocol subscription).
//! - **AlterConfigs** (33, v0-2, replaces the topic's whole config set: unnamed configs return to their
//!   defaults, as Kafka does) and **IncrementalAlterConfigs** (44, v0-1; SET, DELETE, APPEND, SUBTRACT)
//!   for TOPIC resources, `validate_only` honoured ([`TOPIC_CONFIGS`] says what is validated and what the
//!   engine applies). BROKER resources: every broker config here is static (INVALID_REQUEST, as a real
//!   broker answers for configs it cannot update dynamically).
//! - **DescribeCluster** (60, v0-2): the instance id as cluster id, node 0 as controller and the one
//!   broker at the address Metadata advertises.
//! - **DescribeLogDirs** (35, v1-4): one log dir (`<data-dir>/logs`, or `(in memory)`) with each
//!   partition's size: the bytes of the record batches its log holds.
//!
//! Authorization follows Kafka's authoriser for SASL users (the PLAINTEXT access point has no ACLs):
//! DeleteRecords needs Delete on the topic, DeleteGroups Delete on the group, OffsetDelete Delete on the
//! group and Read on the topic, AlterConfigs AlterConfigs on the topic (on the cluster for brokers),
//! DescribeLogDirs Describe on the cluster.

use kafka_protocol::messages::*;

use super::cluster::{self, AclOperation, AclResourceType};
use super::conn::Origin;
use super::handlers::{allowed, broker_port, code, part_key, s, NODE_ID};
use super::KafkaBroker;
use crate::engine::kafka::TopicConfig;

/// Kafka error codes of the admin APIs (the protocol guide's table).
pub mod admin_code {
    /// Cluster-level authorization failed (DescribeLogDirs, broker configs).
    pub const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
    /// A config name that is not a topic config, or a value it does not take.
    pub const INVALID_CONFIG: i16 = 40;
    /// DeleteGroups of a group that still has members.
    pub const NON_EMPTY_GROUP: i16 = 68;
    /// OffsetDelete of a topic a member of the group is subscribed to.
    pub const GROUP_SUBSCRIBED_TO_TOPIC: i16 = 86;
    /// DescribeCluster for controller endpoints sent to a broker.
    pub const MISMATCHED_ENDPOINT_TYPE: i16 = 114;
    /// DescribeCluster for an endpoint type that does not exist.
    pub const UNSUPPORTED_ENDPOINT_TYPE: i16 = 115;
}

use admin_code::*;

/// The name Kafka's authoriser gives the cluster resource.
const CLUSTER: &str = "kafka-cluster";

/// Kafka's "operations not requested" value of the authorized-operations fields.
const OPERATIONS_NOT_REQUESTED: i32 = i32::MIN;

/// Kafka's `max.message.bytes` default, which DescribeConfigs answers when a topic sets none.
const DEFAULT_MAX_MESSAGE_BYTES: &str = "1048588";

/// How a topic config is checked and where it lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A whole number within the bounds (Kafka's LONG / INT config types and validators).
    Int(i64, i64),
    /// `true` or `false`.
    Bool,
    /// `cleanup.policy`: a comma-separated list of `delete` and `compact`.
    Policy,
    /// A Kafka topic config the engine does not act on: stored and described as set.
    Stored,
}

/// Every topic config Kafka knows (its `TopicConfig` / `LogConfig`), with how its value is checked.
/// `retention.ms` (-1: no time limit), `segment.ms`, `min.insync.replicas` (at most the topic's replicas)
/// and `unclean.leader.election.enable` are the topic's settings in the model (the management APIs show
/// them and retention / segment rolling follow them); `cleanup.policy` and `max.message.bytes` are
/// validated and stored; the rest are stored and described as set. Only time retention deletes data:
/// no size retention (`retention.bytes`), no compaction, no message-size check comes from these.
pub const TOPIC_CONFIGS: &[&str] = &[
    "cleanup.policy",
    "compression.type",
    "delete.retention.ms",
    "file.delete.delay.ms",
    "flush.messages",
    "flush.ms",
    "follower.replication.throttled.replicas",
    "index.interval.bytes",
    "leader.replication.throttled.replicas",
    "local.retention.bytes",
    "local.retention.ms",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.downconversion.enable",
    "message.format.version",
    "message.timestamp.after.max.ms",
    "message.timestamp.before.max.ms",
    "message.timestamp.difference.max.ms",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "preallocate",
    "remote.storage.enable",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.index.bytes",
    "segment.jitter.ms",
    "segment.ms",
    "unclean.leader.election.enable",
];

fn kind(name: &str) -> Option<Kind> {
    if !TOPIC_CONFIGS.contains(&name) {
        return None;
    }
    Some(match name {
        "retention.ms" => Kind::Int(-1, i64::MAX),
        "segment.ms" => Kind::Int(1, i64::MAX),
        "min.insync.replicas" => Kind::Int(1, i64::from(i32::MAX)),
        "max.message.bytes" => Kind::Int(0, i64::from(i32::MAX)),
        "unclean.leader.election.enable" => Kind::Bool,
        "cleanup.policy" => Kind::Policy,
        _ => Kind::Stored,
    })
}

/// Checks one value and writes it into `config`. Err: INVALID_CONFIG's message.
fn apply(config: &mut TopicConfig, name: &str, value: &str) -> Result<(), String> {
    let Some(k) = kind(name) else { return Err(format!("unknown topic config name: {name}")) };
    let bad = || format!("invalid value {value} for configuration {name}");
    match k {
        Kind::Int(min, max) => {
            let v = value.trim().parse::<i64>().map_err(|_| bad())?;
            if v < min || v > max {
                return Err(format!("invalid value {value} for configuration {name}: value must be at least {min}"));
            }
            match name {
                "retention.ms" => config.retention_ms = Some(v),
                "segment.ms" => config.segment_ms = Some(v),
                "min.insync.replicas" => config.min_insync_replicas = u32::try_from(v).map_err(|_| bad())?,
                _ => {
                    config.other.insert(name.to_string(), v.to_string());
                }
            }
        }
        Kind::Bool => {
            config.unclean_leader_election = match value.trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(bad()),
            }
        }
        Kind::Policy => {
            let items = policy_items(value);
            if items.is_empty() || items.iter().any(|i| i != "delete" && i != "compact") {
                return Err(format!(
                    "invalid value {value} for configuration cleanup.policy: must be delete, compact or both"
                ));
            }
            config.compacted = items.iter().any(|i| i == "compact");
            config.other.insert(name.to_string(), items.join(","));
        }
        Kind::Stored => {
            config.other.insert(name.to_string(), value.to_string());
        }
    }
    Ok(())
}

fn policy_items(value: &str) -> Vec<String> {
    value.split(',').map(|i| i.trim().to_ascii_lowercase()).filter(|i| !i.is_empty()).collect()
}

/// Returns one config to its default (AlterConfigs leaving it out, IncrementalAlterConfigs DELETE).
fn reset(config: &mut TopicConfig, name: &str) {
    match name {
        "retention.ms" => config.retention_ms = None,
        "segment.ms" => config.segment_ms = None,
        "min.insync.replicas" => config.min_insync_replicas = 1,
        "unclean.leader.election.enable" => config.unclean_leader_election = false,
        "cleanup.policy" => config.compacted = false,
        _ => {}
    }
    config.other.remove(name);
}

/// The value of `cleanup.policy` a topic has.
fn cleanup_policy(config: &TopicConfig) -> String {
    config
        .other
        .get("cleanup.policy")
        .cloned()
        .unwrap_or_else(|| if config.compacted { "compact" } else { "delete" }.into())
}

/// A topic's configs as DescribeConfigs answers them: (name, value, whether it is the default).
pub(crate) fn describe_topic(t: &cluster::TopicInfo, config: &TopicConfig) -> Vec<(String, String, bool)> {
    let mut out = vec![
        ("retention.ms".to_string(), t.effective_retention_ms().to_string(), t.retention_ms.is_none()),
        ("segment.ms".to_string(), t.segment_ms.unwrap_or(604_800_000).to_string(), t.segment_ms.is_none()),
        ("min.insync.replicas".to_string(), t.min_insync_replicas.to_string(), false),
        ("unclean.leader.election.enable".to_string(), t.unclean_leader_election.to_string(), false),
        (
            "cleanup.policy".to_string(),
            cleanup_policy(config),
            !config.compacted && !config.other.contains_key("cleanup.policy"),
        ),
        (
            "max.message.bytes".to_string(),
            config.other.get("max.message.bytes").cloned().unwrap_or_else(|| DEFAULT_MAX_MESSAGE_BYTES.into()),
            !config.other.contains_key("max.message.bytes"),
        ),
    ];
    if t.retention_ms == Some(-1) {
        out[0].1 = "-1".into();
    }
    for (k, v) in &config.other {
        if !out.iter().any(|(n, _, _)| n == k) {
            out.push((k.clone(), v.clone(), false));
        }
    }
    out
}

/// One resource of an AlterConfigs-family request in common terms: the operations are (name, op, value)
/// with Kafka's IncrementalAlterConfigs operation codes (0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT).
struct Alter {
    resource_type: i8,
    resource_name: String,
    ops: Vec<(String, i8, Option<String>)>,
    /// AlterConfigs: the listed configs replace the whole set.
    replace: bool,
}

/// What an alteration answers: (error code, message).
type Outcome = (i16, Option<String>);

async fn alter_resource(broker: &KafkaBroker, origin: &Origin, a: &Alter, validate_only: bool) -> Outcome {
    match a.resource_type {
        2 => alter_topic(broker, origin, a, validate_only).await,
        4 => {
            if !allowed(broker, origin, AclResourceType::Cluster, CLUSTER, AclOperation::AlterConfigs) {
                return (CLUSTER_AUTHORIZATION_FAILED, Some("cluster authorization failed".into()));
            }
            if !a.resource_name.is_empty() && a.resource_name != NODE_ID.to_string() {
                return (
                    code::INVALID_REQUEST,
                    Some(format!(
                        "unexpected broker id, expected {NODE_ID} or empty string, but received {}",
                        a.resource_name
                    )),
                );
            }
            if a.ops.is_empty() {
                return (code::NONE, None);
            }
            let names: Vec<&str> = a.ops.iter().map(|(n, _, _)| n.as_str()).collect();
            (code::INVALID_REQUEST, Some(format!("Cannot update these configs dynamically: {}", names.join(", "))))
        }
        8 => (code::INVALID_REQUEST, Some("broker loggers are not served".into())),
        other => (code::INVALID_REQUEST, Some(format!("unexpected resource type {other}"))),
    }
}

async fn alter_topic(broker: &KafkaBroker, origin: &Origin, a: &Alter, validate_only: bool) -> Outcome {
    let name = &a.resource_name;
    if name.is_empty() {
        return (code::INVALID_REQUEST, Some("a topic name is required".into()));
    }
    if !allowed(broker, origin, AclResourceType::Topic, name, AclOperation::AlterConfigs) {
        return (code::TOPIC_AUTHORIZATION_FAILED, Some(format!("topic authorization failed for {name}")));
    }
    let Some((current, replicas)) = cluster::topic_config(&broker.state, &origin.instance, name) else {
        return (code::UNKNOWN_TOPIC_OR_PARTITION, Some(format!("topic {name} does not exist")));
    };
    let mut seen = std::collections::HashSet::new();
    for (n, _, _) in &a.ops {
        if !seen.insert(n.as_str()) {
            return (code::INVALID_REQUEST, Some(format!("duplicate config key {n}")));
        }
    }
    let mut config = current.clone();
    if a.replace {
        // Every Kafka topic config returns to its default; settings the vendor APIs keep that are not
        // Kafka configs (local storage) stay.
        for n in TOPIC_CONFIGS {
            reset(&mut config, n);
        }
    }
    for (n, op, value) in &a.ops {
        if kind(n).is_none() {
            return (INVALID_CONFIG, Some(format!("unknown topic config name: {n}")));
        }
        let result = match (op, value) {
            (0, Some(v)) => apply(&mut config, n, v),
            (0, None) => return (code::INVALID_REQUEST, Some(format!("null value not supported for {n}"))),
            (1, _) => {
                reset(&mut config, n);
                Ok(())
            }
            (2 | 3, v) => {
                if kind(n) != Some(Kind::Policy) && !n.ends_with(".throttled.replicas") {
                    return (INVALID_CONFIG, Some(format!("config value append/subtract is not allowed for {n}")));
                }
                let mut items = match n.as_str() {
                    "cleanup.policy" => policy_items(&cleanup_policy(&config)),
                    _ => config.other.get(n).map(|v| policy_items(v)).unwrap_or_default(),
                };
                let given = policy_items(v.as_deref().unwrap_or_default());
                if *op == 2 {
                    items.extend(given.into_iter().filter(|g| !items.contains(g)).collect::<Vec<_>>());
                } else {
                    items.retain(|i| !given.contains(i));
                }
                if items.is_empty() {
                    reset(&mut config, n);
                    Ok(())
                } else {
                    apply(&mut config, n, &items.join(","))
                }
            }
            (other, _) => return (code::INVALID_REQUEST, Some(format!("unknown config operation {other}"))),
        };
        if let Err(message) = result {
            return (INVALID_CONFIG, Some(message));
        }
    }
    if config.min_insync_replicas > replicas {
        return (
            INVALID_CONFIG,
            Some(format!(
                "min.insync.replicas {} is above the topic's {replicas} replicas",
                config.min_insync_replicas
            )),
        );
    }
    if validate_only || config == current {
        return (code::NONE, None);
    }
    if let Err(message) = cluster::set_topic_config(&broker.state, &origin.instance, name, config) {
        return (INVALID_CONFIG, Some(message));
    }
    cluster::persist(&broker.state).await;
    (code::NONE, None)
}

/// AlterConfigs (v0-2): each resource's listed configs replace its whole config set.
pub async fn alter_configs(broker: &KafkaBroker, origin: &Origin, r: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut responses = Vec::new();
    for res in r.resources {
        let a = Alter {
            resource_type: res.resource_type,
            resource_name: res.resource_name.to_string(),
            ops: res.configs.iter().map(|c| (c.name.to_string(), 0, c.value.as_ref().map(|v| v.to_string()))).collect(),
            replace: true,
        };
        let (error, message) = alter_resource(broker, origin, &a, r.validate_only).await;
        responses.push(
            alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_code(error)
                .with_error_message(message.map(s))
                .with_resource_type(res.resource_type)
                .with_resource_name(res.resource_name),
        );
    }
    AlterConfigsResponse::default().with_responses(responses)
}

/// IncrementalAlterConfigs (v0-1, KIP-339): SET, DELETE (back to the default), APPEND and SUBTRACT (list
/// configs only: `cleanup.policy`, the throttled-replica lists) per config.
pub async fn incremental_alter_configs(
    broker: &KafkaBroker,
    origin: &Origin,
    r: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut responses = Vec::new();
    for res in r.resources {
        let a = Alter {
            resource_type: res.resource_type,
            resource_name: res.resource_name.to_string(),
            ops: res
                .configs
                .iter()
                .map(|c| (c.name.to_string(), c.config_operation, c.value.as_ref().map(|v| v.to_string())))
                .collect(),
            replace: false,
        };
        let (error, message) = alter_resource(broker, origin, &a, r.validate_only).await;
        responses.push(
            incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                .with_error_code(error)
                .with_error_message(message.map(s))
                .with_resource_type(res.resource_type)
                .with_resource_name(res.resource_name),
        );
    }
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

/// DeleteRecords (v0-2): per partition, the new low watermark or the error.
pub async fn delete_records(broker: &KafkaBroker, origin: &Origin, r: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let mut topics = Vec::new();
    for t in r.topics {
        let name = t.name.0.to_string();
        let topic = cluster::topic(&broker.state, &origin.instance, &name);
        let permitted = allowed(broker, origin, AclResourceType::Topic, &name, AclOperation::Delete);
        let partitions = t
            .partitions
            .into_iter()
            .map(|p| {
                let out = delete_records_response::DeleteRecordsPartitionResult::default()
                    .with_partition_index(p.partition_index)
                    .with_low_watermark(-1);
                if !permitted {
                    return out.with_error_code(code::TOPIC_AUTHORIZATION_FAILED);
                }
                let Some(ti) =
                    topic.as_ref().filter(|ti| p.partition_index >= 0 && (p.partition_index as u32) < ti.partitions)
                else {
                    return out.with_error_code(code::UNKNOWN_TOPIC_OR_PARTITION);
                };
                let Ok(part) = broker.logs.get(&part_key(origin, ti, p.partition_index)) else {
                    return out.with_error_code(code::KAFKA_STORAGE_ERROR);
                };
                let mut part = part.lock();
                let end = part.log.end_offset();
                let target = if p.offset == -1 { end } else { p.offset };
                if target < 0 || target > end {
                    return out.with_error_code(code::OFFSET_OUT_OF_RANGE);
                }
                if part.log.advance_start(target).is_err() {
                    return out.with_error_code(code::KAFKA_STORAGE_ERROR);
                }
                let start = part.log.log_start_offset();
                part.txns.forget_before(start);
                let last = part.log.last_append_ms();
                drop(part);
                cluster::record_log_offsets(
                    &broker.state,
                    &origin.instance,
                    &name,
                    p.partition_index as u32,
                    start,
                    end,
                    last,
                );
                out.with_low_watermark(start)
            })
            .collect();
        topics.push(
            delete_records_response::DeleteRecordsTopicResult::default()
                .with_name(TopicName(s(name)))
                .with_partitions(partitions),
        );
    }
    DeleteRecordsResponse::default().with_topics(topics)
}

/// DeleteGroups (v0-2): empty groups and their committed offsets go.
pub async fn delete_groups(broker: &KafkaBroker, origin: &Origin, r: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let mut results = Vec::new();
    let mut changed = false;
    for g in r.groups_names {
        let name = g.0.to_string();
        let error = if !allowed(broker, origin, AclResourceType::Group, &name, AclOperation::Delete) {
            code::GROUP_AUTHORIZATION_FAILED
        } else {
            match broker.groups.remove_if_empty(&origin.instance, &name) {
                Err(e) => e,
                Ok(known) => {
                    let deleted = cluster::delete_group(&broker.state, &origin.instance, &name);
                    changed |= deleted;
                    if known || deleted {
                        code::NONE
                    } else {
                        code::GROUP_ID_NOT_FOUND
                    }
                }
            }
        };
        results.push(delete_groups_response::DeletableGroupResult::default().with_group_id(g).with_error_code(error));
    }
    if changed {
        cluster::persist(&broker.state).await;
    }
    DeleteGroupsResponse::default().with_results(results)
}

/// OffsetDelete (v0): a group's committed offsets for the listed partitions go, except for topics its
/// members are subscribed to.
pub async fn offset_delete(broker: &KafkaBroker, origin: &Origin, r: OffsetDeleteRequest) -> OffsetDeleteResponse {
    let group = r.group_id.0.to_string();
    if !allowed(broker, origin, AclResourceType::Group, &group, AclOperation::Delete) {
        return OffsetDeleteResponse::default().with_error_code(code::GROUP_AUTHORIZATION_FAILED);
    }
    let coordinated = broker.groups.describe(&origin.instance, &group);
    if coordinated.is_none() && !cluster::group_exists(&broker.state, &origin.instance, &group) {
        return OffsetDeleteResponse::default().with_error_code(code::GROUP_ID_NOT_FOUND);
    }
    // A group with members that does not use the consumer protocol has no subscriptions to check.
    if let Some((_, pt, _, members)) = &coordinated {
        if !members.is_empty() && pt.as_deref() != Some("consumer") {
            return OffsetDeleteResponse::default().with_error_code(NON_EMPTY_GROUP);
        }
    }
    let subscribed = broker.groups.subscribed_topics(&origin.instance, &group);
    let mut changed = false;
    let mut topics = Vec::new();
    for t in r.topics {
        let name = t.name.0.to_string();
        let topic = cluster::topic(&broker.state, &origin.instance, &name);
        let permitted = allowed(broker, origin, AclResourceType::Topic, &name, AclOperation::Read);
        let mut partitions = Vec::new();
        for p in t.partitions {
            let error = if !permitted {
                code::TOPIC_AUTHORIZATION_FAILED
            } else if !topic
                .as_ref()
                .is_some_and(|ti| p.partition_index >= 0 && (p.partition_index as u32) < ti.partitions)
            {
                code::UNKNOWN_TOPIC_OR_PARTITION
            } else if subscribed.contains(&name) {
                GROUP_SUBSCRIBED_TO_TOPIC
            } else {
                let removed = cluster::delete_offsets(
                    &broker.state,
                    &origin.instance,
                    &group,
                    &name,
                    &[p.partition_index as u32],
                );
                changed |= removed.unwrap_or(0) > 0;
                code::NONE
            };
            partitions.push(
                offset_delete_response::OffsetDeleteResponsePartition::default()
                    .with_partition_index(p.partition_index)
                    .with_error_code(error),
            );
        }
        topics.push(
            offset_delete_response::OffsetDeleteResponseTopic::default().with_name(t.name).with_partitions(partitions),
        );
    }
    if changed {
        cluster::persist(&broker.state).await;
    }
    OffsetDeleteResponse::default().with_topics(topics)
}

/// The cluster operations a connection may do, as Kafka's authorized-operations bit field (bit n set for
/// operation code n).
fn cluster_operations(broker: &KafkaBroker, origin: &Origin) -> i32 {
    [
        AclOperation::Create,
        AclOperation::Alter,
        AclOperation::Describe,
        AclOperation::ClusterAction,
        AclOperation::DescribeConfigs,
        AclOperation::AlterConfigs,
        AclOperation::IdempotentWrite,
    ]
    .into_iter()
    .filter(|op| allowed(broker, origin, AclResourceType::Cluster, CLUSTER, *op))
    .fold(0i32, |bits, op| bits | (1 << op.code()))
}

/// DescribeCluster (v0-2): the same cluster id, controller and broker as Metadata.
pub fn describe_cluster(
    broker: &KafkaBroker,
    origin: &Origin,
    version: i16,
    r: DescribeClusterRequest,
) -> DescribeClusterResponse {
    let out = DescribeClusterResponse::default().with_endpoint_type(r.endpoint_type).with_controller_id(BrokerId(-1));
    if version >= 1 && r.endpoint_type != 1 {
        let (error, message) = if r.endpoint_type == 2 {
            (MISMATCHED_ENDPOINT_TYPE, "the request was sent to a broker endpoint, not a controller")
        } else {
            (UNSUPPORTED_ENDPOINT_TYPE, "unknown endpoint type")
        };
        return out.with_error_code(error).with_error_message(Some(s(message)));
    }
    let operations = if r.include_cluster_authorized_operations {
        cluster_operations(broker, origin)
    } else {
        OPERATIONS_NOT_REQUESTED
    };
    out.with_cluster_id(s(origin.instance.clone()))
        .with_controller_id(BrokerId(NODE_ID))
        .with_brokers(vec![describe_cluster_response::DescribeClusterBroker::default()
            .with_broker_id(BrokerId(NODE_ID))
            .with_host(s(broker.advertised_host(&origin.instance)))
            .with_port(broker_port(broker, origin))])
        .with_cluster_authorized_operations(operations)
}

/// DescribeLogDirs (v1-4): the one log dir with every (or each asked-for) partition's size in bytes.
pub fn describe_log_dirs(
    broker: &KafkaBroker,
    origin: &Origin,
    version: i16,
    r: DescribeLogDirsRequest,
) -> DescribeLogDirsResponse {
    if !allowed(broker, origin, AclResourceType::Cluster, CLUSTER, AclOperation::Describe) {
        // v3+ has a top-level error; before it, an empty answer (as Kafka does).
        let error = if version >= 3 { CLUSTER_AUTHORIZATION_FAILED } else { code::NONE };
        return DescribeLogDirsResponse::default().with_error_code(error);
    }
    let all = cluster::topics(&broker.state, &origin.instance).unwrap_or_default();
    let wanted: Vec<(cluster::TopicInfo, Vec<i32>)> = match r.topics {
        None => all
            .into_iter()
            .map(|t| {
                let parts = (0..t.partitions as i32).collect();
                (t, parts)
            })
            .collect(),
        Some(list) => list
            .into_iter()
            .filter_map(|d| {
                let t = all.iter().find(|t| *t.name == *d.topic.0)?.clone();
                let parts = d.partitions.into_iter().filter(|p| *p >= 0 && (*p as u32) < t.partitions).collect();
                Some((t, parts))
            })
            .collect(),
    };
    let mut topics = Vec::new();
    for (t, parts) in wanted {
        let partitions = parts
            .into_iter()
            .filter_map(|p| {
                let part = broker.logs.get(&part_key(origin, &t, p)).ok()?;
                let size = part.lock().log.size_bytes();
                Some(
                    describe_log_dirs_response::DescribeLogDirsPartition::default()
                        .with_partition_index(p)
                        .with_partition_size(i64::try_from(size).unwrap_or(i64::MAX))
                        .with_offset_lag(0),
                )
            })
            .collect();
        topics.push(
            describe_log_dirs_response::DescribeLogDirsTopic::default()
                .with_name(TopicName(s(t.name.clone())))
                .with_partitions(partitions),
        );
    }
    let dir = broker.logs.root().map_or_else(|| "(in memory)".to_string(), |p| p.display().to_string());
    DescribeLogDirsResponse::default().with_results(vec![describe_log_dirs_response::DescribeLogDirsResult::default()
        .with_log_dir(s(dir))
        .with_topics(topics)
        .with_total_bytes(-1)
        .with_usable_bytes(-1)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_subscriptions_are_read_and_garbage_names_no_topic() {
        use super::super::group::consumer_subscription;
        use bytes::{BufMut, Bytes, BytesMut};
        use kafka_protocol::protocol::Encodable;
        for version in [0i16, 1, 3] {
            let mut meta = BytesMut::new();
            meta.put_i16(version);
            ConsumerProtocolSubscription::default()
                .with_topics(vec![s("orders"), s("audit")])
                .encode(&mut meta, version)
                .unwrap();
            assert_eq!(consumer_subscription(&meta.freeze()), ["orders", "audit"], "v{version}");
        }
        assert!(consumer_subscription(&Bytes::from_static(b"\0")).is_empty());
        assert!(consumer_subscription(&Bytes::from_static(b"\0\0\x7f\xff\xff\xff")).is_empty());
        assert!(consumer_subscription(&Bytes::from_static(b"opaque-subscription")).is_empty());
    }

    #[test]
    fn values_are_validated_per_config_and_unknown_names_refused() {
        let mut c = TopicConfig::default();
        apply(&mut c, "retention.ms", "60000").unwrap();
        assert_eq!(c.retention_ms, Some(60_000));
        apply(&mut c, "retention.ms", "-1").unwrap();
        assert!(apply(&mut c, "retention.ms", "-2").is_err());
        assert!(apply(&mut c, "retention.ms", "soon").is_err());
        assert!(apply(&mut c, "segment.ms", "0").is_err());
        assert!(apply(&mut c, "unclean.leader.election.enable", "yes").is_err());
        apply(&mut c, "unclean.leader.election.enable", "TRUE").unwrap();
        assert!(c.unclean_leader_election);
        apply(&mut c, "cleanup.policy", "compact, delete").unwrap();
        assert!(c.compacted);
        assert_eq!(cleanup_policy(&c), "compact,delete");
        assert!(apply(&mut c, "cleanup.policy", "shred").is_err());
        assert!(apply(&mut c, "no.such.config", "1").is_err());
        apply(&mut c, "retention.bytes", "1024").unwrap();
        assert_eq!(c.other.get("retention.bytes").map(String::as_str), Some("1024"));
        reset(&mut c, "cleanup.policy");
        assert_eq!(cleanup_policy(&c), "delete");
        reset(&mut c, "retention.ms");
        assert_eq!(c.retention_ms, None);
    }
}
