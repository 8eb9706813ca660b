//! Message, statistics and dead-letter routes: message/trace, getById, getByKey, getByPagedTopic,
//! trend/topicInputTps, groupOutputTps, message/getByIdInDLQ, getByPagedDLQ, resendByIdInDLQ. Every answer is
//! read from the model's stored messages, consumption history and dead-letter queues.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::error::{consumer_side, ApiError};
use super::input::parse;
use super::topics::{one_of, within};
use super::wire::{Paging, Params, Reply};
use super::Ctx;
use crate::engine::rocketmq::{body_crc, properties, store_size, Message, Millis, QueryPage, MAX_PAGES, MAX_PAGE_SIZE};

/// Most points a statistics answer may hold (a week at one-minute periods is 10080).
const MAX_TREND_POINTS: i64 = 10_080;
/// Smallest `pageSize` of a paged message query ("最小5条").
const MIN_PAGE_SIZE: i64 = 5;

/// The seed's OnsRestMessageDo, with camelCase names, or the PascalCase ones the dead-letter routes document.
fn message_json(m: &Message, pascal: bool) -> Value {
    let props: Vec<Value> = properties(m).into_iter().map(|(k, v)| json!({"name": k, "value": v})).collect();
    let fields: [(&str, &str, Value); 11] = [
        ("topic", "Topic", Value::from(m.topic.clone())),
        ("propertyList", "PropertyList", Value::from(props)),
        ("body", "Body", Value::from(String::from_utf8_lossy(&m.body).into_owned())),
        ("storeSize", "StoreSize", Value::from(store_size(m))),
        ("bornTimestamp", "BornTimestamp", Value::from(m.born_ms.as_ms())),
        ("bornHost", "BornHost", Value::from(m.born_host.clone())),
        ("storeTimestamp", "StoreTimestamp", Value::from(m.store_ms.as_ms())),
        ("storeHost", "StoreHost", Value::from(m.store_host.clone())),
        ("msgId", "MsgId", Value::from(m.msg_id.clone())),
        ("bodyCRC", "BodyCRC", Value::from(body_crc(m))),
        ("reconsumeTimes", "ReconsumeTimes", Value::from(m.reconsume_times)),
    ];
    let mut out = Map::with_capacity(fields.len());
    for (camel, pascal_name, v) in fields {
        out.insert(if pascal { pascal_name } else { camel }.to_string(), v);
    }
    Value::Object(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Trace {
    topic: String,
    msg_id: String,
    instance_id: Option<String>,
}

pub fn trace(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: Trace = parse(p)?;
    let instance_id = ctx.settled(input.instance_id.as_deref())?;
    let tracks = ctx.instance(&instance_id)?.read().trace(&input.topic, &input.msg_id)?;
    let items: Vec<Value> = tracks
        .iter()
        .map(|t| {
            json!({
                "instanceId": instance_id,
                "consumerGroup": t.group,
                "trackType": t.track_type.as_str(),
                "exceptionDesc": t.exception_desc,
            })
        })
        .collect();
    Ok(Reply::data(Value::from(items)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetById {
    msg_id: String,
    topic: String,
    instance_id: Option<String>,
}

pub fn get_by_id(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: GetById = parse(p)?;
    let handle = ctx.instance(&ctx.instance_id(input.instance_id.as_deref())?)?;
    let m = handle.read().message_by_id(&input.topic, &input.msg_id)?;
    Ok(Reply::data(message_json(&m, false)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetByKey {
    topic: String,
    key: String,
    instance_id: Option<String>,
}

pub fn get_by_key(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: GetByKey = parse(p)?;
    let handle = ctx.instance(&ctx.instance_id(input.instance_id.as_deref())?)?;
    let found = handle.read().messages_by_key(&input.topic, &input.key)?;
    Ok(Reply::data(Value::from(found.iter().map(|m| message_json(m, false)).collect::<Vec<Value>>())))
}

/// The paging parameters of a range query: begin and end (ms), task id, page (1..50) and page size (5..50).
struct RangeInput {
    begin_time: i64,
    end_time: i64,
    current_page: i64,
    page_size: Option<i64>,
    task_id: Option<String>,
}

struct RangeQuery {
    begin: Millis,
    end: Millis,
    task_id: Option<String>,
    page: usize,
    page_size: usize,
}

fn range_query(q: RangeInput) -> Result<RangeQuery, ApiError> {
    if q.begin_time > q.end_time {
        return Err(ApiError::field("beginTime must not be after endTime"));
    }
    let page = q.current_page;
    if !(1..=MAX_PAGES as i64).contains(&page) {
        return Err(ApiError::field(format!("parameter currentPage: must be between 1 and {MAX_PAGES}")));
    }
    let page_size = within("pageSize", q.page_size, MIN_PAGE_SIZE, MAX_PAGE_SIZE as i64, 20)?;
    // "首次查询不需要输入，后续取消息必须传入": only the first page may be asked for without a task.
    if q.task_id.is_none() && page != 1 {
        return Err(ApiError::field("parameter taskId: required for pages after the first"));
    }
    Ok(RangeQuery {
        begin: Millis::from_ms(q.begin_time),
        end: Millis::from_ms(q.end_time),
        task_id: q.task_id,
        page: page as usize,
        page_size: page_size as usize,
    })
}

fn paged_reply(page: QueryPage, page_size: usize, pascal: bool) -> Reply {
    let messages: Vec<Value> = page.messages.iter().map(|m| message_json(m, pascal)).collect();
    let data = if pascal {
        json!({"TaskId": page.task_id, "MaxPageCount": page.max_page_count, "CurrentPage": page.current_page, "Data": messages})
    } else {
        json!({"taskId": page.task_id, "maxPageCount": page.max_page_count, "currentPage": page.current_page, "data": messages})
    };
    Reply::paged(data, Paging { current_page: page.current_page, page_size, total: page.total })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PagedTopic {
    topic: String,
    begin_time: i64,
    end_time: i64,
    current_page: i64,
    page_size: Option<i64>,
    task_id: Option<String>,
    instance_id: Option<String>,
}

pub fn get_by_paged_topic(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: PagedTopic = parse(p)?;
    let topic = input.topic.as_str();
    let q = range_query(RangeInput {
        begin_time: input.begin_time,
        end_time: input.end_time,
        current_page: input.current_page,
        page_size: input.page_size,
        task_id: input.task_id.clone(),
    })?;
    let instance_id = ctx.instance_id(input.instance_id.as_deref())?;
    ctx.instance(&instance_id)?.read().topic(topic)?;
    // The first page fixes the matching messages in a query task (runtime state: still a read).
    let task_id = match q.task_id {
        Some(task_id) => task_id,
        None => ctx.model.start_topic_query(ctx.account, &instance_id, topic, q.begin, q.end)?,
    };
    let page = ctx.model.query_page(ctx.account, &instance_id, &task_id, (Some(topic), None), q.page, q.page_size)?;
    // The seed names the answer MsgFoundDo; like every answer it travels in `data`.
    Ok(paged_reply(page, q.page_size, false))
}

/// `type`: 0 total per period, 1 TPS; `period`: 1, 5 or 10 minutes.
struct TrendInput {
    begin_time: i64,
    end_time: i64,
    period: i64,
    kind: i64,
}

struct Trend {
    begin: Millis,
    end: Millis,
    period_ms: i64,
    tps: bool,
}

fn trend_params(t: TrendInput) -> Result<Trend, ApiError> {
    let (begin, end) = (t.begin_time, t.end_time);
    if begin > end {
        return Err(ApiError::field("beginTime must not be after endTime"));
    }
    let period_ms = one_of("period", t.period, &[1, 5, 10])? * 60_000;
    let tps = one_of("type", t.kind, &[0, 1])? == 1;
    // `checked_sub`: any two i64 times are accepted, so their distance may not fit an i64.
    if end.checked_sub(begin).is_none_or(|span| span / period_ms >= MAX_TREND_POINTS) {
        return Err(ApiError::field(format!("the range holds more than {MAX_TREND_POINTS} periods")));
    }
    Ok(Trend { begin: Millis::from_ms(begin), end: Millis::from_ms(end), period_ms, tps })
}

fn trend_reply(title: String, series: Vec<(Millis, u64)>, t: &Trend) -> Reply {
    let seconds = (t.period_ms / 1000) as f64;
    let records: Vec<Value> = series
        .into_iter()
        .map(|(x, n)| json!({"x": x.as_ms(), "y": if t.tps { n as f64 / seconds } else { n as f64 }}))
        .collect();
    Reply::data(json!({"title": title, "records": records}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopicTrend {
    topic: String,
    begin_time: i64,
    end_time: i64,
    period: i64,
    #[serde(rename = "type")]
    kind: i64,
    instance_id: Option<String>,
}

pub fn topic_input_tps(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: TopicTrend = parse(p)?;
    let t = trend_params(TrendInput {
        begin_time: input.begin_time,
        end_time: input.end_time,
        period: input.period,
        kind: input.kind,
    })?;
    let instance_id = ctx.settled(input.instance_id.as_deref())?;
    let series = ctx.instance(&instance_id)?.read().topic_input_series(&input.topic, t.begin, t.end, t.period_ms)?;
    let title = format!("{} input {}", input.topic, if t.tps { "TPS" } else { "total" });
    Ok(trend_reply(title, series, &t))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupTrend {
    topic: String,
    group_id: String,
    begin_time: i64,
    end_time: i64,
    period: i64,
    #[serde(rename = "type")]
    kind: i64,
    instance_id: Option<String>,
}

pub fn group_output_tps(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: GroupTrend = parse(p)?;
    let t = trend_params(TrendInput {
        begin_time: input.begin_time,
        end_time: input.end_time,
        period: input.period,
        kind: input.kind,
    })?;
    let (topic, group) = (input.topic.as_str(), input.group_id.as_str());
    let handle = ctx.instance(&ctx.instance_id(input.instance_id.as_deref())?)?;
    let series = handle.read().group_output_series(group, topic, t.begin, t.end, t.period_ms).map_err(consumer_side)?;
    let title = format!("{group} output {} on {topic}", if t.tps { "TPS" } else { "total" });
    Ok(trend_reply(title, series, &t))
}

/// The dead-letter routes spell their parameters in PascalCase.
#[derive(Deserialize)]
struct DeadLetter {
    #[serde(rename = "GroupId")]
    group_id: String,
    #[serde(rename = "MsgId")]
    msg_id: String,
    #[serde(rename = "instanceId")]
    instance_id: Option<String>,
}

pub fn get_by_id_in_dlq(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: DeadLetter = parse(p)?;
    let handle = ctx.instance(&ctx.instance_id(input.instance_id.as_deref())?)?;
    let m = handle.read().dead_letter_by_id(&input.group_id, &input.msg_id).map_err(consumer_side)?;
    Ok(Reply::data(message_json(&m, true)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PagedDeadLetters {
    #[serde(rename = "GroupId")]
    group_id: String,
    begin_time: i64,
    end_time: i64,
    current_page: i64,
    page_size: Option<i64>,
    task_id: Option<String>,
    instance_id: Option<String>,
}

pub fn get_by_paged_dlq(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: PagedDeadLetters = parse(p)?;
    let group = input.group_id.as_str();
    let q = range_query(RangeInput {
        begin_time: input.begin_time,
        end_time: input.end_time,
        current_page: input.current_page,
        page_size: input.page_size,
        task_id: input.task_id.clone(),
    })?;
    let instance_id = ctx.instance_id(input.instance_id.as_deref())?;
    ctx.instance(&instance_id)?.read().group(group).map_err(consumer_side)?;
    let task_id = match q.task_id {
        Some(task_id) => task_id,
        None => ctx
            .model
            .start_dead_letter_query(ctx.account, &instance_id, group, q.begin, q.end)
            .map_err(consumer_side)?,
    };
    let page = ctx.model.query_page(ctx.account, &instance_id, &task_id, (None, Some(group)), q.page, q.page_size)?;
    Ok(paged_reply(page, q.page_size, true))
}

pub fn resend_by_id_in_dlq(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: DeadLetter = parse(p)?;
    let instance_id = ctx.instance_id(input.instance_id.as_deref())?;
    ctx.instance(&instance_id)?;
    ctx.model.resend_dead_letter(&instance_id, &input.group_id, &input.msg_id).map_err(consumer_side)?;
    Ok(Reply::empty())
}
