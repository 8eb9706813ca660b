//! Consumers, messages, traces, trends and dead letters: OnsConsumer{Accumulate, Status, GetConnection,
//! ResetOffset, TimeSpan}, OnsTrend{TopicInputTps, GroupOutputTps}, OnsMessage{GetByMsgId, GetByKey,
//! PageQueryByTopic, Trace}, OnsDLQMessage{GetById, PageQueryByGroupId, ResendById} (the trace queries are
//! in `traces.rs`, which shares this file's query helpers). Answers are computed by the RocketMQ engine from
//! its offsets, stored messages, connected clients and dead-letter queues; field names are the SDK
//! response models'.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::resources::instance_id;
use super::{Ctx, OnsError};
use crate::alibaba::kafka::wire::{Input, Params};
use crate::engine::rocketmq::{
    body_crc, properties, store_size, ConsumerClient, Message, MessageModel, Millis, QueryPage, ResetTarget,
    RocketMqError, TopicBacklog, MAX_PAGES, MAX_PAGE_SIZE,
};

/// Page sizes of the paged message queries: 5 to 50, 20 by default (ONS: "取值范围 5~50，默认 20").
const MIN_PAGE_SIZE: i64 = 5;
const DEFAULT_PAGE_SIZE: i64 = 20;

// The query and answer shape shared with `traces.rs` (the other message queries): required parameters, the
// `BeginTime`/`EndTime` range, the `Data` object, one message looked up by id.

/// An answer's fields from a JSON object (anything else: none); the envelope adds `RequestId`.
pub(super) fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// `{"Data": value}`, the answer shape of the consumer and message queries (the SDK models' `Data`).
pub(super) fn data(value: Value) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("Data".into(), value);
    m
}

/// A required string parameter: MissingParameter naming it when absent or empty.
pub(super) fn required(value: Option<String>, name: &str) -> Result<String, OnsError> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| OnsError::missing(name))
}

/// `BeginTime` and `EndTime` (ms) of a time-bounded query (message pages, dead letters, trends, trace
/// queries): MissingParameter for either, InvalidParameter `BeginTime` when it is after `EndTime`.
pub(super) fn time_range(begin: Option<i64>, end: Option<i64>) -> Result<(i64, i64), OnsError> {
    let begin = begin.ok_or_else(|| OnsError::missing("BeginTime"))?;
    let end = end.ok_or_else(|| OnsError::missing("EndTime"))?;
    if begin > end {
        return Err(OnsError::invalid("BeginTime", "It must not be after EndTime."));
    }
    Ok((begin, end))
}

/// One stored message of the caller's instance (`instance`: the `InstanceId` parameter) by topic and id,
/// answered as `{"Data": render(message, instance id)}` (OnsMessageGetByMsgId, OnsMessageDetail). Errors:
/// the instance's (AUTH_RESOURCE_OWNER_ERROR), BIZ_TOPIC_NOT_FOUND, BIZ_NO_MESSAGE.
pub(super) fn one_message(
    ctx: &Ctx<'_>,
    instance: Option<&str>,
    topic: &str,
    msg_id: &str,
    render: fn(&Message, &str) -> Value,
) -> Result<Map<String, Value>, OnsError> {
    let id = instance_id(ctx, instance)?;
    let m = ctx.instance(&id)?.read().message_by_id(topic, msg_id)?;
    Ok(data(render(&m, &id)))
}

fn model_name(m: MessageModel) -> &'static str {
    match m {
        MessageModel::Clustering => "CLUSTERING",
        MessageModel::Broadcasting => "BROADCASTING",
    }
}

fn backlog(b: &TopicBacklog) -> Value {
    json!({
        "Topic": b.topic,
        "TotalDiff": b.total_diff,
        "LastTimestamp": b.last_timestamp.as_ms(),
        "DelayTime": b.delay_time,
    })
}

/// OnsRestMessageDo: a stored message as the message queries report it.
fn message(m: &Message, instance_id: &str) -> Value {
    let props: Vec<Value> = properties(m).into_iter().map(|(k, v)| json!({"Name": k, "Value": v})).collect();
    json!({
        "Topic": m.topic,
        "MsgId": m.msg_id,
        "InstanceId": instance_id,
        "StoreSize": store_size(m),
        "BornTimestamp": m.born_ms.as_ms(),
        "BornHost": m.born_host,
        "StoreTimestamp": m.store_ms.as_ms(),
        "StoreHost": m.store_host,
        "BodyCRC": body_crc(m),
        "ReconsumeTimes": m.reconsume_times,
        "PropertyList": {"MessageProperty": props},
    })
}

// ------------------------------------------------------------------------------------------------ consumers

#[derive(Deserialize)]
struct GroupDetail {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "GroupId")]
    group_id: Option<String>,
    #[serde(rename = "Detail")]
    detail: Option<bool>,
    #[serde(rename = "NeedJstack")]
    need_jstack: Option<bool>,
}
impl Input for GroupDetail {}

/// The instance (with due timed messages moved into their queues) and the group, checked to exist.
fn settled(ctx: &Ctx<'_>, instance: Option<&str>, group: &str) -> Result<String, OnsError> {
    let id = instance_id(ctx, instance)?;
    ctx.model.settle_due(&id)?;
    ctx.instance(&id)?.read().group(group)?;
    Ok(id)
}

pub fn accumulate(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: GroupDetail = p.input()?;
    let group = required(input.group_id, "GroupId")?;
    let id = settled(ctx, input.instance_id.as_deref(), &group)?;
    let acc = ctx.instance(&id)?.read().accumulation(&group)?;
    let topics: Vec<Value> =
        if input.detail.unwrap_or(false) { acc.topics.iter().map(backlog).collect() } else { Vec::new() };
    Ok(data(json!({
        "Online": acc.online,
        "TotalDiff": acc.total_diff,
        "ConsumeTps": acc.consume_tps,
        "LastTimestamp": acc.last_timestamp.as_ms(),
        "DelayTime": acc.delay_time,
        "DetailInTopicList": {"DetailInTopicDo": topics},
    })))
}

fn connection(c: &ConsumerClient) -> Value {
    json!({
        "ClientId": c.client_id,
        "ClientAddr": c.client_addr,
        "Language": c.language,
        "Version": c.version,
        "RemoteIP": c.remote_ip,
    })
}

pub fn status(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: GroupDetail = p.input()?;
    let group_id = required(input.group_id, "GroupId")?;
    let detail = input.detail.unwrap_or(false);
    // Jstack needs Detail ("如需打印 Jstack 信息，请确保您的入参 Detail 设置为 true").
    let need_jstack = input.need_jstack.unwrap_or(false) && detail;
    let id = settled(ctx, input.instance_id.as_deref(), &group_id)?;
    let handle = ctx.instance(&id)?;
    let instance = handle.read();
    let acc = instance.accumulation(&group_id)?;
    let group = instance.group(&group_id)?;
    if need_jstack && !group.online() {
        return Err(RocketMqError::ConsumerNotOnline(group_id).into());
    }
    let clients = group.clients();
    let subscription_same = clients.windows(2).all(|w| matches!(w, [a, b] if a.subscriptions == b.subscriptions));
    let mut infos = Vec::new();
    if detail {
        for c in clients {
            let mut running = Vec::new();
            let mut subscriptions = Vec::new();
            for (topic, expression) in &c.subscriptions {
                let (ok_tps, failed_tps, failed_hour) = instance.running_data(&group_id, topic)?;
                running.push(json!({
                    "Topic": topic,
                    "Rt": 0.0,
                    "OkTps": ok_tps,
                    "FailedTps": failed_tps,
                    "FailedCountPerHour": failed_hour,
                }));
                let tags: Vec<&str> = if expression.trim() == "*" || expression.trim().is_empty() {
                    Vec::new()
                } else {
                    expression.split("||").map(str::trim).collect()
                };
                subscriptions.push(json!({
                    "Topic": topic,
                    "SubString": expression,
                    "SubVersion": group.subscriptions().get(topic).map_or(0, |s| s.version),
                    "TagsSet": {"Tag": tags},
                }));
            }
            let jstack: Vec<Value> = if need_jstack {
                (1..=c.thread_count)
                    .map(|n| {
                        json!({
                            "Thread": format!("ConsumeMessageThread_{group_id}_{n}"),
                            "TrackList": {"Track": ["java.lang.Thread.State: WAITING (parking)"]},
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            };
            infos.push(json!({
                "ClientId": c.client_id,
                "Connection": c.client_addr,
                "Language": c.language,
                "Version": c.version,
                "ConsumeModel": model_name(c.message_model),
                "ConsumeType": c.consume_type,
                "ThreadCount": c.thread_count,
                "StartTimeStamp": c.started_ms.as_ms(),
                "LastTimeStamp": c.last_seen_ms.as_ms(),
                "SubscriptionSet": {"SubscriptionData": subscriptions},
                "RunningDataList": {"ConsumerRunningDataDo": running},
                "Jstack": {"ThreadTrackDo": jstack},
            }));
        }
    }
    let topics: Vec<Value> = if detail { acc.topics.iter().map(backlog).collect() } else { Vec::new() };
    Ok(data(json!({
        "Online": acc.online,
        "TotalDiff": acc.total_diff,
        "ConsumeTps": acc.consume_tps,
        "LastTimestamp": acc.last_timestamp.as_ms(),
        "DelayTime": acc.delay_time,
        "ConsumeModel": model_name(group.message_model()),
        "SubscriptionSame": subscription_same,
        "RebalanceOK": group.online() && subscription_same,
        "InstanceId": id,
        "ConnectionSet": {"ConnectionDo": clients.iter().map(connection).collect::<Vec<Value>>()},
        "DetailInTopicList": {"DetailInTopicDo": topics},
        "ConsumerConnectionInfoList": {"ConsumerConnectionInfoDo": infos},
    })))
}

pub fn get_connection(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: GroupDetail = p.input()?;
    let group_id = required(input.group_id, "GroupId")?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    let handle = ctx.instance(&id)?;
    let instance = handle.read();
    let group = instance.group(&group_id)?;
    if !group.online() {
        return Err(RocketMqError::ConsumerNotOnline(group_id).into());
    }
    let list: Vec<Value> = group
        .clients()
        .iter()
        .map(|c| json!({"ClientId": c.client_id, "ClientAddr": c.client_addr, "Language": c.language, "Version": c.version}))
        .collect();
    Ok(data(json!({
        "MessageModel": model_name(group.message_model()),
        "ConnectionList": {"ConnectionDo": list},
    })))
}

#[derive(Deserialize)]
struct ResetOffset {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "GroupId")]
    group_id: Option<String>,
    #[serde(rename = "Topic")]
    topic: Option<String>,
    #[serde(rename = "Type")]
    kind: Option<i64>,
    #[serde(rename = "ResetTimestamp")]
    reset_timestamp: Option<i64>,
}
impl Input for ResetOffset {}

/// `Type` 0: skip every stored message; 1: consume again from `ResetTimestamp` (ms, required then).
pub fn reset_offset(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: ResetOffset = p.input()?;
    let group = required(input.group_id, "GroupId")?;
    let topic = required(input.topic, "Topic")?;
    let target = match input.kind.ok_or_else(|| OnsError::missing("Type"))? {
        0 => ResetTarget::Latest,
        1 => ResetTarget::Time(Millis::from_ms(
            input.reset_timestamp.ok_or_else(|| OnsError::missing("ResetTimestamp"))?,
        )),
        other => return Err(OnsError::invalid("Type", format!("{other} is not 0 or 1."))),
    };
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    ctx.instance(&id)?.read().group(&group)?;
    ctx.model.reset_offset(&id, &group, &topic, target)?;
    Ok(Map::new())
}

// ------------------------------------------------------------------------------------------------- messages

#[derive(Deserialize)]
struct MsgInput {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "Topic")]
    topic: Option<String>,
    #[serde(rename = "MsgId")]
    msg_id: Option<String>,
    #[serde(rename = "Key")]
    key: Option<String>,
    #[serde(rename = "GroupId")]
    group_id: Option<String>,
}
impl Input for MsgInput {}

pub fn message_get_by_msg_id(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: MsgInput = p.input()?;
    let msg_id = required(input.msg_id, "MsgId")?;
    let topic = required(input.topic, "Topic")?;
    one_message(ctx, input.instance_id.as_deref(), &topic, &msg_id, message)
}

pub fn message_get_by_key(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: MsgInput = p.input()?;
    let key = required(input.key, "Key")?;
    let topic = required(input.topic, "Topic")?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    let found = ctx.instance(&id)?.read().messages_by_key(&topic, &key)?;
    let list: Vec<Value> = found.iter().map(|m| message(m, &id)).collect();
    Ok(data(json!({"OnsRestMessageDo": list})))
}

pub fn message_trace(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: MsgInput = p.input()?;
    let msg_id = required(input.msg_id, "MsgId")?;
    let topic = required(input.topic, "Topic")?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    ctx.model.settle_due(&id)?;
    let tracks = ctx.instance(&id)?.read().trace(&topic, &msg_id)?;
    let list: Vec<Value> = tracks
        .iter()
        .map(|t| json!({"ConsumerGroup": t.group, "TrackType": t.track_type.as_str(), "InstanceId": id}))
        .collect();
    Ok(data(json!({"MessageTrack": list})))
}

/// The parameters of the paged message queries (OnsMessagePageQueryByTopic, OnsDLQMessagePageQueryByGroupId).
#[derive(Deserialize)]
struct PageInput {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "Topic")]
    topic: Option<String>,
    #[serde(rename = "GroupId")]
    group_id: Option<String>,
    #[serde(rename = "BeginTime")]
    begin_time: Option<i64>,
    #[serde(rename = "EndTime")]
    end_time: Option<i64>,
    #[serde(rename = "CurrentPage")]
    current_page: Option<i64>,
    #[serde(rename = "PageSize")]
    page_size: Option<i64>,
    #[serde(rename = "TaskId")]
    task_id: Option<String>,
}
impl Input for PageInput {}

/// Begin and end (ms), page (1..=MAX_PAGES, default 1) and page size; the first page may come without a
/// task, later pages need the first page's `TaskId`.
struct Range {
    begin: Millis,
    end: Millis,
    page: usize,
    page_size: usize,
    task_id: Option<String>,
}

fn range(input: &PageInput) -> Result<Range, OnsError> {
    let (begin, end) = time_range(input.begin_time, input.end_time)?;
    let page = input.current_page.unwrap_or(1);
    if !(1..=MAX_PAGES as i64).contains(&page) {
        return Err(OnsError::invalid("CurrentPage", format!("It must be between 1 and {MAX_PAGES}.")));
    }
    let size = input.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(MIN_PAGE_SIZE..=MAX_PAGE_SIZE as i64).contains(&size) {
        return Err(OnsError::invalid("PageSize", format!("It must be between {MIN_PAGE_SIZE} and {MAX_PAGE_SIZE}.")));
    }
    let task_id = input.task_id.clone().filter(|t| !t.is_empty());
    if task_id.is_none() && page != 1 {
        return Err(OnsError::missing("TaskId"));
    }
    Ok(Range {
        begin: Millis::from_ms(begin),
        end: Millis::from_ms(end),
        page: page as usize,
        page_size: size as usize,
        task_id,
    })
}

fn msg_found(page: QueryPage, instance_id: &str) -> Map<String, Value> {
    let list: Vec<Value> = page.messages.iter().map(|m| message(m, instance_id)).collect();
    fields(json!({"MsgFoundDo": {
        "TaskId": page.task_id,
        "MaxPageCount": page.max_page_count,
        "CurrentPage": page.current_page,
        "MsgFoundList": {"OnsRestMessageDo": list},
    }}))
}

pub fn message_page_query_by_topic(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: PageInput = p.input()?;
    let topic = required(input.topic.clone(), "Topic")?;
    let q = range(&input)?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    ctx.instance(&id)?.read().topic(&topic)?;
    let task_id = match q.task_id {
        Some(t) => t,
        None => ctx.model.start_topic_query(ctx.account, &id, &topic, q.begin, q.end)?,
    };
    let page = ctx.model.query_page(ctx.account, &id, &task_id, (Some(&topic), None), q.page, q.page_size)?;
    Ok(msg_found(page, &id))
}

// ---------------------------------------------------------------------------------------------- dead letters

pub fn dlq_get_by_id(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: MsgInput = p.input()?;
    let group = required(input.group_id, "GroupId")?;
    let msg_id = required(input.msg_id, "MsgId")?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    let m = ctx.instance(&id)?.read().dead_letter_by_id(&group, &msg_id)?;
    Ok(data(message(&m, &id)))
}

pub fn dlq_page_query_by_group_id(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: PageInput = p.input()?;
    let group = required(input.group_id.clone(), "GroupId")?;
    let q = range(&input)?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    ctx.instance(&id)?.read().group(&group)?;
    let task_id = match q.task_id {
        Some(t) => t,
        None => ctx.model.start_dead_letter_query(ctx.account, &id, &group, q.begin, q.end)?,
    };
    let page = ctx.model.query_page(ctx.account, &id, &task_id, (None, Some(&group)), q.page, q.page_size)?;
    Ok(msg_found(page, &id))
}

pub fn dlq_resend_by_id(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: MsgInput = p.input()?;
    let group = required(input.group_id, "GroupId")?;
    let msg_id = required(input.msg_id, "MsgId")?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    ctx.model.resend_dead_letter(&id, &group, &msg_id)?;
    Ok(data(json!({"MsgId": [msg_id]})))
}

// ------------------------------------------------------------------------------------ time span and trends

#[derive(Deserialize)]
struct TrendInput {
    #[serde(rename = "InstanceId")]
    instance_id: Option<String>,
    #[serde(rename = "Topic")]
    topic: Option<String>,
    #[serde(rename = "GroupId")]
    group_id: Option<String>,
    #[serde(rename = "BeginTime")]
    begin_time: Option<i64>,
    #[serde(rename = "EndTime")]
    end_time: Option<i64>,
    #[serde(rename = "Period")]
    period: Option<i64>,
    #[serde(rename = "Type")]
    kind: Option<i64>,
}
impl Input for TrendInput {}

/// Most points a trend answer may hold (a week at one-minute periods).
const MAX_TREND_POINTS: i64 = 10_080;

/// A trend's range: begin and end (ms), `Period` in minutes (1, 5 or 10) and `Type` (0 total per period,
/// 1 TPS).
struct Trend {
    begin: Millis,
    end: Millis,
    period_ms: i64,
    tps: bool,
}

fn trend(input: &TrendInput) -> Result<Trend, OnsError> {
    let (begin, end) = time_range(input.begin_time, input.end_time)?;
    let period = input.period.unwrap_or(1);
    if ![1, 5, 10].contains(&period) {
        return Err(OnsError::invalid("Period", format!("{period} is not 1, 5 or 10.")));
    }
    let kind = input.kind.ok_or_else(|| OnsError::missing("Type"))?;
    if ![0, 1].contains(&kind) {
        return Err(OnsError::invalid("Type", format!("{kind} is not 0 or 1.")));
    }
    let period_ms = period * 60_000;
    // `checked_sub`: any two i64 times are accepted, so their distance may not fit an i64.
    if end.checked_sub(begin).is_none_or(|span| span / period_ms >= MAX_TREND_POINTS) {
        return Err(OnsError::invalid("EndTime", format!("The range holds more than {MAX_TREND_POINTS} periods.")));
    }
    Ok(Trend { begin: Millis::from_ms(begin), end: Millis::from_ms(end), period_ms, tps: kind == 1 })
}

/// `{"Data": {"Title", "XUnit", "YUnit", "Records": {"StatsDataDo": [{"X", "Y"}]}}}`.
fn trend_reply(title: String, series: Vec<(Millis, u64)>, t: &Trend) -> Map<String, Value> {
    let seconds = (t.period_ms / 1000) as f64;
    let records: Vec<Value> = series
        .into_iter()
        .map(|(x, n)| json!({"X": x.as_ms(), "Y": if t.tps { n as f64 / seconds } else { n as f64 }}))
        .collect();
    let y_unit = if t.tps { "msg/s" } else { "msg" };
    data(json!({"Title": title, "XUnit": "ms", "YUnit": y_unit, "Records": {"StatsDataDo": records}}))
}

pub fn trend_topic_input_tps(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: TrendInput = p.input()?;
    let topic = required(input.topic.clone(), "Topic")?;
    let t = trend(&input)?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    ctx.model.settle_due(&id)?;
    let series = ctx.instance(&id)?.read().topic_input_series(&topic, t.begin, t.end, t.period_ms)?;
    let title = format!("{topic} input {}", if t.tps { "TPS" } else { "total" });
    Ok(trend_reply(title, series, &t))
}

pub fn trend_group_output_tps(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: TrendInput = p.input()?;
    let topic = required(input.topic.clone(), "Topic")?;
    let group = required(input.group_id.clone(), "GroupId")?;
    let t = trend(&input)?;
    let id = instance_id(ctx, input.instance_id.as_deref())?;
    let series = ctx.instance(&id)?.read().group_output_series(&group, &topic, t.begin, t.end, t.period_ms)?;
    let title = format!("{group} output {} on {topic}", if t.tps { "TPS" } else { "total" });
    Ok(trend_reply(title, series, &t))
}

pub fn time_span(ctx: &Ctx<'_>, p: &Params) -> Result<Map<String, Value>, OnsError> {
    let input: TrendInput = p.input()?;
    let topic = required(input.topic.clone(), "Topic")?;
    let group = required(input.group_id.clone(), "GroupId")?;
    let id = settled(ctx, input.instance_id.as_deref(), &group)?;
    let span = ctx.instance(&id)?.read().time_span(&group, &topic)?;
    Ok(data(json!({
        "Topic": topic,
        "InstanceId": id,
        "MinTimeStamp": span.min_timestamp.as_ms(),
        "MaxTimeStamp": span.max_timestamp.as_ms(),
        "ConsumeTimeStamp": span.consume_timestamp.as_ms(),
    })))
}
