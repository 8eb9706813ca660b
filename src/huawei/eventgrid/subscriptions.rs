//! Subscriptions: CreateSubscription, ListSubscriptions, UpdateSubscription, ShowDetailOfSubscription,
//! DeleteSubscription, UpdateSubscriptionSource, Create/Update/Show/DeleteSubscriptionTarget and
//! ExecuteSubscriptionOperation. A subscription has exactly one source (with its filter) and 1..N targets
//! (each with its transform); source and target ids are globally unique.

use crate::engine::eventbus::Millis;
use serde_json::{json, Map, Value};

use super::error::EgError;
use super::wire::{check_description, check_detail_size, check_name, check_part_id, fuzzy, time, Body, SortKey};
use super::{Ctx, Reply};
use crate::engine::eventbus::{
    filter, new_uuid, EventBusModel, Subscription, SubscriptionSource, SubscriptionTarget, Transform, TransformKind,
};
use crate::state::AppState;

/// Most retries a target may ask for (not documented; the seed's examples use 16).
pub const MAX_RETRY_TIMES: u32 = 100;
/// ExecuteSubscriptionOperation: "单次批量操作最多支持10个订阅".
pub const MAX_OPERATION_IDS: usize = 10;

/// What every answer shows in place of an APIG header value marked `is_value_secret`. The seed's examples only
/// show non-secret headers, so the mask is not documented; `******` is what the console shows for secrets.
pub const SECRET_MASK: &str = "******";

fn opt_or_empty(v: &Option<Value>) -> Value {
    v.clone().unwrap_or_else(|| json!({}))
}

fn is_value_secret(header: &Value) -> bool {
    header.get("is_value_secret").and_then(Value::as_bool) == Some(true)
}

fn header_parameters_mut(apigw_detail: &mut Value) -> Option<&mut Vec<Value>> {
    apigw_detail.pointer_mut("/invocation_http_parameters/header_parameters").and_then(Value::as_array_mut)
}

/// `apigw_detail` as answers show it: secret header values replaced by [`SECRET_MASK`]. (The stored value is
/// what delivery sends; it never leaves the server through the API.)
fn masked_apigw_detail(detail: &Option<Value>) -> Value {
    let mut v = opt_or_empty(detail);
    for header in header_parameters_mut(&mut v).into_iter().flatten() {
        if !is_value_secret(header) {
            continue;
        }
        if let Some(map) = header.as_object_mut() {
            if map.contains_key("value") {
                map.insert("value".into(), Value::from(SECRET_MASK));
            }
        }
    }
    v
}

/// A client that reads a target and sends it back sends [`SECRET_MASK`] for each secret header: such a header
/// keeps the value stored under the same key in `keep` (a new value replaces it). The mask for a header that
/// has no stored secret is refused rather than stored, since it would be delivered literally.
fn restore_secret_headers(apigw_detail: &mut Value, keep: Option<&SubscriptionTarget>) -> Result<(), EgError> {
    let stored: Vec<&Value> = keep
        .and_then(|k| k.apigw_detail.as_ref())
        .and_then(|d| d.pointer("/invocation_http_parameters/header_parameters"))
        .and_then(Value::as_array)
        .map(|list| list.iter().filter(|h| is_value_secret(h)).collect())
        .unwrap_or_default();
    for header in header_parameters_mut(apigw_detail).into_iter().flatten() {
        if !is_value_secret(header) || header.get("value").and_then(Value::as_str) != Some(SECRET_MASK) {
            continue;
        }
        let key = header.get("key").and_then(Value::as_str).unwrap_or("");
        let kept = stored
            .iter()
            .find(|h| h.get("key").and_then(Value::as_str).unwrap_or("") == key)
            .and_then(|h| h.get("value"))
            .cloned()
            .ok_or_else(|| {
                EgError::Parameter(format!(
                    "header_parameters[{key}].value: {SECRET_MASK} stands for a stored secret, and this target has none for that key"
                ))
            })?;
        if let Some(map) = header.as_object_mut() {
            map.insert("value".into(), kept);
        }
    }
    Ok(())
}

pub fn render_transform(t: &Transform) -> Value {
    let mut v = json!({"type": t.kind.as_str()});
    if let Some(value) = &t.value {
        v["value"] = Value::from(value.as_str());
    }
    if let Some(template) = &t.template {
        v["template"] = Value::from(template.as_str());
    }
    v
}

pub fn render_source(s: &SubscriptionSource) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "provider_type": s.provider_type,
        "detail": opt_or_empty(&s.detail),
        "filter": s.filter,
        "created_time": time(s.created_ms),
        "updated_time": time(s.updated_ms),
    })
}

pub fn render_target(t: &SubscriptionTarget) -> Value {
    let mut v = json!({
        "id": t.id,
        "name": t.name,
        "provider_type": t.provider_type,
        "detail": opt_or_empty(&t.detail),
        "kafka_detail": opt_or_empty(&t.kafka_detail),
        "smn_detail": opt_or_empty(&t.smn_detail),
        "eg_detail": opt_or_empty(&t.eg_detail),
        "apigw_detail": masked_apigw_detail(&t.apigw_detail),
        "retry_times": t.retry_times.unwrap_or(0),
        "transform": render_transform(&t.transform),
        "dead_letter_queue": opt_or_empty(&t.dead_letter_queue),
        "created_time": time(t.created_ms),
        "updated_time": time(t.updated_ms),
    });
    if let Some(c) = &t.connection_id {
        v["connection_id"] = Value::from(c.as_str());
    }
    if let Some(r) = &t.rocketmq_detail {
        v["rocketmq_detail"] = r.clone();
    }
    v
}

pub fn render(model: &EventBusModel, s: &Subscription) -> Value {
    let channel_name = model.channel(&s.project_id, &s.channel_id).map(|c| c.name.as_str()).unwrap_or("");
    json!({
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "type": "EVENT",
        "status": s.status,
        "channel_id": s.channel_id,
        "channel_name": channel_name,
        "used": [],
        "sources": s.sources.iter().map(render_source).collect::<Vec<_>>(),
        "targets": s.targets.iter().map(render_target).collect::<Vec<_>>(),
        "created_time": time(s.created_ms),
        "updated_time": time(s.updated_ms),
    })
}

/// A `SubscriptionSource` from the wire; `keep` is the stored one it replaces (its creation time survives).
fn parse_source(
    value: &Value,
    forced_id: Option<&str>,
    keep: Option<&SubscriptionSource>,
    now: Millis,
) -> Result<SubscriptionSource, EgError> {
    let body = Body::from_value(value, "sources[]")?;
    let id = match forced_id {
        Some(id) => id.to_string(),
        None => match body.opt_str("id")? {
            Some(id) => {
                check_part_id("sources[].id", &id)?;
                id
            }
            None => new_uuid(),
        },
    };
    let name = body.req_str("name")?;
    let provider_type = body
        .opt_enum("provider_type", &["CUSTOM", "OFFICIAL"])?
        .ok_or_else(|| EgError::Parameter("provider_type is required".into()))?;
    let detail = body.opt_object("detail")?;
    check_detail_size("detail", &detail)?;
    let filter = body.get("filter").cloned().ok_or_else(|| EgError::Parameter("filter is required".into()))?;
    filter::validate(&filter).map_err(EgError::Filter)?;
    Ok(SubscriptionSource {
        id,
        name,
        provider_type,
        detail,
        filter,
        created_ms: keep.map_or(now, |k| k.created_ms),
        updated_ms: now,
    })
}

fn check_url(field: &str, url: &str) -> Result<(), EgError> {
    let ok = reqwest::Url::parse(url)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()));
    if !ok {
        return Err(EgError::TargetAddress(format!("{field} {url:?} is not an http or https URL")));
    }
    Ok(())
}

fn require(obj: &Body, what: &str, fields: &[&str]) -> Result<(), EgError> {
    for field in fields {
        obj.req_str(field).map_err(|_| EgError::Parameter(format!("{what}.{field} is required")))?;
    }
    Ok(())
}

/// A transform-like rule (`keyTransform`, `subject_transform`): `type` in `kinds`, `value` unless NONE,
/// `template` for VARIABLE.
fn check_rule(what: &str, rule: &Value, kinds: &[&str]) -> Result<(), EgError> {
    let rule = Body::from_value(rule, what)?;
    let kind = rule.opt_enum("type", kinds)?.ok_or_else(|| EgError::Parameter(format!("{what}.type is required")))?;
    if kind != "NONE" {
        rule.req_str("value").map_err(|_| EgError::Parameter(format!("{what}.value is required for {kind}")))?;
    }
    if kind == "VARIABLE" {
        rule.req_str("template")
            .map_err(|_| EgError::Parameter(format!("{what}.template is required for VARIABLE")))?;
    }
    Ok(())
}

pub(super) fn parse_transform(what: &str, value: &Value) -> Result<Transform, EgError> {
    let rule = Body::from_value(value, what)?;
    let kind = rule
        .opt_enum("type", &["ORIGINAL", "CONSTANT", "VARIABLE"])?
        .and_then(|k| TransformKind::parse(&k))
        .ok_or_else(|| EgError::Parameter(format!("{what}.type is required")))?;
    let value = rule.opt_str("value")?;
    let template = rule.opt_str("template")?;
    Transform::new(kind, value, template).map_err(|e| EgError::Parameter(format!("{what}: {e}")))
}

/// A `SubscriptionTarget` from the wire, with every documented constraint.
fn parse_target(
    value: &Value,
    forced_id: Option<&str>,
    keep: Option<&SubscriptionTarget>,
    now: Millis,
) -> Result<SubscriptionTarget, EgError> {
    let body = Body::from_value(value, "targets[]")?;
    let id = match forced_id {
        Some(id) => id.to_string(),
        None => match body.opt_str("id")? {
            Some(id) => {
                check_part_id("targets[].id", &id)?;
                id
            }
            None => new_uuid(),
        },
    };
    let name = body.req_str("name")?;
    let provider_type = body
        .opt_enum("provider_type", &["CUSTOM", "OFFICIAL"])?
        .ok_or_else(|| EgError::Parameter("provider_type is required".into()))?;
    let connection_id = body.opt_str("connection_id")?.filter(|c| !c.is_empty());
    let mut details = Vec::new();
    for field in
        ["detail", "kafka_detail", "smn_detail", "eg_detail", "apigw_detail", "rocketmq_detail", "dead_letter_queue"]
    {
        // An empty object is "not set" (the seed's responses show unset details as `{}`, so a client that
        // sends a target back unchanged sends those).
        let v = body.opt_object(field)?.filter(|o| o.as_object().is_some_and(|m| !m.is_empty()));
        check_detail_size(field, &v)?;
        details.push(v);
    }
    let [detail, kafka_detail, smn_detail, eg_detail, mut apigw_detail, rocketmq_detail, dead_letter_queue]: [Option<
        Value,
    >; 7] = details.try_into().map_err(|_| EgError::Internal("detail fields".into()))?;

    if let Some(d) = &detail {
        let d = Body::from_value(d, "detail")?;
        if let Some(url) = d.opt_str("url")? {
            check_url("detail.url", &url)?;
        }
        if d.has("workflow_id") {
            require(&d, "detail", &["workflow_id", "agency_name"])?;
        } else if d.has("urn") && name != "WEBHOOK" {
            require(&d, "detail", &["urn", "agency_name"])?;
            d.opt_enum("invoke_type", &["SYNC", "ASYNC"])?
                .ok_or_else(|| EgError::Parameter("detail.invoke_type is required".into()))?;
        }
    }
    let is_webhook = name == "WEBHOOK";
    if is_webhook && detail.as_ref().and_then(|d| d.get("url")).is_none() {
        return Err(EgError::TargetAddress("detail.url is required for WEBHOOK targets".into()));
    }
    if let Some(k) = &kafka_detail {
        let k = Body::from_value(k, "kafka_detail")?;
        require(&k, "kafka_detail", &["topic"])?;
        if let Some(rule) = k.get("keyTransform") {
            check_rule("kafka_detail.keyTransform", rule, &["NONE", "VARIABLE", "CONSTANT"])?;
        }
    }
    if let Some(s) = &smn_detail {
        let s = Body::from_value(s, "smn_detail")?;
        require(&s, "smn_detail", &["urn", "agency_name"])?;
        if let Some(rule) = s.get("subject_transform") {
            check_rule("smn_detail.subject_transform", rule, &["VARIABLE", "CONSTANT"])?;
        }
    }
    if let Some(e) = &eg_detail {
        let e = Body::from_value(e, "eg_detail")?;
        require(&e, "eg_detail", &["target_project_id", "target_channel_id", "target_region", "agency_name"])?;
        e.opt_bool("cross_region")?;
    }
    if let Some(a) = &apigw_detail {
        let a = Body::from_value(a, "apigw_detail")?;
        check_url(
            "apigw_detail.url",
            &a.req_str("url").map_err(|_| EgError::TargetAddress("apigw_detail.url is required".into()))?,
        )?;
        if let Some(params) = a.get("invocation_http_parameters") {
            let params = Body::from_value(params, "apigw_detail.invocation_http_parameters")?;
            for h in params.opt_array("header_parameters")?.into_iter().flatten() {
                let h = Body::from_value(h, "header_parameters[]")?;
                h.opt_str("key")?;
                h.opt_str("value")?;
                h.opt_bool("is_value_secret")?;
            }
        }
    }
    if let Some(a) = &mut apigw_detail {
        restore_secret_headers(a, keep)?;
    }
    if let Some(r) = &rocketmq_detail {
        let r = Body::from_value(r, "rocketmq_detail")?;
        r.opt_str("topic")?;
        if let Some(rule) = r.get("key_transform") {
            parse_transform("rocketmq_detail.key_transform", rule)?;
        }
    }
    if let Some(q) = &dead_letter_queue {
        let q = Body::from_value(q, "dead_letter_queue")?;
        q.opt_enum("type", &["KAFKA"])?
            .ok_or_else(|| EgError::Parameter("dead_letter_queue.type is required".into()))?;
        require(&q, "dead_letter_queue", &["instance_id", "connection_id", "topic"])?;
    }
    let retry_times = body.opt_u32("retry_times")?;
    if retry_times.is_some_and(|r| r > MAX_RETRY_TIMES) {
        return Err(EgError::Parameter(format!("retry_times: at most {MAX_RETRY_TIMES}")));
    }
    let transform = parse_transform(
        "transform",
        body.get("transform").ok_or_else(|| EgError::Parameter("transform is required".into()))?,
    )?;
    Ok(SubscriptionTarget {
        id,
        name,
        provider_type,
        connection_id,
        detail,
        kafka_detail,
        smn_detail,
        eg_detail,
        apigw_detail,
        rocketmq_detail,
        dead_letter_queue,
        retry_times,
        transform,
        created_ms: keep.map_or(now, |k| k.created_ms),
        updated_ms: now,
    })
}

/// `sources` rewritten in full: exactly one, matched to the stored ones by id.
fn parse_sources(items: &[Value], old: &[SubscriptionSource], now: Millis) -> Result<Vec<SubscriptionSource>, EgError> {
    if items.len() != 1 {
        return Err(EgError::Parameter("sources: exactly one event source can be subscribed".into()));
    }
    items
        .iter()
        .map(|v| {
            let keep = v.get("id").and_then(Value::as_str).and_then(|id| old.iter().find(|s| s.id == id));
            parse_source(v, None, keep, now)
        })
        .collect()
}

fn parse_targets(items: &[Value], old: &[SubscriptionTarget], now: Millis) -> Result<Vec<SubscriptionTarget>, EgError> {
    if items.is_empty() {
        return Err(EgError::Parameter("targets: at least one target is required".into()));
    }
    items
        .iter()
        .map(|v| {
            let keep = v.get("id").and_then(Value::as_str).and_then(|id| old.iter().find(|t| t.id == id));
            parse_target(v, None, keep, now)
        })
        .collect()
}

/// The subscribed event source must exist in the project (custom ones in the subscription's channel).
fn check_sources_exist(
    model: &EventBusModel,
    project: &str,
    channel_id: &str,
    sources: &[SubscriptionSource],
) -> Result<(), EgError> {
    for s in sources {
        let found = model.sources_of(project).any(|src| {
            src.name == s.name
                && src.provider_type == s.provider_type
                && (s.provider_type == "OFFICIAL" || src.channel_id == channel_id)
        });
        if !found {
            return Err(EgError::NotFound(format!(
                "{} event source {} does not exist in the channel",
                s.provider_type, s.name
            )));
        }
    }
    Ok(())
}

fn create_from(state: &AppState, project: &str, body: &Body, eps: Option<String>) -> Result<Value, EgError> {
    let name = body.req_str("name")?;
    check_name("name", &name)?;
    let description = body.opt_str("description")?;
    check_description(&description)?;
    let channel_id = body.req_str("channel_id")?;
    let now = Millis::now();
    let sources = parse_sources(
        body.opt_array("sources")?.ok_or_else(|| EgError::Parameter("sources is required".into()))?,
        &[],
        now,
    )?;
    let targets = parse_targets(
        body.opt_array("targets")?.ok_or_else(|| EgError::Parameter("targets is required".into()))?,
        &[],
        now,
    )?;
    let subscription = Subscription {
        id: new_uuid(),
        project_id: project.to_string(),
        name,
        description: description.unwrap_or_default(),
        channel_id,
        status: "CREATED".into(),
        enterprise_project_id: eps.unwrap_or_else(|| "0".into()),
        sources,
        targets,
        created_ms: now,
        updated_ms: now,
    };
    let mut model = state.store.eventbus.write();
    model.channel(project, &subscription.channel_id)?;
    check_sources_exist(&model, project, &subscription.channel_id, &subscription.sources)?;
    let id = model.create_subscription(subscription)?.id.clone();
    let created = model.subscription(project, &id)?;
    Ok(render(&model, created))
}

pub fn create(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let eps = ctx.query.get("enterprise_project_id").map(str::to_string);
    Ok(Reply::Ok(create_from(ctx.state, &ctx.project, &body, eps)?))
}

/// A fixture subscription: the CreateSubscription body with `channel` (a channel name) instead of
/// `channel_id`; skipped when one with that name exists.
pub fn ensure_fixture(state: &AppState, project: &str, spec: &Value) -> Result<(), EgError> {
    let mut body = Body::from_value(spec, "subscription")?;
    let name = body.req_str("name")?;
    if state.store.eventbus.read().subscriptions_of(project).any(|s| s.name == name) {
        return Ok(());
    }
    if let Some(channel) = body.opt_str("channel")? {
        let id = state
            .store
            .eventbus
            .read()
            .channels_of(project)
            .find(|c| c.name == channel)
            .map(|c| c.id.clone())
            .ok_or_else(|| EgError::NotFound(format!("channel {channel} does not exist")))?;
        body.0.remove("channel");
        body.0.insert("channel_id".into(), Value::from(id));
    }
    create_from(state, project, &body, None).map(|_| ())
}

pub fn list(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let paging = ctx.query.paging()?;
    let channel_id = ctx.query.get("channel_id");
    let name = ctx.query.get("name");
    let fuzzy_name = ctx.query.get("fuzzy_name");
    let connection_id = ctx.query.get("connection_id");
    let eps = ctx.query.get("enterprise_project_id");
    let model = ctx.state.store.eventbus.read();
    let items: Vec<&Subscription> = model
        .subscriptions_of(&ctx.project)
        .filter(|s| channel_id.is_none_or(|c| s.channel_id == c))
        .filter(|s| name.is_none_or(|n| s.name == n))
        .filter(|s| fuzzy_name.is_none_or(|n| fuzzy(&s.name, n)))
        .filter(|s| connection_id.is_none_or(|c| s.targets.iter().any(|t| t.connection_id.as_deref() == Some(c))))
        .filter(|s| eps.is_none_or(|e| s.enterprise_project_id == e))
        .collect();
    Ok(Reply::json(&paging.envelope(
        items,
        |s| SortKey { name: &s.name, created_ms: s.created_ms, updated_ms: s.updated_ms, id: &s.id },
        |s| render(&model, s),
    )))
}

pub fn show(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let model = ctx.state.store.eventbus.read();
    Ok(Reply::Ok(render(&model, model.subscription(&ctx.project, ctx.param(0))?)))
}

pub fn delete(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    ctx.state.store.eventbus.write().delete_subscription(&ctx.project, ctx.param(0))?;
    Ok(Reply::NoContent)
}

/// Applies `change` to a copy of the subscription and stores it when the model's rules still hold.
fn rewrite(
    ctx: &Ctx<'_>,
    change: impl FnOnce(&mut Subscription, &EventBusModel) -> Result<(), EgError>,
) -> Result<Subscription, EgError> {
    let mut model = ctx.state.store.eventbus.write();
    let mut sub = model.subscription(&ctx.project, ctx.param(0))?.clone();
    change(&mut sub, &model)?;
    sub.updated_ms = Millis::now();
    Ok(model.replace_subscription(sub)?.clone())
}

pub fn update(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let description = body.opt_str("description")?;
    check_description(&description)?;
    let sources = body.opt_array("sources")?.cloned();
    let targets = body.opt_array("targets")?.cloned();
    let now = Millis::now();
    let sub = rewrite(ctx, |sub, model| {
        if let Some(d) = description {
            sub.description = d;
        }
        if let Some(items) = &sources {
            sub.sources = parse_sources(items, &sub.sources, now)?;
            check_sources_exist(model, &sub.project_id, &sub.channel_id, &sub.sources)?;
        }
        if let Some(items) = &targets {
            sub.targets = parse_targets(items, &sub.targets, now)?;
        }
        Ok(())
    })?;
    let model = ctx.state.store.eventbus.read();
    Ok(Reply::Ok(render(&model, &sub)))
}

pub fn update_source(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let value = Value::Object(ctx.body()?.0);
    let source_id = ctx.param(1).to_string();
    let now = Millis::now();
    let sub = rewrite(ctx, |sub, model| {
        let index = sub
            .sources
            .iter()
            .position(|s| s.id == source_id)
            .ok_or_else(|| EgError::NotFound(format!("subscription source {source_id} does not exist")))?;
        let source = parse_source(&value, Some(&source_id), sub.sources.get(index), now)?;
        check_sources_exist(model, &sub.project_id, &sub.channel_id, std::slice::from_ref(&source))?;
        sub.sources[index] = source;
        Ok(())
    })?;
    let source = sub.sources.iter().find(|s| s.id == source_id).map(render_source).unwrap_or_default();
    Ok(Reply::Ok(source))
}

pub fn create_target(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let value = Value::Object(ctx.body()?.0);
    let target = parse_target(&value, None, None, Millis::now())?;
    let target_id = target.id.clone();
    let sub = rewrite(ctx, |sub, _| {
        sub.targets.push(target);
        Ok(())
    })?;
    Ok(Reply::Ok(sub.targets.iter().find(|t| t.id == target_id).map(render_target).unwrap_or_default()))
}

pub fn update_target(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let value = Value::Object(ctx.body()?.0);
    let target_id = ctx.param(1).to_string();
    let now = Millis::now();
    let sub = rewrite(ctx, |sub, _| {
        let index = sub
            .targets
            .iter()
            .position(|t| t.id == target_id)
            .ok_or_else(|| EgError::NotFound(format!("subscription target {target_id} does not exist")))?;
        // "更新订阅目标时，此字段忽略": the body's id is ignored, the path's wins.
        sub.targets[index] = parse_target(&value, Some(&target_id), sub.targets.get(index), now)?;
        Ok(())
    })?;
    Ok(Reply::Ok(sub.targets.iter().find(|t| t.id == target_id).map(render_target).unwrap_or_default()))
}

pub fn show_target(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let model = ctx.state.store.eventbus.read();
    let sub = model.subscription(&ctx.project, ctx.param(0))?;
    let target = sub
        .targets
        .iter()
        .find(|t| t.id == ctx.param(1))
        .ok_or_else(|| EgError::NotFound(format!("subscription target {} does not exist", ctx.param(1))))?;
    Ok(Reply::Ok(render_target(target)))
}

pub fn delete_target(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let target_id = ctx.param(1).to_string();
    rewrite(ctx, |sub, _| {
        let before = sub.targets.len();
        sub.targets.retain(|t| t.id != target_id);
        if sub.targets.len() == before {
            return Err(EgError::NotFound(format!("subscription target {target_id} does not exist")));
        }
        Ok(())
    })?;
    Ok(Reply::NoContent)
}

pub fn operate(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let ids =
        body.opt_array("subscription_ids")?.ok_or_else(|| EgError::Parameter("subscription_ids is required".into()))?;
    if ids.is_empty() || ids.len() > MAX_OPERATION_IDS {
        return Err(EgError::Parameter(format!("subscription_ids: 1 to {MAX_OPERATION_IDS} subscriptions per call")));
    }
    let ids: Vec<String> = ids
        .iter()
        .map(|v| {
            v.as_str().map(str::to_string).ok_or_else(|| EgError::Parameter("subscription_ids must be strings".into()))
        })
        .collect::<Result<_, _>>()?;
    let operation = body
        .opt_enum("operation", &["ENABLE", "DISABLE"])?
        .ok_or_else(|| EgError::Parameter("operation is required".into()))?;
    let status = if operation == "ENABLE" { "ENABLED" } else { "DISABLED" };
    let mut model = ctx.state.store.eventbus.write();
    let mut failed = 0;
    let mut events = Vec::with_capacity(ids.len());
    for id in ids {
        match model.set_subscription_status(&ctx.project, &id, status, Millis::now()) {
            Ok(()) => {
                events.push(json!({"subscription_id": id}));
            }
            Err(e) => {
                failed += 1;
                let e = EgError::from(e);
                let mut item = Map::new();
                item.insert("error_code".into(), Value::from(e.code()));
                item.insert("error_msg".into(), Value::from(e.message()));
                item.insert("subscription_id".into(), Value::from(id));
                events.push(Value::Object(item));
            }
        }
    }
    Ok(Reply::Ok(json!({"failed_count": failed, "events": events})))
}
