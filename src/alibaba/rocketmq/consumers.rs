//! Consumer routes: consumer/accumulate, status, getConnection, timespan, resetOffset. Answers are computed
//! from the model's offsets, stored messages, connected clients and consumption history. A missing group is
//! BIZ_SUBSCRIPTION_NOT_FOUND ("目标订阅关系GID找不到").

use serde::Deserialize;
use serde_json::{json, Value};

use super::error::{consumer_side, ApiError};
use super::input::parse;
use super::topics::one_of;
use super::wire::{Params, Reply};
use super::{connection_json, model_name, Ctx};

use crate::engine::rocketmq::{InstanceHandle, MessageModel, Millis, ResetTarget, RocketMqError, TopicBacklog};

/// For a read: the instance with due timed messages moved (see `Ctx::settled`), after a check that the
/// group exists.
fn prepare_read(ctx: &Ctx<'_>, instance_id: Option<&str>, group: &str) -> Result<InstanceHandle, ApiError> {
    let handle = ctx.instance(&ctx.settled(instance_id)?)?;
    handle.read().group(group).map_err(consumer_side)?;
    Ok(handle)
}

fn backlog_json(b: &TopicBacklog) -> Value {
    json!({
        "topic": b.topic,
        "totalDiff": b.total_diff,
        "lastTimestamp": b.last_timestamp.as_ms(),
        "delayTime": b.delay_time,
    })
}

/// ConsumerStatusDo types `consumeModel` as Long (its per-client ConsumerConnectionInfoDo spells the same
/// fact as a CLUSTERING/BROADCASTING string): the number is RocketMQ's `MessageModel` ordinal, 0 BROADCASTING
/// and 1 CLUSTERING.
fn consume_model_code(m: MessageModel) -> i64 {
    match m {
        MessageModel::Broadcasting => 0,
        MessageModel::Clustering => 1,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Accumulate {
    group_id: String,
    detail: Option<bool>,
    instance_id: Option<String>,
}

pub fn accumulate(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: Accumulate = parse(p)?;
    let handle = prepare_read(ctx, input.instance_id.as_deref(), &input.group_id)?;
    let acc = handle.read().accumulation(&input.group_id).map_err(consumer_side)?;
    let topics: Vec<Value> =
        if input.detail.unwrap_or(false) { acc.topics.iter().map(backlog_json).collect() } else { Vec::new() };
    // `onLine` with a capital L, as the seed spells it for this route (consumer/status says `online`).
    Ok(Reply::data(json!({
        "onLine": acc.online,
        "totalDiff": acc.total_diff,
        "consumeTps": acc.consume_tps,
        "lastTimestamp": acc.last_timestamp.as_ms(),
        "delayTime": acc.delay_time,
        "DetailInTopicList": topics,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    group_id: String,
    detail: Option<bool>,
    need_jstack: Option<bool>,
    instance_id: Option<String>,
}

pub fn status(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: Status = parse(p)?;
    let group_id = input.group_id.as_str();
    let detail = input.detail.unwrap_or(false);
    // Jstack needs detail ("如需打印Jstack信息，请确保您的入参Detail设置为true"); without it, it is ignored.
    let need_jstack = input.need_jstack.unwrap_or(false) && detail;
    let handle = prepare_read(ctx, input.instance_id.as_deref(), group_id)?;
    let instance = handle.read();
    let acc = instance.accumulation(group_id).map_err(consumer_side)?;
    let group = instance.group(group_id).map_err(consumer_side)?;
    if need_jstack && !group.online() {
        // A thread dump comes from a live client.
        return Err(RocketMqError::ConsumerNotOnline(group_id.to_string()).into());
    }
    let clients = group.clients();
    let subscription_same = clients.windows(2).all(|w| matches!(w, [a, b] if a.subscriptions == b.subscriptions));
    let rebalance_ok = group.online() && subscription_same;
    let mut infos: Vec<Value> = Vec::new();
    if detail {
        for c in clients {
            let mut running = Vec::new();
            let mut subscriptions = Vec::new();
            for (topic, expression) in &c.subscriptions {
                let (ok_tps, failed_tps, failed_hour) =
                    instance.running_data(group_id, topic).map_err(consumer_side)?;
                running.push(json!({
                    "groupId": group.id(),
                    "topic": topic,
                    "rt": 0.0,
                    "okTps": ok_tps,
                    "failedTps": failed_tps,
                    "failedCountPerHour": failed_hour,
                }));
                let tags: Vec<String> = if expression.trim() == "*" || expression.trim().is_empty() {
                    Vec::new()
                } else {
                    expression.split("||").map(|t| t.trim().to_string()).collect()
                };
                subscriptions.push(json!({
                    "topic": topic,
                    "subString": expression,
                    "subVersion": group.subscriptions().get(topic).map_or(0, |s| s.version),
                    "tagsSet": tags,
                }));
            }
            let jstack: Vec<Value> = if need_jstack {
                (1..=c.thread_count)
                    .map(|n| {
                        json!({
                            "thread": format!("ConsumeMessageThread_{group_id}_{n}"),
                            "trackList": ["java.lang.Thread.State: WAITING (parking)"],
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            };
            infos.push(json!({
                "clientId": c.client_id,
                "connection": c.client_addr,
                "language": c.language,
                "version": c.version,
                "consumeModel": model_name(c.message_model),
                "consumeType": c.consume_type,
                "threadCount": c.thread_count,
                "startTimeStamp": c.started_ms.as_ms(),
                "lastTimeStamp": c.last_seen_ms.as_ms(),
                "SubscriptionSet": subscriptions,
                "RunningDataList": running,
                "Jstack": jstack,
            }));
        }
    }
    let topics: Vec<Value> = if detail { acc.topics.iter().map(backlog_json).collect() } else { Vec::new() };
    Ok(Reply::data(json!({
        "online": acc.online,
        "totalDiff": acc.total_diff,
        // ConsumerStatusDo types consumeTps as Long.
        "consumeTps": acc.consume_tps.round() as i64,
        "lastTimestamp": acc.last_timestamp.as_ms(),
        "delayTime": acc.delay_time,
        "consumeModel": consume_model_code(group.message_model()),
        "subscriptionSame": subscription_same,
        "rebalanceOK": rebalance_ok,
        "ConnectionSet": clients.iter().map(connection_json).collect::<Vec<Value>>(),
        "DetailInTopicList": topics,
        "ConsumerConnectionInfoList": infos,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupInput {
    group_id: String,
    instance_id: Option<String>,
}

pub fn get_connection(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: GroupInput = parse(p)?;
    let handle = ctx.instance(&ctx.instance_id(input.instance_id.as_deref())?)?;
    let instance = handle.read();
    let group = instance.group(&input.group_id).map_err(consumer_side)?;
    if !group.online() {
        return Err(RocketMqError::ConsumerNotOnline(input.group_id).into());
    }
    Ok(Reply::data(Value::from(group.clients().iter().map(connection_json).collect::<Vec<Value>>())))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupTopic {
    group_id: String,
    topic: String,
    instance_id: Option<String>,
}

/// The seed describes `minTimeStamp` as the newest and `maxTimeStamp` as the earliest stored message, the
/// reverse of their names; localyun follows the names (min = earliest, max = newest).
pub fn timespan(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: GroupTopic = parse(p)?;
    let handle = prepare_read(ctx, input.instance_id.as_deref(), &input.group_id)?;
    let span = handle.read().time_span(&input.group_id, &input.topic).map_err(consumer_side)?;
    Ok(Reply::data(json!({
        "topic": input.topic,
        "minTimeStamp": span.min_timestamp.as_ms(),
        "maxTimeStamp": span.max_timestamp.as_ms(),
        "consumeTimeStamp": span.consume_timestamp.as_ms(),
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResetOffset {
    group_id: String,
    topic: String,
    #[serde(rename = "type")]
    kind: i64,
    /// Text until `type` says it is used: with type 0 it is ignored, whatever it holds.
    reset_time: Option<String>,
    instance_id: Option<String>,
}

pub fn reset_offset(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: ResetOffset = parse(p)?;
    let target = match one_of("type", input.kind, &[0, 1])? {
        0 => ResetTarget::Latest,
        // resetTime "仅仅在Type为1时生效": required then, ignored otherwise.
        _ => {
            let v = input.reset_time.ok_or_else(|| ApiError::field("missing required parameter resetTime"))?;
            let ms = v
                .trim()
                .parse::<i64>()
                .map_err(|_| ApiError::field(format!("parameter resetTime: {v:?} is not an integer")))?;
            ResetTarget::Time(Millis::from_ms(ms))
        }
    };
    let instance_id = ctx.instance_id(input.instance_id.as_deref())?;
    ctx.instance(&instance_id)?.read().group(&input.group_id).map_err(consumer_side)?;
    ctx.model.reset_offset(&instance_id, &input.group_id, &input.topic, target).map_err(consumer_side)?;
    Ok(Reply::empty())
}
