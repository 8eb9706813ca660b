//! Event streams (seed 5.14: Create/List/Update/Show/Delete/ResumeEventStreaming) and the professional
//! event-router clusters and jobs (5.16, 5.17). Top-level parameters are checked from the description
//! before these run; the nested source, sink and configuration objects are checked here against the
//! description's object types (`validate_nested`), then the documented rules (one source, one sink, source
//! and sink of one type) and the states (clusters CREATING → RUNNING; jobs NO_CONFIGURATION / WAIT_START →
//! RUNNING ⇄ STOPPED; streams running ⇄ paused).
//!
//! Running streams move records (`streaming`): every change here reconciles the stream's task, and
//! Show/List add the task's `statistics` (counters, positions, the last error; a localyun extension).

use serde_json::{json, Map, Value};

use super::error::EgError;
use super::wire::{fuzzy, time, Body, SortKey};
use super::{Ctx, Reply};
use crate::engine::eventbus::{new_uuid, EventStream, JobOperation, Millis, RouterCluster, RouterJob, StreamStatus};

/// How long a new cluster stays CREATING (localyun provisions nothing; long enough to be observed).
pub const CLUSTER_CREATE_MS: i64 = 300;
/// The availability zones localyun offers (the seed's examples use `az0`..`az2`).
pub const ZONES: &[&str] = &["az0", "az1", "az2"];
const MQ_TYPES: &[&str] = &["KAFKA", "ROCKETMQ", "DCS"];

/// The router APIs' time format (their examples): `2024-05-16T11:46:07Z`.
fn iso(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms.0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Exactly one of `keys` is set (non-null) in `object`; returns it.
fn exactly_one<'a>(object: &'a Value, keys: &[&'a str], what: &str) -> Result<&'a str, EgError> {
    let set: Vec<&str> = keys.iter().copied().filter(|k| object.get(k).is_some_and(|v| !v.is_null())).collect();
    match set.as_slice() {
        [one] => Ok(one),
        [] => Err(EgError::Parameter(format!("{what}: one of {} is required", keys.join(", ")))),
        _ => Err(EgError::Parameter(format!("{what}: only one of {} may be set", set.join(", ")))),
    }
}

/// Secrets never come back: `password`, `secret_key` and `ssl_certificate_password` read as null.
fn masked(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let secret = matches!(k.as_str(), "password" | "secret_key" | "ssl_certificate_password");
                    (k.clone(), if secret && !v.is_null() { Value::Null } else { masked(v) })
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(masked).collect()),
        other => other.clone(),
    }
}

// ---- event streams ----

fn render_stream(ctx: &Ctx<'_>, s: &EventStream) -> Value {
    json!({
        "statistics": ctx.state.eventgrid.streams.statistics(&s.project_id, &s.id),
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "source": masked(&s.source),
        "sink": masked(&s.sink),
        "rule_config": s.rule_config.as_ref().map(masked),
        "option": s.option,
        "status": s.status.as_str(),
        "created_time": time(s.created_ms),
        "updated_time": time(s.updated_ms),
    })
}

fn stream_from(ctx: &Ctx<'_>, id: String, created: Millis, status: StreamStatus) -> Result<EventStream, EgError> {
    let body = ctx.body()?;
    let source = body.opt_object("source")?.unwrap_or_default();
    let sink = body.opt_object("sink")?.unwrap_or_default();
    ctx.api.validate_nested("EventStreamingSource", &source, "source")?;
    ctx.api.validate_nested("EventStreamingSink", &sink, "sink")?;
    exactly_one(
        &source,
        &["source_kafka", "source_mobile_rocketmq", "source_community_rocketmq", "source_dms_rocketmq"],
        "source",
    )?;
    exactly_one(&sink, &["sink_fg", "sink_kafka", "sink_obs"], "sink")?;
    if let Some(url) = source.pointer("/source_kafka/ssl_certificate_url").and_then(Value::as_str) {
        if !url.is_empty() {
            super::certs::check_url("source.source_kafka.ssl_certificate_url", url)?;
        }
    }
    let rule_config = body.opt_object("rule_config")?;
    if let Some(rules) = &rule_config {
        ctx.api.validate_nested("rule_config", rules, "rule_config")?;
        if let Some(f) = rules.get("filter").filter(|f| !f.is_null()) {
            crate::engine::eventbus::filter::validate(f)
                .map_err(|e| EgError::Parameter(format!("rule_config.filter: {e}")))?;
        }
        if let Some(t) = rules.get("transform").filter(|t| !t.is_null()) {
            super::subscriptions::parse_transform("rule_config.transform", t)?;
        }
    }
    let option = body.opt_object("option")?;
    if let Some(option) = &option {
        ctx.api.validate_nested("RunOption", option, "option")?;
        check_batch_window(option)?;
    }
    let description = body.opt_str("description")?;
    super::wire::check_description(&description)?;
    let now = Millis::now();
    Ok(EventStream {
        id,
        project_id: ctx.project.clone(),
        name: body.req_str("name")?,
        description: description.unwrap_or_default(),
        source,
        sink,
        rule_config,
        option,
        status,
        created_ms: if created == Millis(0) { now } else { created },
        updated_ms: now,
    })
}

/// The seed's ranges of 表 5-489: `count` 1..=10000 records, `interval` 0..=15 seconds (numbers or numeric
/// strings, as the seed's examples mix both).
fn check_batch_window(option: &Value) -> Result<(), EgError> {
    let Some(window) = option.get("batch_window").filter(|w| !w.is_null()) else { return Ok(()) };
    for (field, range) in [("count", 1..=10_000i64), ("interval", 0..=15i64)] {
        let Some(v) = window.get(field).filter(|v| !v.is_null()) else { continue };
        let n = v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
        if !n.is_some_and(|n| range.contains(&n)) {
            return Err(EgError::Parameter(format!(
                "option.batch_window.{field}: {} to {}",
                range.start(),
                range.end()
            )));
        }
    }
    Ok(())
}

/// A new stream starts running (the seed's shown stream is `running`).
pub fn create_stream(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let stream = stream_from(ctx, new_uuid(), Millis(0), StreamStatus::Running)?;
    let id = ctx.state.store.eventbus.write().put_stream(stream, false)?.id.clone();
    super::streaming::reconcile(ctx.state, &ctx.project, &id);
    Ok(Reply::Ok(json!({"eventStreamingID": id})))
}

pub fn list_streams(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let paging = ctx.query.paging()?;
    let model = ctx.state.store.eventbus.read();
    let items: Vec<&EventStream> = model.streams_of(&ctx.project).collect();
    Ok(Reply::json(&paging.envelope(
        items,
        |s| SortKey { name: &s.name, created_ms: s.created_ms, updated_ms: s.updated_ms, id: &s.id },
        |s| render_stream(ctx, s),
    )))
}

pub fn update_stream(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let id = ctx.param(0).to_string();
    let (created, status) = {
        let model = ctx.state.store.eventbus.read();
        let old = model.stream(&ctx.project, &id)?;
        (old.created_ms, old.status)
    };
    let stream = stream_from(ctx, id, created, status)?;
    let id = ctx.state.store.eventbus.write().put_stream(stream, true)?.id.clone();
    super::streaming::reconcile(ctx.state, &ctx.project, &id);
    Ok(Reply::Ok(json!({"eventStreamingID": id})))
}

pub fn show_stream(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let model = ctx.state.store.eventbus.read();
    Ok(Reply::Ok(render_stream(ctx, model.stream(&ctx.project, ctx.param(0))?)))
}

pub fn delete_stream(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    ctx.state.store.eventbus.write().delete_stream(&ctx.project, ctx.param(0))?;
    super::streaming::reconcile(ctx.state, &ctx.project, ctx.param(0));
    Ok(Reply::NoContent)
}

/// ResumeEventStreaming's body (表 5-550): `operation` is optional in the seed, but nothing can be done
/// without one.
#[derive(serde::Deserialize)]
struct OperateStream {
    operation: Option<StreamOperation>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
enum StreamOperation {
    Start,
    Pause,
}

/// START runs a paused stream, PAUSE stops a running one (the SDK's two operations).
pub fn operate_stream(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let input: OperateStream = ctx.input()?;
    let status = match input.operation {
        Some(StreamOperation::Start) => StreamStatus::Running,
        Some(StreamOperation::Pause) => StreamStatus::Paused,
        None => return Err(EgError::Parameter("operation is required (START or PAUSE)".into())),
    };
    let id = ctx.param(0).to_string();
    ctx.state.store.eventbus.write().set_stream_status(&ctx.project, &id, status, Millis::now())?;
    super::streaming::reconcile(ctx.state, &ctx.project, &id);
    Ok(Reply::Ok(json!({"eventStreamingID": id})))
}

// ---- event-router clusters ----

fn render_cluster(c: &RouterCluster, jobs: usize, now: Millis) -> Value {
    json!({
        "cluster_id": c.id,
        "name": c.name,
        "description": c.description,
        "source_type": c.source_type,
        "sink_type": c.sink_type,
        "subnet_id": c.subnet_id,
        "vpc_id": c.vpc_id,
        "zone_names": c.zone_names,
        "status": c.status(now),
        "job_count": jobs,
        "flavor": c.flavor,
        "charging_mode": c.charging_mode,
        "public_access_enabled": c.public_access_enabled,
        "err_code": null,
        "err_message": null,
        "created_time": iso(c.created_ms),
        "updated_time": iso(c.updated_ms),
    })
}

pub fn list_zones(_: &Ctx<'_>) -> Result<Reply, EgError> {
    Ok(Reply::Ok(json!({"zone_names": ZONES})))
}

fn check_public_access(body: &Body, enabled: bool) -> Result<(), EgError> {
    if enabled && !(body.has("nat_id") || body.has("eip_id")) {
        return Err(EgError::Parameter("public access needs nat_id or eip_id".into()));
    }
    Ok(())
}

pub fn create_cluster(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let source_type = body.opt_enum("source_type", MQ_TYPES)?.unwrap_or_default();
    let sink_type = body.opt_enum("sink_type", MQ_TYPES)?.unwrap_or_default();
    if source_type != sink_type {
        return Err(EgError::Parameter(format!(
            "sink_type {sink_type} must be the source type {source_type} (需要与目标端类型保持一致)"
        )));
    }
    let zone_names = body.opt_str("zone_names")?.unwrap_or_else(|| ZONES[0].to_string());
    for zone in zone_names.split(',').map(str::trim) {
        if !ZONES.contains(&zone) {
            return Err(EgError::Parameter(format!("zone_names: {zone} is not one of {}", ZONES.join(", "))));
        }
    }
    let public = body.opt_bool("public_access_enabled")?.unwrap_or(false);
    check_public_access(&body, public)?;
    let now = Millis::now();
    let cluster = RouterCluster {
        id: new_uuid(),
        project_id: ctx.project.clone(),
        name: body.req_str("name")?,
        description: body.opt_str("description")?.unwrap_or_default(),
        source_type,
        sink_type,
        vpc_id: body.req_str("vpc_id")?,
        subnet_id: body.req_str("subnet_id")?,
        zone_names,
        flavor: body.opt_str("flavor")?.unwrap_or_else(|| "standard".into()),
        charging_mode: if body.has("bss_param") { "prePaid" } else { "postPaid" }.into(),
        public_access_enabled: public,
        nat_id: body.opt_str("nat_id")?,
        eip_id: body.opt_str("eip_id")?,
        ready_ms: Millis(now.0 + CLUSTER_CREATE_MS),
        created_ms: now,
        updated_ms: now,
    };
    let mut model = ctx.state.store.eventbus.write();
    let cluster = model.put_router_cluster(cluster, false)?;
    Ok(Reply::Ok(render_cluster(cluster, 0, now)))
}

pub fn list_clusters(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let paging = ctx.query.paging()?;
    let fuzzy_name = ctx.query.get("fuzzy_name");
    let now = Millis::now();
    let model = ctx.state.store.eventbus.read();
    let items: Vec<&RouterCluster> =
        model.router_clusters_of(&ctx.project).filter(|c| fuzzy_name.is_none_or(|n| fuzzy(&c.name, n))).collect();
    Ok(Reply::json(&paging.envelope(
        items,
        |c| SortKey { name: &c.name, created_ms: c.created_ms, updated_ms: c.updated_ms, id: &c.id },
        |c| render_cluster(c, model.cluster_job_count(&ctx.project, &c.id), now),
    )))
}

pub fn show_cluster(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let model = ctx.state.store.eventbus.read();
    let cluster = model.router_cluster(&ctx.project, ctx.param(0))?;
    Ok(Reply::Ok(render_cluster(cluster, model.cluster_job_count(&ctx.project, &cluster.id), Millis::now())))
}

pub fn update_cluster(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let mut cluster = ctx.state.store.eventbus.read().router_cluster(&ctx.project, ctx.param(0))?.clone();
    if let Some(name) = body.opt_str("name")? {
        cluster.name = name;
    }
    if let Some(d) = body.opt_str("description")? {
        cluster.description = d;
    }
    if let Some(public) = body.opt_bool("public_access_enabled")? {
        check_public_access(&body, public && !(cluster.nat_id.is_some() || cluster.eip_id.is_some()))?;
        cluster.public_access_enabled = public;
    }
    if let Some(nat) = body.opt_str("nat_id")? {
        cluster.nat_id = Some(nat);
    }
    if let Some(eip) = body.opt_str("eip_id")? {
        cluster.eip_id = Some(eip);
    }
    let now = Millis::now();
    cluster.updated_ms = now;
    let mut model = ctx.state.store.eventbus.write();
    let jobs = model.cluster_job_count(&ctx.project, &cluster.id);
    let cluster = model.put_router_cluster(cluster, true)?;
    Ok(Reply::Ok(render_cluster(cluster, jobs, now)))
}

/// A cluster with jobs cannot be deleted (409 EG.00514002); the answer is the seed's bare string.
pub fn delete_cluster(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    ctx.state.store.eventbus.write().delete_router_cluster(&ctx.project, ctx.param(0))?;
    Ok(Reply::Ok(Value::from("success")))
}

// ---- event-router jobs ----

/// A job as the seed shows it; a running Kafka job's last replication problem is its `err_message`
/// (and marks the side it concerns ABNORMAL).
fn render_job(ctx: &Ctx<'_>, j: &RouterJob, cluster: Option<&RouterCluster>) -> Value {
    let field = |f: fn(&RouterCluster) -> &str| cluster.map(f).unwrap_or("").to_string();
    let running = j.status.as_str() == "RUNNING";
    let error = if running {
        ctx.state.eventgrid.jobs.progress(&j.project_id, &j.id).and_then(|p| p.last_error.lock().clone())
    } else {
        None
    };
    let side_status = |side: &str| match &error {
        Some(e) if e.starts_with(side) => "ABNORMAL",
        _ if running => "NORMAL",
        _ => "UNDEFINED",
    };
    json!({
        "cluster_id": j.cluster_id,
        "job_id": j.id,
        "name": j.name,
        "description": j.description,
        "scene_type": j.scene_type,
        "source_type": field(|c| &c.source_type),
        "sink_type": field(|c| &c.sink_type),
        "subnet_id": field(|c| &c.subnet_id),
        "vpc_id": field(|c| &c.vpc_id),
        "source_config": j.source_config.as_ref().map(masked),
        "sink_config": j.sink_config.as_ref().map(masked),
        "advance_config": j.advance_config,
        "status": j.status.as_str(),
        "err_code": null,
        "err_message": error,
        "created_time": iso(j.created_ms),
        "updated_time": iso(j.updated_ms),
        "sink_status": side_status("sink"),
        "sink_status_info": "",
        "source_status": side_status("source"),
        "source_status_info": "",
        "log_group_id": "",
        "log_stream_id": "",
    })
}

/// The config key of a side for a cluster type: `source_kafka`, `sink_rocketmq`, `source_dcs`, ...
fn side_key(side: &str, mq_type: &str) -> String {
    format!("{side}_{}", mq_type.to_ascii_lowercase())
}

/// Checks a job's source or sink configuration: the object types of the description, exactly one side
/// object, and that it is the cluster's type.
fn check_side(ctx: &Ctx<'_>, config: &Value, side: &str, mq_type: &str) -> Result<(), EgError> {
    let (type_name, keys) = match side {
        "source" => ("EventRouterJobSource", ["source_kafka", "source_rocketmq", "source_dcs"]),
        _ => ("EventRouterJobSink", ["sink_kafka", "sink_rocketmq", "sink_dcs"]),
    };
    let what = format!("{side}_config");
    ctx.api.validate_nested(type_name, config, &what)?;
    let set = exactly_one(config, &keys, &what)?;
    if set != side_key(side, mq_type) {
        return Err(EgError::Parameter(format!(
            "{what}: the cluster moves {mq_type}, so {} is expected",
            side_key(side, mq_type)
        )));
    }
    let inner = &config[set];
    if inner.get("instance_id").and_then(Value::as_str).is_none_or(str::is_empty)
        && inner.get("address").and_then(Value::as_str).is_none_or(str::is_empty)
    {
        return Err(EgError::Parameter(format!("{what}.{set}: instance_id or address is required")));
    }
    Ok(())
}

fn job_from(ctx: &Ctx<'_>, id: String, created: Option<Millis>) -> Result<RouterJob, EgError> {
    let body = ctx.body()?;
    let cluster_id = body.req_str("cluster_id")?;
    let mq_type = ctx.state.store.eventbus.read().router_cluster(&ctx.project, &cluster_id)?.source_type.clone();
    let scene_type = body.opt_enum("scene_type", &["DISASTER_BACKUP"])?.unwrap_or_default();
    let source_config = body.opt_object("source_config")?;
    if let Some(c) = &source_config {
        check_side(ctx, c, "source", &mq_type)?;
    }
    let sink_config = body.opt_object("sink_config")?;
    if let Some(c) = &sink_config {
        check_side(ctx, c, "sink", &mq_type)?;
    }
    let advance_config = body.opt_object("advance_config")?;
    if let Some(a) = &advance_config {
        ctx.api.validate_nested("EventRouterAdvanceConfig", a, "advance_config")?;
    }
    let now = Millis::now();
    let mut job = RouterJob {
        id,
        project_id: ctx.project.clone(),
        cluster_id,
        name: body.req_str("name")?,
        description: body.opt_str("description")?.unwrap_or_default(),
        scene_type,
        source_config,
        sink_config,
        advance_config,
        status: crate::engine::eventbus::JobStatus::NoConfiguration,
        created_ms: created.unwrap_or(now),
        updated_ms: now,
    };
    job.status = job.idle_status();
    Ok(job)
}

pub fn create_job(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let job = job_from(ctx, new_uuid(), None)?;
    let mut model = ctx.state.store.eventbus.write();
    let id = model.put_router_job(job, false, Millis::now())?.id.clone();
    let job = model.router_job(&ctx.project, &id)?;
    Ok(Reply::Ok(render_job(ctx, job, model.router_cluster(&ctx.project, &job.cluster_id).ok())))
}

/// Updating a job that is not running re-derives its state from the new configuration.
pub fn update_job(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let id = ctx.param(0).to_string();
    let old = ctx.state.store.eventbus.read().router_job(&ctx.project, &id)?.clone();
    let mut job = job_from(ctx, id, Some(old.created_ms))?;
    if matches!(old.status.as_str(), "RUNNING" | "STOPPED") && job.idle_status().as_str() == "WAIT_START" {
        job.status = old.status;
    }
    let id = ctx.state.store.eventbus.write().put_router_job(job, true, Millis::now())?.id.clone();
    super::replication::reconcile(ctx.state, &ctx.project, &id);
    let model = ctx.state.store.eventbus.read();
    let job = model.router_job(&ctx.project, &id)?;
    Ok(Reply::Ok(render_job(ctx, job, model.router_cluster(&ctx.project, &job.cluster_id).ok())))
}

pub fn list_jobs(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let paging = ctx.query.paging()?;
    let q = &ctx.query;
    let (fuzzy_name, status, cluster_id) = (q.get("fuzzy_name"), q.get("status"), q.get("cluster_id"));
    let (sink_region, sink_instance, sink_address) =
        (q.get("sink_region"), q.get("sink_instance_id"), q.get("sink_address"));
    let model = ctx.state.store.eventbus.read();
    let sink_field = |j: &RouterJob, name: &str| -> Option<String> {
        let sink = j.sink_config.as_ref()?;
        let side = sink.as_object()?.values().find(|v| v.is_object())?;
        side.get(name).and_then(Value::as_str).map(str::to_string)
    };
    let items: Vec<&RouterJob> = model
        .router_jobs_of(&ctx.project)
        .filter(|j| fuzzy_name.is_none_or(|n| fuzzy(&j.name, n)))
        .filter(|j| status.is_none_or(|s| j.status.as_str() == s))
        .filter(|j| cluster_id.is_none_or(|c| j.cluster_id == c))
        .filter(|j| sink_region.is_none_or(|r| sink_field(j, "region").as_deref() == Some(r)))
        .filter(|j| sink_instance.is_none_or(|i| sink_field(j, "instance_id").as_deref() == Some(i)))
        .filter(|j| sink_address.is_none_or(|a| sink_field(j, "address").is_some_and(|x| x.contains(a))))
        .collect();
    Ok(Reply::json(&paging.envelope(
        items,
        |j| SortKey { name: &j.name, created_ms: j.created_ms, updated_ms: j.updated_ms, id: &j.id },
        |j| render_job(ctx, j, model.router_cluster(&ctx.project, &j.cluster_id).ok()),
    )))
}

pub fn show_job(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let model = ctx.state.store.eventbus.read();
    let job = model.router_job(&ctx.project, ctx.param(0))?;
    Ok(Reply::Ok(render_job(ctx, job, model.router_cluster(&ctx.project, &job.cluster_id).ok())))
}

pub fn delete_job(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let id = ctx.param(0).to_string();
    ctx.state.store.eventbus.write().delete_router_job(&ctx.project, &id)?;
    super::replication::reconcile(ctx.state, &ctx.project, &id);
    Ok(Reply::Ok(json!({"job_id": id})))
}

/// ExecuteEventRouterJobOperation's body (表 5-644).
#[derive(serde::Deserialize)]
struct OperateJob {
    operation: Option<String>,
    config: Option<Value>,
}

/// START, STOP and RESTART (the seed's example is START); a transition the state does not allow is
/// 409 EG.00514002.
pub fn operate_job(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let input: OperateJob = ctx.input()?;
    let operation = match input.operation.as_deref() {
        Some("START") => JobOperation::Start,
        Some("STOP") => JobOperation::Stop,
        Some("RESTART") => JobOperation::Restart,
        Some(other) => {
            return Err(EgError::Parameter(format!("operation must be one of START, STOP, RESTART, not {other}")))
        }
        None => return Err(EgError::Parameter("operation is required".into())),
    };
    if let Some(config) = input.config.filter(|c| !c.is_null()) {
        if !config.is_object() {
            return Err(EgError::Parameter("config must be an object".into()));
        }
        ctx.api.validate_nested("OperateConfig", &config, "config")?;
    }
    let id = ctx.param(0).to_string();
    ctx.state.store.eventbus.write().operate_router_job(&ctx.project, &id, operation, Millis::now())?;
    super::replication::reconcile(ctx.state, &ctx.project, &id);
    Ok(Reply::Ok(json!({"job_id": id})))
}

/// One check of ValidateEventRouterJob.
fn check_item(item: &str, name: &str, content: &str, failure: Option<String>) -> Value {
    let mut v = Map::new();
    v.insert("check_item_name".into(), Value::from(item));
    v.insert("name".into(), Value::from(name));
    v.insert("content".into(), Value::from(content));
    v.insert("status".into(), Value::from(if failure.is_none() { "SUCCESS" } else { "FAILED" }));
    v.insert("error_code".into(), failure.as_ref().map_or(Value::Null, |_| Value::from("EG.00513000")));
    v.insert("solution".into(), failure.as_ref().map_or(Value::Null, |_| Value::from("check the configuration")));
    v.insert("reason".into(), failure.map_or(Value::Null, Value::from));
    Value::Object(v)
}

/// Whether a Kafka side is reachable from here: with the Kafka data plane running, its `instance_id` or
/// `address` must name an instance localyun serves (that is where a job can move records). Without the
/// data plane, or for other types, nothing more can be known and the configuration check stands.
fn reachable(ctx: &Ctx<'_>, config: &Value, side: &str, mq_type: &str) -> Result<(), String> {
    let Some(broker) = ctx.state.kafka() else { return Ok(()) };
    if mq_type != "KAFKA" {
        return Ok(());
    }
    let kafka = &config[side_key(side, mq_type)];
    let names: Vec<&str> = ["instance_id", "address"]
        .iter()
        .filter_map(|k| kafka.get(*k).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .collect();
    if names.iter().any(|n| broker.resolve_instance(n).is_some()) {
        return Ok(());
    }
    Err(format!("no local Kafka instance is named {}", names.join(" or ")))
}

/// Checks a job configuration: SOURCE_NETWORK and SINK_NETWORK (the seed's example type) — the side is
/// configured for the cluster's type with an instance or address, and (Kafka, data plane running) that
/// instance is served here. `validate_type` picks one check.
pub fn validate_job(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let only = ctx.query.opt_enum("validate_type", &["SOURCE_NETWORK", "SINK_NETWORK"])?;
    let cluster_id = body.req_str("cluster_id")?;
    let mq_type = ctx.state.store.eventbus.read().router_cluster(&ctx.project, &cluster_id)?.source_type.clone();
    let mut results = Vec::new();
    for (item, side, name, content) in [
        ("SOURCE_NETWORK", "source", "源端连通性", "检查数据传输服务器是否能够连通源端服务"),
        ("SINK_NETWORK", "sink", "目标端连通性", "检查数据传输服务器是否能够连通目标端服务"),
    ] {
        if only.is_some_and(|o| o != item) {
            continue;
        }
        let failure = match body.opt_object(&format!("{side}_config"))? {
            None => Some(format!("{side}_config is not set")),
            Some(config) => check_side(ctx, &config, side, &mq_type)
                .err()
                .map(|e| e.detail().to_string())
                .or_else(|| reachable(ctx, &config, side, &mq_type).err()),
        };
        results.push(check_item(item, name, content, failure));
    }
    Ok(Reply::Ok(json!({"results": results})))
}

/// Synchronisation progress: for a Kafka job that replicated here, one `items_kafka` entry per topic
/// (records copied, records left, per-partition offsets), paged by `offset`/`limit` and filtered by
/// `conditions` (`topic` EQUAL or LIKE, a substring). Other jobs answer empty lists. `offset` (0..=10000)
/// and `limit` (10..=1000) are checked as the seed says.
pub fn sync_detail(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let limit = body.opt_u32("limit")?.unwrap_or(0);
    if !(10..=1000).contains(&limit) {
        return Err(EgError::Parameter("limit: 最小是10 最大是1000".into()));
    }
    let offset = body.opt_u32("offset")?.unwrap_or(0);
    if offset > 10_000 {
        return Err(EgError::Parameter("offset: 最小0 最大10000".into()));
    }
    let mut wanted: Vec<(String, String)> = Vec::new();
    if let Some(conditions) = body.opt_array("conditions")? {
        for (i, c) in conditions.iter().enumerate() {
            // The seed types `value` as Object but describes it as the topic's name (and the SDK's type is
            // `object`, i.e. anything): a string is what a client sends, so only the other fields are
            // checked against the description's types.
            let mut typed = c.clone();
            if let Some(v) = typed.get_mut("value").filter(|v| v.is_string()) {
                *v = json!({});
            }
            ctx.api.validate_nested("Condition", &typed, &format!("conditions[{i}]"))?;
            let c = Body::from_value(c, "conditions[]")?;
            c.opt_enum("key", &["topic"])?;
            let operate = c.opt_enum("operate", &["EQUAL", "LIKE"])?.unwrap_or_else(|| "EQUAL".into());
            let value = match c.get("value") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            wanted.push((operate, value));
        }
    }
    let (mq_type, progress) = {
        let model = ctx.state.store.eventbus.read();
        let job = model.router_job(&ctx.project, ctx.param(0))?;
        let mq_type =
            model.router_cluster(&ctx.project, &job.cluster_id).map(|c| c.source_type.clone()).unwrap_or_default();
        (mq_type, ctx.state.eventgrid.jobs.progress(&ctx.project, &job.id))
    };
    let items = progress
        .map(|p| {
            super::replication::kafka_items(&p, |topic| {
                wanted.iter().all(|(op, v)| if op == "LIKE" { topic.contains(v.as_str()) } else { topic == v })
            })
        })
        .unwrap_or_default();
    let remain: i64 = items.iter().filter_map(|i| i["sync_remain_num"].as_i64()).sum();
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset as usize).take(limit as usize).collect();
    Ok(Reply::Ok(json!({
        "metadata": {"sync_remain_total": remain, "source_key_num": 0, "sink_key_num": 0},
        "total": total,
        "size": page.len(),
        "type": mq_type,
        "items_kafka": page,
        "items_rocketmq": [],
        "items_redis": [],
    })))
}
