//! Alibaba Cloud Message Queue for Apache RocketMQ, ONS OpenAPI version 2019-02-14 (what
//! `aliyun-python-sdk-ons` and the tea SDK `alibabacloud_ons20190214` send): RPC `/?Action=Ons...&Version=
//! 2019-02-14` (GET or POST form) signed with signature v1 (HMAC-SHA1), or ACS3-HMAC-SHA256 with the
//! `x-acs-action` / `x-acs-version` headers; answers in JSON or XML (`Format`).
//!
//! The wire (parameters, formats, XML mapping) and both signature schemes are the Alibaba Kafka RPC
//! facade's (`crate::alibaba::kafka::{wire, acs3, authenticate, authenticate_acs3}`): one gateway, one
//! implementation. The state is the sealed RocketMQ engine the `/json` Open API serves, so both APIs see the
//! same instances, topics and groups: an ONS `RegionId` is the engine's region (`_regionId` on `/json`).
//!
//! Success answers are `{"RequestId", <the action's fields>}` (the SDK models' response bodies); errors are
//! the gateway envelope `{"RequestId", "HostId", "Code", "Message", "Recommend"}` (see `error`).
//!
//! Files: `resources` (regions, instances, topics, groups), `consumers` (consumer state, message queries,
//! trends, dead letters), `tags` (TagResources, UntagResources, ListTagResources and the lists' tag
//! filters), `traces` (trace queries and results, OnsMessageDetail, OnsMessagePush).

mod consumers;
mod error;
mod resources;
mod tags;
mod traces;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Serialize;
use serde_json::{Map, Value};

pub use error::OnsError;

use crate::alibaba::kafka::wire::{self, Format, Params, Reply};
use crate::alibaba::kafka::{acs3, AlibabaError};
use crate::engine::rocketmq::{InstanceHandle, RocketMqModel};
use crate::http::{with_meta, ApiRequest, RequestMeta};
use crate::registry::{Access, OperationInfo};
use crate::state::AppState;

/// The service name health, faults and the request log use.
pub const VENDOR: &str = "alibaba-ons";

/// The one API version this module serves (the registry routes RPC requests of this version here).
pub const VERSION: &str = "2019-02-14";

/// The public-cloud regions ONS serves (RegionId, name as OnsRegionList reports it). Each becomes a region
/// of the RocketMQ engine (with the `/json` API's cluster) when a request first names it, so instances
/// created here are visible there too.
pub const REGIONS: &[(&str, &str)] = &[
    ("cn-hangzhou", "华东1（杭州）"),
    ("cn-shanghai", "华东2（上海）"),
    ("cn-qingdao", "华北1（青岛）"),
    ("cn-beijing", "华北2（北京）"),
    ("cn-zhangjiakou", "华北3（张家口）"),
    ("cn-huhehaote", "华北5（呼和浩特）"),
    ("cn-shenzhen", "华南1（深圳）"),
    ("cn-hongkong", "中国香港"),
    ("ap-southeast-1", "新加坡"),
];

/// The region of a request without `RegionId` (the SDK always sends one).
pub const DEFAULT_REGION: &str = "cn-hangzhou";

/// What an action handler works with: the model (under the store's read lock: the engine locks each
/// instance itself), the caller's account and the request's region; and the answer's format and request
/// id, for the handlers that serialise their answer themselves (`Ctx::reply`).
pub struct Ctx<'a> {
    pub model: &'a RocketMqModel,
    pub account: &'a str,
    pub region: &'a str,
    pub format: Format,
    pub request_id: &'a str,
}

impl Ctx<'_> {
    /// The caller's instance in the request's region.
    pub fn instance(&self, id: &str) -> Result<InstanceHandle, OnsError> {
        Ok(self.model.instance(self.account, self.region, id)?)
    }

    /// The answer from typed fields (a struct serialising as an object, in the answer's field order): for
    /// JSON the whole body `{"RequestId", <fields>}` is written straight to bytes while the handler still
    /// borrows from the model (no intermediate `Value` tree: the list answers' hot path); for XML, which is
    /// rare, the fields become the tree `wire::to_xml` walks (serde_json keeps the struct's field order).
    pub fn reply<T: Serialize + ?Sized>(&self, fields: &T, size_hint: usize) -> Reply {
        match self.format {
            Format::Json => Reply::Body(json_body(self.request_id, fields, size_hint)),
            Format::Xml => Reply::Fields(match serde_json::to_value(fields) {
                Ok(Value::Object(map)) => map,
                _ => Map::new(),
            }),
        }
    }
}

/// The success envelope: `RequestId`, then the action's fields.
#[derive(Serialize)]
struct Envelope<'a, T: ?Sized> {
    #[serde(rename = "RequestId")]
    request_id: &'a str,
    #[serde(flatten)]
    fields: &'a T,
}

/// The JSON success body, written into one buffer sized for the answer (`size_hint` bytes of fields) so
/// that a 5 KB list is not copied through every doubling of a small `Vec`.
fn json_body<T: Serialize + ?Sized>(request_id: &str, fields: &T, size_hint: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint + 64);
    // Serialising borrowed strings and numbers into a Vec cannot fail; an empty body would show if it did.
    if serde_json::to_writer(&mut out, &Envelope { request_id, fields }).is_err() {
        out.clear();
    }
    out
}

/// A handler answering a JSON tree of fields (most actions: rare, small answers).
type Handler = fn(&Ctx<'_>, &Params) -> Result<Map<String, Value>, OnsError>;
/// A handler answering through `Ctx::reply` (the list actions, the hot reads).
type TypedHandler = fn(&Ctx<'_>, &Params) -> Result<Reply, OnsError>;

#[derive(Clone, Copy)]
enum Run {
    Tree(Handler),
    Typed(TypedHandler),
}

/// One declared operation: the Action, read or write, and its handler (which reads its typed input first).
struct Operation {
    action: &'static str,
    access: Access,
    run: Run,
}

const fn read(action: &'static str, run: Handler) -> Operation {
    Operation { action, access: Access::Read, run: Run::Tree(run) }
}

const fn read_typed(action: &'static str, run: TypedHandler) -> Operation {
    Operation { action, access: Access::Read, run: Run::Typed(run) }
}

const fn write(action: &'static str, run: Handler) -> Operation {
    Operation { action, access: Access::Write, run: Run::Tree(run) }
}

/// The actions served, most used first.
static OPERATIONS: &[Operation] = &[
    write("OnsInstanceCreate", resources::instance_create),
    read_typed("OnsInstanceInServiceList", resources::instance_in_service_list),
    read("OnsInstanceBaseInfo", resources::instance_base_info),
    write("OnsInstanceUpdate", resources::instance_update),
    write("OnsInstanceDelete", resources::instance_delete),
    write("OnsTopicCreate", resources::topic_create),
    read_typed("OnsTopicList", resources::topic_list),
    read("OnsTopicStatus", resources::topic_status),
    write("OnsTopicUpdate", resources::topic_update),
    write("OnsTopicDelete", resources::topic_delete),
    read("OnsTopicSubDetail", resources::topic_sub_detail),
    write("OnsGroupCreate", resources::group_create),
    read_typed("OnsGroupList", resources::group_list),
    write("OnsGroupDelete", resources::group_delete),
    write("OnsGroupConsumerUpdate", resources::group_consumer_update),
    read("OnsGroupSubDetail", resources::group_sub_detail),
    read("OnsRegionList", resources::region_list),
    write("OpenOnsService", resources::open_ons_service),
    read("OnsConsumerAccumulate", consumers::accumulate),
    read("OnsConsumerStatus", consumers::status),
    read("OnsConsumerGetConnection", consumers::get_connection),
    write("OnsConsumerResetOffset", consumers::reset_offset),
    read("OnsConsumerTimeSpan", consumers::time_span),
    read("OnsTrendTopicInputTps", consumers::trend_topic_input_tps),
    read("OnsTrendGroupOutputTps", consumers::trend_group_output_tps),
    read("OnsMessageGetByMsgId", consumers::message_get_by_msg_id),
    read("OnsMessageGetByKey", consumers::message_get_by_key),
    read("OnsMessagePageQueryByTopic", consumers::message_page_query_by_topic),
    read("OnsMessageTrace", consumers::message_trace),
    read("OnsTraceQueryByMsgId", traces::trace_query_by_msg_id),
    read("OnsTraceQueryByMsgKey", traces::trace_query_by_msg_key),
    read("OnsTraceGetResult", traces::trace_get_result),
    read("OnsMessageDetail", traces::message_detail),
    write("OnsMessagePush", traces::message_push),
    read("OnsDLQMessageGetById", consumers::dlq_get_by_id),
    read("OnsDLQMessagePageQueryByGroupId", consumers::dlq_page_query_by_group_id),
    write("OnsDLQMessageResendById", consumers::dlq_resend_by_id),
    write("TagResources", tags::tag_resources),
    write("UntagResources", tags::untag_resources),
    read("ListTagResources", tags::list_tag_resources),
];

/// The declared operations, for the registry (admin API, fault injection, coverage).
pub fn operations() -> Vec<OperationInfo> {
    OPERATIONS.iter().map(|o| OperationInfo { name: o.action, access: o.access }).collect()
}

/// Whether `action` is one of this API's actions (the registry's claim uses it when no Version is sent).
pub fn serves_action(action: &str) -> bool {
    OPERATIONS.iter().any(|o| o.action == action)
}

fn operation(action: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.action == action)
}

pub async fn handle(state: &AppState, req: ApiRequest) -> Response {
    let mut meta = RequestMeta::new(VENDOR);
    let request_id = wire::new_request_id();
    let params = Params::from_request(&req);
    let is_acs3 = req.header("authorization").is_some_and(|a| a.starts_with(acs3::SCHEME));
    // ACS3 requests carry no Format and the tea SDK reads JSON; RPC defaults to XML (the gateway's rule).
    let (format, format_error) = match Format::of(&params) {
        Ok(Format::Xml) if is_acs3 && params.non_empty("Format").is_none() => (Format::Json, None),
        Ok(f) => (f, None),
        Err(e) => (Format::Xml, Some(OnsError::from(e))),
    };
    // The Action from the parameters already parsed (`action_of` would parse the request a second time).
    meta.action =
        params.non_empty("Action").or_else(|| req.header("x-acs-action")).map(str::to_string).unwrap_or_default();
    // Only whole-model persistence needs the change count (one more store lock per request otherwise).
    let changes_before = state.persistence.is_some().then(|| state.store.rocketmq.read().change_count());
    let outcome = match format_error {
        Some(e) => Err(e),
        None => process(state, &req, &params, is_acs3, format, &request_id, &mut meta),
    };
    // Whole-model persistence saves a model when its store generation moved (as the `/json` facade does).
    if let Some(before) = changes_before {
        if state.store.rocketmq.read().change_count() != before {
            drop(state.store.rocketmq.write());
        }
    }
    let response = match outcome {
        Ok(Reply::Body(bytes)) => wire::respond(format, StatusCode::OK, bytes),
        // A JSON tree of fields is written behind the RequestId directly, without first being copied into a
        // new tree; a field named RequestId (none is) would take the tree path, which keeps one such key.
        Ok(Reply::Fields(fields)) if format == Format::Json && !fields.contains_key("RequestId") => {
            wire::respond(format, StatusCode::OK, json_body(&request_id, &fields, 128))
        }
        Ok(Reply::Fields(fields)) => {
            let mut body = Map::with_capacity(fields.len() + 1);
            body.insert("RequestId".into(), Value::from(request_id));
            body.extend(fields);
            wire::render(format, StatusCode::OK, &format!("{}Response", meta.action), &body)
        }
        Err(e) => {
            tracing::debug!(code = e.code(), "ons request rejected");
            meta.error_code = Some(e.code().to_string());
            wire::render(format, e.status(), "Error", &error_body(&request_id, req.host(), &e))
        }
    };
    with_meta(response, meta)
}

/// The gateway's error envelope.
fn error_body(request_id: &str, host_id: &str, e: &OnsError) -> Map<String, Value> {
    let mut body = Map::with_capacity(5);
    body.insert("RequestId".into(), Value::from(request_id));
    body.insert("HostId".into(), Value::from(host_id));
    body.insert("Code".into(), Value::from(e.code()));
    body.insert("Message".into(), Value::from(e.message()));
    body.insert(
        "Recommend".into(),
        Value::from(format!("https://api.aliyun.com/troubleshoot?q={}&product=Ons", e.code())),
    );
    body
}

fn process(
    state: &AppState,
    req: &ApiRequest,
    params: &Params,
    is_acs3: bool,
    format: Format,
    request_id: &str,
    meta: &mut RequestMeta,
) -> Result<Reply, OnsError> {
    if req.method != Method::GET && req.method != Method::POST {
        return Err(OnsError::invalid("HTTPMethod", "Only GET and POST are supported."));
    }
    params.check_no_repeats()?;
    // The gateway resolves the API (action and version) before it authenticates the caller.
    let from_header = |name: &str| if is_acs3 { req.header(name).filter(|v| !v.is_empty()) } else { None };
    let action = params
        .non_empty("Action")
        .or_else(|| from_header("x-acs-action"))
        .ok_or_else(|| OnsError::missing("Action"))?;
    let version = params
        .non_empty("Version")
        .or_else(|| from_header("x-acs-version"))
        .ok_or_else(|| OnsError::missing("Version"))?;
    if version != VERSION {
        return Err(AlibabaError::InvalidVersion(version.into()).into());
    }
    let op = operation(action).ok_or_else(|| AlibabaError::ActionNotFound(action.into()))?;
    let account = if is_acs3 {
        crate::alibaba::kafka::authenticate_acs3(state, req, meta)?
    } else {
        crate::alibaba::kafka::authenticate(state, req, params, meta)?
    };
    meta.account = Some(account.clone());
    let region = params.non_empty("RegionId").unwrap_or(DEFAULT_REGION).to_string();
    let model = state.store.rocketmq.read();
    if model.region(&region).is_err() {
        // A public ONS region enters the engine's catalog when first named (so `/json` sees it from then
        // on); any other region must already be there (the `/json` API's, or a fixture's).
        let (id, name) = REGIONS.iter().find(|(id, _)| *id == region).ok_or_else(|| {
            OnsError::business("BIZ_REGION_NOT_FOUND", format!("The region {region} does not exist."))
        })?;
        add_region(&model, id, name);
    }
    let ctx = Ctx { model: &model, account: &account, region: &region, format, request_id };
    match op.run {
        Run::Tree(run) => run(&ctx, params).map(Reply::Fields),
        Run::Typed(run) => run(&ctx, params),
    }
}

/// The Action a request names, without authenticating it (for fault injection and logs).
pub fn action_of(req: &ApiRequest) -> Option<String> {
    wire::rpc_action_of(req)
}

/// An error in this API's envelope with an arbitrary code (admin fault injection): HTTP 500, JSON.
pub fn error_response(code: &str, message: &str) -> Response {
    wire::rpc_fault_response(VENDOR, code, message)
}

/// A public ONS region and the `/json` API's cluster in the engine (idempotent).
fn add_region(model: &RocketMqModel, id: &str, name: &str) {
    model.add_region(id, name);
    let _ = model.add_cluster(id, crate::alibaba::rocketmq::DEFAULT_CLUSTER);
}

/// Nothing to provision: an ONS account starts without instances, as on the real service, and the public
/// regions enter the shared engine when a request first names one (so the `/json` API's region list stays
/// what its own fixtures make it).
pub fn provision_defaults(_state: &AppState, _account: &str) {}
