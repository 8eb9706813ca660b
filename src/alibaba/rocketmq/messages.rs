//! Message, statistics and dead-letter routes: message/trace, getById, getByKey, getByPagedTopic,
//! trend/topicInputTps, groupOutputTps, message/getByIdInDLQ, getByPagedDLQ, resendByIdInDLQ. Every answer is
//! read from the model's stored messages, consumption history and dead-letter queues.

use serde_json::{json, Map, Value};

use super::error::{consumer_side, ApiError};
use super::wire::{Paging, Params, Reply};
use super::Ctx;
use crate::engine::rocketmq::{body_crc, properties, store_size, Message, QueryPage, MAX_PAGES, MAX_PAGE_SIZE};

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
        ("bornTimestamp", "BornTimestamp", Value::from(m.born_ms)),
        ("bornHost", "BornHost", Value::from(m.born_host.clone())),
        ("storeTimestamp", "StoreTimestamp", Value::from(m.store_ms)),
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

pub fn trace(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let topic = p.required("topic")?;
    let msg_id = p.required("msgId")?;
    let (model, instance_id) = ctx.settled_read(p)?;
    model.instance(ctx.account, ctx.region, &instance_id)?;
    let tracks = model.trace(&instance_id, topic, msg_id)?;
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

pub fn get_by_id(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let msg_id = p.required("msgId")?;
    let topic = p.required("topic")?;
    let model = ctx.state.store.rocketmq.read();
    let instance_id = ctx.instance_id(&model, p)?;
    model.instance(ctx.account, ctx.region, &instance_id)?.topic(topic)?;
    Ok(Reply::data(message_json(model.message_by_id(&instance_id, topic, msg_id)?, false)))
}

pub fn get_by_key(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let topic = p.required("topic")?;
    let key = p.required("key")?;
    let model = ctx.state.store.rocketmq.read();
    let instance_id = ctx.instance_id(&model, p)?;
    model.instance(ctx.account, ctx.region, &instance_id)?.topic(topic)?;
    let found = model.messages_by_key(&instance_id, topic, key)?;
    Ok(Reply::data(Value::from(found.into_iter().map(|m| message_json(m, false)).collect::<Vec<Value>>())))
}

/// The paging parameters of a range query: begin and end (ms), task id, page (1..50) and page size (5..50).
struct RangeQuery<'a> {
    begin: i64,
    end: i64,
    task_id: Option<&'a str>,
    page: usize,
    page_size: usize,
}

fn range_query<'a>(p: &'a Params) -> Result<RangeQuery<'a>, ApiError> {
    let begin = p.required_i64("beginTime")?;
    let end = p.required_i64("endTime")?;
    if begin > end {
        return Err(ApiError::field("beginTime must not be after endTime"));
    }
    let page = p.required_i64("currentPage")?;
    if !(1..=MAX_PAGES as i64).contains(&page) {
        return Err(ApiError::field(format!("parameter currentPage: must be between 1 and {MAX_PAGES}")));
    }
    let page_size = p.int_in("pageSize", MIN_PAGE_SIZE, MAX_PAGE_SIZE as i64, 20)?;
    let task_id = p.get("taskId");
    // "首次查询不需要输入，后续取消息必须传入": only the first page may be asked for without a task.
    if task_id.is_none() && page != 1 {
        return Err(ApiError::field("parameter taskId: required for pages after the first"));
    }
    Ok(RangeQuery { begin, end, task_id, page: page as usize, page_size: page_size as usize })
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

pub fn get_by_paged_topic(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let topic = p.required("topic")?;
    let q = range_query(p)?;
    // Only the first page starts (stores) a query task and needs the write lock; later pages only read.
    let page = match q.task_id {
        Some(task_id) => {
            let model = ctx.state.store.rocketmq.read();
            let instance_id = ctx.instance_id(&model, p)?;
            model.instance(ctx.account, ctx.region, &instance_id)?.topic(topic)?;
            model.query_page(ctx.account, &instance_id, task_id, (Some(topic), None), q.page, q.page_size)?
        }
        None => {
            let mut model = ctx.state.store.rocketmq.write();
            let instance_id = ctx.instance_id(&model, p)?;
            model.instance(ctx.account, ctx.region, &instance_id)?.topic(topic)?;
            let task_id = model.start_topic_query(ctx.account, &instance_id, topic, q.begin, q.end)?;
            model.query_page(ctx.account, &instance_id, &task_id, (Some(topic), None), q.page, q.page_size)?
        }
    };
    // The seed names the answer MsgFoundDo; like every answer it travels in `data`.
    Ok(paged_reply(page, q.page_size, false))
}

/// `type`: 0 total per period, 1 TPS; `period`: 1, 5 or 10 minutes.
struct Trend {
    begin: i64,
    end: i64,
    period_ms: i64,
    tps: bool,
}

fn trend_params(p: &Params) -> Result<Trend, ApiError> {
    let begin = p.required_i64("beginTime")?;
    let end = p.required_i64("endTime")?;
    if begin > end {
        return Err(ApiError::field("beginTime must not be after endTime"));
    }
    let period_ms = p.required_enum("period", &[1, 5, 10])? * 60_000;
    let tps = p.required_enum("type", &[0, 1])? == 1;
    // `checked_sub`: any two i64 times are accepted, so their distance may not fit an i64.
    if end.checked_sub(begin).is_none_or(|span| span / period_ms >= MAX_TREND_POINTS) {
        return Err(ApiError::field(format!("the range holds more than {MAX_TREND_POINTS} periods")));
    }
    Ok(Trend { begin, end, period_ms, tps })
}

fn trend_reply(title: String, series: Vec<(i64, u64)>, t: &Trend) -> Reply {
    let seconds = (t.period_ms / 1000) as f64;
    let records: Vec<Value> = series
        .into_iter()
        .map(|(x, n)| json!({"x": x, "y": if t.tps { n as f64 / seconds } else { n as f64 }}))
        .collect();
    Reply::data(json!({"title": title, "records": records}))
}

pub fn topic_input_tps(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let topic = p.required("topic")?;
    let t = trend_params(p)?;
    let (model, instance_id) = ctx.settled_read(p)?;
    model.instance(ctx.account, ctx.region, &instance_id)?;
    let series = model.topic_input_series(&instance_id, topic, t.begin, t.end, t.period_ms)?;
    let title = format!("{topic} input {}", if t.tps { "TPS" } else { "total" });
    Ok(trend_reply(title, series, &t))
}

pub fn group_output_tps(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let topic = p.required("topic")?;
    let group = p.required("groupId")?;
    let t = trend_params(p)?;
    let model = ctx.state.store.rocketmq.read();
    let instance_id = ctx.instance_id(&model, p)?;
    model.instance(ctx.account, ctx.region, &instance_id)?;
    let series =
        model.group_output_series(&instance_id, group, topic, t.begin, t.end, t.period_ms).map_err(consumer_side)?;
    let title = format!("{group} output {} on {topic}", if t.tps { "TPS" } else { "total" });
    Ok(trend_reply(title, series, &t))
}

pub fn get_by_id_in_dlq(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let group = p.required("GroupId")?;
    let msg_id = p.required("MsgId")?;
    let model = ctx.state.store.rocketmq.read();
    let instance_id = ctx.instance_id(&model, p)?;
    model.instance(ctx.account, ctx.region, &instance_id)?;
    let m = model.dead_letter_by_id(&instance_id, group, msg_id).map_err(consumer_side)?;
    Ok(Reply::data(message_json(m, true)))
}

pub fn get_by_paged_dlq(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let group = p.required("GroupId")?;
    let q = range_query(p)?;
    // As for topics: only the first page stores a query task.
    let page = match q.task_id {
        Some(task_id) => {
            let model = ctx.state.store.rocketmq.read();
            let instance_id = ctx.instance_id(&model, p)?;
            model.instance(ctx.account, ctx.region, &instance_id)?.group(group).map_err(consumer_side)?;
            model.query_page(ctx.account, &instance_id, task_id, (None, Some(group)), q.page, q.page_size)?
        }
        None => {
            let mut model = ctx.state.store.rocketmq.write();
            let instance_id = ctx.instance_id(&model, p)?;
            model.instance(ctx.account, ctx.region, &instance_id)?.group(group).map_err(consumer_side)?;
            let task_id = model
                .start_dead_letter_query(ctx.account, &instance_id, group, q.begin, q.end)
                .map_err(consumer_side)?;
            model.query_page(ctx.account, &instance_id, &task_id, (None, Some(group)), q.page, q.page_size)?
        }
    };
    Ok(paged_reply(page, q.page_size, true))
}

pub fn resend_by_id_in_dlq(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let group = p.required("GroupId")?;
    let msg_id = p.required("MsgId")?;
    let mut model = ctx.state.store.rocketmq.write();
    let instance_id = ctx.instance_id(&model, p)?;
    model.instance(ctx.account, ctx.region, &instance_id)?;
    model.resend_dead_letter(&instance_id, group, msg_id).map_err(consumer_side)?;
    Ok(Reply::empty())
}
