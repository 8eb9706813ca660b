//! Authorisation routes: empower/create (to another primary account), createBySub (to a sub-account),
//! delete, list. Successful writes answer `data: null` ("返回data为null").

use serde_json::{json, Value};

use super::error::ApiError;
use super::wire::{Params, Reply};
use super::Ctx;

/// `empowerUser` of empower/create: a primary account's User ID (typed Long).
fn user_id(p: &Params) -> Result<&str, ApiError> {
    let user = p.required("empowerUser")?;
    if !user.bytes().all(|b| b.is_ascii_digit()) || user.len() > 20 {
        return Err(ApiError::field("parameter empowerUser: must be a User ID (digits)"));
    }
    Ok(user)
}

/// `empowerUser` naming a sub-account (createBySub: "子账号的名称") or any grantee (delete, list: "支持子账号ID").
fn user_name(p: &Params) -> Result<&str, ApiError> {
    let user = p.required("empowerUser")?;
    let ok = user.len() <= 64 && user.bytes().all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    if !ok {
        return Err(ApiError::field("parameter empowerUser: letters, digits and . _ @ - only, at most 64"));
    }
    Ok(user)
}

fn relation(p: &Params) -> Result<u8, ApiError> {
    Ok(p.required_enum("relation", &[2, 4, 6])? as u8)
}

fn grant(ctx: &Ctx<'_>, p: &Params, user: &str, sub_account: bool) -> Result<Reply, ApiError> {
    // instanceId is required by every empower route, with no namespace exception.
    let instance_id = p.required("instanceId")?;
    let topic = p.required("topic")?;
    let relation = relation(p)?;
    let mut model = ctx.state.store.rocketmq.write();
    model.grant(ctx.account, ctx.region, instance_id, topic, user, sub_account, relation)?;
    Ok(Reply::data(Value::Null))
}

pub fn create(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let user = user_id(p)?;
    grant(ctx, p, user, false)
}

pub fn create_by_sub(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let user = user_name(p)?;
    grant(ctx, p, user, true)
}

pub fn delete(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let instance_id = p.required("instanceId")?;
    let user = user_name(p)?;
    let topic = p.required("topic")?;
    ctx.state.store.rocketmq.write().revoke(ctx.account, ctx.region, instance_id, topic, user)?;
    Ok(Reply::data(Value::Null))
}

/// The topic's grants to `empowerUser` (the seed marks it required, so the list answers "is this topic
/// granted to that user, and how").
pub fn list(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let instance_id = p.required("instanceId")?;
    let user = user_name(p)?;
    let topic = p.required("topic")?;
    let model = ctx.state.store.rocketmq.read();
    let grants = model.grants(ctx.account, ctx.region, instance_id, topic)?;
    let items: Vec<Value> = grants
        .iter()
        .filter(|g| g.user == user)
        .map(|g| {
            json!({
                "topic": topic,
                "owner": ctx.account,
                "empowerUser": g.user,
                "subAccount": g.sub_account,
                "relation": g.relation,
                "createTime": g.created_ms,
            })
        })
        .collect();
    Ok(Reply::data(Value::from(items)))
}
