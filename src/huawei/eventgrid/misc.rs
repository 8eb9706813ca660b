//! The smaller families: the token endpoint (IAM), API versions, the target catalogue, connections,
//! endpoints, quotas, and the (always empty) OBS bucket list.

use crate::engine::eventbus::Millis;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::error::EgError;
use super::wire::{check_description, check_name, fuzzy, time, Body, SortKey};
use super::{check_project_id, resolve_project, Ctx, Reply};
use crate::credentials::{signatures_match, KeyLookup};
use crate::engine::eventbus::{new_uuid, Connection, Endpoint, QUOTAS};
use crate::http::{ApiRequest, RequestMeta};
use crate::state::AppState;

// ---- API versions ----

pub fn version_v1(req: &ApiRequest) -> Value {
    let scheme = if req.tls { "https" } else { "http" };
    json!({
        "id": "v1",
        "links": [{"href": format!("{scheme}://{}/v1", req.host()), "rel": "self"}],
        "version": "",
        "min_version": "",
        "status": "CURRENT",
        "updated": "2022-04-19T12:20:10Z",
    })
}

// ---- IAM token ----

/// `POST /v3/auth/tokens` with the password method: the user name is an access key id, the password its
/// secret key (localyun has no IAM users). The scope names the project by id, or by name (an id is then
/// derived from the account and name). Answers 201 with the token in `X-Subject-Token`.
pub fn create_token(state: &AppState, req: &ApiRequest, meta: &mut RequestMeta) -> Result<Reply, EgError> {
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|_| EgError::IamBadRequest("The request body is not valid JSON.".into()))?;
    let identity =
        body.pointer("/auth/identity").ok_or_else(|| EgError::IamBadRequest("auth.identity is required.".into()))?;
    let uses_password = identity
        .get("methods")
        .and_then(Value::as_array)
        .is_some_and(|m| m.iter().any(|v| v.as_str() == Some("password")));
    if !uses_password {
        return Err(EgError::IamBadRequest("auth.identity.methods must contain password.".into()));
    }
    let user = identity
        .pointer("/password/user")
        .ok_or_else(|| EgError::IamBadRequest("auth.identity.password.user is required.".into()))?;
    let name = user.get("name").and_then(Value::as_str).unwrap_or("");
    let password = user.get("password").and_then(Value::as_str).unwrap_or("");
    if name.is_empty() || password.is_empty() {
        return Err(EgError::IamBadRequest("user name and password are required.".into()));
    }
    let account = {
        let credentials = state.credentials.read();
        match credentials.lookup(name) {
            KeyLookup::Known(key)
                if !credentials.verifies_signatures()
                    || signatures_match(key.secret.expose().as_bytes(), password.as_bytes()) =>
            {
                key.account.clone()
            }
            KeyLookup::Unverified { account } => account.to_string(),
            _ => return Err(EgError::IamUnauthorized("The username or password is wrong.".into())),
        }
    };
    meta.account = Some(account.clone());
    let scope = body.pointer("/auth/scope/project").ok_or_else(|| {
        EgError::IamBadRequest("EventGrid needs a project-scoped token: auth.scope.project is required.".into())
    })?;
    let project_name = scope.get("name").and_then(Value::as_str).unwrap_or("");
    let project = match scope.get("id").and_then(Value::as_str) {
        Some(id) => id.to_string(),
        None if !project_name.is_empty() => {
            hex::encode(Sha256::digest(format!("huawei-project/{account}/{project_name}").as_bytes()))[..32].to_string()
        }
        None => return Err(EgError::IamBadRequest("auth.scope.project needs an id or a name.".into())),
    };
    check_project_id(&project)?;
    resolve_project(state, &account, &project)?;
    let token = state.eventgrid.tokens.issue(&account, &project);
    let now = chrono::Utc::now();
    let expires = now + chrono::Duration::from_std(super::auth::TOKEN_LIFETIME).unwrap_or_default();
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let scheme = if req.tls { "https" } else { "http" };
    let body = json!({"token": {
        "expires_at": fmt(expires),
        "issued_at": fmt(now),
        "methods": ["password"],
        "project": {"id": project, "name": if project_name.is_empty() { project.as_str() } else { project_name }, "domain": {"id": account, "name": account}},
        "user": {"id": name, "name": name, "domain": {"id": account, "name": account}},
        "catalog": [{"type": "eg", "name": "eg", "endpoints": [{"interface": "public", "url": format!("{scheme}://{}", req.host())}]}],
    }});
    Ok(Reply::Custom(axum::http::StatusCode::CREATED, body, vec![("x-subject-token", token)]))
}

// ---- target catalogue ----

struct Catalog {
    name: &'static str,
    label: &'static str,
    description: &'static str,
    provider: &'static str,
    supports: &'static [&'static str],
    parameters: &'static [(&'static str, &'static str, bool)],
}

/// The preset target kinds; `name` is what a subscription target's `name` says.
const CATALOG: &[Catalog] = &[
    Catalog {
        name: "WEBHOOK",
        label: "HTTP/HTTPS",
        description: "自定义HTTP/HTTPS地址 (delivered by localyun)",
        provider: "CUSTOM",
        supports: &["SUBSCRIPTION"],
        parameters: &[("url", "URL", true)],
    },
    Catalog {
        name: "HC.FunctionGraph",
        label: "函数工作流 FunctionGraph",
        description: "FunctionGraph函数",
        provider: "OFFICIAL",
        supports: &["SUBSCRIPTION", "FLOW"],
        parameters: &[("urn", "函数URN", true), ("invoke_type", "调用类型", true), ("agency_name", "委托名称", true)],
    },
    Catalog {
        name: "HC.FunctionGraph.Workflow",
        label: "函数流 Workflow",
        description: "FunctionGraph函数流",
        provider: "OFFICIAL",
        supports: &["SUBSCRIPTION"],
        parameters: &[("workflow_id", "函数流ID", true), ("agency_name", "委托名称", true)],
    },
    Catalog {
        name: "HC.SMN",
        label: "消息通知服务 SMN",
        description: "SMN主题",
        provider: "OFFICIAL",
        supports: &["SUBSCRIPTION"],
        parameters: &[("urn", "主题URN", true), ("agency_name", "委托名称", true)],
    },
    Catalog {
        name: "HC.Kafka",
        label: "分布式消息服务 Kafka",
        description: "DMS Kafka实例",
        provider: "OFFICIAL",
        supports: &["SUBSCRIPTION", "FLOW"],
        parameters: &[("topic", "Topic", true)],
    },
    Catalog {
        name: "HC.RocketMQ",
        label: "分布式消息服务 RocketMQ",
        description: "DMS RocketMQ实例",
        provider: "OFFICIAL",
        supports: &["SUBSCRIPTION", "FLOW"],
        parameters: &[("topic", "Topic", false)],
    },
    Catalog {
        name: "HC.EG",
        label: "事件网格 EG",
        description: "跨项目/区域的事件通道 (forwarded by localyun into its own channels)",
        provider: "OFFICIAL",
        supports: &["SUBSCRIPTION"],
        parameters: &[
            ("target_project_id", "目标项目ID", true),
            ("target_channel_id", "目标通道ID", true),
            ("target_region", "目标区域", true),
            ("agency_name", "委托名称", true),
        ],
    },
    Catalog {
        name: "HC.APIGW",
        label: "API网关 APIG",
        description: "API网关URL (delivered by localyun)",
        provider: "OFFICIAL",
        supports: &["SUBSCRIPTION"],
        parameters: &[("url", "URL", true)],
    },
];

pub fn list_targets(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let paging = ctx.query.paging()?;
    let label = ctx.query.get("fuzzy_label");
    let supports: Vec<&str> =
        ctx.query.all("support_types").flat_map(|v| v.split(',')).map(str::trim).filter(|s| !s.is_empty()).collect();
    for s in &supports {
        if !["SUBSCRIPTION", "FLOW"].contains(s) {
            return Err(EgError::Parameter("support_types must be SUBSCRIPTION or FLOW".into()));
        }
    }
    let items: Vec<(usize, &Catalog)> = CATALOG
        .iter()
        .enumerate()
        .filter(|(_, c)| label.is_none_or(|l| fuzzy(c.label, l)))
        .filter(|(_, c)| supports.iter().all(|s| c.supports.contains(s)))
        .collect();
    let created = ctx.state.started_at.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    Ok(Reply::json(&paging.envelope(
        items,
        |(i, c)| SortKey {
            name: c.name,
            created_ms: Millis(created - *i as i64),
            updated_ms: Millis(created),
            id: c.name,
        },
        |(_, c)| {
            json!({
                "id": crate::engine::eventbus::stable_uuid(&format!("huawei/target-catalog/{}", c.name)),
                "name": c.name,
                "label": c.label,
                "description": c.description,
                "provider_type": c.provider,
                "support_types": c.supports,
                "parameters": c.parameters.iter().map(|(n, l, required)| json!({"name": n, "label": l, "metadata": {"required": required, "type": "string"}})).collect::<Vec<_>>(),
                "created_time": time(Millis(created)),
                "updated_time": time(Millis(created)),
            })
        },
    )))
}

// ---- connections ----

/// Connection details without their secrets (passwords are write-only). The seed's response tables list a
/// `password` field but no example shows a value, so it is left out rather than echoed.
fn redact(detail: &Option<Value>) -> Value {
    let mut v = detail.clone().unwrap_or_else(|| json!({}));
    if let Some(map) = v.as_object_mut() {
        map.remove("password");
    }
    v
}

fn render_connection(c: &Connection) -> Value {
    let mut v = json!({
        "id": c.id,
        "name": c.name,
        "description": c.description,
        "status": c.status,
        "error_info": {},
        "vpc_id": c.vpc_id,
        "subnet_id": c.subnet_id,
        "agency": "EG_TRUST",
        "flavor": {"name": "default", "concurrency_type": "exclusive", "concurrency": 500, "bandwidth_type": "exclusive"},
        "type": c.kind,
        "kafka_detail": redact(&c.kafka_detail),
        "created_time": time(c.created_ms),
        "updated_time": time(c.updated_ms),
    });
    if c.rocketmq_detail.is_some() {
        v["rocketmq_detail"] = redact(&c.rocketmq_detail);
    }
    v
}

fn check_kafka_detail(d: &Value) -> Result<(), EgError> {
    let d = Body::from_value(d, "kafka_detail")?;
    for field in ["instance_id", "addr"] {
        d.req_str(field).map_err(|_| EgError::Parameter(format!("kafka_detail.{field} is required")))?;
    }
    d.opt_str("security_protocol")?;
    let sasl = d
        .opt_bool("enable_sasl_ssl")?
        .ok_or_else(|| EgError::Parameter("kafka_detail.enable_sasl_ssl is required".into()))?;
    if sasl {
        for field in ["user_name", "password"] {
            d.req_str(field)
                .map_err(|_| EgError::Parameter(format!("kafka_detail.{field} is required with SASL_SSL")))?;
        }
    }
    d.opt_enum("acks", &["0", "1", "all"])?;
    Ok(())
}

fn check_rocketmq_detail(d: &Value) -> Result<(), EgError> {
    let d = Body::from_value(d, "rocketmq_detail")?;
    for field in ["instance_id", "addr"] {
        d.req_str(field).map_err(|_| EgError::Parameter(format!("rocketmq_detail.{field} is required")))?;
    }
    d.opt_bool("use_tls")?.ok_or_else(|| EgError::Parameter("rocketmq_detail.use_tls is required".into()))?;
    // Typed String in the seed ("true"/"false"); JSON booleans are accepted too.
    let acl =
        d.opt_bool("enable_acl")?.ok_or_else(|| EgError::Parameter("rocketmq_detail.enable_acl is required".into()))?;
    if acl {
        for field in ["user_name", "password"] {
            d.req_str(field)
                .map_err(|_| EgError::Parameter(format!("rocketmq_detail.{field} is required with ACL")))?;
        }
    }
    Ok(())
}

pub fn create_connection(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let name = body.req_str("name")?;
    check_name("name", &name)?;
    if name == "default" {
        return Err(EgError::Parameter("name: a connection cannot be called default".into()));
    }
    let description = body.opt_str("description")?;
    check_description(&description)?;
    let vpc_id = body.req_str("vpc_id")?;
    let subnet_id = body.req_str("subnet_id")?;
    // The seed's own example sends `"type": {}`: an object counts as absent.
    let kind = match body.get("type") {
        Some(Value::Object(_)) | None => "WEBHOOK".to_string(),
        Some(_) => body.opt_enum("type", &["WEBHOOK", "KAFKA", "ROCKETMQ"])?.unwrap_or_default(),
    };
    let kafka_detail = body.opt_object("kafka_detail")?;
    let rocketmq_detail = body.opt_object("rocketmq_detail")?;
    match kind.as_str() {
        "KAFKA" => check_kafka_detail(
            kafka_detail.as_ref().ok_or_else(|| EgError::Parameter("kafka_detail is required for KAFKA".into()))?,
        )?,
        "ROCKETMQ" => check_rocketmq_detail(
            rocketmq_detail
                .as_ref()
                .ok_or_else(|| EgError::Parameter("rocketmq_detail is required for ROCKETMQ".into()))?,
        )?,
        _ => {}
    }
    let now = Millis::now();
    let connection = Connection {
        id: new_uuid(),
        project_id: ctx.project.clone(),
        name,
        description: description.unwrap_or_default(),
        vpc_id,
        subnet_id,
        kind,
        kafka_detail,
        rocketmq_detail,
        // Nothing to provision locally: connections are usable at once.
        status: "CREATED".into(),
        created_ms: now,
        updated_ms: now,
    };
    let mut model = ctx.state.store.eventbus.write();
    Ok(Reply::Ok(render_connection(model.create_connection(connection)?)))
}

pub fn list_connections(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let paging = ctx.query.paging()?;
    let (name, fuzzy_name) = (ctx.query.get("name"), ctx.query.get("fuzzy_name"));
    let model = ctx.state.store.eventbus.read();
    let items: Vec<&Connection> = model
        .connections_of(&ctx.project)
        .filter(|c| name.is_none_or(|n| c.name == n))
        .filter(|c| fuzzy_name.is_none_or(|n| fuzzy(&c.name, n)))
        .collect();
    Ok(Reply::json(&paging.envelope(
        items,
        |c| SortKey { name: &c.name, created_ms: c.created_ms, updated_ms: c.updated_ms, id: &c.id },
        |c| render_connection(c),
    )))
}

pub fn show_connection(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let model = ctx.state.store.eventbus.read();
    Ok(Reply::Ok(render_connection(model.connection(&ctx.project, ctx.param(0))?)))
}

pub fn update_connection(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let description = body.opt_str("description")?;
    check_description(&description)?;
    let kafka = body.opt_object("kafka_detail")?;
    if let Some(k) = &kafka {
        let k = Body::from_value(k, "kafka_detail")?;
        k.opt_str("user_name")?;
        k.opt_str("password")?;
    }
    let rocketmq = body.opt_object("rocketmq_detail")?;
    if let Some(r) = &rocketmq {
        check_rocketmq_detail(r)?;
    }
    let mut model = ctx.state.store.eventbus.write();
    let connection = model.update_connection(&ctx.project, ctx.param(0), |connection| {
        if let Some(d) = description {
            connection.description = d;
        }
        if let Some(Value::Object(update)) = kafka {
            let detail = connection.kafka_detail.get_or_insert_with(|| json!({}));
            if let Some(map) = detail.as_object_mut() {
                map.extend(update);
            }
        }
        if rocketmq.is_some() {
            connection.rocketmq_detail = rocketmq;
        }
        connection.updated_ms = Millis::now();
        Ok(())
    })?;
    Ok(Reply::Ok(render_connection(connection)))
}

pub fn delete_connection(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    ctx.state.store.eventbus.write().delete_connection(&ctx.project, ctx.param(0))?;
    Ok(Reply::NoContent)
}

// ---- endpoints ----

fn render_endpoint(e: &Endpoint) -> Value {
    json!({
        "id": e.id,
        "name": e.name,
        "vpc_id": e.vpc_id,
        "subnet_id": e.subnet_id,
        "domain": e.domain,
        "description": e.description,
        "status": e.status,
        "error_info": {},
        "type": e.kind,
        "scalable": false,
        "created_time": time(e.created_ms),
        "updated_time": time(e.updated_ms),
        "endpoints": [],
    })
}

pub fn create_endpoint(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let name = body.req_str("name")?;
    check_name("name", &name)?;
    let vpc_id = body.req_str("vpc_id")?;
    let subnet_id = body.req_str("subnet_id")?;
    let description = body.opt_str("description")?;
    check_description(&description)?;
    let now = Millis::now();
    let endpoint = Endpoint {
        id: new_uuid(),
        project_id: ctx.project.clone(),
        name,
        vpc_id,
        subnet_id,
        description: description.unwrap_or_default(),
        kind: "PRIVATE".into(),
        status: "CREATED".into(),
        // The events API of this emulator is where the endpoint leads.
        domain: ctx.req.host().to_string(),
        created_ms: now,
        updated_ms: now,
    };
    let mut model = ctx.state.store.eventbus.write();
    match model.create_endpoint(endpoint) {
        Ok(e) => Ok(Reply::Ok(render_endpoint(e))),
        Err(crate::engine::eventbus::EventBusError::Conflict(why)) => Err(EgError::VpcConflict(why)),
        Err(e) => Err(e.into()),
    }
}

pub fn list_endpoints(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let paging = ctx.query.paging()?;
    let kind = ctx.query.opt_enum("type", &["PRIVATE", "PUBLIC"])?;
    let (name, fuzzy_name) = (ctx.query.get("name"), ctx.query.get("fuzzy_name"));
    let (vpc_id, subnet_id) = (ctx.query.get("vpc_id"), ctx.query.get("subnet_id"));
    let model = ctx.state.store.eventbus.read();
    let items: Vec<&Endpoint> = model
        .endpoints_of(&ctx.project)
        .filter(|e| kind.is_none_or(|k| e.kind == k))
        .filter(|e| name.is_none_or(|n| e.name == n))
        .filter(|e| fuzzy_name.is_none_or(|n| fuzzy(&e.name, n)))
        .filter(|e| vpc_id.is_none_or(|v| e.vpc_id == v))
        .filter(|e| subnet_id.is_none_or(|s| e.subnet_id == s))
        .collect();
    Ok(Reply::json(&paging.envelope(
        items,
        |e| SortKey { name: &e.name, created_ms: e.created_ms, updated_ms: e.updated_ms, id: &e.id },
        |e| render_endpoint(e),
    )))
}

pub fn update_endpoint(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let body = ctx.body()?;
    let description = body.opt_str("description")?;
    check_description(&description)?;
    let mut model = ctx.state.store.eventbus.write();
    let endpoint = model.update_endpoint(&ctx.project, ctx.param(0), description, Millis::now())?;
    Ok(Reply::Ok(render_endpoint(endpoint)))
}

pub fn delete_endpoint(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    ctx.state.store.eventbus.write().delete_endpoint(&ctx.project, ctx.param(0))?;
    Ok(Reply::NoContent)
}

// ---- quotas ----

pub fn list_quotas(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    let types: Vec<&str> = QUOTAS.iter().map(|(t, _, _)| *t).collect();
    let only = ctx.query.opt_enum("type", &types)?;
    let model = ctx.state.store.eventbus.read();
    let resources: Vec<Value> = QUOTAS
        .iter()
        .filter(|(t, _, _)| only.is_none_or(|o| o == *t))
        .map(|(t, name, _)| {
            let quota = model.quota_limit(&ctx.project, t);
            json!({"name": name, "type": t, "max": quota, "min": 0, "quota": quota, "used": model.quota_used(&ctx.project, t)})
        })
        .collect();
    Ok(Reply::Ok(json!({"quotas": {"resources": resources}})))
}

// ---- OBS buckets ----

/// No OBS runs locally: the list is empty (paging is still validated).
pub fn list_obs_buckets(ctx: &Ctx<'_>) -> Result<Reply, EgError> {
    ctx.query.paging()?;
    Ok(Reply::Ok(json!({"total": 0, "size": 0, "items": []})))
}
