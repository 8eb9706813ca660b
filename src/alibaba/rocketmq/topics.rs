//! Topic routes: topic/create, delete, get, listInPage, update, listNames, subDetail.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::ApiError;
use super::input::parse;
use super::wire::{Paging, Params, Reply};
use super::{model_name, Ctx};
use crate::engine::rocketmq::{Instance, MessageType, Topic};

/// Largest `pageSize` of topic/listInPage (the seed gives only the default, 20).
const MAX_TOPIC_PAGE_SIZE: i64 = 100;

/// The seed's `orderType` values: 0 normal, 1 partition order, 2 global order, 4 transaction, 5 timed/delay.
pub(crate) fn message_type(order_type: i64) -> Option<MessageType> {
    Some(match order_type {
        0 => MessageType::Normal,
        1 => MessageType::PartitionOrder,
        2 => MessageType::GlobalOrder,
        4 => MessageType::Transaction,
        5 => MessageType::Delay,
        _ => return None,
    })
}

fn order_type(t: MessageType) -> i64 {
    match t {
        MessageType::Normal => 0,
        MessageType::PartitionOrder => 1,
        MessageType::GlobalOrder => 2,
        MessageType::Transaction => 4,
        MessageType::Delay => 5,
    }
}

/// `value` must be one of `allowed` (the message names the parameter).
pub(crate) fn one_of(name: &str, value: i64, allowed: &[i64]) -> Result<i64, ApiError> {
    if !allowed.contains(&value) {
        return Err(ApiError::field(format!("parameter {name}: {value} is not one of {allowed:?}")));
    }
    Ok(value)
}

/// An optional integer in `min..=max`, with a default.
pub(crate) fn within(name: &str, value: Option<i64>, min: i64, max: i64, default: i64) -> Result<i64, ApiError> {
    let v = value.unwrap_or(default);
    if v < min || v > max {
        return Err(ApiError::field(format!("parameter {name}: {v} is outside {min}..{max}")));
    }
    Ok(v)
}

/// A topic as topic/get and topic/listInPage show it (the seed lists no fields; these are the console's).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TopicView<'a> {
    topic: &'a str,
    instance_id: &'a str,
    owner: &'a str,
    relation: u8,
    order_type: i64,
    message_type: i64,
    perm: u8,
    remark: &'a str,
    independent_naming: bool,
    create_time: i64,
    update_time: i64,
}

impl<'a> TopicView<'a> {
    fn of(instance: &'a Instance, t: &'a Topic) -> Self {
        TopicView {
            topic: t.name(),
            instance_id: instance.id(),
            owner: t.owner(),
            relation: 6,
            order_type: order_type(t.message_type()),
            message_type: order_type(t.message_type()),
            perm: t.perm(),
            remark: t.remark(),
            independent_naming: instance.independent_naming(),
            create_time: t.created().as_ms(),
            update_time: t.modified().as_ms(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateTopic {
    topic: String,
    order_type: i64,
    remark: Option<String>,
    instance_id: Option<String>,
}

pub fn create(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: CreateTopic = parse(p)?;
    let code = one_of("orderType", input.order_type, &[0, 1, 2, 4, 5])?;
    let message_type =
        message_type(code).ok_or_else(|| ApiError::field("parameter orderType: must be 0, 1, 2, 4 or 5"))?;
    let instance_id = ctx.instance_id(input.instance_id.as_deref())?;
    let remark = input.remark.unwrap_or_default();
    ctx.model.create_topic(ctx.account, ctx.region, &instance_id, &input.topic, message_type, &remark)?;
    Ok(Reply::empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TopicInput {
    topic: String,
    instance_id: Option<String>,
}

pub fn delete(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: TopicInput = parse(p)?;
    let instance_id = ctx.instance_id(input.instance_id.as_deref())?;
    ctx.model.delete_topic(ctx.account, ctx.region, &instance_id, &input.topic)?;
    Ok(Reply::empty())
}

pub fn get(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: TopicInput = parse(p)?;
    let handle = ctx.instance(&ctx.instance_id(input.instance_id.as_deref())?)?;
    let instance = handle.read();
    let view = TopicView::of(&instance, instance.topic(&input.topic)?);
    Ok(Reply::typed(&view, None, ctx.request_id))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListInPage {
    // instanceId is required here without the namespace exception ("查询指定实例的Topic列表").
    instance_id: String,
    topic: Option<String>,
    current_page: Option<i64>,
    page_size: Option<i64>,
}

pub fn list_in_page(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: ListInPage = parse(p)?;
    let filter = input.topic.as_deref();
    let page = within("currentPage", input.current_page, 1, i64::from(u32::MAX), 1)? as usize;
    let size = within("pageSize", input.page_size, 1, MAX_TOPIC_PAGE_SIZE, 20)? as usize;
    let handle = ctx.instance(&input.instance_id)?;
    let instance = handle.read();
    // Only the page is rendered and nothing of the size of the topic list is allocated; without a filter the
    // total is the number of topics.
    let matching = || instance.topics().filter(|t| filter.is_none_or(|f| t.name().contains(f)));
    let total = if filter.is_some() { matching().count() } else { instance.topics().len() };
    let items: Vec<TopicView<'_>> =
        matching().skip((page - 1).saturating_mul(size)).take(size).map(|t| TopicView::of(&instance, t)).collect();
    // Serialised while the instance's read lock is held: the page borrows from the model, nothing is cloned.
    let paging = Some(Paging { current_page: page, page_size: size, total });
    Ok(Reply::typed_sized(&items, paging, ctx.request_id, items.len() * super::wire::ITEM_BYTES))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateTopic {
    topic: String,
    perm: i64,
    instance_id: Option<String>,
}

pub fn update(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: UpdateTopic = parse(p)?;
    let perm = one_of("perm", input.perm, &[2, 4, 6])?;
    let instance_id = ctx.instance_id(input.instance_id.as_deref())?;
    ctx.model.set_topic_perm(ctx.account, ctx.region, &instance_id, &input.topic, perm as u8)?;
    Ok(Reply::empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstanceInput {
    instance_id: Option<String>,
}

pub fn list_names(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: InstanceInput = parse(p)?;
    let handle = ctx.instance(&ctx.instance_id(input.instance_id.as_deref())?)?;
    let names: Vec<String> = handle.read().topics().map(|t| t.name().to_string()).collect();
    Ok(Reply::data(Value::from(names)))
}

/// Online groups subscribing the topic ("本接口只能用于查看有哪些在线的订阅组订阅了指定的Topic").
pub fn sub_detail(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: TopicInput = parse(p)?;
    let topic = input.topic.as_str();
    let handle = ctx.instance(&ctx.instance_id(input.instance_id.as_deref())?)?;
    let instance = handle.read();
    instance.topic(topic)?;
    let subscriptions: Vec<Value> = instance
        .groups()
        .filter(|g| g.online())
        .filter_map(|g| {
            g.subscriptions().get(topic).map(|s| {
                json!({"groupId": g.id(), "subString": s.expression, "messageModel": model_name(g.message_model())})
            })
        })
        .collect();
    Ok(Reply::data(json!({"topic": topic, "SubscriptionDataList": subscriptions})))
}
