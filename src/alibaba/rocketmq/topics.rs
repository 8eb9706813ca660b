//! Topic routes: topic/create, delete, get, listInPage, update, listNames, subDetail.

use serde::Serialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::wire::{Paging, Params, Reply};
use super::{model_name, Ctx};
use crate::engine::rocketmq::{Instance, MessageType, Topic};

/// Largest `pageSize` of topic/listInPage (the seed gives only the default, 20).
const MAX_TOPIC_PAGE_SIZE: i64 = 100;

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
            topic: &t.name,
            instance_id: &instance.id,
            owner: &t.owner,
            relation: 6,
            order_type: t.message_type.code(),
            message_type: t.message_type.code(),
            perm: t.perm,
            remark: &t.remark,
            independent_naming: instance.independent_naming,
            create_time: t.created_ms,
            update_time: t.modified_ms,
        }
    }
}

pub fn create(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let topic = p.required("topic")?;
    let order_type = p.required_enum("orderType", &[0, 1, 2, 4, 5])?;
    let message_type = MessageType::from_code(order_type)
        .ok_or_else(|| ApiError::field("parameter orderType: must be 0, 1, 2, 4 or 5"))?;
    let remark = p.get("remark").unwrap_or("");
    let mut model = ctx.state.store.rocketmq.write();
    let instance_id = ctx.instance_id(&model, p)?;
    model.create_topic(ctx.account, ctx.region, &instance_id, topic, message_type, remark)?;
    Ok(Reply::empty())
}

pub fn delete(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let topic = p.required("topic")?;
    let mut model = ctx.state.store.rocketmq.write();
    let instance_id = ctx.instance_id(&model, p)?;
    model.delete_topic(ctx.account, ctx.region, &instance_id, topic)?;
    Ok(Reply::empty())
}

pub fn get(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let topic = p.required("topic")?;
    let model = ctx.state.store.rocketmq.read();
    let instance = model.instance(ctx.account, ctx.region, &ctx.instance_id(&model, p)?)?;
    let view = TopicView::of(instance, instance.topic(topic)?);
    Ok(Reply::typed(&view, None, ctx.request_id))
}

pub fn list_in_page(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    // instanceId is required here without the namespace exception ("查询指定实例的Topic列表").
    let instance_id = p.required("instanceId")?;
    let filter = p.get("topic");
    let page = p.int_in("currentPage", 1, i64::from(u32::MAX), 1)? as usize;
    let size = p.int_in("pageSize", 1, MAX_TOPIC_PAGE_SIZE, 20)? as usize;
    let model = ctx.state.store.rocketmq.read();
    let instance = model.instance(ctx.account, ctx.region, instance_id)?;
    // Only the page is rendered and nothing of the size of the topic list is allocated; without a filter the
    // total is the map's length.
    let matching = || instance.topics.values().filter(|t| filter.is_none_or(|f| t.name.contains(f)));
    let total = if filter.is_some() { matching().count() } else { instance.topics.len() };
    let items: Vec<TopicView<'_>> =
        matching().skip((page - 1).saturating_mul(size)).take(size).map(|t| TopicView::of(instance, t)).collect();
    // Serialised while the read lock is held: the page borrows from the model, nothing is cloned.
    Ok(Reply::typed(&items, Some(Paging { current_page: page, page_size: size, total }), ctx.request_id))
}

pub fn update(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let topic = p.required("topic")?;
    let perm = p.required_enum("perm", &[2, 4, 6])?;
    let mut model = ctx.state.store.rocketmq.write();
    let instance_id = ctx.instance_id(&model, p)?;
    model.set_topic_perm(ctx.account, ctx.region, &instance_id, topic, perm as u8)?;
    Ok(Reply::empty())
}

pub fn list_names(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let model = ctx.state.store.rocketmq.read();
    let instance = model.instance(ctx.account, ctx.region, &ctx.instance_id(&model, p)?)?;
    Ok(Reply::data(Value::from(instance.topics.keys().cloned().collect::<Vec<String>>())))
}

/// Online groups subscribing the topic ("本接口只能用于查看有哪些在线的订阅组订阅了指定的Topic").
pub fn sub_detail(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let topic = p.required("topic")?;
    let model = ctx.state.store.rocketmq.read();
    let instance = model.instance(ctx.account, ctx.region, &ctx.instance_id(&model, p)?)?;
    instance.topic(topic)?;
    let subscriptions: Vec<Value> = instance
        .groups
        .values()
        .filter(|g| g.online())
        .filter_map(|g| {
            g.subscriptions.get(topic).map(
                |s| json!({"groupId": g.id, "subString": s.expression, "messageModel": model_name(g.message_model)}),
            )
        })
        .collect();
    Ok(Reply::data(json!({"topic": topic, "SubscriptionDataList": subscriptions})))
}
