//! Consumer routes: consumer/accumulate, status, getConnection, timespan, resetOffset. Answers are computed
//! from the model's offsets, stored messages, connected clients and consumption history. A missing group is
//! BIZ_SUBSCRIPTION_NOT_FOUND ("目标订阅关系GID找不到").

use serde_json::{json, Value};

use super::error::{consumer_side, ApiError};
use super::wire::{Params, Reply};
use super::{connection_json, model_name, Ctx};
use parking_lot::RwLockReadGuard;

use crate::engine::rocketmq::{ResetTarget, RocketMqError, RocketMqModel, TopicBacklog};

/// For a read: the model under the read lock with due timed messages moved (see `Ctx::settled_read`), the
/// resolved instance, and a check that the group exists.
fn prepare_read<'a>(
    ctx: &Ctx<'a>,
    p: &Params,
    group: &str,
) -> Result<(RwLockReadGuard<'a, RocketMqModel>, String), ApiError> {
    let (model, instance_id) = ctx.settled_read(p)?;
    model.instance(ctx.account, ctx.region, &instance_id)?.group(group).map_err(consumer_side)?;
    Ok((model, instance_id))
}

/// For a write: resolves the instance, moves due timed messages into their queues and checks the group exists.
fn prepare_write(ctx: &Ctx<'_>, model: &mut RocketMqModel, p: &Params, group: &str) -> Result<String, ApiError> {
    let instance_id = ctx.instance_id(model, p)?;
    let instance = model.instance_mut(ctx.account, ctx.region, &instance_id)?;
    instance.settle_due();
    instance.group(group).map_err(consumer_side)?;
    Ok(instance_id)
}

fn backlog_json(b: &TopicBacklog) -> Value {
    json!({"topic": b.topic, "totalDiff": b.total_diff, "lastTimestamp": b.last_timestamp, "delayTime": b.delay_time})
}

pub fn accumulate(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let group = p.required("groupId")?;
    let detail = p.opt_bool("detail")?.unwrap_or(false);
    let (model, instance_id) = prepare_read(ctx, p, group)?;
    let acc = model.accumulation(&instance_id, group).map_err(consumer_side)?;
    let topics: Vec<Value> = if detail { acc.topics.iter().map(backlog_json).collect() } else { Vec::new() };
    // `onLine` with a capital L, as the seed spells it for this route (consumer/status says `online`).
    Ok(Reply::data(json!({
        "onLine": acc.online,
        "totalDiff": acc.total_diff,
        "consumeTps": acc.consume_tps,
        "lastTimestamp": acc.last_timestamp,
        "delayTime": acc.delay_time,
        "DetailInTopicList": topics,
    })))
}

pub fn status(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let group_id = p.required("groupId")?;
    let detail = p.opt_bool("detail")?.unwrap_or(false);
    // Jstack needs detail ("如需打印Jstack信息，请确保您的入参Detail设置为true"); without it, it is ignored.
    let need_jstack = p.opt_bool("needJstack")?.unwrap_or(false) && detail;
    let (model, instance_id) = prepare_read(ctx, p, group_id)?;
    let acc = model.accumulation(&instance_id, group_id).map_err(consumer_side)?;
    let instance = model.instance(ctx.account, ctx.region, &instance_id)?;
    let group = instance.group(group_id).map_err(consumer_side)?;
    if need_jstack && !group.online() {
        // A thread dump comes from a live client.
        return Err(RocketMqError::ConsumerNotOnline(group_id.to_string()).into());
    }
    let subscription_same = group.clients.windows(2).all(|w| matches!(w, [a, b] if a.subscriptions == b.subscriptions));
    let rebalance_ok = group.online() && subscription_same;
    let mut infos: Vec<Value> = Vec::new();
    if detail {
        for c in &group.clients {
            let mut running = Vec::new();
            let mut subscriptions = Vec::new();
            for (topic, expression) in &c.subscriptions {
                let (ok_tps, failed_tps, failed_hour) =
                    model.running_data(&instance_id, group_id, topic).map_err(consumer_side)?;
                running.push(json!({
                    "groupId": group.id,
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
                    "subVersion": group.subscriptions.get(topic).map_or(0, |s| s.version),
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
                "startTimeStamp": c.started_ms,
                "lastTimeStamp": c.last_seen_ms,
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
        "lastTimestamp": acc.last_timestamp,
        "delayTime": acc.delay_time,
        // Typed Long in the seed's table, but the values it names are CLUSTERING/BROADCASTING.
        "consumeModel": model_name(group.message_model),
        "subscriptionSame": subscription_same,
        "rebalanceOK": rebalance_ok,
        "ConnectionSet": group.clients.iter().map(connection_json).collect::<Vec<Value>>(),
        "DetailInTopicList": topics,
        "ConsumerConnectionInfoList": infos,
    })))
}

pub fn get_connection(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let group_id = p.required("groupId")?;
    let model = ctx.state.store.rocketmq.read();
    let instance = model.instance(ctx.account, ctx.region, &ctx.instance_id(&model, p)?)?;
    let group = instance.group(group_id).map_err(consumer_side)?;
    if !group.online() {
        return Err(RocketMqError::ConsumerNotOnline(group_id.to_string()).into());
    }
    Ok(Reply::data(Value::from(group.clients.iter().map(connection_json).collect::<Vec<Value>>())))
}

/// The seed describes `minTimeStamp` as the newest and `maxTimeStamp` as the earliest stored message, the
/// reverse of their names; localyun follows the names (min = earliest, max = newest).
pub fn timespan(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let group = p.required("groupId")?;
    let topic = p.required("topic")?;
    let (model, instance_id) = prepare_read(ctx, p, group)?;
    let span = model.time_span(&instance_id, group, topic).map_err(consumer_side)?;
    Ok(Reply::data(json!({
        "topic": topic,
        "minTimeStamp": span.min_timestamp,
        "maxTimeStamp": span.max_timestamp,
        "consumeTimeStamp": span.consume_timestamp,
    })))
}

pub fn reset_offset(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let group = p.required("groupId")?;
    let topic = p.required("topic")?;
    let target = match p.required_enum("type", &[0, 1])? {
        0 => ResetTarget::Latest,
        // resetTime "仅仅在Type为1时生效": required then, ignored otherwise.
        _ => ResetTarget::Time(p.required_i64("resetTime")?),
    };
    let mut model = ctx.state.store.rocketmq.write();
    let instance_id = prepare_write(ctx, &mut model, p, group)?;
    model.reset_offset(&instance_id, group, topic, target).map_err(consumer_side)?;
    Ok(Reply::empty())
}
