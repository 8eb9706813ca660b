//! Channels: CreateChannel, ListChannels, UpdateChannel, ShowDetailOfChannel, DeleteChannel. Every project
//! has the system channel `default` (OFFICIAL), which cannot be changed or deleted.

use crate::engine::eventbus::Millis;
use serde::Serialize;

use super::error::EgError;
use super::wire::{check_description, check_name, fuzzy, Body, SortKey, Time};
use super::{Ctx, Reply};
use crate::engine::eventbus::{new_uuid, Channel, DEFAULT_CHANNEL_NAME};
use crate::state::AppState;

/// A channel as the API shows it (`ChannelItem`), borrowing from the model.
#[derive(Serialize)]
pub struct ChannelView<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    provider_type: &'a str,
    created_time: Time,
    updated_time: Time,
    enterprise_project_id: &'a str,
}

pub fn render(c: &Channel) -> ChannelView<'_> {
    ChannelView {
        id: &c.id,
        name: &c.name,
        description: &c.description,
        provider_type: &c.provider_type,
        created_time: Time(c.created_ms),
        updated_time: Time(c.updated_ms),
        enterprise_project_id: &c.enterprise_project_id,
    }
}

fn enterprise_project(ctx: &Ctx<'_>, body: &Body) -> Result<Option<String>, EgError> {
    Ok(body.opt_str("enterprise_project_id")?.or_else(|| ctx.query.get("enterprise_project_id").map(str::to_string)))
}

fn check_channel_name(name: &str) -> Result<(), EgError> {
    check_name("name", name)?;
    if name == DEFAULT_CHANNEL_NAME {
        return Err(EgError::Parameter("name: a channel cannot be called default".into()));
    }
    Ok(())
}

pub fn create(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let name = body.req_str("name")?;
    check_channel_name(&name)?;
    let description = body.opt_str("description")?;
    check_description(&description)?;
    // INTERNAL channels are created like custom ones; INTERNAL is not a response value.
    body.opt_enum("provider_type", &["CUSTOM", "INTERNAL"])?;
    let policy = body.opt_object("policy")?;
    let now = Millis::now();
    let channel = Channel {
        id: new_uuid(),
        project_id: ctx.project.clone(),
        name,
        description: description.unwrap_or_default(),
        provider_type: "CUSTOM".into(),
        enterprise_project_id: enterprise_project(ctx, &body)?.unwrap_or_else(|| "0".into()),
        policy,
        created_ms: now,
        updated_ms: now,
    };
    let mut model = ctx.state.store.eventbus.write();
    Ok(Reply::json(&render(model.create_channel(channel)?)))
}

pub fn list(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let paging = ctx.query.paging()?;
    let provider = ctx.query.opt_enum("provider_type", &["OFFICIAL", "CUSTOM", "PARTNER"])?;
    let name = ctx.query.get("name");
    let fuzzy_name = ctx.query.get("fuzzy_name");
    let eps = ctx.query.get("enterprise_project_id");
    let model = ctx.state.store.eventbus.read();
    let items: Vec<&Channel> = model
        .channels_of(&ctx.project)
        .filter(|c| provider.is_none_or(|p| c.provider_type == p))
        .filter(|c| name.is_none_or(|n| c.name == n))
        .filter(|c| fuzzy_name.is_none_or(|n| fuzzy(&c.name, n)))
        .filter(|c| eps.is_none_or(|e| c.enterprise_project_id == e))
        .collect();
    Ok(Reply::json(&paging.envelope(
        items,
        |c| SortKey { name: &c.name, created_ms: c.created_ms, updated_ms: c.updated_ms, id: &c.id },
        |c| render(c),
    )))
}

pub fn show(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let model = ctx.state.store.eventbus.read();
    Ok(Reply::json(&render(model.channel(&ctx.project, ctx.param(0))?)))
}

pub fn update(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let description = body.opt_str("description")?;
    check_description(&description)?;
    let policy = body.opt_object("policy")?;
    let eps = enterprise_project(ctx, &body)?;
    let mut model = ctx.state.store.eventbus.write();
    let channel = model.update_channel(&ctx.project, ctx.param(0), |channel| {
        if let Some(d) = description {
            channel.description = d;
        }
        if let Some(p) = policy {
            channel.policy = Some(p);
        }
        if let Some(e) = eps {
            channel.enterprise_project_id = e;
        }
        channel.updated_ms = Millis::now();
        Ok(())
    })?;
    Ok(Reply::json(&render(channel)))
}

pub fn delete(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    ctx.state.store.eventbus.write().delete_channel(&ctx.project, ctx.param(0))?;
    Ok(Reply::NoContent)
}

/// A custom channel by name for fixtures: created when missing; returns its id. `default` is the system one.
pub fn ensure(state: &AppState, project: &str, name: &str, description: &str) -> Result<String, EgError> {
    let mut model = state.store.eventbus.write();
    if let Some(c) = model.channels_of(project).find(|c| c.name == name) {
        return Ok(c.id.clone());
    }
    check_channel_name(name)?;
    let now = Millis::now();
    let channel = Channel {
        id: new_uuid(),
        project_id: project.to_string(),
        name: name.to_string(),
        description: description.to_string(),
        provider_type: "CUSTOM".into(),
        enterprise_project_id: "0".into(),
        policy: None,
        created_ms: now,
        updated_ms: now,
    };
    Ok(model.create_channel(channel)?.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::huawei::eventgrid::wire::time;
    use serde_json::json;

    /// The typed view writes the bytes the former `json!` tree wrote, field order included.
    #[test]
    fn the_view_is_the_former_tree() {
        let c = Channel {
            id: "id-1".into(),
            project_id: "p".into(),
            name: "n\u{e9}\"".into(),
            description: "d\n".into(),
            provider_type: "CUSTOM".into(),
            enterprise_project_id: "0".into(),
            policy: None,
            created_ms: Millis(1_638_997_200_123),
            updated_ms: Millis(-1),
        };
        let former = json!({
            "id": c.id,
            "name": c.name,
            "description": c.description,
            "provider_type": c.provider_type,
            "created_time": time(c.created_ms),
            "updated_time": time(c.updated_ms),
            "enterprise_project_id": c.enterprise_project_id,
        });
        assert_eq!(serde_json::to_string(&render(&c)).unwrap(), former.to_string());
    }
}
