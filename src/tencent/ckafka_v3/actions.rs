//! The CKafka 2019-08-19 action handlers. Field names are the API's (tencentcloud-sdk's `models`):
//! inputs are PascalCase JSON, answers carry their payload in `Result` (`JgwOperateResponse` for writes).

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Ctx, V3Error};
use crate::engine::kafka::security::{
    AclFilter, AclOperation, AclPatternType, AclPermission, AclResourceType, AclRule, SaslUser,
};
use crate::engine::kafka::{KafkaInstance, Millis, OffsetCommit, Topic, TopicUpdate};
use crate::tencent::ckafka::{fixture_topic, status_code, REGIONS};

/// An action's typed input from the JSON parameters (wrong types: `InvalidParameter`). `lenient`: the
/// parameters came as strings (form or query), which may fill integer and boolean fields.
pub fn input<T: DeserializeOwned>(params: &Value, lenient: bool) -> Result<T, V3Error> {
    let typed = if lenient {
        T::deserialize(super::form::Lenient(params.clone()))
    } else {
        serde_json::from_value(params.clone())
    };
    typed.map_err(|e| V3Error::new("InvalidParameter", format!("{e}")))
}

fn required<'a, T>(value: &'a Option<T>, name: &str) -> Result<&'a T, V3Error> {
    value.as_ref().ok_or_else(|| V3Error::missing(name))
}

fn required_str<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, V3Error> {
    match value.as_deref() {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(V3Error::missing(name)),
    }
}

/// Offset/Limit paging: Offset from 0, Limit 1..=100 (default 20).
fn page<T>(items: Vec<T>, offset: Option<i64>, limit: Option<i64>) -> Result<(usize, Vec<T>), V3Error> {
    let offset = offset.unwrap_or(0);
    let limit = limit.unwrap_or(20);
    if offset < 0 {
        return Err(V3Error::value("Offset", "must not be negative"));
    }
    if !(1..=100).contains(&limit) {
        return Err(V3Error::value("Limit", "must be between 1 and 100"));
    }
    let total = items.len();
    Ok((total, items.into_iter().skip(offset as usize).take(limit as usize).collect()))
}

/// The success answer of a write: `JgwOperateResponse`.
fn operated() -> Value {
    json!({"Result": {"ReturnCode": "0", "ReturnMessage": "ok", "Data": {"FlowId": 0}}})
}

fn seconds(t: Millis) -> i64 {
    t.as_secs()
}

fn datetime(t: Millis) -> String {
    chrono::DateTime::from_timestamp(t.as_secs(), 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

fn bool_int(b: bool) -> i64 {
    i64::from(b)
}

// ---------------------------------------------------------------------------------------------- instances

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstancesInput {
    instance_id: Option<String>,
    search_word: Option<String>,
    status: Option<Vec<i64>>,
    offset: Option<i64>,
    limit: Option<i64>,
    instance_ids: Option<String>,
    instance_id_list: Option<Vec<String>>,
}

fn matching_instances(ctx: &Ctx<'_>, q: &InstancesInput) -> Vec<Value> {
    let ids: Option<Vec<String>> = q
        .instance_id_list
        .clone()
        .or_else(|| q.instance_ids.as_ref().map(|s| s.split(',').map(|x| x.trim().to_string()).collect()));
    ctx.model
        .instances_of(ctx.scope())
        .iter()
        .filter_map(|h| {
            let i = h.read();
            let keep = q.instance_id.as_deref().is_none_or(|id| id.is_empty() || i.id == id)
                && ids.as_ref().is_none_or(|ids| ids.contains(&i.id))
                && q.search_word.as_deref().is_none_or(|w| i.id.contains(w) || i.name.contains(w))
                && q.status.as_ref().is_none_or(|s| s.is_empty() || s.contains(&status_code(i.status)));
            keep.then(|| instance_detail(&i))
        })
        .collect()
}

fn instance_detail(i: &KafkaInstance) -> Value {
    json!({
        "InstanceId": i.id, "InstanceName": i.name, "Vip": i.vip, "Vport": i.vport.to_string(),
        "VipList": [{"Vip": i.vip, "Vport": i.vport.to_string()}],
        "Status": status_code(i.status), "Bandwidth": i.bandwidth_mbps, "DiskSize": i.disk_gb,
        "ZoneId": i.zone_id.parse::<i64>().unwrap_or(0), "VpcId": i.vpc_id, "SubnetId": i.subnet_id,
        "RenewFlag": 0, "Healthy": 1, "HealthyMessage": "", "CreateTime": seconds(i.created_at_ms),
        "ExpireTime": i.attributes.expires_at.map_or(0, seconds), "IsInternal": 0,
        "TopicNum": i.topics().len(), "Tags": i.attributes.tags.iter().map(|t| json!({"TagKey": t.key, "TagValue": t.value})).collect::<Vec<_>>(),
        "Version": i.attributes.kafka_version.clone().unwrap_or_else(|| "2.4.1".into()),
        "ZoneIds": [i.zone_id.parse::<i64>().unwrap_or(0)], "Cvm": 1, "InstanceType": "standard", "DiskType": "CLOUD_BASIC",
        "MaxTopicNumber": i.max_topics, "MaxPartitionNumber": i.max_partitions, "PartitionNumber": i.partition_count(),
        "PublicNetworkChargeType": "BANDWIDTH_PREPAID", "PublicNetwork": 0, "ClusterType": "CLOUD_IDC", "Features": [],
    })
}

pub fn describe_instances(ctx: &Ctx<'_>, q: InstancesInput) -> Result<Value, V3Error> {
    let all = matching_instances(ctx, &q);
    let (total, items) = page(all, q.offset, q.limit)?;
    let list: Vec<Value> = items
        .into_iter()
        .map(|d| json!({"InstanceId": d["InstanceId"], "InstanceName": d["InstanceName"], "Status": d["Status"], "IfCommunity": false}))
        .collect();
    Ok(json!({"Result": {"InstanceList": list, "TotalCount": total}}))
}

pub fn describe_instances_detail(ctx: &Ctx<'_>, q: InstancesInput) -> Result<Value, V3Error> {
    let all = matching_instances(ctx, &q);
    let (total, items) = page(all, q.offset, q.limit)?;
    Ok(json!({"Result": {"TotalCount": total, "InstanceList": items}}))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceInput {
    instance_id: Option<String>,
}

pub fn describe_instance_attributes(ctx: &Ctx<'_>, q: InstanceInput) -> Result<Value, V3Error> {
    let id = required_str(&q.instance_id, "InstanceId")?;
    let result = ctx.model.read_instance(ctx.scope(), id, |i| {
        json!({
            "InstanceId": i.id, "InstanceName": i.name,
            "VipList": [{"Vip": i.vip, "Vport": i.vport.to_string()}], "Vip": i.vip, "Vport": i.vport.to_string(),
            "Status": status_code(i.status), "Bandwidth": i.bandwidth_mbps, "DiskSize": i.disk_gb,
            "ZoneId": i.zone_id.parse::<i64>().unwrap_or(0), "VpcId": i.vpc_id, "SubnetId": i.subnet_id,
            "Healthy": 1, "HealthyMessage": "", "CreateTime": seconds(i.created_at_ms),
            "MsgRetentionTime": i.msg_retention_minutes,
            "Config": {"AutoCreateTopicsEnable": true, "DefaultNumPartitions": 3, "DefaultReplicationFactor": 2},
            "RemainderPartitions": u64::from(i.max_partitions).saturating_sub(i.partition_count()),
            "RemainderTopics": (i.max_topics as usize).saturating_sub(i.topics().len()),
            "CreatedPartitions": i.partition_count(), "CreatedTopics": i.topics().len(),
            "ExpireTime": i.attributes.expires_at.map_or(0, seconds),
            "ZoneIds": [i.zone_id.parse::<i64>().unwrap_or(0)],
            "Version": i.attributes.kafka_version.clone().unwrap_or_else(|| "2.4.1".into()),
            "MaxGroupNum": 10_000, "Cvm": 1, "InstanceType": "standard", "Features": [],
            "MaxConnection": 5000, "PublicNetwork": 0, "ClusterType": "CLOUD_IDC",
        })
    })?;
    Ok(json!({ "Result": result }))
}

// ------------------------------------------------------------------------------------------------- topics

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateTopicInput {
    instance_id: Option<String>,
    topic_name: Option<String>,
    partition_num: Option<i64>,
    replica_num: Option<i64>,
    enable_white_list: Option<i64>,
    ip_white_list: Option<Vec<String>>,
    clean_up_policy: Option<String>,
    note: Option<String>,
    min_insync_replicas: Option<i64>,
    unclean_leader_election_enable: Option<i64>,
    retention_ms: Option<i64>,
    segment_ms: Option<i64>,
}

fn clean_up_policy(value: Option<&str>) -> Result<Option<bool>, V3Error> {
    match value {
        None | Some("") => Ok(None),
        Some("delete") => Ok(Some(false)),
        Some("compact") => Ok(Some(true)),
        Some(other) => Err(V3Error::value("CleanUpPolicy", format!("{other:?} is not delete or compact"))),
    }
}

fn positive_u32(value: i64, name: &str) -> Result<u32, V3Error> {
    u32::try_from(value).ok().filter(|v| *v > 0).ok_or_else(|| V3Error::value(name, "must be a positive integer"))
}

pub fn create_topic(ctx: &Ctx<'_>, q: CreateTopicInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let name = required_str(&q.topic_name, "TopicName")?;
    let partitions = *required(&q.partition_num, "PartitionNum")?;
    let replicas = *required(&q.replica_num, "ReplicaNum")?;
    let mut spec = fixture_topic(
        name,
        positive_u32(partitions, "PartitionNum")?,
        positive_u32(replicas, "ReplicaNum")?,
        q.note.as_deref().unwrap_or(""),
    )
    .map_err(|m| V3Error::new("InvalidParameterValue", m))?;
    spec.whitelist.enabled = q.enable_white_list == Some(1);
    spec.whitelist.ips = q.ip_white_list.unwrap_or_default();
    if let Some(compacted) = clean_up_policy(q.clean_up_policy.as_deref())? {
        spec.config.compacted = compacted;
    }
    if let Some(m) = q.min_insync_replicas {
        spec.config.min_insync_replicas = positive_u32(m, "MinInsyncReplicas")?;
    }
    if let Some(u) = q.unclean_leader_election_enable {
        spec.config.unclean_leader_election = u == 1;
    }
    if let Some(r) = q.retention_ms {
        spec.config.retention_ms = Some(r);
    }
    if let Some(s) = q.segment_ms {
        spec.config.segment_ms = Some(s);
    }
    let id = ctx.model.create_topic(ctx.scope(), instance, spec)?;
    Ok(json!({"Result": {"TopicId": id}}))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListTopicsInput {
    instance_id: Option<String>,
    search_word: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

fn topics_of<R>(
    ctx: &Ctx<'_>,
    q: &ListTopicsInput,
    f: impl Fn(&KafkaInstance, &Topic) -> R,
) -> Result<Vec<R>, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    Ok(ctx.model.read_instance(ctx.scope(), instance, |i| {
        i.topics()
            .values()
            .filter(|t| q.search_word.as_deref().is_none_or(|w| t.name.contains(w)))
            .map(|t| f(i, t))
            .collect()
    })?)
}

pub fn describe_topic(ctx: &Ctx<'_>, q: ListTopicsInput) -> Result<Value, V3Error> {
    let all = topics_of(ctx, &q, |_, t| json!({"TopicId": t.id, "TopicName": t.name, "Note": t.remark}))?;
    let (total, items) = page(all, q.offset, q.limit)?;
    Ok(json!({"Result": {"TopicList": items, "TotalCount": total}}))
}

fn topic_config(t: &Topic) -> Value {
    json!({
        "Retention": t.config.retention_ms, "MinInsyncReplicas": t.config.min_insync_replicas,
        "CleanUpPolicy": if t.config.compacted { "compact" } else { "delete" },
        "SegmentMs": t.config.segment_ms, "UncleanLeaderElectionEnable": bool_int(t.config.unclean_leader_election),
        "SegmentBytes": 1_073_741_824, "MaxMessageBytes": 1_048_588,
    })
}

pub fn describe_topic_detail(ctx: &Ctx<'_>, q: ListTopicsInput) -> Result<Value, V3Error> {
    let all = topics_of(ctx, &q, |_, t| {
        json!({
            "TopicName": t.name, "TopicId": t.id, "PartitionNum": t.partitions.len(), "ReplicaNum": t.replica_num,
            "Note": t.remark, "CreateTime": seconds(t.created_at_ms), "EnableWhiteList": t.whitelist.enabled,
            "IpWhiteListCount": t.whitelist.ips.len(),
            "ForwardCosBucket": t.forward.as_ref().map(|f| f.cos_bucket.clone()),
            "ForwardStatus": t.forward.as_ref().map_or(1, |f| if f.active { 0 } else { 1 }),
            "ForwardInterval": t.forward.as_ref().map(|f| f.interval_secs),
            "Config": topic_config(t), "Status": 0,
            "Tags": t.tags.iter().map(|g| json!({"TagKey": g.key, "TagValue": g.value})).collect::<Vec<_>>(),
        })
    })?;
    let (total, items) = page(all, q.offset, q.limit)?;
    Ok(json!({"Result": {"TopicList": items, "TotalCount": total}}))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct TopicInput {
    instance_id: Option<String>,
    topic_name: Option<String>,
}

pub fn describe_topic_attributes(ctx: &Ctx<'_>, q: TopicInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let name = required_str(&q.topic_name, "TopicName")?;
    let result = ctx.model.read_instance(ctx.scope(), instance, |i| {
        i.topic(name).map(|t| {
            json!({
                "TopicId": t.id, "CreateTime": seconds(t.created_at_ms), "Note": t.remark,
                "PartitionNum": t.partitions.len(), "EnableWhiteList": bool_int(t.whitelist.enabled),
                "IpWhiteList": t.whitelist.ips, "Config": topic_config(t), "EnableAclRule": 0,
                "ReplicaNum": t.replica_num,
            })
        })
    })??;
    Ok(json!({ "Result": result }))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModifyTopicInput {
    instance_id: Option<String>,
    topic_name: Option<String>,
    note: Option<String>,
    enable_white_list: Option<i64>,
    min_insync_replicas: Option<i64>,
    unclean_leader_election_enable: Option<i64>,
    retention_ms: Option<i64>,
    segment_ms: Option<i64>,
}

pub fn modify_topic_attributes(ctx: &Ctx<'_>, q: ModifyTopicInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let name = required_str(&q.topic_name, "TopicName")?;
    let update = TopicUpdate {
        remark: q.note,
        whitelist_enabled: q.enable_white_list.map(|e| e == 1),
        min_insync_replicas: q.min_insync_replicas.map(|m| positive_u32(m, "MinInsyncReplicas")).transpose()?,
        unclean_leader_election: q.unclean_leader_election_enable.map(|u| u == 1),
        retention_ms: q.retention_ms,
        segment_ms: q.segment_ms,
    };
    ctx.model.update_topic(ctx.scope(), instance, name, update)?;
    Ok(operated())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreatePartitionInput {
    instance_id: Option<String>,
    topic_name: Option<String>,
    partition_num: Option<i64>,
}

/// `PartitionNum` is the topic's new partition count (counts only grow).
pub fn create_partition(ctx: &Ctx<'_>, q: CreatePartitionInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let name = required_str(&q.topic_name, "TopicName")?;
    let total = positive_u32(*required(&q.partition_num, "PartitionNum")?, "PartitionNum")?;
    ctx.model.grow_partitions(ctx.scope(), instance, name, total)?;
    Ok(operated())
}

pub fn delete_topic(ctx: &Ctx<'_>, q: TopicInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let name = required_str(&q.topic_name, "TopicName")?;
    ctx.model.delete_topic(ctx.scope(), instance, name)?;
    Ok(operated())
}

// ------------------------------------------------------------------------------------------------- groups

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateConsumerInput {
    instance_id: Option<String>,
    group_name: Option<String>,
    topic_name: Option<String>,
    topic_name_list: Option<Vec<String>>,
}

/// Creates the group and subscribes it to the named topics (offset 0 committed on each partition).
pub fn create_consumer(ctx: &Ctx<'_>, q: CreateConsumerInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let group = required_str(&q.group_name, "GroupName")?;
    let mut topics: Vec<String> = q.topic_name_list.unwrap_or_default();
    topics.extend(q.topic_name.filter(|t| !t.is_empty()));
    // Check the topics first: a rejected request changes nothing.
    let counts = ctx.model.read_instance(ctx.scope(), instance, |i| {
        topics.iter().map(|t| i.topic(t).map(|t| t.partitions.len() as u32)).collect::<Result<Vec<u32>, _>>()
    })??;
    ctx.model.create_group(ctx.scope(), instance, group, "", Vec::new())?;
    for (topic, count) in topics.iter().zip(counts) {
        for partition in 0..count {
            let commit = OffsetCommit { group, topic, partition, offset: 0, produced_at: None };
            ctx.model.commit_offset(ctx.scope(), instance, commit)?;
        }
    }
    Ok(operated())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListGroupsInput {
    instance_id: Option<String>,
    search_word: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

pub fn describe_group(ctx: &Ctx<'_>, q: ListGroupsInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let all: Vec<Value> = ctx.model.read_instance(ctx.scope(), instance, |i| {
        i.groups()
            .values()
            .filter(|g| q.search_word.as_deref().is_none_or(|w| g.name.contains(w)))
            .map(|g| json!({"Group": g.name, "Protocol": "consumer"}))
            .collect()
    })?;
    let (total, items) = page(all, q.offset, q.limit)?;
    Ok(json!({"Result": {"TotalCount": total, "GroupList": items, "GroupCountQuota": 10_000}}))
}

/// `GroupInfoResponse`: an existing group without live members is `Empty`, an unknown one `Dead` (as
/// Kafka's DescribeGroups answers).
fn group_info(i: &KafkaInstance, group: &str) -> Value {
    let state = if i.groups().contains_key(group) { "Empty" } else { "Dead" };
    json!({"ErrorCode": "0", "State": state, "ProtocolType": "consumer", "Protocol": "", "Members": [], "Group": group})
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct GroupInfoInput {
    instance_id: Option<String>,
    group_list: Option<Vec<String>>,
}

pub fn describe_group_info(ctx: &Ctx<'_>, q: GroupInfoInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let groups = required(&q.group_list, "GroupList")?;
    if groups.is_empty() {
        return Err(V3Error::new("InvalidParameterValue.NotAllowedEmpty", "GroupList must not be empty"));
    }
    let result: Vec<Value> =
        ctx.model.read_instance(ctx.scope(), instance, |i| groups.iter().map(|g| group_info(i, g)).collect())?;
    Ok(json!({ "Result": result }))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ConsumerGroupInput {
    instance_id: Option<String>,
    group_name: Option<String>,
    topic_name: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
}

pub fn describe_consumer_group(ctx: &Ctx<'_>, q: ConsumerGroupInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let result = ctx.model.read_instance(ctx.scope(), instance, |i| -> Result<Value, V3Error> {
        if let Some(g) = q.group_name.as_deref().filter(|g| !g.is_empty()) {
            i.group(g)?;
        }
        let mut groups = Vec::new();
        let mut topic_names: Vec<String> = Vec::new();
        let mut total_partitions = 0usize;
        for g in i.groups().values() {
            if q.group_name.as_deref().is_some_and(|n| !n.is_empty() && n != g.name) {
                continue;
            }
            let mut subscribed = Vec::new();
            for topic in i.group_topics(&g.name)? {
                if q.topic_name.as_deref().is_some_and(|n| !n.is_empty() && n != topic) {
                    continue;
                }
                let progress = i.group_progress(&g.name, topic)?;
                total_partitions += progress.len();
                if !topic_names.iter().any(|t| t == topic) {
                    topic_names.push(topic.to_string());
                }
                subscribed.push(json!({
                    "TopicName": topic,
                    "TopicId": i.topic(topic).map(|t| t.id.clone()).unwrap_or_default(),
                    "Partition": progress.iter().map(|p| p.partition).collect::<Vec<_>>(),
                    "PartitionOffset": progress.iter().map(|p| json!({"Partition": p.partition.to_string(), "Offset": p.consumer_offset.to_string()})).collect::<Vec<_>>(),
                }));
            }
            groups.push(json!({"ConsumerGroupName": g.name, "SubscribedInfo": subscribed}));
        }
        let total = groups.len();
        let (_, groups) = page(groups, q.offset, q.limit)?;
        let topics: Vec<Value> = topic_names
            .iter()
            .map(|t| json!({"TopicName": t, "TopicId": i.topic(t).map(|t| t.id.clone()).unwrap_or_default()}))
            .collect();
        Ok(json!({
            "TotalCount": total, "TopicList": topics, "GroupList": groups,
            "TotalPartition": total_partitions, "TotalTopic": topic_names.len(),
        }))
    })??;
    Ok(json!({ "Result": result }))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteGroupInput {
    instance_id: Option<String>,
    group: Option<String>,
}

pub fn delete_group(ctx: &Ctx<'_>, q: DeleteGroupInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let group = required_str(&q.group, "Group")?;
    ctx.model.delete_group(ctx.scope(), instance, group)?;
    Ok(operated())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct SubscribeGroupInput {
    instance_id: Option<String>,
    topic_name: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

pub fn describe_topic_subscribe_group(ctx: &Ctx<'_>, q: SubscribeGroupInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let topic = required_str(&q.topic_name, "TopicName")?;
    let all: Vec<Value> = ctx.model.read_instance(ctx.scope(), instance, |i| -> Result<Vec<Value>, V3Error> {
        i.topic(topic)?;
        Ok(i.groups().values().filter(|g| g.offsets.contains_key(topic)).map(|g| group_info(i, &g.name)).collect())
    })??;
    let (total, items) = page(all, q.offset, q.limit)?;
    Ok(json!({"Result": {"TotalCount": total, "StatusCountInfo": "", "GroupsInfo": items, "Status": 0}}))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModifyGroupOffsetsInput {
    instance_id: Option<String>,
    group: Option<String>,
    strategy: Option<i64>,
    topics: Option<Vec<String>>,
    shift: Option<i64>,
    shift_timestamp: Option<i64>,
    offset: Option<i64>,
    partitions: Option<Vec<i64>>,
}

/// Strategy 0: move by `Shift`; 1: to `ShiftTimestamp` (ms; before the partition's last write: its log
/// start, otherwise its end, as localyun keeps no per-message times); 2: to `Offset`; 3: earliest; 4:
/// latest. Offsets are clamped to each partition's log.
pub fn modify_group_offsets(ctx: &Ctx<'_>, q: ModifyGroupOffsetsInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let group = required_str(&q.group, "Group")?;
    let strategy = *required(&q.strategy, "Strategy")?;
    match strategy {
        0 => drop(required(&q.shift, "Shift")?),
        1 => drop(required(&q.shift_timestamp, "ShiftTimestamp")?),
        2 => drop(required(&q.offset, "Offset")?),
        3 | 4 => {}
        _ => return Err(V3Error::value("Strategy", "must be 0, 1, 2, 3 or 4")),
    }
    let plan = ctx.model.read_instance(ctx.scope(), instance, |i| -> Result<Vec<(String, u32, i64)>, V3Error> {
        i.group(group)?;
        let topics: Vec<String> = match &q.topics {
            Some(t) if !t.is_empty() => t.clone(),
            _ => i.group_topics(group)?.into_iter().map(str::to_string).collect(),
        };
        let mut plan = Vec::new();
        for topic in &topics {
            for p in i.group_progress(group, topic)? {
                if q.partitions.as_ref().is_some_and(|ps| !ps.is_empty() && !ps.contains(&i64::from(p.partition))) {
                    continue;
                }
                let offsets = i.topic_offsets(topic)?;
                let range = offsets
                    .partitions
                    .get(p.partition as usize)
                    .map_or((0, 0, Millis(0)), |o| (o.min_offset, o.max_offset, o.last_update));
                let target = match strategy {
                    0 => p.consumer_offset.saturating_add(q.shift.unwrap_or(0)),
                    1 => {
                        if q.shift_timestamp.unwrap_or(0) <= range.2 .0 {
                            range.0
                        } else {
                            range.1
                        }
                    }
                    2 => q.offset.unwrap_or(0),
                    3 => range.0,
                    _ => range.1,
                };
                plan.push((topic.clone(), p.partition, target.clamp(range.0, range.1.max(range.0))));
            }
        }
        Ok(plan)
    })??;
    for (topic, partition, offset) in &plan {
        let commit = OffsetCommit { group, topic, partition: *partition, offset: *offset, produced_at: None };
        ctx.model.commit_offset(ctx.scope(), instance, commit)?;
    }
    Ok(operated())
}

// -------------------------------------------------------------------------------------------------- users

/// CKafka's user name rule: 1-64 letters, digits, `_`, `-`, `.`.
fn check_user_name(name: &str) -> Result<(), V3Error> {
    let ok = (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(V3Error::value("Name", "1-64 letters, digits, '_', '-' or '.'"))
    }
}

/// Passwords: 6-64 characters.
fn check_password(name: &str, password: &str) -> Result<(), V3Error> {
    if (6..=64).contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(V3Error::value(name, "must be 6 to 64 characters"))
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateUserInput {
    instance_id: Option<String>,
    name: Option<String>,
    password: Option<String>,
}

pub fn create_user(ctx: &Ctx<'_>, q: CreateUserInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let name = required_str(&q.name, "Name")?;
    let password = required_str(&q.password, "Password")?;
    check_user_name(name)?;
    check_password("Password", password)?;
    ctx.model.create_user(ctx.scope(), instance, name, password, "scram")?;
    Ok(operated())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeUserInput {
    instance_id: Option<String>,
    search_word: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

fn user_json(position: usize, u: &SaslUser) -> Value {
    json!({"UserId": position + 1, "Name": u.name, "CreateTime": datetime(u.created_at_ms), "UpdateTime": datetime(u.updated_at_ms)})
}

pub fn describe_user(ctx: &Ctx<'_>, q: DescribeUserInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let all: Vec<Value> = ctx.model.read_instance(ctx.scope(), instance, |i| {
        i.users()
            .values()
            .enumerate()
            .filter(|(_, u)| q.search_word.as_deref().is_none_or(|w| u.name.contains(w)))
            .map(|(n, u)| user_json(n, u))
            .collect()
    })?;
    let (total, items) = page(all, q.offset, q.limit)?;
    Ok(json!({"Result": {"Users": items, "TotalCount": total}}))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModifyPasswordInput {
    instance_id: Option<String>,
    name: Option<String>,
    password: Option<String>,
    password_new: Option<String>,
}

pub fn modify_password(ctx: &Ctx<'_>, q: ModifyPasswordInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let name = required_str(&q.name, "Name")?;
    let current = required_str(&q.password, "Password")?;
    let new = required_str(&q.password_new, "PasswordNew")?;
    check_password("PasswordNew", new)?;
    ctx.model.set_user_password(ctx.scope(), instance, name, Some(current), new)?;
    Ok(operated())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteUserInput {
    instance_id: Option<String>,
    name: Option<String>,
}

pub fn delete_user(ctx: &Ctx<'_>, q: DeleteUserInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let name = required_str(&q.name, "Name")?;
    ctx.model.delete_user(ctx.scope(), instance, name)?;
    Ok(operated())
}

// --------------------------------------------------------------------------------------------------- ACLs

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct AclInput {
    instance_id: Option<String>,
    resource_type: Option<i64>,
    operation: Option<i64>,
    permission_type: Option<i64>,
    resource_name: Option<String>,
    host: Option<String>,
    principal: Option<String>,
    /// A JSON array of names, as a string (CreateAcl).
    resource_name_list: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
    search_word: Option<String>,
}

fn resource_type(code: i64) -> Result<AclResourceType, V3Error> {
    AclResourceType::from_code(code).ok_or_else(|| {
        V3Error::value("ResourceType", "must be 2 (TOPIC), 3 (GROUP), 4 (CLUSTER) or 5 (TRANSACTIONAL_ID)")
    })
}

fn operation(code: i64) -> Result<AclOperation, V3Error> {
    AclOperation::from_code(code)
        .ok_or_else(|| V3Error::value("Operation", "must be between 2 (ALL) and 12 (IDEMPOTENT_WRITE)"))
}

fn permission(code: i64) -> Result<AclPermission, V3Error> {
    AclPermission::from_code(code).ok_or_else(|| V3Error::value("PermissionType", "must be 2 (DENY) or 3 (ALLOW)"))
}

fn principal(value: Option<&str>) -> Result<String, V3Error> {
    match value {
        None | Some("") => Ok("User:*".into()),
        Some(p) if p.starts_with("User:") && p.len() > 5 => Ok(p.to_string()),
        Some(_) => Err(V3Error::value("Principal", "must look like User:<name> (User:* for everyone)")),
    }
}

fn acl_json(r: &AclRule) -> Value {
    json!({
        "ResourceType": r.resource_type.code(), "ResourceName": r.resource_name, "Principal": r.principal,
        "Host": r.host, "Operation": r.operation.code(), "PermissionType": r.permission.code(),
    })
}

pub fn create_acl(ctx: &Ctx<'_>, q: AclInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let kind = resource_type(*required(&q.resource_type, "ResourceType")?)?;
    let op = operation(*required(&q.operation, "Operation")?)?;
    let perm = permission(*required(&q.permission_type, "PermissionType")?)?;
    let names: Vec<String> = match (q.resource_name.as_deref(), q.resource_name_list.as_deref()) {
        (Some(n), None) => vec![n.to_string()],
        (None, Some(list)) => serde_json::from_str(list)
            .map_err(|_| V3Error::value("ResourceNameList", "must be a JSON array of names"))?,
        (Some(_), Some(_)) => {
            return Err(V3Error::new("InvalidParameter", "give ResourceName or ResourceNameList, not both"))
        }
        (None, None) if kind == AclResourceType::Cluster => vec!["kafka-cluster".into()],
        (None, None) => return Err(V3Error::missing("ResourceName")),
    };
    if names.iter().any(|n| n.is_empty()) {
        return Err(V3Error::value("ResourceName", "must not be empty"));
    }
    let principal = principal(q.principal.as_deref())?;
    let host = q.host.filter(|h| !h.is_empty()).unwrap_or_else(|| "*".into());
    let rules = names
        .into_iter()
        .map(|name| AclRule {
            resource_type: kind,
            resource_name: name,
            pattern_type: AclPatternType::Literal,
            principal: principal.clone(),
            host: host.clone(),
            operation: op,
            permission: perm,
            created_at_ms: Millis(0),
        })
        .collect();
    ctx.model.create_acls(ctx.scope(), instance, rules)?;
    Ok(operated())
}

pub fn describe_acl(ctx: &Ctx<'_>, q: AclInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let kind = resource_type(*required(&q.resource_type, "ResourceType")?)?;
    let name = required_str(&q.resource_name, "ResourceName")?;
    let filter = AclFilter { resource_type: Some(kind), resource_name: Some(name), ..AclFilter::default() };
    let all: Vec<Value> = ctx.model.read_instance(ctx.scope(), instance, |i| {
        i.acls()
            .values()
            .filter(|r| filter.matches(r))
            .filter(|r| q.search_word.as_deref().is_none_or(|w| r.principal.contains(w) || r.host.contains(w)))
            .map(acl_json)
            .collect()
    })?;
    let (total, items) = page(all, q.offset, q.limit)?;
    Ok(json!({"Result": {"TotalCount": total, "AclList": items}}))
}

pub fn delete_acl(ctx: &Ctx<'_>, q: AclInput) -> Result<Value, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let kind = resource_type(*required(&q.resource_type, "ResourceType")?)?;
    let name = required_str(&q.resource_name, "ResourceName")?;
    let principal = q.principal.as_deref().filter(|p| !p.is_empty()).map(|p| principal(Some(p))).transpose()?;
    let filter = AclFilter {
        resource_type: Some(kind),
        resource_name: Some(name),
        pattern_type: None,
        principal: principal.as_deref(),
        host: q.host.as_deref().filter(|h| !h.is_empty()),
        operation: q.operation.map(operation).transpose()?,
        permission: q.permission_type.map(permission).transpose()?,
    };
    ctx.model.delete_acls(ctx.scope(), instance, &filter)?;
    Ok(operated())
}

// ------------------------------------------------------------------------------------------------ regions

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct RegionInput {
    offset: Option<i64>,
    limit: Option<i64>,
}

/// The regions in mainland China (the others are `Overseas`, Hong Kong included).
const MAINLAND: &[&str] = &[
    "ap-beijing",
    "ap-guangzhou",
    "ap-shanghai",
    "ap-shanghai-fsi",
    "ap-shenzhen-fsi",
    "ap-guangzhou-open",
    "ap-chengdu",
    "ap-chongqing",
    "ap-nanjing",
];

pub fn describe_region(_ctx: &Ctx<'_>, q: RegionInput) -> Result<Value, V3Error> {
    let all: Vec<Value> = REGIONS
        .iter()
        .enumerate()
        .map(|(n, r)| {
            let area = if MAINLAND.contains(r) { "China" } else { "Overseas" };
            json!({"RegionId": n + 1, "RegionName": r, "AreaName": area, "RegionCode": r, "RegionCodeV3": r, "Support": "", "Ipv6": 0, "MultiZone": 1})
        })
        .collect();
    let limit = q.limit.unwrap_or(100);
    let (_, items) = page(all, q.offset, Some(limit))?;
    Ok(json!({ "Result": items }))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ZoneInput {
    cdc_id: Option<String>,
}

pub fn describe_ckafka_zone(ctx: &Ctx<'_>, _q: ZoneInput) -> Result<Value, V3Error> {
    let zones: Vec<Value> = (1..=3)
        .map(|n| {
            json!({
                "ZoneId": format!("{}", 100_000 + n), "IsInternalApp": 0, "AppId": 0, "Flag": false,
                "ZoneName": format!("{}-{n}", ctx.region), "ZoneStatus": 3, "Exflag": "0", "SoldOut": "false",
                "SalesInfo": [{"Flag": false, "Version": "2.4.1", "Platform": "standard", "SoldOut": false}],
            })
        })
        .collect();
    Ok(json!({"Result": {
        "ZoneList": zones, "MaxBuyInstanceNum": 100, "MaxBandwidth": 10_000,
        "UnitPrice": {"RealTotalCost": 0.0, "TotalCost": 0.0}, "MessagePrice": {"RealTotalCost": 0.0, "TotalCost": 0.0},
        "ClusterInfo": [], "Standard": "", "StandardS2": "", "Profession": "", "Physical": "", "PublicNetwork": "",
        "PublicNetworkLimit": "", "Offset": 0, "Limit": zones_limit(), "ForceCheckTag": false,
    }}))
}

fn zones_limit() -> i64 {
    3
}
