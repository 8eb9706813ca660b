//! Consumer group actions: CreateConsumerGroup, GetConsumerList, GetConsumerProgress, DeleteConsumerGroup.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::error::AlibabaError;
use super::topics::MAX_PAGE_SIZE;
use super::wire::{paging, remark, resource_name, Input, Params, Reply};
use super::{check_instance_id, check_region, fields, to_tags, ApiVersion, Ctx, TagList};
use crate::engine::kafka::{ConsumerGroup, KafkaInstance};

/// The rule for consumer group names (fixtures use it too); returns the name cut to 64 characters.
pub fn group_name(name: &str) -> Result<&str, AlibabaError> {
    resource_name("ConsumerId", name)
}

/// The parameters of the group actions: `ConsumerId` (letters, digits, `_`, `-`, 3-64 characters, cut at 64,
/// seed DeleteConsumerGroup), InstanceId, RegionId; CreateConsumerGroup (2019-09-16) adds Remark and tags.
#[derive(Deserialize)]
pub struct GroupRef {
    #[serde(rename = "InstanceId")]
    instance_id: String,
    #[serde(rename = "RegionId")]
    region_id: Option<String>,
    #[serde(rename = "ConsumerId")]
    consumer_id: String,
    #[serde(rename = "Remark")]
    remark: Option<String>,
    #[serde(skip)]
    tags: Vec<(String, String)>,
}

impl Input for GroupRef {
    fn lists(&mut self, p: &Params) -> Result<(), AlibabaError> {
        self.tags = p.tags()?;
        Ok(())
    }
}

/// Named in the seed's V1.0.3 release note without a page; built as the service has it: ConsumerId,
/// InstanceId, RegionId (2018-10-15), plus an optional Remark and tags (2019-09-16).
pub fn create_consumer_group(ctx: &Ctx<'_>, input: GroupRef) -> Result<Map<String, Value>, AlibabaError> {
    let instance = check_instance_id(&input.instance_id)?;
    let region = check_region(input.region_id.as_deref(), true)?;
    let name = group_name(&input.consumer_id)?;
    let (note, tags) = match ctx.version {
        ApiVersion::V20181015 => ("", Vec::new()),
        ApiVersion::V20190916 => (input.remark.as_deref().unwrap_or(""), to_tags(input.tags)),
    };
    remark("Remark", note)?;
    ctx.model.create_group(ctx.scope(region), instance, name, note, tags)?;
    Ok(Map::new())
}

/// GetConsumerList's parameters (paging and the name filter in 2019-09-16).
#[derive(Deserialize)]
pub struct GetConsumerList {
    #[serde(rename = "InstanceId")]
    instance_id: String,
    #[serde(rename = "RegionId")]
    region_id: Option<String>,
    #[serde(rename = "CurrentPage")]
    current_page: Option<i64>,
    #[serde(rename = "PageSize")]
    page_size: Option<i64>,
    #[serde(rename = "ConsumerId")]
    consumer_id: Option<String>,
}

impl Input for GetConsumerList {}

/// GetConsumerList: groups newest first (2019-09-16: paged and filtered by name).
pub fn get_consumer_list(ctx: &Ctx<'_>, input: GetConsumerList) -> Result<Reply, AlibabaError> {
    let instance = check_instance_id(&input.instance_id)?;
    let region = check_region(input.region_id.as_deref(), true)?;
    let paged = match ctx.version {
        ApiVersion::V20181015 => None,
        ApiVersion::V20190916 => Some(paging(input.current_page, input.page_size, MAX_PAGE_SIZE)?),
    };
    let filter = input.consumer_id.as_deref();
    ctx.model
        .read_instance(ctx.scope(region), instance, |instance| {
            let groups = instance.groups_newest_first();
            let vo = |g| ConsumerVo::of(g, instance, ctx.version);
            let page = match paged {
                // The seed's version has no paging: every group, newest first.
                None => {
                    ConsumerPage { paging: None, consumer_list: ConsumerList { consumer_vo: groups.map(vo).collect() } }
                }
                Some((page, size)) => {
                    let skip = (page - 1).saturating_mul(size);
                    let (total, items): (usize, Vec<ConsumerVo<'_>>) = match filter {
                        None => (groups.len(), groups.skip(skip).take(size).map(vo).collect()),
                        Some(f) => {
                            let mut total = 0;
                            let mut items = Vec::new();
                            for g in groups.filter(|g| g.name.contains(f)) {
                                if total >= skip && items.len() < size {
                                    items.push(vo(g));
                                }
                                total += 1;
                            }
                            (total, items)
                        }
                    };
                    ConsumerPage {
                        paging: Some(Paging { current_page: page, page_size: size, total }),
                        consumer_list: ConsumerList { consumer_vo: items },
                    }
                }
            };
            // Serialised while the instance's read lock is held: the page borrows from it, nothing is cloned.
            ctx.reply(&page, page.consumer_list.consumer_vo.len() * super::wire::ITEM_BYTES)
        })
        .map_err(AlibabaError::from)
}

/// GetConsumerList's fields: the paging fields (2019-09-16 only), then the list.
#[derive(Serialize)]
struct ConsumerPage<'a> {
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    paging: Option<Paging>,
    #[serde(rename = "ConsumerList")]
    consumer_list: ConsumerList<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Paging {
    current_page: usize,
    page_size: usize,
    total: usize,
}

#[derive(Serialize)]
struct ConsumerList<'a> {
    #[serde(rename = "ConsumerVO")]
    consumer_vo: Vec<ConsumerVo<'a>>,
}

/// A group as GetConsumerList shows it; `Remark` and `Tags` only in 2019-09-16.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ConsumerVo<'a> {
    consumer_id: &'a str,
    instance_id: &'a str,
    region_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    remark: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<TagList<'a>>,
}

impl<'a> ConsumerVo<'a> {
    fn of(g: &'a ConsumerGroup, instance: &'a KafkaInstance, version: ApiVersion) -> Self {
        let v2019 = version == ApiVersion::V20190916;
        ConsumerVo {
            consumer_id: &g.name,
            instance_id: &instance.id,
            region_id: &instance.region,
            remark: v2019.then_some(g.remark.as_str()),
            tags: v2019.then(|| TagList::of(&g.tags)),
        }
    }
}

/// Backlog per topic and partition, from the model: BrokerOffset is the partition's high watermark,
/// ConsumerOffset the group's commit, LastTimestamp when the last consumed message was produced.
pub fn get_consumer_progress(ctx: &Ctx<'_>, input: GroupRef) -> Result<Map<String, Value>, AlibabaError> {
    let instance = check_instance_id(&input.instance_id)?;
    let region = check_region(input.region_id.as_deref(), true)?;
    let group = group_name(&input.consumer_id)?;
    let progress = ctx.model.read_instance(ctx.scope(region), instance, |instance| {
        let mut total_diff = 0i64;
        let mut group_last = 0i64;
        let mut topics = Vec::new();
        for topic in instance.group_topics(group)? {
            let mut topic_diff = 0i64;
            let mut topic_last = 0i64;
            let offsets: Vec<Value> = instance
                .group_progress(group, topic)?
                .iter()
                .map(|pp| {
                    let last = instance.consumed_timestamp(group, topic, pp.partition).0;
                    topic_diff += pp.lag();
                    topic_last = topic_last.max(last);
                    json!({
                        "Partition": pp.partition,
                        "BrokerOffset": pp.broker_offset,
                        "ConsumerOffset": pp.consumer_offset,
                        "LastTimestamp": last,
                    })
                })
                .collect();
            total_diff += topic_diff;
            group_last = group_last.max(topic_last);
            topics.push(json!({
                "Topic": topic,
                "TotalDiff": topic_diff,
                "LastTimestamp": topic_last,
                "OffsetList": { "OffsetList": offsets },
            }));
        }
        Ok::<_, crate::engine::kafka::KafkaError>(json!({
            "TotalDiff": total_diff,
            "LastTimestamp": group_last,
            "TopicList": { "TopicList": topics },
        }))
    })??;
    let mut progress = progress;
    if ctx.version == ApiVersion::V20190916 {
        // 2019-09-16 adds the group's rebalance history; localyun has no live members, so it is empty.
        if let Value::Object(m) = &mut progress {
            m.insert("RebalanceInfoList".into(), json!({ "RebalanceInfoList": [] }));
        }
    }
    Ok(fields(json!({ "ConsumerProgress": progress })))
}

/// DeleteConsumerGroup.
pub fn delete_consumer_group(ctx: &Ctx<'_>, input: GroupRef) -> Result<Map<String, Value>, AlibabaError> {
    let instance = check_instance_id(&input.instance_id)?;
    let region = check_region(input.region_id.as_deref(), true)?;
    let group = group_name(&input.consumer_id)?;
    ctx.model.delete_group(ctx.scope(region), instance, group)?;
    Ok(Map::new())
}
