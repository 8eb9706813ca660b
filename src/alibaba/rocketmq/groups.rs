//! Group routes: group/create, delete, list, subDetail, consumerUpdate. A missing group here is
//! BIZ_PUBLISH_INFO_NOT_FOUND ("请求的GID没有找到").

use serde::Serialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::wire::{Params, Reply};
use super::{model_name, Ctx};

pub fn create(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let group_id = p.required("groupId")?;
    let remark = p.get("remark").unwrap_or("");
    let mut model = ctx.state.store.rocketmq.write();
    let instance_id = ctx.instance_id(&model, p)?;
    let group = model.create_group(ctx.account, ctx.region, &instance_id, group_id, remark)?;
    // The seed documents one answer field, `remark`.
    Ok(Reply::data(json!({"remark": group.remark})))
}

pub fn delete(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let group_id = p.required("groupId")?;
    let mut model = ctx.state.store.rocketmq.write();
    let instance_id = ctx.instance_id(&model, p)?;
    model.delete_group(ctx.account, ctx.region, &instance_id, group_id)?;
    Ok(Reply::empty())
}

pub fn list(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let filter = p.get("groupId");
    let model = ctx.state.store.rocketmq.read();
    let instance = model.instance(ctx.account, ctx.region, &ctx.instance_id(&model, p)?)?;
    let groups: Vec<GroupView<'_>> = instance
        .groups
        .values()
        .filter(|g| filter.is_none_or(|f| g.id == f))
        .map(|g| GroupView {
            owner: ctx.account,
            instance_id: &instance.id,
            group_id: &g.id,
            independent_naming: instance.independent_naming,
            remark: &g.remark,
        })
        .collect();
    // Serialised while the read lock is held: the list borrows from the model, nothing is cloned.
    Ok(Reply::typed(&groups, None, ctx.request_id))
}

/// A group as group/list shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GroupView<'a> {
    owner: &'a str,
    instance_id: &'a str,
    group_id: &'a str,
    independent_naming: bool,
    remark: &'a str,
}

/// The topics an online group subscribes; an offline group shows none ("如果Group不在线则查不到数据").
pub fn sub_detail(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let group_id = p.required("groupId")?;
    let model = ctx.state.store.rocketmq.read();
    let instance = model.instance(ctx.account, ctx.region, &ctx.instance_id(&model, p)?)?;
    let group = instance.group(group_id).map_err(super::error::consumer_side)?;
    let subscriptions: Vec<Value> = if group.online() {
        group.subscriptions.iter().map(|(t, s)| json!({"topic": t, "subString": s.expression})).collect()
    } else {
        Vec::new()
    };
    Ok(Reply::data(json!({
        "groupId": group.id,
        "online": group.online(),
        "messageModel": model_name(group.message_model),
        "SubscriptionDataList": subscriptions,
    })))
}

pub fn consumer_update(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let group_id = p.required("groupId")?;
    let read_enable = p.required_bool("readEnable")?;
    let mut model = ctx.state.store.rocketmq.write();
    let instance_id = ctx.instance_id(&model, p)?;
    model.instance_mut(ctx.account, ctx.region, &instance_id)?.group_mut(group_id)?.read_enable = read_enable;
    Ok(Reply::empty())
}
