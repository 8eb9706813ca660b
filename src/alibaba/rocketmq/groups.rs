//! Group routes: group/create, delete, list, subDetail, consumerUpdate. A missing group here is
//! BIZ_PUBLISH_INFO_NOT_FOUND ("请求的GID没有找到").

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::error::ApiError;
use super::input::parse;
use super::wire::{Params, Reply};
use super::{model_name, Ctx};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateGroup {
    /// Required here without the namespace exception the other routes document (seed 2.6.5.1:
    /// "instanceld 是 需创建的Group ID所对应的实例ID").
    instance_id: String,
    group_id: String,
    remark: Option<String>,
}

pub fn create(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: CreateGroup = parse(p)?;
    let instance_id = ctx.instance_id(Some(&input.instance_id))?;
    let remark = input.remark.unwrap_or_default();
    ctx.model.create_group(ctx.account, ctx.region, &instance_id, &input.group_id, &remark)?;
    // The seed documents one answer field, `remark`.
    Ok(Reply::data(json!({"remark": remark})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupInput {
    group_id: String,
    instance_id: Option<String>,
}

pub fn delete(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: GroupInput = parse(p)?;
    let instance_id = ctx.instance_id(input.instance_id.as_deref())?;
    ctx.model.delete_group(ctx.account, ctx.region, &instance_id, &input.group_id)?;
    Ok(Reply::empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListGroups {
    group_id: Option<String>,
    instance_id: Option<String>,
}

pub fn list(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: ListGroups = parse(p)?;
    let filter = input.group_id.as_deref();
    let handle = ctx.instance(&ctx.instance_id(input.instance_id.as_deref())?)?;
    let instance = handle.read();
    let groups: Vec<GroupView<'_>> = instance
        .groups()
        .filter(|g| filter.is_none_or(|f| g.id() == f))
        .map(|g| GroupView {
            owner: ctx.account,
            instance_id: instance.id(),
            group_id: g.id(),
            independent_naming: instance.independent_naming(),
            remark: g.remark(),
        })
        .collect();
    // Serialised while the instance's read lock is held: the list borrows from the model, nothing is cloned.
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
    let input: GroupInput = parse(p)?;
    let handle = ctx.instance(&ctx.instance_id(input.instance_id.as_deref())?)?;
    let instance = handle.read();
    let group = instance.group(&input.group_id).map_err(super::error::consumer_side)?;
    let subscriptions: Vec<Value> = if group.online() {
        group.subscriptions().iter().map(|(t, s)| json!({"topic": t, "subString": s.expression})).collect()
    } else {
        Vec::new()
    };
    Ok(Reply::data(json!({
        "groupId": group.id(),
        "online": group.online(),
        "messageModel": model_name(group.message_model()),
        "SubscriptionDataList": subscriptions,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsumerUpdate {
    group_id: String,
    read_enable: bool,
    instance_id: Option<String>,
}

pub fn consumer_update(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: ConsumerUpdate = parse(p)?;
    let instance_id = ctx.instance_id(input.instance_id.as_deref())?;
    ctx.model.set_read_enable(ctx.account, ctx.region, &instance_id, &input.group_id, input.read_enable)?;
    Ok(Reply::empty())
}
