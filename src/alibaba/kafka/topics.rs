//! Topic actions: CreateTopic, GetTopicList, GetTopicStatus, DeleteTopic.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::error::AlibabaError;
use super::wire::{check_range, paging, remark, resource_name, Input, Params, Reply};
use super::{check_instance_id, check_region, fields, to_tags, ApiVersion, Ctx, TagList};
use crate::engine::kafka::{KafkaInstance, NewTopic, Topic, TopicConfig};

/// Partitions of a topic created without `PartitionNum` (2018-10-15 has no such parameter). Undocumented;
/// 12 is the console default and the most frequent count in the seed's GetTopicList example.
const DEFAULT_PARTITIONS: u32 = 12;
/// Largest `PartitionNum` of CreateTopic (2019-09-16).
const MAX_PARTITIONS: u32 = 800;
/// Cloud-storage topics keep 3 replicas.
const CLOUD_REPLICAS: u32 = 3;
/// Largest page of GetTopicList / GetConsumerList; also the default (the seed's example shows PageSize 10000).
pub const MAX_PAGE_SIZE: i64 = 10_000;

/// CreateTopic's parameters: InstanceId, RegionId, Topic, Remark (2018-10-15), plus PartitionNum,
/// LocalTopic, CompactTopic, ReplicationFactor, MinInsyncReplicas, Config and tags (2019-09-16).
#[derive(Deserialize)]
pub struct CreateTopic {
    #[serde(rename = "InstanceId")]
    instance_id: String,
    #[serde(rename = "RegionId")]
    region_id: Option<String>,
    #[serde(rename = "Topic")]
    topic: String,
    #[serde(rename = "Remark")]
    remark: String,
    #[serde(rename = "PartitionNum")]
    partition_num: Option<i64>,
    #[serde(rename = "LocalTopic")]
    local_topic: Option<bool>,
    #[serde(rename = "CompactTopic")]
    compact_topic: Option<bool>,
    #[serde(rename = "ReplicationFactor")]
    replication_factor: Option<i64>,
    #[serde(rename = "MinInsyncReplicas")]
    min_insync_replicas: Option<i64>,
    #[serde(rename = "Config")]
    config: Option<String>,
    #[serde(skip)]
    tags: Vec<(String, String)>,
}

impl Input for CreateTopic {
    fn lists(&mut self, p: &Params) -> Result<(), AlibabaError> {
        self.tags = p.tags()?;
        Ok(())
    }
}

/// CreateTopic (2019-09-16 adds partitions, storage, compaction, replication, configs and tags).
pub fn create_topic(ctx: &Ctx<'_>, input: CreateTopic) -> Result<Map<String, Value>, AlibabaError> {
    let instance = check_instance_id(&input.instance_id)?;
    let region = check_region(input.region_id.as_deref(), true)?;
    let mut partitions = i64::from(DEFAULT_PARTITIONS);
    let mut replicas = i64::from(CLOUD_REPLICAS);
    let mut config = TopicConfig::default();
    let mut tags = Vec::new();
    if ctx.version == ApiVersion::V20190916 {
        if let Some(n) = check_range("PartitionNum", input.partition_num, 1, i64::from(MAX_PARTITIONS))? {
            partitions = n;
        }
        let local = input.local_topic.unwrap_or(false);
        let compact = input.compact_topic.unwrap_or(false);
        if compact && !local {
            return Err(AlibabaError::InvalidParameter(
                "CompactTopic".into(),
                "Only local storage topics can be compact.".into(),
            ));
        }
        if let Some(r) = check_range("ReplicationFactor", input.replication_factor, 1, 3)? {
            if local {
                replicas = r;
            }
        }
        if let Some(m) = check_range("MinInsyncReplicas", input.min_insync_replicas, 1, 3)? {
            if m > replicas {
                return Err(AlibabaError::InvalidParameter(
                    "MinInsyncReplicas".into(),
                    "It cannot exceed the replication factor.".into(),
                ));
            }
            config.min_insync_replicas = m as u32;
        }
        if let Some(text) = &input.config {
            let parsed: Map<String, Value> = serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|v| match v {
                    Value::Object(m) => Some(m),
                    _ => None,
                })
                .ok_or_else(|| AlibabaError::InvalidParameter("Config".into(), "It must be a JSON object.".into()))?;
            for (name, value) in &parsed {
                config.set_kafka_config(name, value);
            }
        }
        config.local_storage = local;
        config.compacted = compact;
        tags = to_tags(input.tags);
    }
    let spec = NewTopic { config, tags, ..new_topic(&input.topic, &input.remark, partitions, replicas)? };
    ctx.model.create_topic(ctx.scope(region), instance, spec)?;
    Ok(Map::new())
}

/// CreateTopic's rules for a topic's name (cut to 64 characters), remark, partition count and replica
/// count, as a model spec. Fixtures build their topics here too, so a fixture cannot hold a topic the API
/// would refuse.
pub fn new_topic(name: &str, note: &str, partitions: i64, replicas: i64) -> Result<NewTopic, AlibabaError> {
    let name = resource_name("Topic", name)?;
    if note.is_empty() {
        return Err(AlibabaError::MissingParameter("Remark".into()));
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
        // Alibaba knows topics by name.
        id: name.to_string(),
        name: name.to_string(),
        remark: note.to_string(),
        partitions,
        replica_num,
        ..NewTopic::default()
    })
}

/// GetTopicList's parameters (paging and the name filter in 2019-09-16).
#[derive(Deserialize)]
pub struct GetTopicList {
    #[serde(rename = "InstanceId")]
    instance_id: String,
    #[serde(rename = "RegionId")]
    region_id: Option<String>,
    #[serde(rename = "CurrentPage")]
    current_page: Option<i64>,
    #[serde(rename = "PageSize")]
    page_size: Option<i64>,
    #[serde(rename = "Topic")]
    topic: Option<String>,
}

impl Input for GetTopicList {}

/// GetTopicList: topics newest first, paged (2019-09-16: filtered by name).
pub fn get_topic_list(ctx: &Ctx<'_>, input: GetTopicList) -> Result<Reply, AlibabaError> {
    let instance = check_instance_id(&input.instance_id)?;
    // Listed as required, but the seed's own request example omits it; the SDKs send it.
    let region = check_region(input.region_id.as_deref(), false)?;
    let (page, size) = paging(input.current_page, input.page_size, MAX_PAGE_SIZE)?;
    let filter = match ctx.version {
        ApiVersion::V20190916 => input.topic.as_deref(),
        ApiVersion::V20181015 => None,
    };
    ctx.model
        .read_instance(ctx.scope(region), instance, |instance| {
            let skip = (page - 1).saturating_mul(size);
            let vo = |t| TopicVo::of(t, instance, ctx.version);
            // Without a filter the total is known and the page is read straight off the creation order.
            let (total, items): (usize, Vec<TopicVo<'_>>) = match filter {
                None => {
                    (instance.topics().len(), instance.topics_newest_first().skip(skip).take(size).map(vo).collect())
                }
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
            let page =
                TopicPage { current_page: page, page_size: size, total, topic_list: TopicList { topic_vo: items } };
            // Serialised while the instance's read lock is held: the page borrows from it, nothing is cloned.
            ctx.reply(&page, page.topic_list.topic_vo.len() * super::wire::ITEM_BYTES)
        })
        .map_err(AlibabaError::from)
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
        TopicVo {
            topic: &t.name,
            create_time: t.created_at_ms.0,
            remark: &t.remark,
            status: 0,
            status_name: "服务中",
            instance_id: &instance.id,
            region_id: &instance.region,
            partition_num: t.partitions.len(),
            compact_topic: t.config.compacted,
            local_topic: t.config.local_storage,
            tags: (version == ApiVersion::V20190916).then(|| TagList::of(&t.tags)),
        }
    }
}

/// The parameters of actions that name one topic (GetTopicStatus, DeleteTopic).
#[derive(Deserialize)]
pub struct TopicRef {
    #[serde(rename = "InstanceId")]
    instance_id: String,
    #[serde(rename = "RegionId")]
    region_id: Option<String>,
    #[serde(rename = "Topic")]
    topic: String,
}

impl Input for TopicRef {}

/// GetTopicStatus: per-partition log start/end offsets and last write times, with totals.
pub fn get_topic_status(ctx: &Ctx<'_>, input: TopicRef) -> Result<Map<String, Value>, AlibabaError> {
    let instance = check_instance_id(&input.instance_id)?;
    // The `Topic` parameter, validated and cut to 64 characters as the seed documents.
    let name = resource_name("Topic", &input.topic)?;
    // The seed's GetTopicStatus takes no RegionId; the 2019-09-16 SDK sends one, which must then match.
    let region = check_region(input.region_id.as_deref(), false)?;
    let status = ctx.model.read_instance(ctx.scope(region), instance, |i| i.topic_offsets(name))??;
    let table: Vec<Value> = status
        .partitions
        .iter()
        .map(|o| {
            json!({
                "Partition": o.partition,
                "Topic": name,
                "MinOffset": o.min_offset,
                "MaxOffset": o.max_offset,
                "LastUpdateTimestamp": o.last_update.0,
            })
        })
        .collect();
    Ok(fields(json!({
        "TopicStatus": {
            "TotalCount": status.total_count,
            "LastTimeStamp": status.last_update.0,
            "OffsetTable": { "OffsetTable": table },
        }
    })))
}

/// DeleteTopic, with every group's committed offsets on it.
pub fn delete_topic(ctx: &Ctx<'_>, input: TopicRef) -> Result<Map<String, Value>, AlibabaError> {
    let instance = check_instance_id(&input.instance_id)?;
    let region = check_region(input.region_id.as_deref(), true)?;
    let name = resource_name("Topic", &input.topic)?;
    ctx.model.delete_topic(ctx.scope(region), instance, name)?;
    Ok(Map::new())
}
