//! Service agencies (5.8 ListAgencies, CreateAgencies), function triggers (5.11 ListTriggers,
//! ListWorkflowTriggers: a subscription whose target is that FunctionGraph function or workflow is its
//! trigger) and event samples (5.15 ShowListOfEventSample: one sample CloudEvent per event type of the
//! project's official sources).

use serde::Deserialize;
use serde_json::{json, Value};

use super::error::EgError;
use super::subscriptions;
use super::wire::{fuzzy, time, SortKey};
use super::{Ctx, Reply};
use crate::engine::eventbus::{stable_uuid, Subscription};

/// The agency localyun records for each documented scene type (the seed names the scenes, not the
/// agencies; its example answer shows `EG_DELEGATE_FG_AGENCY`).
fn agency_name(scene: &str) -> String {
    format!("EG_{scene}_AGENCY")
}

pub fn list_agencies(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    // `type` is required and enumerated in the description; it was checked before this runs.
    let scene = ctx.query.req("type")?;
    let wanted = agency_name(scene);
    let model = ctx.state.store.eventbus.read();
    let agencies: Vec<&String> = model.agencies_of(&ctx.project).filter(|a| **a == wanted).collect();
    Ok(Reply::Ok(json!({"agencies": agencies})))
}

#[derive(Deserialize)]
struct CreateAgencies {
    #[serde(rename = "type")]
    scene: String,
}

pub fn create_agencies(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let input: CreateAgencies = ctx.input()?;
    let name = agency_name(&input.scene);
    ctx.state.store.eventbus.write().create_agency(&ctx.project, &name);
    Ok(Reply::Ok(json!({"agencies": [name]})))
}

fn triggers(ctx: &Ctx<'_>, is_trigger: impl Fn(&Value) -> bool) -> Result<Reply, EgError> {
    let paging = ctx.query.paging()?;
    let model = ctx.state.store.eventbus.read();
    let items: Vec<&Subscription> = model
        .subscriptions_of(&ctx.project)
        .filter(|s| s.targets.iter().any(|t| t.detail.as_ref().is_some_and(&is_trigger)))
        .collect();
    Ok(Reply::json(&paging.envelope(
        items,
        |s| SortKey { name: &s.name, created_ms: s.created_ms, updated_ms: s.updated_ms, id: &s.id },
        |s| subscriptions::render(&model, s),
    )))
}

/// Subscriptions with a FunctionGraph target (`detail.urn`) naming this function.
pub fn list_triggers(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let urn = ctx.param(0).to_string();
    triggers(ctx, |detail| detail.get("urn").and_then(Value::as_str) == Some(urn.as_str()))
}

/// Subscriptions with a FunctionGraph workflow target (`detail.workflow_id`) naming this workflow.
pub fn list_workflow_triggers(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let workflow = ctx.param(0).to_string();
    triggers(ctx, |detail| detail.get("workflow_id").and_then(Value::as_str) == Some(workflow.as_str()))
}

pub fn list_samples(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let paging = ctx.query.paging()?;
    let (name, type_name, source_id) =
        (ctx.query.get("name"), ctx.query.get("event_type_name"), ctx.query.get("event_source_id"));
    let model = ctx.state.store.eventbus.read();
    let mut rows = Vec::new();
    for source in model.sources_of(&ctx.project).filter(|s| s.provider_type == "OFFICIAL") {
        for event_type in &source.event_types {
            let id = stable_uuid(&format!("sample/{}/{}", source.name, event_type.name));
            let content = json!({
                "specversion": "1.0",
                "id": "5b9cf4f1-2f6b-4b5d-8d43-7d8a1b2c3d4e",
                "source": source.name,
                "type": event_type.name,
                "datacontenttype": "application/json",
                "time": "2021-12-09T09:00:00Z",
                "subject": format!("{}:sample", source.name),
                "data": {"description": event_type.description},
            })
            .to_string();
            rows.push((id, source, event_type, content));
        }
    }
    let items: Vec<_> = rows
        .into_iter()
        .filter(|(_, s, t, _)| {
            name.is_none_or(|n| fuzzy(&t.name, n))
                && type_name.is_none_or(|n| t.name == n)
                && source_id.is_none_or(|id| s.id == id)
        })
        .collect();
    Ok(Reply::json(&paging.envelope(
        items,
        |(id, s, t, _)| SortKey { name: &t.name, created_ms: s.created_ms, updated_ms: s.updated_ms, id },
        |(id, s, t, content)| {
            json!({
                "id": id,
                "name": t.name,
                "content": content,
                "event_type_id": stable_uuid(&format!("event-type/{}/{}", s.name, t.name)),
                "event_type_name": t.name,
                "event_source_id": s.id,
                "event_source_name": s.name,
                "created_time": time(s.created_ms),
                "updated_time": time(s.updated_ms),
                "deleted_time": "",
            })
        },
    )))
}

/// Refurbishobs body (seed 5.13.2, 表 5-457): all three are required.
#[derive(Deserialize)]
struct Refurbish {
    agency_name: String,
    id: String,
    transform: Value,
}

/// OBS bucket names: 3 to 63 lower-case letters, digits, `-` and `.`, starting and ending with a letter or
/// digit (OBS's naming rule; the seed only says "桶名称").
fn check_bucket(name: &str) -> Result<(), EgError> {
    let ok = (3..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        return Err(EgError::Parameter(format!(
            "bucket_name {name:?}: 3 to 63 lower-case letters, digits, '-' and '.', a letter or digit at both ends"
        )));
    }
    Ok(())
}

/// Refurbishobs: turns an OBS FunctionGraph trigger into an EG subscription and answers that subscription.
/// localyun runs no FunctionGraph, so the only FunctionGraph triggers it knows are the ones ListTriggers
/// shows: subscriptions with a FunctionGraph target (`detail.urn`). The trigger `id` must be one of those
/// whose source is OBS (`HC.OBS*`); its function targets take the given `transform` and `agency_name`,
/// and the subscription is answered in the seed's 表 5-459 shape. Any other id is 404 EG.00514001; an
/// agency the project never created (CreateAgencies) is 403 EG.00512003.
pub fn refurbish_obs(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let bucket = ctx.param(0).to_string();
    check_bucket(&bucket)?;
    let input: Refurbish = ctx.input()?;
    if input.agency_name.is_empty() || input.id.is_empty() {
        return Err(EgError::Parameter("agency_name and id are required".into()));
    }
    let transform = subscriptions::parse_transform("transform", &input.transform)?;
    let mut sub = {
        let model = ctx.state.store.eventbus.read();
        if !model.agencies_of(&ctx.project).any(|a| *a == input.agency_name) {
            return Err(EgError::AgencyRequired(format!(
                "agency {} does not exist: create it with CreateAgencies",
                input.agency_name
            )));
        }
        model
            .subscription(&ctx.project, &input.id)
            .ok()
            .filter(|s| s.sources.iter().any(|src| src.name.starts_with("HC.OBS")))
            .filter(|s| s.targets.iter().any(is_function))
            .cloned()
            .ok_or_else(|| EgError::NotFound(format!("OBS FunctionGraph trigger {} does not exist", input.id)))?
    };
    let now = crate::engine::eventbus::Millis::now();
    for target in sub.targets.iter_mut().filter(|t| is_function(t)) {
        target.transform = transform.clone();
        if let Some(Value::Object(detail)) = target.detail.as_mut() {
            detail.insert("agency_name".into(), Value::from(input.agency_name.clone()));
        }
        target.updated_ms = now;
    }
    sub.updated_ms = now;
    let mut model = ctx.state.store.eventbus.write();
    let id = model.replace_subscription(sub)?.id.clone();
    let sub = model.subscription(&ctx.project, &id)?;
    Ok(Reply::Ok(subscriptions::render(&model, sub)))
}

fn is_function(t: &crate::engine::eventbus::SubscriptionTarget) -> bool {
    t.detail.as_ref().is_some_and(|d| d.get("urn").is_some() || d.get("workflow_id").is_some())
}
