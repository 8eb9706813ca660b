//! Event sources: CreateEventSource, ListEventSources, UpdateEventSource, ShowDetailOfEventSource,
//! DeleteEventSource. Official sources (`HC.*`) live in the default channel and cannot be changed.

use crate::engine::eventbus::Millis;
use serde_json::{json, Value};

use super::error::EgError;
use super::wire::{check_description, check_detail_size, check_source_name, fuzzy, time, Body, SortKey};
use super::{Ctx, Reply};
use crate::engine::eventbus::{new_uuid, EventBusModel, EventSource};
use crate::state::AppState;

pub fn render(model: &EventBusModel, s: &EventSource) -> Value {
    let channel_name = model.channel(&s.project_id, &s.channel_id).map(|c| c.name.as_str()).unwrap_or("");
    let mut v = json!({
        "id": s.id,
        "name": s.name,
        "label": s.label,
        "description": s.description,
        "provider_type": s.provider_type,
        "event_types": s.event_types.iter().map(|t| json!({"name": t.name, "description": t.description})).collect::<Vec<_>>(),
        "created_time": time(s.created_ms),
        "updated_time": time(s.updated_ms),
        "channel_id": s.channel_id,
        "channel_name": channel_name,
        "type": s.source_type,
        "status": s.status,
        "error_info": {},
    });
    if let Some(detail) = &s.detail {
        // The seed's examples return the detail as a JSON-encoded string. They also echo the RabbitMQ
        // `password` (`"password":"changeme"`) in it, so the detail (secret_key/password included) is returned
        // as stored, unlike APIG secret headers and connection passwords, whose values the seed never shows.
        v["detail"] = Value::from(detail.to_string());
    }
    v
}

const MQ_REQUIRED: &[&str] = &["group", "topic", "access_key", "secret_key"];

/// The MQ connection detail: RocketMQ sources need the RocketMqDetail fields; RabbitMQ ones any object.
fn parse_detail(body: &Body, source_type: &str) -> Result<Option<Value>, EgError> {
    let detail = body.opt_object("detail")?;
    check_detail_size("detail", &detail)?;
    if let (Some(d), "ROCKETMQ") = (&detail, source_type) {
        let d = Body::from_value(d, "detail")?;
        for field in MQ_REQUIRED {
            d.req_str(field)
                .map_err(|_| EgError::Parameter(format!("detail.{field} is required for ROCKETMQ sources")))?;
        }
        for field in ["instance_id", "vpc_id", "subnet_id", "namesrv_address"] {
            d.opt_str(field).map_err(|_| EgError::Parameter(format!("detail.{field} must be a string")))?;
        }
        d.opt_bool("ssl_enable")?;
        d.opt_bool("enable_acl")?;
    }
    Ok(detail)
}

pub fn create(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let name = body.req_str("name")?;
    check_source_name(&name)?;
    let description = body.opt_str("description")?;
    check_description(&description)?;
    // The seed's table omits channel_id, its examples and the SDK send it: it is required.
    let channel_id = body.req_str("channel_id")?;
    let source_type =
        body.opt_enum("type", &["APPLICATION", "RABBITMQ", "ROCKETMQ"])?.unwrap_or_else(|| "APPLICATION".into());
    let detail = parse_detail(&body, &source_type)?;
    let now = Millis::now();
    let source = EventSource {
        id: new_uuid(),
        project_id: ctx.project.clone(),
        channel_id,
        label: name.clone(),
        name,
        description: description.unwrap_or_default(),
        provider_type: "CUSTOM".into(),
        source_type,
        detail,
        event_types: Vec::new(),
        status: "RUNNING".into(),
        created_ms: now,
        updated_ms: now,
    };
    let mut model = ctx.state.store.eventbus.write();
    let id = model.create_source(source)?.id.clone();
    let created = model.source(&ctx.project, &id)?;
    Ok(Reply::Ok(render(&model, created)))
}

pub fn list(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let paging = ctx.query.paging()?;
    let provider = ctx.query.opt_enum("provider_type", &["OFFICIAL", "CUSTOM", "PARTNER"])?;
    let channel_id = ctx.query.get("channel_id");
    let name = ctx.query.get("name");
    let fuzzy_name = ctx.query.get("fuzzy_name");
    let fuzzy_label = ctx.query.get("fuzzy_label");
    let model = ctx.state.store.eventbus.read();
    let items: Vec<&EventSource> = model
        .sources_of(&ctx.project)
        .filter(|s| provider.is_none_or(|p| s.provider_type == p))
        .filter(|s| channel_id.is_none_or(|c| s.channel_id == c))
        .filter(|s| name.is_none_or(|n| s.name == n))
        .filter(|s| fuzzy_name.is_none_or(|n| fuzzy(&s.name, n)))
        .filter(|s| fuzzy_label.is_none_or(|n| fuzzy(&s.label, n)))
        .collect();
    Ok(Reply::json(&paging.envelope(
        items,
        |s| SortKey { name: &s.name, created_ms: s.created_ms, updated_ms: s.updated_ms, id: &s.id },
        |s| render(&model, s),
    )))
}

pub fn show(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let model = ctx.state.store.eventbus.read();
    let source = model.source(&ctx.project, ctx.param(0))?;
    Ok(Reply::Ok(render(&model, source)))
}

pub fn update(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let description = body.opt_str("description")?;
    check_description(&description)?;
    let source_type = {
        let model = ctx.state.store.eventbus.read();
        let source = model.source(&ctx.project, ctx.param(0))?;
        if source.provider_type != "CUSTOM" {
            return Err(EgError::NotModifiable(format!("event source {} is an official source", source.name)));
        }
        source.source_type.clone()
    };
    let detail = parse_detail(&body, &source_type)?;
    let mut model = ctx.state.store.eventbus.write();
    let id = model
        .update_source(&ctx.project, ctx.param(0), |source| {
            if let Some(d) = description {
                source.description = d;
            }
            if detail.is_some() {
                source.detail = detail;
            }
            source.updated_ms = Millis::now();
            Ok(())
        })?
        .id
        .clone();
    let updated = model.source(&ctx.project, &id)?;
    Ok(Reply::Ok(render(&model, updated)))
}

pub fn delete(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    ctx.state.store.eventbus.write().delete_source(&ctx.project, ctx.param(0))?;
    Ok(Reply::NoContent)
}

/// A custom source by name for fixtures: created when missing.
pub fn ensure(state: &AppState, project: &str, channel_id: &str, name: &str, description: &str) -> Result<(), EgError> {
    check_source_name(name)?;
    let mut model = state.store.eventbus.write();
    if model.sources_of(project).any(|s| s.name == name) {
        return Ok(());
    }
    let now = Millis::now();
    model.create_source(EventSource {
        id: new_uuid(),
        project_id: project.to_string(),
        channel_id: channel_id.to_string(),
        name: name.to_string(),
        label: name.to_string(),
        description: description.to_string(),
        provider_type: "CUSTOM".into(),
        source_type: "APPLICATION".into(),
        detail: None,
        event_types: Vec::new(),
        status: "RUNNING".into(),
        created_ms: now,
        updated_ms: now,
    })?;
    Ok(())
}
