//! Topic actions: CreateTopic, SetTopicAttributes, DeleteTopic, AddPartition, ListTopic,
//! GetTopicAttributes, SetForward.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::TencentError;
use super::wire::{check_flag, check_ips, check_name, check_range, Input, Paging, Params, MAX_WHITELIST_IPS};
use super::{ok, ok_empty, Ctx, Reply};
use crate::engine::kafka::{Forward, NewTopic, Topic, TopicUpdate, Whitelist};
use crate::tencent::params_de::present;

/// A Tencent topic id, `topic-` and 8 random characters.
fn topic_id() -> String {
    format!("topic-{}", crate::engine::ids::random_suffix(8))
}

/// CreateTopic's parameters (seed: instanceId, topicName, partitionNum, replicaNum required; note,
/// enableWhiteList, ipWhiteList.n optional).
#[derive(Deserialize)]
pub struct CreateTopic {
    #[serde(rename = "instanceId")]
    instance_id: String,
    #[serde(rename = "topicName")]
    topic_name: String,
    #[serde(rename = "partitionNum")]
    partition_num: i64,
    #[serde(rename = "replicaNum")]
    replica_num: i64,
    note: Option<String>,
    #[serde(rename = "enableWhiteList")]
    enable_white_list: Option<i64>,
    #[serde(skip)]
    ip_white_list: Vec<String>,
}

impl Input for CreateTopic {
    fn lists(&mut self, p: &Params<'_>) -> Result<(), TencentError> {
        self.ip_white_list = p.list(&["ipWhiteList"]);
        Ok(())
    }
}

/// CreateTopic: answers the new `topicId`.
pub fn create_topic(ctx: &Ctx<'_>, input: CreateTopic) -> Result<Reply, TencentError> {
    let enable_whitelist = check_flag("enableWhiteList", input.enable_white_list)?.unwrap_or(false);
    let ips = input.ip_white_list;
    if enable_whitelist && ips.is_empty() {
        return Err(TencentError::MissingParameter("ipWhiteList.n".into()));
    }
    check_ips("ipWhiteList.n", &ips)?;
    if ips.len() > MAX_WHITELIST_IPS {
        return Err(TencentError::InvalidParameter(
            "ipWhiteList.n".into(),
            format!("at most {MAX_WHITELIST_IPS} addresses"),
        ));
    }
    let note = input.note.unwrap_or_default();
    let mut spec = new_topic(&input.topic_name, input.partition_num, input.replica_num, &note)?;
    spec.whitelist = Whitelist { enabled: enable_whitelist, ips: dedup(ips) };
    let id = ctx.model.create_topic(ctx.scope(), &input.instance_id, spec)?;
    ok(&json!({"topicId": id}))
}

/// CreateTopic's rules for a topic's name, partition count, replica count and note, as a model spec.
/// Fixtures build their topics here too, so a fixture cannot hold a topic the API would refuse.
pub fn new_topic(name: &str, partitions: i64, replicas: i64, note: &str) -> Result<NewTopic, TencentError> {
    check_name("topicName", name)?;
    if partitions <= 0 {
        return Err(TencentError::InvalidParameter("partitionNum".into(), "must be greater than 0".into()));
    }
    let partitions = u32::try_from(partitions)
        .map_err(|_| TencentError::InvalidParameter("partitionNum".into(), "too large".into()))?;
    let replica_num = match u32::try_from(replicas) {
        Ok(r @ 1..=3) => r,
        _ => return Err(TencentError::InvalidParameter("replicaNum".into(), "must be between 1 and 3".into())),
    };
    if !note.is_empty() {
        check_name("note", note)?;
    }
    Ok(NewTopic {
        id: topic_id(),
        name: name.to_string(),
        remark: note.to_string(),
        partitions,
        replica_num,
        ..NewTopic::default()
    })
}

fn dedup(ips: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(ips.len());
    for ip in ips {
        let ip = ip.trim().to_string();
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

/// SetTopicAttributes' parameters. An empty `note` clears the note.
#[derive(Deserialize)]
pub struct SetTopicAttributes {
    #[serde(rename = "instanceId")]
    instance_id: String,
    #[serde(rename = "topicName")]
    topic_name: String,
    #[serde(default, deserialize_with = "present")]
    note: Option<String>,
    #[serde(rename = "enableWhiteList")]
    enable_white_list: Option<i64>,
    #[serde(rename = "minInsyncReplicas")]
    min_insync_replicas: Option<i64>,
    #[serde(rename = "uncleanLeaderElectionEnable")]
    unclean_leader_election_enable: Option<i64>,
    #[serde(rename = "retentionMs")]
    retention_ms: Option<i64>,
    #[serde(rename = "segmentMs")]
    segment_ms: Option<i64>,
}

impl Input for SetTopicAttributes {}

/// SetTopicAttributes: note, whitelist switch and Kafka settings; nothing changes when one is refused.
pub fn set_topic_attributes(ctx: &Ctx<'_>, input: SetTopicAttributes) -> Result<Reply, TencentError> {
    if let Some(n) = input.note.as_deref().filter(|n| !n.is_empty()) {
        check_name("note", n)?;
    }
    let update = TopicUpdate {
        remark: input.note,
        whitelist_enabled: check_flag("enableWhiteList", input.enable_white_list)?,
        min_insync_replicas: check_range("minInsyncReplicas", input.min_insync_replicas, 1, 3)?.map(|m| m as u32),
        unclean_leader_election: check_flag("uncleanLeaderElectionEnable", input.unclean_leader_election_enable)?,
        retention_ms: check_range("retentionMs", input.retention_ms, 60_000, i64::MAX)?,
        segment_ms: check_range("segmentMs", input.segment_ms, 86_400_000, i64::MAX)?,
    };
    ctx.model.update_topic(ctx.scope(), &input.instance_id, &input.topic_name, update)?;
    ok_empty()
}

/// The parameters of the actions that name one topic (DeleteTopic).
#[derive(Deserialize)]
pub struct TopicRef {
    #[serde(rename = "instanceId")]
    instance_id: String,
    #[serde(rename = "topicName")]
    topic_name: String,
}

impl Input for TopicRef {}

/// DeleteTopic, with every group's committed offsets on it.
pub fn delete_topic(ctx: &Ctx<'_>, input: TopicRef) -> Result<Reply, TencentError> {
    ctx.model.delete_topic(ctx.scope(), &input.instance_id, &input.topic_name)?;
    ok_empty()
}

/// AddPartition's parameters: `partitionNum` is the new total.
#[derive(Deserialize)]
pub struct AddPartition {
    #[serde(rename = "instanceId")]
    instance_id: String,
    #[serde(rename = "topicName")]
    topic_name: String,
    #[serde(rename = "partitionNum")]
    partition_num: i64,
}

impl Input for AddPartition {}

/// AddPartition: grows the topic to `partitionNum` partitions (a total, which must be larger).
pub fn add_partition(ctx: &Ctx<'_>, input: AddPartition) -> Result<Reply, TencentError> {
    let total = u32::try_from(input.partition_num).map_err(|_| {
        TencentError::InvalidParameter("partitionNum".into(), "must be a positive partition count".into())
    })?;
    let (scope, id, name) = (ctx.scope(), input.instance_id.as_str(), input.topic_name.as_str());
    let current = ctx.model.topic_partition_count(scope, id, name)?;
    if total <= current {
        return Err(TencentError::InvalidParameter(
            "partitionNum".into(),
            format!("partitions only grow: the topic has {current}, partitionNum must be greater"),
        ));
    }
    ctx.model.grow_partitions(scope, id, name, total)?;
    ok_empty()
}

#[derive(Serialize)]
struct TopicItem<'a> {
    #[serde(rename = "topicId")]
    topic_id: &'a str,
    #[serde(rename = "topicName")]
    topic_name: &'a str,
    note: &'a str,
}

impl<'a> TopicItem<'a> {
    fn of(t: &'a Topic) -> Self {
        TopicItem { topic_id: &t.id, topic_name: &t.name, note: &t.remark }
    }
}

#[derive(Serialize)]
struct TopicPage<'a> {
    #[serde(rename = "totalCount")]
    total_count: usize,
    #[serde(rename = "topicList")]
    topic_list: Vec<TopicItem<'a>>,
}

/// ListTopic's parameters.
#[derive(Deserialize)]
pub struct ListTopic {
    #[serde(rename = "instanceId")]
    instance_id: String,
    #[serde(rename = "searchWord")]
    search_word: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

impl Input for ListTopic {}

/// ListTopic: topics in creation order, filtered by `searchWord`, paged.
pub fn list_topic(ctx: &Ctx<'_>, input: ListTopic) -> Result<Reply, TencentError> {
    let (offset, limit) = Paging { offset: input.offset, limit: input.limit }.get(10, 20)?;
    let search = input.search_word.as_deref();
    ctx.model.read_instance(ctx.scope(), &input.instance_id, |instance| {
        let topics = instance.topics();
        let page = match search {
            // Without a filter the count is known and the page is a skip over the ordered map.
            None => TopicPage {
                total_count: topics.len(),
                topic_list: topics.values().skip(offset).take(limit).map(TopicItem::of).collect(),
            },
            Some(word) => {
                let mut page = TopicPage { total_count: 0, topic_list: Vec::with_capacity(limit) };
                for t in topics.values().filter(|t| t.name.contains(word)) {
                    if page.total_count >= offset && page.topic_list.len() < limit {
                        page.topic_list.push(TopicItem::of(t));
                    }
                    page.total_count += 1;
                }
                page
            }
        };
        // Serialised while the instance's read lock is held: the page borrows from it, nothing is cloned.
        ok(&page)
    })?
}

/// GetTopicAttributes' parameters: the seed marks `topicName` optional (its example omits it).
#[derive(Deserialize)]
pub struct GetTopicAttributes {
    #[serde(rename = "instanceId")]
    instance_id: String,
    #[serde(rename = "topicName")]
    topic_name: Option<String>,
}

impl Input for GetTopicAttributes {}

/// Without `topicName` (the seed's example) the answer describes the instance's first topic, in creation
/// order; an instance without topics answers "topic not found".
pub fn get_topic_attributes(ctx: &Ctx<'_>, input: GetTopicAttributes) -> Result<Reply, TencentError> {
    ctx.model.read_instance(ctx.scope(), &input.instance_id, |instance| {
        let t = match &input.topic_name {
            Some(name) => instance.topic(name)?,
            None => instance.topics().values().next().ok_or_else(|| {
                TencentError::NotFound(
                    super::error::module::TOPIC_NOT_FOUND,
                    format!("instance {} has no topic", input.instance_id),
                )
            })?,
        };
        ok(&topic_attributes(t))
    })?
}

fn topic_attributes(t: &Topic) -> Value {
    let partitions: Vec<Value> = (0..t.partitions.len())
        // Every replica of a local partition is in sync and its leader healthy (leaderStatus 0).
        .map(|i| json!({"partition": i, "leaderStatus": 0, "isrNum": t.replica_num, "replicaNum": t.replica_num}))
        .collect();
    let mut config = json!({
        "minInsyncReplicas": t.config.min_insync_replicas,
        "uncleanLeaderElectionEnable": u8::from(t.config.unclean_leader_election),
    });
    if let Some(r) = t.config.retention_ms {
        config["retentionMs"] = json!(r);
    }
    if let Some(s) = t.config.segment_ms {
        config["segmentMs"] = json!(s);
    }
    let forward = t.forward.as_ref().map(
        |f| json!({"cosBucket": f.cos_bucket, "interval": f.interval_secs, "status": if f.active { 0 } else { 1 }}),
    );
    json!({
        "topicId": t.id,
        "partitionNum": t.partitions.len(),
        "note": t.remark,
        "enableWhiteList": u8::from(t.whitelist.enabled),
        "ipWhiteList": t.whitelist.ips,
        "createTime": t.created_at_ms.as_secs(),
        "partitions": partitions,
        "config": config,
        "forward": forward,
    })
}

/// SetForward's parameters (`cosBucket` required when `status` is 0).
#[derive(Deserialize)]
pub struct SetForward {
    #[serde(rename = "instanceId")]
    instance_id: String,
    #[serde(rename = "topicName")]
    topic_name: String,
    status: Option<i64>,
    interval: Option<i64>,
    #[serde(rename = "cosBucket")]
    cos_bucket: Option<String>,
}

impl Input for SetForward {}

/// SetForward: `status` 0 starts forwarding to `cosBucket`, 1 stops it.
pub fn set_forward(ctx: &Ctx<'_>, input: SetForward) -> Result<Reply, TencentError> {
    let status =
        check_range("status", input.status, 0, 1)?.ok_or_else(|| TencentError::MissingParameter("status".into()))?;
    let interval = check_range("interval", input.interval, 300, 3600)?.unwrap_or(300) as u32;
    if status == 0 && input.cos_bucket.is_none() {
        return Err(TencentError::MissingParameter("cosBucket".into()));
    }
    let forward = (status == 0).then(|| Forward {
        cos_bucket: input.cos_bucket.unwrap_or_default(),
        interval_secs: interval,
        active: true,
    });
    ctx.model.set_forward(ctx.scope(), &input.instance_id, &input.topic_name, forward)?;
    ok_empty()
}
