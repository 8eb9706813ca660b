//! Event schemas (seed 5.6): DiscoverEventSchemaFromData, Create/List/Update/ShowDetailOf/DeleteEventSchema
//! and Create/List/ShowDetailOf/DeleteEventSchemaVersion. Parameters, required-ness and enumerations are
//! checked from the description before these handlers run; the typed inputs below read what it declared.

use serde::Deserialize;
use serde_json::{json, Value};

use super::error::EgError;
use super::wire::{fuzzy, time, SortKey};
use super::{Ctx, Reply};
use crate::engine::eventbus::{infer_schema, new_uuid, EventSchema, Millis, SchemaVersion};

/// The format a schema gets when the request names none (the SDK's only enumerated value).
const DEFAULT_FORMAT: &str = "JSON_SCHEMA_DRAFT_6";

fn input<T: serde::de::DeserializeOwned>(ctx: &Ctx<'_>) -> Result<T, EgError> {
    let bytes: &[u8] = if ctx.req.body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &ctx.req.body };
    serde_json::from_slice(bytes).map_err(|e| EgError::Parameter(format!("request body: {e}")))
}

/// The definition must be a JSON document (an object: a JSON Schema).
fn check_definition(definition: &str) -> Result<(), EgError> {
    match serde_json::from_str::<Value>(definition) {
        Ok(Value::Object(_)) => Ok(()),
        _ => Err(EgError::Parameter("definition must be a JSON Schema document (a JSON object as text)".into())),
    }
}

/// CustomizeSchemaItemInfo (list rows).
fn render_item(s: &EventSchema) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "compatibility": s.compatibility,
        "provider_type": s.provider_type,
        "format": s.format,
        "number_of_versions": s.versions.len(),
        "event_type_id": "",
        "event_type_name": "",
        "event_source_id": "",
        "event_source_name": "",
        "event_source_label": "",
        "created_time": time(s.created_ms),
        "updated_time": time(s.updated_ms),
    })
}

/// The detail answer: the item fields plus the current version and its definition.
fn render_detail(s: &EventSchema) -> Value {
    let current = s.current();
    json!({
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "compatibility": s.compatibility,
        "provider_type": s.provider_type,
        "format": s.format,
        "number_of_versions": s.versions.len(),
        "created_time": time(s.created_ms),
        "updated_time": time(s.updated_ms),
        "version": current.map_or(0, |v| v.version),
        "definition": current.map_or("", |v| v.definition.as_str()),
    })
}

fn render_version(schema_id: &str, v: &SchemaVersion) -> Value {
    json!({
        "id": v.id,
        "schema_id": schema_id,
        "version": v.version,
        "format": v.format,
        "created_time": time(v.created_ms),
        "updated_time": time(v.updated_ms),
        "definition": v.definition,
    })
}

/// DiscoverEventSchemaFromData: the seed types the body as one object "通过事件数据发现事件模型的请求"; the SDK
/// sends `{"format": "JSON_SCHEMA_DRAFT_6", "event": "<event JSON text>"}`. Both are taken: `event` (text or
/// object) when present, else the whole body is the sample. The answer carries the SDK's `definition` (the
/// inferred JSON Schema as text) and the seed's `{total, size, items}` with the inferred model as one item.
pub fn discover(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let format = body.opt_enum("format", &[DEFAULT_FORMAT])?.unwrap_or_else(|| DEFAULT_FORMAT.to_string());
    let sample = match body.get("event") {
        Some(Value::String(text)) => serde_json::from_str::<Value>(text)
            .map_err(|e| EgError::Parameter(format!("event is not JSON event data: {e}")))?,
        Some(value) => value.clone(),
        None if body.0.is_empty() => return Err(EgError::Parameter("event is required".into())),
        None => Value::Object(body.0.clone()),
    };
    let schema = infer_schema(&sample);
    let definition = schema.to_string();
    let now = time(Millis::now());
    let name = sample.get("type").and_then(Value::as_str).unwrap_or("discovered").to_string();
    Ok(Reply::Ok(json!({
        "definition": definition,
        "total": 1,
        "size": 1,
        "items": [{
            "id": "",
            "name": name,
            "description": "discovered from event data",
            "compatibility": "NONE",
            "provider_type": "CUSTOM",
            "format": format,
            "number_of_versions": 0,
            "event_type_id": "",
            "event_type_name": sample.get("type").and_then(Value::as_str).unwrap_or(""),
            "event_source_id": "",
            "event_source_name": sample.get("source").and_then(Value::as_str).unwrap_or(""),
            "event_source_label": "",
            "created_time": now,
            "updated_time": now,
            "definition": schema,
        }],
    })))
}

#[derive(Deserialize)]
struct CreateSchema {
    name: String,
    #[serde(default)]
    description: Option<String>,
    compatibility: String,
    #[serde(default)]
    format: Option<String>,
    definition: String,
}

pub fn create(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let input: CreateSchema = input(ctx)?;
    check_definition(&input.definition)?;
    let description = input.description.unwrap_or_default();
    super::wire::check_description(&Some(description.clone()))?;
    let now = Millis::now();
    let format = input.format.unwrap_or_else(|| DEFAULT_FORMAT.to_string());
    let schema = EventSchema {
        id: new_uuid(),
        project_id: ctx.project.clone(),
        name: input.name,
        description,
        compatibility: input.compatibility,
        format: format.clone(),
        provider_type: "CUSTOM".into(),
        versions: vec![SchemaVersion {
            id: new_uuid(),
            version: 1,
            format,
            definition: input.definition,
            created_ms: now,
            updated_ms: now,
        }],
        next_version: 2,
        created_ms: now,
        updated_ms: now,
    };
    let mut model = ctx.state.store.eventbus.write();
    Ok(Reply::Ok(render_detail(model.create_schema(schema)?)))
}

pub fn list(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let paging = ctx.query.paging()?;
    let provider = ctx.query.opt_enum("provider_type", &["OFFICIAL", "CUSTOM"])?;
    let (name, fuzzy_name) = (ctx.query.get("name"), ctx.query.get("fuzzy_name"));
    let model = ctx.state.store.eventbus.read();
    let items: Vec<&EventSchema> = model
        .schemas_of(&ctx.project)
        .filter(|s| provider.is_none_or(|p| s.provider_type == p))
        .filter(|s| name.is_none_or(|n| s.name == n))
        .filter(|s| fuzzy_name.is_none_or(|n| fuzzy(&s.name, n)))
        .collect();
    Ok(Reply::json(&paging.envelope(
        items,
        |s| SortKey { name: &s.name, created_ms: s.created_ms, updated_ms: s.updated_ms, id: &s.id },
        |s| render_item(s),
    )))
}

#[derive(Deserialize)]
struct UpdateSchema {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    compatibility: Option<String>,
}

pub fn update(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let input: UpdateSchema = input(ctx)?;
    super::wire::check_description(&input.description)?;
    let mut model = ctx.state.store.eventbus.write();
    let schema =
        model.update_schema(&ctx.project, ctx.param(0), input.description, input.compatibility, Millis::now())?;
    Ok(Reply::Ok(render_detail(schema)))
}

pub fn show(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let model = ctx.state.store.eventbus.read();
    Ok(Reply::Ok(render_detail(model.schema(&ctx.project, ctx.param(0))?)))
}

pub fn delete(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    ctx.state.store.eventbus.write().delete_schema(&ctx.project, ctx.param(0))?;
    Ok(Reply::NoContent)
}

#[derive(Deserialize)]
struct CreateVersion {
    #[serde(default)]
    definition: Option<String>,
}

/// A new version; without a definition it repeats the current one (the seed marks it optional).
pub fn create_version(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let input: CreateVersion = input(ctx)?;
    let schema_id = ctx.param(0).to_string();
    let definition = match input.definition {
        Some(d) => {
            check_definition(&d)?;
            d
        }
        None => {
            let model = ctx.state.store.eventbus.read();
            let schema = model.schema(&ctx.project, &schema_id)?;
            schema.current().map(|v| v.definition.clone()).unwrap_or_default()
        }
    };
    let mut model = ctx.state.store.eventbus.write();
    let version = model.add_schema_version(&ctx.project, &schema_id, new_uuid(), definition, Millis::now())?;
    Ok(Reply::Ok(render_version(&schema_id, &version)))
}

fn version_number(text: &str) -> Result<u32, EgError> {
    text.parse::<u32>().map_err(|_| EgError::Parameter(format!("version must be a positive integer, not {text:?}")))
}

pub fn list_versions(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let paging = ctx.query.paging()?;
    let only = ctx.query.get("version").map(version_number).transpose()?;
    let model = ctx.state.store.eventbus.read();
    let schema = model.schema(&ctx.project, ctx.param(0))?;
    let items: Vec<&SchemaVersion> = schema.versions.iter().filter(|v| only.is_none_or(|n| v.version == n)).collect();
    Ok(Reply::json(&paging.envelope(
        items,
        |v| SortKey { name: &v.id, created_ms: v.created_ms, updated_ms: v.updated_ms, id: &v.id },
        |v| {
            json!({
                "id": v.id,
                "version": v.version,
                "created_time": time(v.created_ms),
                "updated_time": time(v.updated_ms),
            })
        },
    )))
}

pub fn show_version(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let number = version_number(ctx.param(1))?;
    let model = ctx.state.store.eventbus.read();
    let schema = model.schema(&ctx.project, ctx.param(0))?;
    let version = schema
        .version(number)
        .ok_or_else(|| EgError::NotFound(format!("event schema {} has no version {number}", schema.name)))?;
    Ok(Reply::Ok(render_version(&schema.id, version)))
}

pub fn delete_version(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let number = version_number(ctx.param(1))?;
    ctx.state.store.eventbus.write().delete_schema_version(&ctx.project, ctx.param(0), number, Millis::now())?;
    Ok(Reply::NoContent)
}
