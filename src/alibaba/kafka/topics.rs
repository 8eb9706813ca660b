//! Topic actions: CreateTopic, GetTopicList, GetTopicStatus, DeleteTopic.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::error::AlibabaError;
use super::wire::{remark, resource_name, Params, Reply};
use super::{fields, find_instance, find_instance_mut, instance_id, region, tags_to_extra, ApiVersion, Ctx, TagList};
use crate::engine::kafka::{topic_id, KafkaInstance, NewTopic, Topic};
use crate::engine::Cloud;

/// Partitions of a topic created without `PartitionNum` (2018-10-15 has no such parameter). Undocumented;
/// 12 is the console default and the most frequent count in the seed's GetTopicList example.
const DEFAULT_PARTITIONS: u32 = 12;
/// Largest `PartitionNum` of CreateTopic (2019-09-16).
const MAX_PARTITIONS: u32 = 800;
/// Cloud-storage topics keep 3 replicas.
const CLOUD_REPLICAS: u32 = 3;
/// Largest page of GetTopicList / GetConsumerList; also the default (the seed's example shows PageSize 10000).
pub const MAX_PAGE_SIZE: i64 = 10_000;

/// The `Topic` parameter, validated and cut to 64 characters as the seed documents.
fn topic_param(p: &Params) -> Result<&str, AlibabaError> {
    resource_name("Topic", p.required("Topic")?)
}

pub fn create_topic(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, AlibabaError> {
    let instance = instance_id(p)?;
    let region = region(p, true)?;
    let name = p.required("Topic")?;
    let note = p.required("Remark")?;
    let mut partitions = i64::from(DEFAULT_PARTITIONS);
    let mut replicas = i64::from(CLOUD_REPLICAS);
    let mut extra = std::collections::BTreeMap::new();
    if ctx.version == ApiVersion::V20190916 {
        if let Some(n) = p.opt_int("PartitionNum", 1, i64::from(MAX_PARTITIONS))? {
            partitions = n;
        }
        let local = p.opt_bool("LocalTopic")?.unwrap_or(false);
        let compact = p.opt_bool("CompactTopic")?.unwrap_or(false);
        if compact && !local {
            return Err(AlibabaError::InvalidParameter(
                "CompactTopic".into(),
                "Only local storage topics can be compact.".into(),
            ));
        }
        if let Some(r) = p.opt_int("ReplicationFactor", 1, 3)? {
            if local {
                replicas = r;
            }
        }
        if let Some(m) = p.opt_int("MinInsyncReplicas", 1, 3)? {
            if m > replicas {
                return Err(AlibabaError::InvalidParameter(
                    "MinInsyncReplicas".into(),
                    "It cannot exceed the replication factor.".into(),
                ));
            }
            extra.insert("MinInsyncReplicas".to_string(), Value::from(m));
        }
        if let Some(config) = p.non_empty("Config") {
            let parsed: Value = serde_json::from_str(config)
                .ok()
                .filter(Value::is_object)
                .ok_or_else(|| AlibabaError::InvalidParameter("Config".into(), "It must be a JSON object.".into()))?;
            extra.insert("Config".to_string(), parsed);
        }
        extra.insert("LocalTopic".to_string(), Value::Bool(local));
        extra.insert("CompactTopic".to_string(), Value::Bool(compact));
        extra.insert("Tags".to_string(), tags_to_extra(p.tags()?));
    }
    let spec = NewTopic { extra, ..new_topic(name, note, partitions, replicas)? };
    let mut model = ctx.state.store.kafka.write();
    let instance = find_instance_mut(&mut model, ctx, instance, region)?;
    instance.create_topic(spec)?;
    Ok(Map::new())
}

/// CreateTopic's rules for a topic's name (cut to 64 characters), remark, partition count and replica
/// count, as a model spec. Fixtures build their topics here too, so a fixture cannot hold a topic the API
/// would refuse.
pub fn new_topic(name: &str, note: &str, partitions: i64, replicas: i64) -> Result<NewTopic, AlibabaError> {
    let name = resource_name("Topic", name)?;
    if note.is_empty() {
        return Err(AlibabaError::MissingParameter("Remark"));
    }
    remark("Remark", note)?;
    let partitions = match u32::try_from(partitions) {
        Ok(n @ 1..=MAX_PARTITIONS) => n,
        _ => {
            let why = format!("{partitions} is outside 1..{MAX_PARTITIONS}.");
            return Err(AlibabaError::InvalidParameter("PartitionNum".into(), why));
        }
    };
    let replica_num = match u32::try_from(replicas) {
        Ok(r @ 1..=3) => r,
        _ => {
            return Err(AlibabaError::InvalidParameter(
                "ReplicationFactor".into(),
                format!("{replicas} is outside 1..3."),
            ))
        }
    };
    Ok(NewTopic {
        id: topic_id(Cloud::Alibaba, name),
        name: name.to_string(),
        remark: note.to_string(),
        partitions,
        replica_num,
        ..NewTopic::default()
    })
}

pub fn get_topic_list(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, AlibabaError> {
    let instance = instance_id(p)?;
    // Listed as required, but the seed's own request example omits it; the SDKs send it.
    let region = region(p, false)?;
    let (page, size) = p.paging(MAX_PAGE_SIZE)?;
    let filter = match ctx.version {
        ApiVersion::V20190916 => p.non_empty("Topic"),
        ApiVersion::V20181015 => None,
    };
    let model = ctx.state.store.kafka.read();
    let instance = find_instance(&model, ctx, instance, region)?;
    let skip = (page - 1).saturating_mul(size);
    let vo = |t| TopicVo::of(t, instance, ctx.version);
    // Without a filter the total is known and the page is read straight off the creation order.
    let (total, items): (usize, Vec<TopicVo<'_>>) = match filter {
        None => (instance.topics.len(), instance.topics_newest_first().skip(skip).take(size).map(vo).collect()),
        Some(f) => {
            let mut total = 0;
            let mut items = Vec::new();
            for t in instance.topics_newest_first().filter(|t| t.name.contains(f)) {
                if total >= skip && items.len() < size {
                    items.push(vo(t));
                }
                total += 1;
            }
            (total, items)
        }
    };
    let page = TopicPage { current_page: page, page_size: size, total, topic_list: TopicList { topic_vo: items } };
    // Serialised while the read lock is held: the page borrows from the model, nothing is cloned.
    Ok(ctx.reply(&page))
}

#[derive(Serialize)]
struct TopicPage<'a> {
    #[serde(rename = "CurrentPage")]
    current_page: usize,
    #[serde(rename = "PageSize")]
    page_size: usize,
    #[serde(rename = "Total")]
    total: usize,
    #[serde(rename = "TopicList")]
    topic_list: TopicList<'a>,
}

#[derive(Serialize)]
struct TopicList<'a> {
    #[serde(rename = "TopicVO")]
    topic_vo: Vec<TopicVo<'a>>,
}

/// A topic as GetTopicList shows it; `Tags` only in 2019-09-16.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TopicVo<'a> {
    topic: &'a str,
    create_time: i64,
    remark: &'a str,
    /// 0 服务中 (in service), 1 冻结 (frozen), 2 暂停 (paused): topics here are always in service.
    status: u8,
    status_name: &'static str,
    instance_id: &'a str,
    region_id: &'a str,
    partition_num: usize,
    compact_topic: bool,
    local_topic: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<TagList<'a>>,
}

impl<'a> TopicVo<'a> {
    fn of(t: &'a Topic, instance: &'a KafkaInstance, version: ApiVersion) -> Self {
        let flag = |k: &str| t.extra.get(k).and_then(Value::as_bool).unwrap_or(false);
        TopicVo {
            topic: &t.name,
            create_time: t.created_at_ms,
            remark: &t.remark,
            status: 0,
            status_name: "服务中",
            instance_id: &instance.id,
            region_id: &instance.region,
            partition_num: t.partitions.len(),
            compact_topic: flag("CompactTopic"),
            local_topic: flag("LocalTopic"),
            tags: (version == ApiVersion::V20190916).then(|| TagList::of(&t.extra)),
        }
    }
}

pub fn get_topic_status(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, AlibabaError> {
    let instance = instance_id(p)?;
    let name = topic_param(p)?;
    // The seed's GetTopicStatus takes no RegionId; the 2019-09-16 SDK sends one, which must then match.
    let region = region(p, false)?;
    let model = ctx.state.store.kafka.read();
    let status = find_instance(&model, ctx, instance, region)?.topic_offsets(name)?;
    let table: Vec<Value> = status
        .partitions
        .iter()
        .map(|o| {
            json!({
                "Partition": o.partition,
                "Topic": name,
                "MinOffset": o.min_offset,
                "MaxOffset": o.max_offset,
                "LastUpdateTimestamp": o.last_update_ms,
            })
        })
        .collect();
    Ok(fields(json!({
        "TopicStatus": {
            "TotalCount": status.total_count,
            "LastTimeStamp": status.last_update_ms,
            "OffsetTable": { "OffsetTable": table },
        }
    })))
}

pub fn delete_topic(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, AlibabaError> {
    let instance = instance_id(p)?;
    let region = region(p, true)?;
    let name = topic_param(p)?;
    let mut model = ctx.state.store.kafka.write();
    find_instance_mut(&mut model, ctx, instance, region)?.delete_topic(name)?;
    Ok(Map::new())
}
