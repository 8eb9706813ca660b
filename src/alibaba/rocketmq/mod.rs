//! Alibaba Apsara Stack RocketMQ Open API (`/json/<resource>/<verb>`, seed part 2): the 38 routes of
//! section 2.6 over the vendor-neutral RocketMQ model (`crate::engine::rocketmq`). Wire format in `wire`,
//! signature in `signature`, errors in `error`, one file per resource family.
//!
//! Requests: GET with query parameters, or POST with a form body (query and body are merged and both are
//! signed). The doc's double-slash form `//json/...` and a trailing slash are accepted. Every request carries
//! `_accesskey`, `__preventCache`, `_regionId` (not for `region/list`) and `_signature`.

mod consumers;
mod empower;
mod error;
pub mod fixture;
mod groups;
mod input;
mod instances;
mod messages;
pub mod signature;
mod topics;
mod wire;

use axum::http::{Method, StatusCode};
use axum::response::Response;
use parking_lot::RwLockReadGuard;
use serde::Deserialize;
use serde_json::Value;

pub use error::ApiError;
use wire::{Params, Reply};

use crate::alibaba::kafka::form::{body_is_form, for_each_pair};
use crate::auth::{authenticate, AuthFailure, SignedRequest};
use crate::engine::ids::stable_suffix;
use crate::engine::rocketmq::{ConsumerClient, MessageModel, NewInstance, RocketMqModel, DEFAULT_MAX_RECONSUME_TIMES};
use crate::http::{with_meta, ApiRequest, RequestMeta};
use crate::registry::{Access, OperationInfo};
use crate::state::AppState;

pub const VENDOR: &str = "alibaba-rocketmq";
/// The Apsara Stack region (seed: "专有域和专有云情况下，默认值为mq-private").
pub const DEFAULT_REGION: &str = "mq-private";
pub const DEFAULT_REGION_NAME: &str = "专有云";
/// The cluster every region gets.
pub const DEFAULT_CLUSTER: &str = "localyun-cluster";
/// The default instance's name and throughput limits.
pub const DEFAULT_INSTANCE_NAME: &str = "localyun-default";
const DEFAULT_TPS: i64 = 5000;

/// What a route handler works with: the caller's account and region, and the model (under the store's read
/// lock: the model locks each instance itself, so requests on different instances run side by side).
pub struct Ctx<'a> {
    pub model: RwLockReadGuard<'a, RocketMqModel>,
    pub account: &'a str,
    pub region: &'a str,
    /// For routes that serialise their whole answer themselves (`Reply::typed`).
    pub request_id: &'a str,
}

impl Ctx<'_> {
    /// The instance a request means: `instanceId` when given, else the caller's instance without a namespace.
    pub fn instance_id(&self, given: Option<&str>) -> Result<String, ApiError> {
        Ok(self.model.resolve_instance(self.account, self.region, given)?)
    }

    /// The caller's instance, for reading.
    pub fn instance(&self, id: &str) -> Result<crate::engine::rocketmq::InstanceHandle, ApiError> {
        Ok(self.model.instance(self.account, self.region, id)?)
    }

    /// Resolves the instance and moves its due timed messages into their queues first. Reads that depend on
    /// queue contents (consumer state, traces, trends) use it: when nothing is due, which is the common case,
    /// nothing is locked for writing and nothing changes; only when a timed message has come due is the
    /// instance's write lock taken, briefly, to move it (a message-store change, not a resource change).
    pub fn settled(&self, given: Option<&str>) -> Result<String, ApiError> {
        let id = self.instance_id(given)?;
        self.model.settle_due(&id)?;
        Ok(id)
    }
}

type Handler = fn(&Ctx<'_>, &Params) -> Result<Reply, ApiError>;

/// One declared operation: the route, whether it reads or writes, and its handler. Each handler starts by
/// deserialising its typed input from the parameters (see `input`), so a write is validated before any
/// instance lock is taken.
struct Operation {
    name: &'static str,
    access: Access,
    handler: Handler,
}

const fn read(name: &'static str, handler: Handler) -> Operation {
    Operation { name, access: Access::Read, handler }
}

const fn write(name: &'static str, handler: Handler) -> Operation {
    Operation { name, access: Access::Write, handler }
}

/// Every route of seed section 2.6.
const OPERATIONS: &[Operation] = &[
    read("region/list", instances::region_list),
    read("cluster/list", instances::cluster_list),
    // The seed's path is `vpcTunnel/tunnelSwitch`; it files the route under instance management.
    write("vpcTunnel/tunnelSwitch", instances::tunnel_switch),
    write("instance/tunnelSwitch", instances::tunnel_switch),
    read("instance/baseInfo", instances::base_info),
    write("instance/create", instances::create),
    write("instance/delete", instances::delete),
    read("instance/list", instances::list),
    write("instance/update", instances::update),
    write("topic/create", topics::create),
    write("topic/delete", topics::delete),
    read("topic/get", topics::get),
    read("topic/listInPage", topics::list_in_page),
    write("topic/update", topics::update),
    read("topic/listNames", topics::list_names),
    read("topic/subDetail", topics::sub_detail),
    write("group/create", groups::create),
    write("group/delete", groups::delete),
    read("group/list", groups::list),
    read("group/subDetail", groups::sub_detail),
    write("group/consumerUpdate", groups::consumer_update),
    read("consumer/accumulate", consumers::accumulate),
    read("consumer/status", consumers::status),
    read("consumer/getConnection", consumers::get_connection),
    read("consumer/timespan", consumers::timespan),
    write("consumer/resetOffset", consumers::reset_offset),
    read("message/trace", messages::trace),
    read("message/getById", messages::get_by_id),
    read("message/getByKey", messages::get_by_key),
    // A paged query's first page fixes the matching messages in a runtime task: still a read.
    read("message/getByPagedTopic", messages::get_by_paged_topic),
    read("message/getByIdInDLQ", messages::get_by_id_in_dlq),
    read("message/getByPagedDLQ", messages::get_by_paged_dlq),
    write("message/resendByIdInDLQ", messages::resend_by_id_in_dlq),
    read("trend/topicInputTps", messages::topic_input_tps),
    read("trend/groupOutputTps", messages::group_output_tps),
    write("empower/create", empower::create),
    write("empower/createBySub", empower::create_by_sub),
    write("empower/delete", empower::delete),
    read("empower/list", empower::list),
];

fn operation(route: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.name == route)
}

/// Every declared operation, for the vendor registry.
pub fn operations() -> Vec<OperationInfo> {
    OPERATIONS.iter().map(|o| OperationInfo { name: o.name, access: o.access }).collect()
}

/// `resource/verb` from `/json/resource/verb`, `//json/resource/verb/` and the like.
fn route_of(path: &str) -> Option<String> {
    let rest = path.trim_start_matches('/').strip_prefix("json/")?;
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

pub async fn handle(state: &AppState, req: ApiRequest) -> Response {
    let mut meta = RequestMeta::new(VENDOR);
    let request_id = crate::alibaba::kafka::wire::new_request_id();
    let changes_before = state.store.rocketmq.read().change_count();
    let outcome = process(state, &req, &request_id, &mut meta);
    mark_changed_for_snapshots(state, changes_before);
    let (status, body) = match outcome {
        Ok(reply) => (StatusCode::OK, wire::success(reply, &request_id)),
        Err(e) => {
            tracing::debug!(code = e.code, detail = %e.detail, "rocketmq request rejected");
            meta.error_code = Some(e.code.to_string());
            (e.http_status(), wire::failure(&e, &request_id))
        }
    };
    with_meta(wire::json_response(status, body), meta)
}

/// Bridge to the whole-model persistence (`crate::persist`), which saves a model when its store generation
/// moved: requests work under the store's read lock, so when the model counted a change during this request
/// (and only then, and only with `--data-dir`) a momentary write guard marks it changed. Once storage
/// journals [`crate::storage::Resources`] keys this goes: the journal reads `take_dirty` instead.
fn mark_changed_for_snapshots(state: &AppState, changes_before: u64) {
    if state.persistence.is_some() && state.store.rocketmq.read().change_count() != changes_before {
        drop(state.store.rocketmq.write());
    }
}

fn process(state: &AppState, req: &ApiRequest, request_id: &str, meta: &mut RequestMeta) -> Result<Reply, ApiError> {
    let route = route_of(req.path()).unwrap_or_default();
    meta.action = route.clone();
    // The query's pairs, then a POST's form body's (`ApiRequest::query_pairs` / `form_pairs`' rules),
    // decoded straight into one list.
    let mut pairs = Vec::with_capacity(12);
    let mut push = |k, v| pairs.push((k, v));
    for_each_pair(req.query().as_bytes(), &mut push);
    match req.method {
        Method::GET => {}
        Method::POST if body_is_form(req) => for_each_pair(&req.body, &mut push),
        Method::POST => {}
        _ => return Err(ApiError::new("METHOD_NOT_ALLOWED", "only GET and POST are supported")),
    }
    let params = Params::from_pairs(pairs);
    let account = authenticate_request(state, &params, meta)?;
    meta.account = Some(account.clone());
    // `__preventCache` is documented only as "用于CSRF校验，设置为系统当前时间即可" (a ms timestamp against
    // caching/CSRF): required and a Long, but the seed documents no freshness window and no uniqueness, so
    // neither is enforced (a replay check would reject the seed's own fixed example value).
    params.required_i64("__preventCache")?;
    let operation = operation(&route).ok_or_else(|| {
        ApiError::new("ONS_SERVICE_UNSUPPORTED", format!("route /json/{route} is not part of the Open API"))
    })?;
    let model = state.store.rocketmq.read();
    let region = if route == "region/list" {
        // The one route without `_regionId` ("获取regionId列表接口除外").
        String::new()
    } else {
        let region = params.required("_regionId")?.to_string();
        model.region(&region)?;
        region
    };
    let ctx = Ctx { model, account: &account, region: &region, request_id };
    let reply = (operation.handler)(&ctx, &params);
    drop(ctx);
    reply
}

/// Checks `_accesskey` and `_signature` through the shared sequence (`crate::auth`) and returns the caller's
/// account. Every failure here is AUTH_FAILED (HTTP 403), including a missing `_accesskey` or `_signature`:
/// without them the caller is unknown. Lenient mode skips only the HMAC. The scheme has no timestamp and no
/// nonce (see `__preventCache` above), so the window and replay steps do not apply.
fn authenticate_request(state: &AppState, params: &Params, meta: &mut RequestMeta) -> Result<String, ApiError> {
    let access_key = params.get("_accesskey").ok_or_else(|| ApiError::auth("missing _accesskey"))?;
    let given = params.get("_signature").ok_or_else(|| ApiError::auth("missing _signature"))?;
    let given = signature::normalise_received(given);
    let request = SignedRequest {
        scope: VENDOR,
        key_id: access_key,
        signature: &given,
        timestamp: None,
        nonce: None,
        window: state.nonces.window(),
    };
    authenticate(state, &request, |secret| {
        let sts = signature::string_to_sign(params.pairs());
        (signature::sign(secret, &sts), sts)
    })
    .map_err(|failure| match failure {
        AuthFailure::UnknownKey => ApiError::auth("the _accesskey is unknown"),
        AuthFailure::SignatureMismatch { string_to_sign } => {
            meta.string_to_sign = Some(string_to_sign);
            ApiError::auth(
                "signature mismatch: sign the values of all other parameters in sorted key order with HmacSHA1",
            )
        }
        AuthFailure::Stale { window_secs } => ApiError::auth(format!("the request is older than {window_secs} s")),
        AuthFailure::Replayed => ApiError::auth("the request was already used"),
    })
}

/// The route a request names, without authenticating it (for fault injection and logs).
pub fn action_of(req: &ApiRequest) -> Option<String> {
    route_of(req.path())
}

/// An error in this API's envelope with an arbitrary code (admin fault injection).
pub fn error_response(code: &str, message: &str) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string().to_uppercase();
    let body = wire::failure_with(ApiError::numeric_code(code), code, message, &request_id);
    let status = if code == error::AUTH_FAILED { StatusCode::FORBIDDEN } else { StatusCode::OK };
    let mut meta = RequestMeta::new(VENDOR);
    meta.error_code = Some(code.to_string());
    with_meta(wire::json_response(status, body), meta)
}

/// The id of an account's default instance: stable across restarts (public-cloud shape `MQ_INST_<uid>_<8>`).
pub fn default_instance_id(account: &str) -> String {
    format!("MQ_INST_{account}_{}", stable_suffix(&format!("rocketmq/{account}/{DEFAULT_REGION}"), 8).to_uppercase())
}

/// A fresh instance id.
pub fn new_instance_id(account: &str) -> String {
    format!("MQ_INST_{account}_{}", crate::engine::ids::random_suffix(8).to_uppercase())
}

/// The `mq-private` region with one cluster, and one instance without a namespace per account (so that
/// `instanceId` may be omitted, as in the seed's curl example).
pub fn provision_defaults(state: &AppState, account: &str) {
    let model = state.store.rocketmq.write();
    model.add_region(DEFAULT_REGION, DEFAULT_REGION_NAME);
    let _ = model.add_cluster(DEFAULT_REGION, DEFAULT_CLUSTER);
    let id = default_instance_id(account);
    if !model.instance_exists(&id) {
        let _ = model.create_instance(NewInstance {
            id,
            account: account.to_string(),
            region: DEFAULT_REGION.into(),
            cluster: DEFAULT_CLUSTER.into(),
            name: DEFAULT_INSTANCE_NAME.into(),
            remark: "localyun default instance".into(),
            independent_naming: false,
            max_send_tps: DEFAULT_TPS,
            max_receive_tps: DEFAULT_TPS,
            topic_capacity: None,
        });
    }
}

/// The `rocketmq:` section of a fixture file:
///
/// ```yaml
/// rocketmq:
///   regions:                       # regions besides mq-private (each gets the listed clusters)
///     - id: cn-example             # the _regionId
///       name: Example region       # regionName in /json/region/list
///       clusters: [c-example]      # default: [localyun-cluster]
///   instances:
///     - account: "100000000001"    # default: the default account
///       region: mq-private         # default: mq-private
///       id: MQ_INST_100000000001_ORDERS  # omitted: the account's default instance in mq-private
///       name: orders               # required for a new instance (3..64 characters)
///       cluster: localyun-cluster  # default: the region's first cluster
///       independent_naming: true   # default: true (with a namespace)
///       remark: ""
///       max_send_tps: 5000         # default 5000
///       max_receive_tps: 5000      # default 5000
///       topic_capacity: 1000       # default 1000
///       topics:
///         - name: T_orders
///           order_type: 0          # 0 normal, 1 partition order, 2 global order, 4 transaction, 5 timed
///           perm: 6                # 6 read+write, 4 write forbidden, 2 read forbidden
///           remark: ""
///       groups:
///         - id: GID_billing
///           remark: ""
///           read_enable: true
///           max_reconsume_times: 16
///           subscriptions: { T_orders: "*" }   # topic -> tag expression
/// ```
/// Resources that already exist are left as they are, so applying a file twice is harmless.
pub fn apply_fixtures(state: &AppState, section: &Value) -> Result<(), String> {
    let section: FixtureSection = serde_json::from_value(section.clone()).map_err(|e| e.to_string())?;
    let default_account = state.credentials.read().default_account().to_string();
    let model = state.store.rocketmq.write();
    for (n, r) in section.regions.iter().enumerate() {
        if r.id.is_empty() {
            return Err(format!("regions[{n}]: id must not be empty"));
        }
        model.add_region(&r.id, r.name.as_deref().unwrap_or(&r.id));
        let clusters = if r.clusters.is_empty() { vec![DEFAULT_CLUSTER.to_string()] } else { r.clusters.clone() };
        for c in clusters {
            model.add_cluster(&r.id, &c).map_err(|e| format!("regions[{n}]: {}", error::describe(&e)))?;
        }
    }
    for (n, spec) in section.instances.into_iter().enumerate() {
        let entry = format!("instances[{n}]");
        let fail = |at: &str, e: crate::engine::rocketmq::RocketMqError| format!("{at}: {}", error::describe(&e));
        let account = spec.account.clone().unwrap_or_else(|| default_account.clone());
        let region = spec.region.clone().unwrap_or_else(|| DEFAULT_REGION.to_string());
        let id = spec.id.clone().unwrap_or_else(|| default_instance_id(&account));
        if !model.instance_exists(&id) {
            let name = spec.name.clone().ok_or_else(|| format!("{entry}: a new instance needs a name"))?;
            let cluster = match &spec.cluster {
                Some(c) => c.clone(),
                None => model
                    .clusters_in(&region)
                    .first()
                    .map(|c| c.name.clone())
                    .ok_or_else(|| format!("{entry}: region {region} has no cluster"))?,
            };
            model
                .create_instance(NewInstance {
                    id: id.clone(),
                    account: account.clone(),
                    region: region.clone(),
                    cluster,
                    name,
                    remark: spec.remark.clone().unwrap_or_default(),
                    independent_naming: spec.independent_naming.unwrap_or(true),
                    max_send_tps: spec.max_send_tps.unwrap_or(DEFAULT_TPS),
                    max_receive_tps: spec.max_receive_tps.unwrap_or(DEFAULT_TPS),
                    topic_capacity: spec.topic_capacity,
                })
                .map_err(|e| fail(&entry, e))?;
        }
        let handle = model.instance(&account, &region, &id).map_err(|e| fail(&entry, e))?;
        for (t, topic) in spec.topics.iter().enumerate() {
            let here = format!("{entry}.topics[{t}]");
            if handle.read().has_topic(&topic.name) {
                continue;
            }
            let message_type = topics::message_type(topic.order_type.unwrap_or(0))
                .ok_or_else(|| format!("{here}: order_type must be 0, 1, 2, 4 or 5"))?;
            model
                .create_topic(&account, &region, &id, &topic.name, message_type, topic.remark.as_deref().unwrap_or(""))
                .map_err(|e| fail(&here, e))?;
            if let Some(perm) = topic.perm {
                model.set_topic_perm(&account, &region, &id, &topic.name, perm).map_err(|e| fail(&here, e))?;
            }
        }
        for (g, group) in spec.groups.iter().enumerate() {
            let here = format!("{entry}.groups[{g}]");
            if !handle.read().has_group(&group.id) {
                model
                    .create_group(&account, &region, &id, &group.id, group.remark.as_deref().unwrap_or(""))
                    .map_err(|e| fail(&here, e))?;
            }
            for (topic, expression) in &group.subscriptions {
                model.subscribe(&id, &group.id, topic, expression).map_err(|e| fail(&here, e))?;
            }
            model
                .set_read_enable(&account, &region, &id, &group.id, group.read_enable.unwrap_or(true))
                .map_err(|e| fail(&here, e))?;
            model
                .set_max_reconsume_times(
                    &account,
                    &region,
                    &id,
                    &group.id,
                    group.max_reconsume_times.unwrap_or(DEFAULT_MAX_RECONSUME_TIMES),
                )
                .map_err(|e| fail(&here, e))?;
        }
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureSection {
    #[serde(default)]
    regions: Vec<RegionFixture>,
    #[serde(default)]
    instances: Vec<InstanceFixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionFixture {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    clusters: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InstanceFixture {
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    cluster: Option<String>,
    #[serde(default)]
    independent_naming: Option<bool>,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default)]
    max_send_tps: Option<i64>,
    #[serde(default)]
    max_receive_tps: Option<i64>,
    #[serde(default)]
    topic_capacity: Option<u32>,
    #[serde(default)]
    topics: Vec<TopicFixture>,
    #[serde(default)]
    groups: Vec<GroupFixture>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicFixture {
    name: String,
    #[serde(default)]
    order_type: Option<i64>,
    #[serde(default)]
    perm: Option<u8>,
    #[serde(default)]
    remark: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFixture {
    id: String,
    #[serde(default)]
    remark: Option<String>,
    #[serde(default)]
    read_enable: Option<bool>,
    #[serde(default)]
    max_reconsume_times: Option<u32>,
    #[serde(default)]
    subscriptions: std::collections::BTreeMap<String, String>,
}

/// Message model names as the API prints them.
pub(crate) fn model_name(m: MessageModel) -> &'static str {
    match m {
        MessageModel::Clustering => "CLUSTERING",
        MessageModel::Broadcasting => "BROADCASTING",
    }
}

/// Connection fields the seed's ConnectionDo lists.
pub(crate) fn connection_json(c: &ConsumerClient) -> Value {
    serde_json::json!({
        "clientId": c.client_id,
        "clientAddr": c.client_addr,
        "language": c.language,
        "version": c.version,
        "remoteIP": c.remote_ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_normalise_slashes() {
        assert_eq!(route_of("/json/topic/create").as_deref(), Some("topic/create"));
        assert_eq!(route_of("//json/topic/create/").as_deref(), Some("topic/create"));
        assert_eq!(route_of("/json//topic//create").as_deref(), Some("topic/create"));
        assert_eq!(route_of("/jsonx/a"), None);
        assert!(operation("topic/create").is_some());
        assert!(operation("topic/nope").is_none());
    }

    #[test]
    fn every_route_is_declared_once_with_its_access() {
        let ops = operations();
        assert_eq!(ops.len(), 39);
        let mut names: Vec<&str> = ops.iter().map(|o| o.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ops.len());
        let access = |name: &str| ops.iter().find(|o| o.name == name).map(|o| o.access);
        assert_eq!(access("topic/create"), Some(Access::Write));
        assert_eq!(access("message/getByPagedTopic"), Some(Access::Read));
        assert_eq!(access("consumer/resetOffset"), Some(Access::Write));
        assert_eq!(access("empower/list"), Some(Access::Read));
    }

    #[test]
    fn default_ids_are_stable_and_shaped() {
        let id = default_instance_id("100000000001");
        assert_eq!(id, default_instance_id("100000000001"));
        assert!(id.starts_with("MQ_INST_100000000001_") && id.len() == "MQ_INST_100000000001_".len() + 8);
    }
}
