//! Authorisation routes: empower/create (to another primary account), createBySub (to a sub-account),
//! delete, list. Successful writes answer `data: null` ("返回data为null").

use serde::Deserialize;
use serde_json::{json, Value};

use super::error::ApiError;
use super::input::parse;
use super::topics::one_of;
use super::wire::{Params, Reply};
use super::Ctx;

/// `empowerUser` of empower/create: a primary account's User ID (typed Long).
fn user_id(user: &str) -> Result<&str, ApiError> {
    if !user.bytes().all(|b| b.is_ascii_digit()) || user.len() > 20 {
        return Err(ApiError::field("parameter empowerUser: must be a User ID (digits)"));
    }
    Ok(user)
}

/// `empowerUser` naming a sub-account (createBySub: "子账号的名称") or any grantee (delete, list: "支持子账号ID").
fn user_name(user: &str) -> Result<&str, ApiError> {
    let ok = user.len() <= 64 && user.bytes().all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    if !ok {
        return Err(ApiError::field("parameter empowerUser: letters, digits and . _ @ - only, at most 64"));
    }
    Ok(user)
}

/// empower/create and createBySub. instanceId is required by every empower route, with no namespace
/// exception.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Grant {
    empower_user: String,
    instance_id: String,
    topic: String,
    relation: i64,
}

fn grant(ctx: &Ctx<'_>, input: &Grant, user: &str, sub_account: bool) -> Result<Reply, ApiError> {
    let relation = one_of("relation", input.relation, &[2, 4, 6])? as u8;
    ctx.model.grant(ctx.account, ctx.region, &input.instance_id, &input.topic, user, sub_account, relation)?;
    Ok(Reply::data(Value::Null))
}

pub fn create(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: Grant = parse(p)?;
    grant(ctx, &input, user_id(&input.empower_user)?, false)
}

pub fn create_by_sub(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: Grant = parse(p)?;
    grant(ctx, &input, user_name(&input.empower_user)?, true)
}

/// empower/delete and list.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GrantOf {
    instance_id: String,
    empower_user: String,
    topic: String,
}

pub fn delete(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: GrantOf = parse(p)?;
    let user = user_name(&input.empower_user)?;
    ctx.model.revoke(ctx.account, ctx.region, &input.instance_id, &input.topic, user)?;
    Ok(Reply::data(Value::Null))
}

/// The topic's grants to `empowerUser` (the seed marks it required, so the list answers "is this topic
/// granted to that user, and how").
pub fn list(ctx: &Ctx<'_>, p: &Params) -> Result<Reply, ApiError> {
    let input: GrantOf = parse(p)?;
    let user = user_name(&input.empower_user)?;
    let grants = ctx.model.grants(ctx.account, ctx.region, &input.instance_id, &input.topic)?;
    let items: Vec<Value> = grants
        .iter()
        .filter(|g| g.user == user)
        .map(|g| {
            json!({
                "topic": input.topic,
                "owner": ctx.account,
                "empowerUser": g.user,
                "subAccount": g.sub_account,
                "relation": g.relation,
                "createTime": g.created_ms.as_ms(),
            })
        })
        .collect();
    Ok(Reply::data(Value::from(items)))
}
