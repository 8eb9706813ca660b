//! The CKafka 2019-08-19 action handlers. Field names are the API's (tencentcloud-sdk's `models`):
//! inputs are PascalCase JSON, answers carry their payload in `Result` (`JgwOperateResponse` for writes).

use std::fmt;

use serde::de::{DeserializeOwned, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

use super::{Answer, Ctx, Params, V3Error};
use crate::engine::kafka::security::{
    AclFilter, AclOperation, AclPatternType, AclPermission, AclResourceType, AclRule, SaslUser,
};
use crate::engine::kafka::{KafkaInstance, Millis, OffsetCommit, Topic, TopicUpdate};
use crate::kafka::{Security, ServedAddress};
use crate::tencent::ckafka::{fixture_topic, status_code, REGIONS};

/// An action's typed input (wrong types: `InvalidParameter`).
///
/// A JSON body deserialises straight into the input. When that fails, the body is read again through a
/// `Value` tree, as it always was, so that the message (and the outcome: a key given twice, which the tree
/// resolves to its last value and a typed read refuses) stays the tree's.
pub fn input<T: DeserializeOwned>(params: &Params<'_>) -> Result<T, V3Error> {
    let typed = match params {
        Params::Json(body) => match serde_json::from_slice(body) {
            Ok(t) => return Ok(t),
            Err(_) => serde_json::from_slice::<Value>(body).and_then(|tree| T::deserialize(&tree)),
        },
        Params::Strings(tree) => T::deserialize(super::form::Lenient(tree.clone())),
    };
    typed.map_err(|e| V3Error::new("InvalidParameter", format!("{e}")))
}

/// Whether a JSON document is an object, found by reading it as strictly as parsing it into a `Value`
/// does (every string decoded, so invalid escapes and lone surrogates fail; every number parsed, so an
/// out-of-range one fails), with the same error messages, but without building the tree.
pub struct Checked {
    pub object: bool,
}

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CheckVisitor)
    }
}

struct CheckVisitor;

impl<'de> Visitor<'de> for CheckVisitor {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked { object: false })
    }
    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked { object: false })
    }
    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked { object: false })
    }
    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked { object: false })
    }
    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked { object: false })
    }
    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked { object: false })
    }
    fn visit_none<E>(self) -> Result<Checked, E> {
        Ok(Checked { object: false })
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Checked, D::Error> {
        Checked::deserialize(d).map(|_| Checked { object: false })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked { object: false })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        // Keys are decoded as strings (`Checked` visits them with `visit_str`), as the tree's keys are.
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked { object: true })
    }
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

/// Offset/Limit paging: Offset from 0, Limit 1..=100 (default 20). Returns the count of all `items` and
/// the page's; the items are usually references, so that only the page is ever rendered.
fn page<T>(
    items: impl IntoIterator<Item = T>,
    offset: Option<i64>,
    limit: Option<i64>,
) -> Result<(usize, Vec<T>), V3Error> {
    let offset = offset.unwrap_or(0);
    let limit = limit.unwrap_or(20);
    if offset < 0 {
        return Err(V3Error::value("Offset", "must not be negative"));
    }
    if !(1..=100).contains(&limit) {
        return Err(V3Error::value("Limit", "must be between 1 and 100"));
    }
    let (offset, limit) = (offset as usize, limit as usize);
    let mut total = 0;
    let mut kept = Vec::with_capacity(limit.min(100));
    for item in items {
        if total >= offset && kept.len() < limit {
            kept.push(item);
        }
        total += 1;
    }
    Ok((total, kept))
}

/// `{"Result": ...}`, the shape of every answer's fields.
#[derive(Serialize)]
struct Wrapped<T> {
    #[serde(rename = "Result")]
    result: T,
}

/// An answer `{"Result": result}`.
fn result<T: Serialize>(result: T) -> Result<Answer, V3Error> {
    Answer::of(&Wrapped { result })
}

/// The success answer of a write: `JgwOperateResponse`, `{"ReturnCode":"0","ReturnMessage":"ok","Data":{"FlowId":0}}`.
fn operated() -> Result<Answer, V3Error> {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Operated {
        return_code: &'static str,
        return_message: &'static str,
        data: FlowId,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct FlowId {
        flow_id: i64,
    }
    result(Operated { return_code: "0", return_message: "ok", data: FlowId { flow_id: 0 } })
}

/// A `Value` answer, for the actions not yet rendered through typed structs (rare, small answers).
fn tree(value: Value) -> Result<Answer, V3Error> {
    Answer::of(&value)
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

/// The caller's instances `q` selects, each rendered by `render` under its own read lock.
fn matching_instances<T>(ctx: &Ctx<'_>, q: &InstancesInput, render: impl Fn(&KafkaInstance) -> T) -> Vec<T> {
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
            keep.then(|| render(&i))
        })
        .collect()
}

/// `Vip` and `Vport` (a string in v3): where the data plane serves the instance's PLAINTEXT access point
/// (`LOCALYUN_KAFKA_ADVERTISED_HOST` and `LOCALYUN_KAFKA_PORT_OFFSET` applied; the stored ones are not).
fn served_vip<'a>(served: &'a ServedAddress, i: &'a KafkaInstance) -> (&'a str, String) {
    (served.host(&i.vip), served.port(i.vport, Security::Plaintext).to_string())
}

fn instance_detail(served: &ServedAddress, i: &KafkaInstance) -> Value {
    let (vip, vport) = served_vip(served, i);
    json!({
        "InstanceId": i.id, "InstanceName": i.name, "Vip": vip, "Vport": vport,
        "VipList": [{"Vip": vip, "Vport": vport}],
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

/// `Instance` of DescribeInstances.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceBrief {
    instance_id: String,
    instance_name: String,
    status: i64,
    if_community: bool,
}

pub fn describe_instances(ctx: &Ctx<'_>, q: InstancesInput) -> Result<Answer, V3Error> {
    let all = matching_instances(ctx, &q, |i| InstanceBrief {
        instance_id: i.id.clone(),
        instance_name: i.name.clone(),
        status: status_code(i.status),
        if_community: false,
    });
    let (total, items) = page(all, q.offset, q.limit)?;
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Listed {
        instance_list: Vec<InstanceBrief>,
        total_count: usize,
    }
    result(Listed { instance_list: items, total_count: total })
}

pub fn describe_instances_detail(ctx: &Ctx<'_>, q: InstancesInput) -> Result<Answer, V3Error> {
    let served = ServedAddress::of(ctx.state);
    let all = matching_instances(ctx, &q, |i| instance_detail(&served, i));
    let (total, items) = page(all, q.offset, q.limit)?;
    tree(json!({"Result": {"TotalCount": total, "InstanceList": items}}))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct InstanceInput {
    instance_id: Option<String>,
}

pub fn describe_instance_attributes(ctx: &Ctx<'_>, q: InstanceInput) -> Result<Answer, V3Error> {
    let id = required_str(&q.instance_id, "InstanceId")?;
    let served = ServedAddress::of(ctx.state);
    let result = ctx.model.read_instance(ctx.scope(), id, |i| {
        let (vip, vport) = served_vip(&served, i);
        json!({
            "InstanceId": i.id, "InstanceName": i.name,
            "VipList": [{"Vip": vip, "Vport": vport}], "Vip": vip, "Vport": vport,
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
    tree(json!({ "Result": result }))
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

pub fn create_topic(ctx: &Ctx<'_>, q: CreateTopicInput) -> Result<Answer, V3Error> {
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
    #[derive(Serialize)]
    struct Created<'a> {
        #[serde(rename = "TopicId")]
        topic_id: &'a str,
    }
    result(Created { topic_id: &id })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListTopicsInput {
    instance_id: Option<String>,
    search_word: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

/// The instance's topics `q.search_word` matches, in creation order, paged; `render` builds the answer
/// from the total and the page's topics while the instance's read lock is held (the page borrows them).
fn topic_page(
    ctx: &Ctx<'_>,
    q: &ListTopicsInput,
    render: impl FnOnce(usize, Vec<&Topic>) -> Result<Answer, V3Error>,
) -> Result<Answer, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    ctx.model.read_instance(ctx.scope(), instance, |i| {
        let matching = i.topics().values().filter(|t| q.search_word.as_deref().is_none_or(|w| t.name.contains(w)));
        let (total, items) = page(matching, q.offset, q.limit)?;
        render(total, items)
    })?
}

/// A page of a list: the items under the list's own name, then `TotalCount` (DescribeTopic's and
/// DescribeTopicDetail's order).
#[derive(Serialize)]
struct TopicList<T> {
    #[serde(rename = "TopicList")]
    topic_list: Vec<T>,
    #[serde(rename = "TotalCount")]
    total_count: usize,
}

/// `TopicInfo` of DescribeTopic.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TopicBrief<'a> {
    topic_id: &'a str,
    topic_name: &'a str,
    note: &'a str,
}

pub fn describe_topic(ctx: &Ctx<'_>, q: ListTopicsInput) -> Result<Answer, V3Error> {
    topic_page(ctx, &q, |total, items| {
        let topic_list =
            items.into_iter().map(|t| TopicBrief { topic_id: &t.id, topic_name: &t.name, note: &t.remark }).collect();
        result(TopicList { topic_list, total_count: total })
    })
}

/// `Config` of a topic (`Retention` and `SegmentMs` are null when unset).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TopicConfig {
    retention: Option<i64>,
    min_insync_replicas: u32,
    clean_up_policy: &'static str,
    segment_ms: Option<i64>,
    unclean_leader_election_enable: i64,
    segment_bytes: i64,
    max_message_bytes: i64,
}

fn topic_config(t: &Topic) -> TopicConfig {
    TopicConfig {
        retention: t.config.retention_ms,
        min_insync_replicas: t.config.min_insync_replicas,
        clean_up_policy: if t.config.compacted { "compact" } else { "delete" },
        segment_ms: t.config.segment_ms,
        unclean_leader_election_enable: bool_int(t.config.unclean_leader_election),
        segment_bytes: 1_073_741_824,
        max_message_bytes: 1_048_588,
    }
}

/// `Tag`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Tag<'a> {
    tag_key: &'a str,
    tag_value: &'a str,
}

/// `TopicDetail` of DescribeTopicDetail.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TopicDetail<'a> {
    topic_name: &'a str,
    topic_id: &'a str,
    partition_num: usize,
    replica_num: u32,
    note: &'a str,
    create_time: i64,
    enable_white_list: bool,
    ip_white_list_count: usize,
    forward_cos_bucket: Option<&'a str>,
    forward_status: i64,
    forward_interval: Option<u32>,
    config: TopicConfig,
    status: i64,
    tags: Vec<Tag<'a>>,
}

impl<'a> TopicDetail<'a> {
    fn of(t: &'a Topic) -> Self {
        TopicDetail {
            topic_name: &t.name,
            topic_id: &t.id,
            partition_num: t.partitions.len(),
            replica_num: t.replica_num,
            note: &t.remark,
            create_time: seconds(t.created_at_ms),
            enable_white_list: t.whitelist.enabled,
            ip_white_list_count: t.whitelist.ips.len(),
            forward_cos_bucket: t.forward.as_ref().map(|f| f.cos_bucket.as_str()),
            forward_status: t.forward.as_ref().map_or(1, |f| if f.active { 0 } else { 1 }),
            forward_interval: t.forward.as_ref().map(|f| f.interval_secs),
            config: topic_config(t),
            status: 0,
            tags: t.tags.iter().map(|g| Tag { tag_key: &g.key, tag_value: &g.value }).collect(),
        }
    }
}

pub fn describe_topic_detail(ctx: &Ctx<'_>, q: ListTopicsInput) -> Result<Answer, V3Error> {
    topic_page(ctx, &q, |total, items| {
        result(TopicList { topic_list: items.into_iter().map(TopicDetail::of).collect(), total_count: total })
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct TopicInput {
    instance_id: Option<String>,
    topic_name: Option<String>,
}

pub fn describe_topic_attributes(ctx: &Ctx<'_>, q: TopicInput) -> Result<Answer, V3Error> {
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
    tree(json!({ "Result": result }))
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

pub fn modify_topic_attributes(ctx: &Ctx<'_>, q: ModifyTopicInput) -> Result<Answer, V3Error> {
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
    operated()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreatePartitionInput {
    instance_id: Option<String>,
    topic_name: Option<String>,
    partition_num: Option<i64>,
}

/// `PartitionNum` is the topic's new partition count (counts only grow).
pub fn create_partition(ctx: &Ctx<'_>, q: CreatePartitionInput) -> Result<Answer, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let name = required_str(&q.topic_name, "TopicName")?;
    let total = positive_u32(*required(&q.partition_num, "PartitionNum")?, "PartitionNum")?;
    ctx.model.grow_partitions(ctx.scope(), instance, name, total)?;
    operated()
}

pub fn delete_topic(ctx: &Ctx<'_>, q: TopicInput) -> Result<Answer, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let name = required_str(&q.topic_name, "TopicName")?;
    ctx.model.delete_topic(ctx.scope(), instance, name)?;
    operated()
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
pub fn create_consumer(ctx: &Ctx<'_>, q: CreateConsumerInput) -> Result<Answer, V3Error> {
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
    operated()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListGroupsInput {
    instance_id: Option<String>,
    search_word: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

pub fn describe_group(ctx: &Ctx<'_>, q: ListGroupsInput) -> Result<Answer, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Group<'a> {
        group: &'a str,
        protocol: &'static str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Listed<'a> {
        total_count: usize,
        group_list: Vec<Group<'a>>,
        group_count_quota: i64,
    }
    ctx.model.read_instance(ctx.scope(), instance, |i| {
        let matching = i.groups().values().filter(|g| q.search_word.as_deref().is_none_or(|w| g.name.contains(w)));
        let (total, items) = page(matching, q.offset, q.limit)?;
        let group_list = items.into_iter().map(|g| Group { group: &g.name, protocol: "consumer" }).collect();
        result(Listed { total_count: total, group_list, group_count_quota: 10_000 })
    })?
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

pub fn describe_group_info(ctx: &Ctx<'_>, q: GroupInfoInput) -> Result<Answer, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let groups = required(&q.group_list, "GroupList")?;
    if groups.is_empty() {
        return Err(V3Error::new("InvalidParameterValue.NotAllowedEmpty", "GroupList must not be empty"));
    }
    let result: Vec<Value> =
        ctx.model.read_instance(ctx.scope(), instance, |i| groups.iter().map(|g| group_info(i, g)).collect())?;
    tree(json!({ "Result": result }))
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

pub fn describe_consumer_group(ctx: &Ctx<'_>, q: ConsumerGroupInput) -> Result<Answer, V3Error> {
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
    tree(json!({ "Result": result }))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteGroupInput {
    instance_id: Option<String>,
    group: Option<String>,
}

pub fn delete_group(ctx: &Ctx<'_>, q: DeleteGroupInput) -> Result<Answer, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let group = required_str(&q.group, "Group")?;
    ctx.model.delete_group(ctx.scope(), instance, group)?;
    operated()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct SubscribeGroupInput {
    instance_id: Option<String>,
    topic_name: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

pub fn describe_topic_subscribe_group(ctx: &Ctx<'_>, q: SubscribeGroupInput) -> Result<Answer, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let topic = required_str(&q.topic_name, "TopicName")?;
    let all: Vec<Value> = ctx.model.read_instance(ctx.scope(), instance, |i| -> Result<Vec<Value>, V3Error> {
        i.topic(topic)?;
        Ok(i.groups().values().filter(|g| g.offsets.contains_key(topic)).map(|g| group_info(i, &g.name)).collect())
    })??;
    let (total, items) = page(all, q.offset, q.limit)?;
    tree(json!({"Result": {"TotalCount": total, "StatusCountInfo": "", "GroupsInfo": items, "Status": 0}}))
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
pub fn modify_group_offsets(ctx: &Ctx<'_>, q: ModifyGroupOffsetsInput) -> Result<Answer, V3Error> {
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
    operated()
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

pub fn create_user(ctx: &Ctx<'_>, q: CreateUserInput) -> Result<Answer, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let name = required_str(&q.name, "Name")?;
    let password = required_str(&q.password, "Password")?;
    check_user_name(name)?;
    check_password("Password", password)?;
    ctx.model.create_user(ctx.scope(), instance, name, password, "scram")?;
    operated()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeUserInput {
    instance_id: Option<String>,
    search_word: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

/// `User` of DescribeUser (its id is its position in creation order, from 1).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct User<'a> {
    user_id: usize,
    name: &'a str,
    create_time: String,
    update_time: String,
}

fn user_view(position: usize, u: &SaslUser) -> User<'_> {
    User {
        user_id: position + 1,
        name: &u.name,
        create_time: datetime(u.created_at_ms),
        update_time: datetime(u.updated_at_ms),
    }
}

pub fn describe_user(ctx: &Ctx<'_>, q: DescribeUserInput) -> Result<Answer, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Listed<'a> {
        users: Vec<User<'a>>,
        total_count: usize,
    }
    ctx.model.read_instance(ctx.scope(), instance, |i| {
        let matching =
            i.users().values().enumerate().filter(|(_, u)| q.search_word.as_deref().is_none_or(|w| u.name.contains(w)));
        let (total, items) = page(matching, q.offset, q.limit)?;
        result(Listed { users: items.into_iter().map(|(n, u)| user_view(n, u)).collect(), total_count: total })
    })?
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ModifyPasswordInput {
    instance_id: Option<String>,
    name: Option<String>,
    password: Option<String>,
    password_new: Option<String>,
}

pub fn modify_password(ctx: &Ctx<'_>, q: ModifyPasswordInput) -> Result<Answer, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let name = required_str(&q.name, "Name")?;
    let current = required_str(&q.password, "Password")?;
    let new = required_str(&q.password_new, "PasswordNew")?;
    check_password("PasswordNew", new)?;
    ctx.model.set_user_password(ctx.scope(), instance, name, Some(current), new)?;
    operated()
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteUserInput {
    instance_id: Option<String>,
    name: Option<String>,
}

pub fn delete_user(ctx: &Ctx<'_>, q: DeleteUserInput) -> Result<Answer, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let name = required_str(&q.name, "Name")?;
    ctx.model.delete_user(ctx.scope(), instance, name)?;
    operated()
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

/// `Acl` of DescribeACL.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Acl<'a> {
    resource_type: i64,
    resource_name: &'a str,
    principal: &'a str,
    host: &'a str,
    operation: i64,
    permission_type: i64,
}

fn acl_view(r: &AclRule) -> Acl<'_> {
    Acl {
        resource_type: r.resource_type.code(),
        resource_name: &r.resource_name,
        principal: &r.principal,
        host: &r.host,
        operation: r.operation.code(),
        permission_type: r.permission.code(),
    }
}

pub fn create_acl(ctx: &Ctx<'_>, q: AclInput) -> Result<Answer, V3Error> {
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
    operated()
}

pub fn describe_acl(ctx: &Ctx<'_>, q: AclInput) -> Result<Answer, V3Error> {
    let instance = required_str(&q.instance_id, "InstanceId")?;
    let kind = resource_type(*required(&q.resource_type, "ResourceType")?)?;
    let name = required_str(&q.resource_name, "ResourceName")?;
    let filter = AclFilter { resource_type: Some(kind), resource_name: Some(name), ..AclFilter::default() };
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Listed<'a> {
        total_count: usize,
        acl_list: Vec<Acl<'a>>,
    }
    ctx.model.read_instance(ctx.scope(), instance, |i| {
        let matching = i
            .acls()
            .values()
            .filter(|r| filter.matches(r))
            .filter(|r| q.search_word.as_deref().is_none_or(|w| r.principal.contains(w) || r.host.contains(w)));
        let (total, items) = page(matching, q.offset, q.limit)?;
        result(Listed { total_count: total, acl_list: items.into_iter().map(acl_view).collect() })
    })?
}

pub fn delete_acl(ctx: &Ctx<'_>, q: AclInput) -> Result<Answer, V3Error> {
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
    operated()
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

pub fn describe_region(_ctx: &Ctx<'_>, q: RegionInput) -> Result<Answer, V3Error> {
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
    tree(json!({ "Result": items }))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct ZoneInput {
    cdc_id: Option<String>,
}

pub fn describe_ckafka_zone(ctx: &Ctx<'_>, _q: ZoneInput) -> Result<Answer, V3Error> {
    let zones: Vec<Value> = (1..=3)
        .map(|n| {
            json!({
                "ZoneId": format!("{}", 100_000 + n), "IsInternalApp": 0, "AppId": 0, "Flag": false,
                "ZoneName": format!("{}-{n}", ctx.region), "ZoneStatus": 3, "Exflag": "0", "SoldOut": "false",
                "SalesInfo": [{"Flag": false, "Version": "2.4.1", "Platform": "standard", "SoldOut": false}],
            })
        })
        .collect();
    tree(json!({"Result": {
        "ZoneList": zones, "MaxBuyInstanceNum": 100, "MaxBandwidth": 10_000,
        "UnitPrice": {"RealTotalCost": 0.0, "TotalCost": 0.0}, "MessagePrice": {"RealTotalCost": 0.0, "TotalCost": 0.0},
        "ClusterInfo": [], "Standard": "", "StandardS2": "", "Profession": "", "Physical": "", "PublicNetwork": "",
        "PublicNetworkLimit": "", "Offset": 0, "Limit": zones_limit(), "ForceCheckTag": false,
    }}))
}

fn zones_limit() -> i64 {
    3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(forward: bool) -> Topic {
        let forward = forward.then(|| json!({"cos_bucket": "b\"1", "interval_secs": 300, "active": false}));
        serde_json::from_value(json!({
            "id": "topic-1", "name": "t\u{e9}\"x", "remark": "r\n", "replica_num": 2, "created_at_ms": 1_700_000_000_123_i64,
            "partitions": [],
            "config": {"retention_ms": if forward.is_some() { json!(60_000) } else { json!(null) }, "segment_ms": null,
                       "min_insync_replicas": 1, "unclean_leader_election": true, "compacted": forward.is_some()},
            "whitelist": {"enabled": true, "ips": ["1.2.3.4"]},
            "forward": forward,
            "tags": [{"key": "k", "value": "v"}],
        }))
        .unwrap()
    }

    /// The body the former handler built: the action's `Value`, `RequestId` added, under `Response`.
    fn former_body(mut result: Value) -> Vec<u8> {
        if let Value::Object(m) = &mut result {
            m.insert("RequestId".into(), Value::String("rid".into()));
        }
        serde_json::to_vec(&crate::http::object([("Response", result)])).unwrap()
    }

    /// The typed answers write the bytes the former `json!` trees wrote, field order included.
    #[test]
    fn typed_topic_answers_are_the_former_bytes() {
        for t in [topic(true), topic(false)] {
            let former_config = json!({
                "Retention": t.config.retention_ms, "MinInsyncReplicas": t.config.min_insync_replicas,
                "CleanUpPolicy": if t.config.compacted { "compact" } else { "delete" },
                "SegmentMs": t.config.segment_ms, "UncleanLeaderElectionEnable": bool_int(t.config.unclean_leader_election),
                "SegmentBytes": 1_073_741_824, "MaxMessageBytes": 1_048_588,
            });
            let former_detail = json!({
                "TopicName": t.name, "TopicId": t.id, "PartitionNum": t.partitions.len(), "ReplicaNum": t.replica_num,
                "Note": t.remark, "CreateTime": seconds(t.created_at_ms), "EnableWhiteList": t.whitelist.enabled,
                "IpWhiteListCount": t.whitelist.ips.len(),
                "ForwardCosBucket": t.forward.as_ref().map(|f| f.cos_bucket.clone()),
                "ForwardStatus": t.forward.as_ref().map_or(1, |f| if f.active { 0 } else { 1 }),
                "ForwardInterval": t.forward.as_ref().map(|f| f.interval_secs),
                "Config": former_config, "Status": 0,
                "Tags": t.tags.iter().map(|g| json!({"TagKey": g.key, "TagValue": g.value})).collect::<Vec<_>>(),
            });
            let detail = result(TopicList { topic_list: vec![TopicDetail::of(&t)], total_count: 3 }).unwrap();
            let former = former_body(json!({"Result": {"TopicList": [former_detail], "TotalCount": 3}}));
            assert_eq!(String::from_utf8(detail.finish("rid")).unwrap(), String::from_utf8(former).unwrap());

            let brief = TopicBrief { topic_id: &t.id, topic_name: &t.name, note: &t.remark };
            let listed = result(TopicList { topic_list: vec![brief], total_count: 1 }).unwrap().finish("rid");
            let former_brief = json!({"TopicId": t.id, "TopicName": t.name, "Note": t.remark});
            assert_eq!(listed, former_body(json!({"Result": {"TopicList": [former_brief], "TotalCount": 1}})));
            let empty =
                result(TopicList::<TopicBrief<'_>> { topic_list: vec![], total_count: 0 }).unwrap().finish("rid");
            assert_eq!(empty, former_body(json!({"Result": {"TopicList": [], "TotalCount": 0}})));
        }
        let former_operated = json!({"Result": {"ReturnCode": "0", "ReturnMessage": "ok", "Data": {"FlowId": 0}}});
        assert_eq!(operated().unwrap().finish("rid"), former_body(former_operated));
        assert_eq!(Answer::of(&json!({})).unwrap().finish("rid"), former_body(json!({})));
        assert!(Answer::of(&json!([1])).is_err());
    }

    #[test]
    fn typed_user_and_acl_views_are_the_former_bytes() {
        let u = SaslUser {
            name: "u\"1".into(),
            password: "secret".into(),
            mechanism: "scram".into(),
            created_at_ms: Millis(1_700_000_000_999),
            updated_at_ms: Millis(0),
        };
        let former = json!({"UserId": 3, "Name": u.name, "CreateTime": datetime(u.created_at_ms), "UpdateTime": datetime(u.updated_at_ms)});
        assert_eq!(serde_json::to_string(&user_view(2, &u)).unwrap(), former.to_string());
        let r = AclRule {
            resource_type: AclResourceType::Topic,
            resource_name: "t".into(),
            pattern_type: AclPatternType::Literal,
            principal: "User:*".into(),
            host: "*".into(),
            operation: AclOperation::from_code(3).unwrap(),
            permission: AclPermission::from_code(3).unwrap(),
            created_at_ms: Millis(0),
        };
        let former = json!({
            "ResourceType": r.resource_type.code(), "ResourceName": r.resource_name, "Principal": r.principal,
            "Host": r.host, "Operation": r.operation.code(), "PermissionType": r.permission.code(),
        });
        assert_eq!(serde_json::to_string(&acl_view(&r)).unwrap(), former.to_string());
    }

    #[test]
    fn paging_counts_everything_and_keeps_the_window() {
        assert_eq!(page(0..7, Some(2), Some(3)).unwrap(), (7, vec![2, 3, 4]));
        assert_eq!(page(0..7, Some(6), None).unwrap(), (7, vec![6]));
        assert_eq!(page(0..7, Some(9), None).unwrap(), (7, vec![]));
        assert_eq!(page(0..7, None, None).unwrap().1.len(), 7);
        assert_eq!(page(0..3, Some(-1), None).unwrap_err().code, "InvalidParameterValue");
        assert_eq!(page(0..3, None, Some(0)).unwrap_err().code, "InvalidParameterValue");
        assert_eq!(page(0..3, None, Some(101)).unwrap_err().code, "InvalidParameterValue");
    }

    #[derive(Deserialize, Default, Debug, PartialEq)]
    #[serde(rename_all = "PascalCase", default)]
    struct Sample {
        instance_id: Option<String>,
        limit: Option<i64>,
    }

    /// A JSON body reads as it did through a `Value` tree: same values, same refusals, same messages.
    #[test]
    fn typed_input_from_the_body_is_the_trees() {
        let bodies: &[&[u8]] = &[
            br#"{"InstanceId":"i-1","Limit":5,"Other":[1,{"a":null}]}"#,
            br#"{"InstanceId":"a","InstanceId":"b"}"#,
            br#"{"Limit":"5"}"#,
            br#"{"Limit":1.5}"#,
            br#"{"Limit":null,"InstanceId":null}"#,
            br#"{"InstanceId":"\u00e9"}"#,
        ];
        for body in bodies {
            let former: Result<Sample, String> =
                serde_json::from_value(serde_json::from_slice::<Value>(body).unwrap()).map_err(|e| e.to_string());
            let now = input::<Sample>(&Params::Json(body)).map_err(|e| e.message.clone());
            assert_eq!(now, former, "{}", String::from_utf8_lossy(body));
        }
    }

    /// The body check refuses what parsing into a `Value` refused, with its message, and knows objects.
    #[test]
    fn the_body_check_is_as_strict_as_the_tree() {
        let cases: &[&[u8]] = &[
            b"{}",
            b"[1]",
            b"3",
            br#"{"a":"\ud800"}"#,
            br#"{"a":1e400}"#,
            br#"{"a":[1,2}"#,
            br#"{"a":1} x"#,
            b"{\"a\":\"\xff\"}",
            br#"{"\ud800":1}"#,
        ];
        for body in cases {
            let tree = serde_json::from_slice::<Value>(body);
            let checked = serde_json::from_slice::<Checked>(body);
            match (tree, checked) {
                (Ok(v), Ok(c)) => assert_eq!(v.is_object(), c.object),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("{}: tree {:?}, check {:?}", String::from_utf8_lossy(body), a.is_ok(), b.is_ok()),
            }
        }
    }
}
