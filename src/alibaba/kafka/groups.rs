//! Consumer group actions: CreateConsumerGroup, GetConsumerList, GetConsumerProgress, DeleteConsumerGroup.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::error::AlibabaError;
use super::topics::MAX_PAGE_SIZE;
use super::wire::{remark, resource_name, Params, Reply};
use super::{fields, find_instance, find_instance_mut, instance_id, region, tags_to_extra, ApiVersion, Ctx, TagList};
use crate::engine::kafka::{ConsumerGroup, KafkaInstance};

/// `ConsumerId`: letters, digits, `_`, `-`, 3-64 characters, cut at 64 (seed DeleteConsumerGroup).
fn consumer_id(p: &Params) -> Result<&str, AlibabaError> {
    group_name(p.required("ConsumerId")?)
}

/// The rule for consumer group names (fixtures use it too); returns the name cut to 64 characters.
pub fn group_name(name: &str) -> Result<&str, AlibabaError> {
    resource_name("ConsumerId", name)
}

/// Named in the seed's V1.0.3 release note without a page; built as the service has it: ConsumerId,
/// InstanceId, RegionId (2018-10-15), plus an optional Remark and tags (2019-09-16).
pub fn create_consumer_group(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, AlibabaError> {
    let instance = instance_id(p)?;
    let region = region(p, true)?;
    let name = consumer_id(p)?;
    let (note, tags) = match ctx.version {
        ApiVersion::V20181015 => ("", Vec::new()),
        ApiVersion::V20190916 => (p.non_empty("Remark").unwrap_or(""), p.tags()?),
    };
    remark("Remark", note)?;
    let mut model = ctx.state.store.kafka.write();
    let instance = find_instance_mut(&mut model, ctx, instance, region)?;
    instance.create_group(name, note)?;
    if !tags.is_empty() {
        if let Some(group) = instance.groups.get_mut(name) {
            group.extra.insert("Tags".into(), tags_to_extra(tags));
        }
    }
    Ok(Map::new())
}

pub fn get_consumer_list(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, AlibabaError> {
    let instance = instance_id(p)?;
    let region = region(p, true)?;
    let model = ctx.state.store.kafka.read();
    let instance = find_instance(&model, ctx, instance, region)?;
    let groups = instance.groups_newest_first();
    let vo = |g| ConsumerVo::of(g, instance, ctx.version);
    let page = match ctx.version {
        // The seed's version has no paging: every group, newest first.
        ApiVersion::V20181015 => {
            ConsumerPage { paging: None, consumer_list: ConsumerList { consumer_vo: groups.map(vo).collect() } }
        }
        ApiVersion::V20190916 => {
            let (page, size) = p.paging(MAX_PAGE_SIZE)?;
            let filter = p.non_empty("ConsumerId");
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
    // Serialised while the read lock is held: the page borrows from the model, nothing is cloned.
    Ok(ctx.reply(&page))
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
            tags: v2019.then(|| TagList::of(&g.extra)),
        }
    }
}

/// Backlog per topic and partition, from the model: BrokerOffset is the partition's high watermark,
/// ConsumerOffset the group's commit, LastTimestamp when the last consumed message was produced.
pub fn get_consumer_progress(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, AlibabaError> {
    let instance = instance_id(p)?;
    let region = region(p, true)?;
    let group = consumer_id(p)?;
    let model = ctx.state.store.kafka.read();
    let instance = find_instance(&model, ctx, instance, region)?;
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
                let last = instance.consumed_timestamp(group, topic, pp.partition);
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
    let mut progress = json!({
        "TotalDiff": total_diff,
        "LastTimestamp": group_last,
        "TopicList": { "TopicList": topics },
    });
    if ctx.version == ApiVersion::V20190916 {
        // 2019-09-16 adds the group's rebalance history; localyun has no live members, so it is empty.
        if let Value::Object(m) = &mut progress {
            m.insert("RebalanceInfoList".into(), json!({ "RebalanceInfoList": [] }));
        }
    }
    Ok(fields(json!({ "ConsumerProgress": progress })))
}

pub fn delete_consumer_group(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, AlibabaError> {
    let instance = instance_id(p)?;
    let region = region(p, true)?;
    let group = consumer_id(p)?;
    let mut model = ctx.state.store.kafka.write();
    find_instance_mut(&mut model, ctx, instance, region)?.delete_group(group)?;
    Ok(Map::new())
}
