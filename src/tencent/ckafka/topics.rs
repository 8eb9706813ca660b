//! Topic actions: CreateTopic, SetTopicAttributes, DeleteTopic, AddPartition, ListTopic,
//! GetTopicAttributes, SetForward.

use serde::Serialize;
use serde_json::{json, Value};

use super::error::TencentError;
use super::wire::{check_ips, check_name, Params, MAX_WHITELIST_IPS};
use super::{ok, ok_empty, Ctx, Reply};
use crate::engine::kafka::{topic_id, Forward, KafkaInstance, KafkaModel, NewTopic, Whitelist};
use crate::engine::Cloud;

/// The caller's instance in the request's region (another account's or region's is "not found").
pub(super) fn instance<'m>(model: &'m KafkaModel, ctx: &Ctx<'_>, id: &str) -> Result<&'m KafkaInstance, TencentError> {
    let i = model.instance(Cloud::Tencent, ctx.account, id)?;
    if i.region != ctx.region {
        return Err(crate::engine::kafka::KafkaError::InstanceNotFound(id.to_string()).into());
    }
    Ok(i)
}

pub(super) fn instance_mut<'m>(
    model: &'m mut KafkaModel,
    ctx: &Ctx<'_>,
    id: &str,
) -> Result<&'m mut KafkaInstance, TencentError> {
    let i = model.instance_mut(Cloud::Tencent, ctx.account, id)?;
    if i.region != ctx.region {
        return Err(crate::engine::kafka::KafkaError::InstanceNotFound(id.to_string()).into());
    }
    Ok(i)
}

pub fn create_topic(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, TencentError> {
    let instance_id = p.required("instanceId")?;
    let name = p.required("topicName")?;
    let partitions: i64 = p.required_int("partitionNum")?;
    let replicas: i64 = p.required_int("replicaNum")?;
    let note = p.get("note").unwrap_or("");
    let enable_whitelist = p.opt_flag("enableWhiteList")?.unwrap_or(false);
    let ips = p.list(&["ipWhiteList"]);
    if enable_whitelist && ips.is_empty() {
        return Err(TencentError::MissingParameter("ipWhiteList.n"));
    }
    check_ips("ipWhiteList.n", &ips)?;
    if ips.len() > MAX_WHITELIST_IPS {
        return Err(TencentError::InvalidParameter(
            "ipWhiteList.n".into(),
            format!("at most {MAX_WHITELIST_IPS} addresses"),
        ));
    }
    let mut spec = new_topic(name, partitions, replicas, note)?;
    spec.whitelist = Whitelist { enabled: enable_whitelist, ips: dedup(ips) };
    let mut model = ctx.state.store.kafka.write();
    let instance = instance_mut(&mut model, ctx, instance_id)?;
    let topic = instance.create_topic(spec)?;
    ok(&json!({"topicId": topic.id}))
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
        id: topic_id(Cloud::Tencent, name),
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

pub fn set_topic_attributes(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, TencentError> {
    let instance_id = p.required("instanceId")?;
    let name = p.required("topicName")?;
    let note = p.get("note");
    if let Some(n) = note.filter(|n| !n.is_empty()) {
        check_name("note", n)?;
    }
    let enable_whitelist = p.opt_flag("enableWhiteList")?;
    let min_isr = p.opt_int_in("minInsyncReplicas", 1, 3)?;
    let unclean = p.opt_flag("uncleanLeaderElectionEnable")?;
    let retention = p.opt_int_in("retentionMs", 60_000, i64::MAX)?;
    let segment = p.opt_int_in("segmentMs", 86_400_000, i64::MAX)?;
    let mut model = ctx.state.store.kafka.write();
    let topic = instance_mut(&mut model, ctx, instance_id)?.topic_mut(name)?;
    if let Some(m) = min_isr {
        if m as u32 > topic.replica_num {
            return Err(TencentError::InvalidParameter(
                "minInsyncReplicas".into(),
                format!("cannot exceed the topic's {} replicas", topic.replica_num),
            ));
        }
    }
    if let Some(n) = note {
        topic.remark = n.to_string();
    }
    if let Some(e) = enable_whitelist {
        topic.whitelist.enabled = e;
    }
    if let Some(m) = min_isr {
        topic.config.min_insync_replicas = m as u32;
    }
    if let Some(u) = unclean {
        topic.config.unclean_leader_election = u;
    }
    if let Some(r) = retention {
        topic.config.retention_ms = Some(r);
    }
    if let Some(s) = segment {
        topic.config.segment_ms = Some(s);
    }
    ok_empty()
}

pub fn delete_topic(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, TencentError> {
    let instance_id = p.required("instanceId")?;
    let name = p.required("topicName")?;
    let mut model = ctx.state.store.kafka.write();
    instance_mut(&mut model, ctx, instance_id)?.delete_topic(name)?;
    ok_empty()
}

pub fn add_partition(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, TencentError> {
    let instance_id = p.required("instanceId")?;
    let name = p.required("topicName")?;
    let total: i64 = p.required_int("partitionNum")?;
    let total = u32::try_from(total).map_err(|_| {
        TencentError::InvalidParameter("partitionNum".into(), "must be a positive partition count".into())
    })?;
    let mut model = ctx.state.store.kafka.write();
    let instance = instance_mut(&mut model, ctx, instance_id)?;
    let current = instance.topic(name)?.partitions.len() as u32;
    if total <= current {
        return Err(TencentError::InvalidParameter(
            "partitionNum".into(),
            format!("partitions only grow: the topic has {current}, partitionNum must be greater"),
        ));
    }
    instance.grow_partitions(name, total)?;
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
    fn of(t: &'a crate::engine::kafka::Topic) -> Self {
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

pub fn list_topic(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, TencentError> {
    let instance_id = p.required("instanceId")?;
    let search = p.get("searchWord").filter(|s| !s.is_empty());
    let (offset, limit) = p.paging(10, 20)?;
    let model = ctx.state.store.kafka.read();
    let instance = instance(&model, ctx, instance_id)?;
    let page = match search {
        // Without a filter the count is known and the page is a skip over the ordered map.
        None => TopicPage {
            total_count: instance.topics.len(),
            topic_list: instance.topics.values().skip(offset).take(limit).map(TopicItem::of).collect(),
        },
        Some(word) => {
            let mut page = TopicPage { total_count: 0, topic_list: Vec::with_capacity(limit) };
            for t in instance.topics.values().filter(|t| t.name.contains(word)) {
                if page.total_count >= offset && page.topic_list.len() < limit {
                    page.topic_list.push(TopicItem::of(t));
                }
                page.total_count += 1;
            }
            page
        }
    };
    // Serialised while the read lock is held: the page borrows from the model, nothing is cloned.
    ok(&page)
}

pub fn get_topic_attributes(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, TencentError> {
    let instance_id = p.required("instanceId")?;
    // The seed marks topicName optional, but the answer describes one topic: it is needed.
    let name = p.required("topicName")?;
    let model = ctx.state.store.kafka.read();
    let t = instance(&model, ctx, instance_id)?.topic(name)?;
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
    ok(&json!({
        "topicId": t.id,
        "partitionNum": t.partitions.len(),
        "note": t.remark,
        "enableWhiteList": u8::from(t.whitelist.enabled),
        "ipWhiteList": t.whitelist.ips,
        "createTime": t.created_at_ms / 1000,
        "partitions": partitions,
        "config": config,
        "forward": forward,
    }))
}

pub fn set_forward(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, TencentError> {
    let instance_id = p.required("instanceId")?;
    let name = p.required("topicName")?;
    let status = p.opt_int_in("status", 0, 1)?.ok_or(TencentError::MissingParameter("status"))?;
    let interval = p.opt_int_in("interval", 300, 3600)?.unwrap_or(300) as u32;
    let bucket = p.get("cosBucket").filter(|b| !b.is_empty());
    if status == 0 && bucket.is_none() {
        return Err(TencentError::MissingParameter("cosBucket"));
    }
    let mut model = ctx.state.store.kafka.write();
    let topic = instance_mut(&mut model, ctx, instance_id)?.topic_mut(name)?;
    if status == 0 {
        topic.forward =
            Some(Forward { cos_bucket: bucket.unwrap_or_default().to_string(), interval_secs: interval, active: true });
    } else if let Some(f) = topic.forward.as_mut() {
        f.active = false;
    }
    ok_empty()
}
