//! ListConsumerGroup: groups and their committed offsets, read from the Kafka model.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use serde::Deserialize;

use super::error::TencentError;
use super::wire::{self, Input, Paging};
use super::{Ctx, Reply};
use crate::engine::kafka::KafkaInstance;

/// ListConsumerGroup's parameters (all optional).
#[derive(Deserialize)]
pub struct ListConsumerGroup {
    #[serde(rename = "instanceId")]
    instance_id: Option<String>,
    #[serde(rename = "groupName")]
    group_name: Option<String>,
    #[serde(rename = "topicName")]
    topic_name: Option<String>,
    offset: Option<i64>,
    limit: Option<i64>,
}

impl Input for ListConsumerGroup {}

/// ListConsumerGroup: groups with their committed offsets per topic, paged (seed ListConsumerGroup).
pub fn list_consumer_group(ctx: &Ctx<'_>, input: ListConsumerGroup) -> Result<Reply, TencentError> {
    let group_name = input.group_name.as_deref();
    // The topic filter only applies together with a group name.
    let topic_filter = group_name.and(input.topic_name.as_deref());
    let (offset, limit) = Paging { offset: input.offset, limit: input.limit }.get(50, 50)?;
    let handles = match &input.instance_id {
        Some(id) => vec![ctx.model.instance(ctx.scope(), id)?],
        None => ctx.model.instances_of(ctx.scope()),
    };
    // Each instance read-locked on its own, for the length of this answer.
    let guards: Vec<_> = handles.iter().map(|h| h.read()).collect();
    let instances: Vec<&KafkaInstance> = guards.iter().map(|g| &**g).collect();

    let groups = instances
        .iter()
        .flat_map(|i| i.groups().values().map(move |g| (*i, g)))
        .filter(|(_, g)| group_name.is_none_or(|n| g.name == n));
    let mut total = 0usize;
    let mut group_list = Map::new();
    let mut group_monitor = Vec::new();
    // name -> (id, partitions) of every topic a listed group consumes.
    let mut topics: BTreeMap<String, (String, usize)> = BTreeMap::new();
    for (inst, g) in groups {
        total += 1;
        if total <= offset || group_monitor.len() >= limit {
            continue;
        }
        let mut per_topic = Map::new();
        for (topic_name, committed) in &g.offsets {
            if topic_filter.is_some_and(|t| t != topic_name) {
                continue;
            }
            let Ok(topic) = inst.topic(topic_name) else { continue };
            let offsets: Vec<i64> =
                (0..topic.partitions.len() as u32).map(|p| committed.get(&p).map_or(0, |c| c.offset)).collect();
            per_topic.insert(topic_name.clone(), json!(offsets));
            topics.insert(topic_name.clone(), (topic.id.clone(), topic.partitions.len()));
        }
        group_list.insert(g.name.clone(), Value::Object(per_topic));
        group_monitor.push(json!({"groupName": g.name}));
    }
    let total_partition = topics.values().map(|(_, n)| *n).max().unwrap_or(0);
    let topic_list: Map<String, Value> = topics.iter().map(|(n, (id, _))| (n.clone(), json!(id))).collect();
    let data = json!({
        "totalCount": total,
        "topicList": topic_list,
        "groupList": group_list,
        "totalPartition": total_partition,
        "partitionListForMonitor": (0..total_partition).map(|i| json!({"partitionId": i})).collect::<Vec<_>>(),
        "totalTopic": topics.len(),
        "topicListForMonitor": topics.iter().map(|(n, (id, _))| json!({"topicName": n, "topicId": id})).collect::<Vec<_>>(),
        "groupListForMonitor": group_monitor,
    });
    let mut fields = Map::new();
    fields.insert("data".into(), data);
    // The seed's ListConsumerGroup example answers with an empty message, the others with "ok".
    Ok(wire::success("", &fields))
}
