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

use crate::credentials::{signatures_match, KeyLookup};
use crate::engine::ids::stable_suffix;
use crate::engine::rocketmq::{
    ConsumerClient, MessageModel, MessageType, NewInstance, RocketMqModel, DEFAULT_MAX_RECONSUME_TIMES,
};
use crate::http::{with_meta, ApiRequest, RequestMeta};
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

/// What a route handler works with: the caller's account and region, and the shared state.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub account: &'a str,
    pub region: &'a str,
    /// For routes that serialise their whole answer themselves (`Reply::typed`).
    pub request_id: &'a str,
}

impl<'a> Ctx<'a> {
    /// The instance a request means: `instanceId` when given, else the caller's instance without a namespace.
    pub fn instance_id(&self, model: &RocketMqModel, p: &Params) -> Result<String, ApiError> {
        Ok(model.resolve_instance(self.account, self.region, p.get("instanceId"))?)
    }

    /// The model under the read lock and the request's instance, after moving that instance's due timed
    /// messages into their queues. Reads that depend on queue contents (consumer state, traces, trends) use
    /// it: when nothing is due, which is the common case, no write lock is taken, so a plain read never marks
    /// the model changed (with `--data-dir`, every write guard makes the model be saved again). Only when a
    /// timed message has come due is the write lock taken, briefly, to move it.
    pub fn settled_read(&self, p: &Params) -> Result<(RwLockReadGuard<'a, RocketMqModel>, String), ApiError> {
        let store = &self.state.store.rocketmq;
        let model = store.read();
        let instance_id = self.instance_id(&model, p)?;
        if !model.instance(self.account, self.region, &instance_id)?.has_due() {
            return Ok((model, instance_id));
        }
        drop(model);
        store.write().instance_mut(self.account, self.region, &instance_id)?.settle_due();
        // Another request may have changed the model between the two locks: the caller looks the instance up
        // again under this read lock, so a deleted instance is reported as missing.
        Ok((store.read(), instance_id))
    }
}

type Handler = fn(&Ctx<'_>, &Params) -> Result<Reply, ApiError>;

/// Route name (`resource/verb`) to handler: every route of seed section 2.6.
fn route_handler(route: &str) -> Option<Handler> {
    Some(match route {
        "region/list" => instances::region_list,
        "cluster/list" => instances::cluster_list,
        // The seed's path is `vpcTunnel/tunnelSwitch`; it files the route under instance management.
        "vpcTunnel/tunnelSwitch" | "instance/tunnelSwitch" => instances::tunnel_switch,
        "instance/baseInfo" => instances::base_info,
        "instance/create" => instances::create,
        "instance/delete" => instances::delete,
        "instance/list" => instances::list,
        "instance/update" => instances::update,
        "topic/create" => topics::create,
        "topic/delete" => topics::delete,
        "topic/get" => topics::get,
        "topic/listInPage" => topics::list_in_page,
        "topic/update" => topics::update,
        "topic/listNames" => topics::list_names,
        "topic/subDetail" => topics::sub_detail,
        "group/create" => groups::create,
        "group/delete" => groups::delete,
        "group/list" => groups::list,
        "group/subDetail" => groups::sub_detail,
        "group/consumerUpdate" => groups::consumer_update,
        "consumer/accumulate" => consumers::accumulate,
        "consumer/status" => consumers::status,
        "consumer/getConnection" => consumers::get_connection,
        "consumer/timespan" => consumers::timespan,
        "consumer/resetOffset" => consumers::reset_offset,
        "message/trace" => messages::trace,
        "message/getById" => messages::get_by_id,
        "message/getByKey" => messages::get_by_key,
        "message/getByPagedTopic" => messages::get_by_paged_topic,
        "message/getByIdInDLQ" => messages::get_by_id_in_dlq,
        "message/getByPagedDLQ" => messages::get_by_paged_dlq,
        "message/resendByIdInDLQ" => messages::resend_by_id_in_dlq,
        "trend/topicInputTps" => messages::topic_input_tps,
        "trend/groupOutputTps" => messages::group_output_tps,
        "empower/create" => empower::create,
        "empower/createBySub" => empower::create_by_sub,
        "empower/delete" => empower::delete,
        "empower/list" => empower::list,
        _ => return None,
    })
}

/// `resource/verb` from `/json/resource/verb`, `//json/resource/verb/` and the like.
fn route_of(path: &str) -> Option<String> {
    let rest = path.trim_start_matches('/').strip_prefix("json/")?;
    let parts: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

pub async fn handle(state: &AppState, req: ApiRequest) -> Response {
    let mut meta = RequestMeta::new(VENDOR);
    let request_id = uuid::Uuid::new_v4().to_string().to_uppercase();
    let (status, body) = match process(state, &req, &request_id, &mut meta) {
        Ok(reply) => (StatusCode::OK, wire::success(reply, &request_id)),
        Err(e) => {
            tracing::debug!(code = e.code, detail = %e.detail, "rocketmq request rejected");
            meta.error_code = Some(e.code.to_string());
            (e.http_status(), wire::failure(&e, &request_id))
        }
    };
    with_meta(wire::json_response(status, body), meta)
}

fn process(state: &AppState, req: &ApiRequest, request_id: &str, meta: &mut RequestMeta) -> Result<Reply, ApiError> {
    let route = route_of(req.path()).unwrap_or_default();
    meta.action = route.clone();
    let mut pairs = req.query_pairs();
    match req.method {
        Method::GET => {}
        Method::POST => pairs.extend(req.form_pairs()),
        _ => return Err(ApiError::new("METHOD_NOT_ALLOWED", "only GET and POST are supported")),
    }
    let params = Params::from_pairs(pairs);
    let account = authenticate(state, &params, meta)?;
    meta.account = Some(account.clone());
    // `__preventCache` is documented only as "用于CSRF校验，设置为系统当前时间即可" (a ms timestamp against
    // caching/CSRF): required and a Long, but the seed documents no freshness window and no uniqueness, so
    // neither is enforced (a replay check would reject the seed's own fixed example value).
    params.required_i64("__preventCache")?;
    let handler = route_handler(&route).ok_or_else(|| {
        ApiError::new("ONS_SERVICE_UNSUPPORTED", format!("route /json/{route} is not part of the Open API"))
    })?;
    let region = if route == "region/list" {
        // The one route without `_regionId` ("获取regionId列表接口除外").
        String::new()
    } else {
        let region = params.required("_regionId")?.to_string();
        state.store.rocketmq.read().region(&region)?;
        region
    };
    handler(&Ctx { state, account: &account, region: &region, request_id }, &params)
}

/// Checks `_accesskey` and `_signature` and returns the caller's account. Every failure here is
/// AUTH_FAILED (HTTP 403), including a missing `_accesskey` or `_signature`: without them the caller is
/// unknown. Lenient mode skips only the HMAC.
fn authenticate(state: &AppState, params: &Params, meta: &mut RequestMeta) -> Result<String, ApiError> {
    let access_key = params.get("_accesskey").ok_or_else(|| ApiError::auth("missing _accesskey"))?;
    let given = params.get("_signature").ok_or_else(|| ApiError::auth("missing _signature"))?;
    let credentials = state.credentials.read();
    let key = match credentials.lookup(access_key) {
        KeyLookup::Known(key) => key,
        KeyLookup::Unverified { account } => return Ok(account.to_string()),
        KeyLookup::Unknown => return Err(ApiError::auth("the _accesskey is unknown")),
    };
    if !credentials.verifies_signatures() {
        return Ok(key.account.clone());
    }
    let sts = signature::string_to_sign(params.pairs());
    let expected = signature::sign(key.secret.expose(), &sts);
    let given = signature::normalise_received(given);
    if !signatures_match(expected.as_bytes(), given.as_bytes()) {
        meta.string_to_sign = Some(sts);
        return Err(ApiError::auth(
            "signature mismatch: sign the values of all other parameters in sorted key order with HmacSHA1",
        ));
    }
    Ok(key.account.clone())
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
    let mut model = state.store.rocketmq.write();
    model.add_region(DEFAULT_REGION, DEFAULT_REGION_NAME);
    let _ = model.add_cluster(DEFAULT_REGION, DEFAULT_CLUSTER);
    let id = default_instance_id(account);
    if !model.instances.contains_key(&id) {
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
    let mut model = state.store.rocketmq.write();
    for (n, r) in section.regions.iter().enumerate() {
        if r.id.is_empty() {
            return Err(format!("regions[{n}]: id must not be empty"));
        }
        model.add_region(&r.id, r.name.as_deref().unwrap_or(&r.id));
        let clusters = if r.clusters.is_empty() { vec![DEFAULT_CLUSTER.to_string()] } else { r.clusters.clone() };
        for c in clusters {
            model.add_cluster(&r.id, &c).map_err(|e| format!("regions[{n}]: {e}"))?;
        }
    }
    for (n, spec) in section.instances.into_iter().enumerate() {
        let entry = format!("instances[{n}]");
        let account = spec.account.clone().unwrap_or_else(|| default_account.clone());
        let region = spec.region.clone().unwrap_or_else(|| DEFAULT_REGION.to_string());
        let id = spec.id.clone().unwrap_or_else(|| default_instance_id(&account));
        if !model.instances.contains_key(&id) {
            let name = spec.name.clone().ok_or_else(|| format!("{entry}: a new instance needs a name"))?;
            let cluster = match &spec.cluster {
                Some(c) => c.clone(),
                None => model
                    .clusters_in(&region)
                    .next()
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
                .map_err(|e| format!("{entry}: {e}"))?;
        }
        let instance = model.instance(&account, &region, &id).map_err(|e| format!("{entry}: {e}"))?;
        let (account, region) = (instance.account.clone(), instance.region.clone());
        for (t, topic) in spec.topics.iter().enumerate() {
            let here = format!("{entry}.topics[{t}]");
            if model.instance(&account, &region, &id).is_ok_and(|i| i.topics.contains_key(&topic.name)) {
                continue;
            }
            let message_type = MessageType::from_code(topic.order_type.unwrap_or(0))
                .ok_or_else(|| format!("{here}: order_type must be 0, 1, 2, 4 or 5"))?;
            model
                .create_topic(&account, &region, &id, &topic.name, message_type, topic.remark.as_deref().unwrap_or(""))
                .map_err(|e| format!("{here}: {e}"))?;
            if let Some(perm) = topic.perm {
                model.set_topic_perm(&account, &region, &id, &topic.name, perm).map_err(|e| format!("{here}: {e}"))?;
            }
        }
        for (g, group) in spec.groups.iter().enumerate() {
            let here = format!("{entry}.groups[{g}]");
            let exists = model.instance(&account, &region, &id).is_ok_and(|i| i.groups.contains_key(&group.id));
            if !exists {
                model
                    .create_group(&account, &region, &id, &group.id, group.remark.as_deref().unwrap_or(""))
                    .map_err(|e| format!("{here}: {e}"))?;
            }
            for (topic, expression) in &group.subscriptions {
                model.subscribe(&id, &group.id, topic, expression).map_err(|e| format!("{here}: {e}"))?;
            }
            let g = model
                .instance_mut(&account, &region, &id)
                .and_then(|i| i.group_mut(&group.id))
                .map_err(|e| format!("{here}: {e}"))?;
            g.read_enable = group.read_enable.unwrap_or(true);
            g.max_reconsume_times = group.max_reconsume_times.unwrap_or(DEFAULT_MAX_RECONSUME_TIMES);
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
    m.as_str()
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
        assert!(route_handler("topic/create").is_some());
        assert!(route_handler("topic/nope").is_none());
    }

    #[test]
    fn default_ids_are_stable_and_shaped() {
        let id = default_instance_id("100000000001");
        assert_eq!(id, default_instance_id("100000000001"));
        assert!(id.starts_with("MQ_INST_100000000001_") && id.len() == "MQ_INST_100000000001_".len() + 8);
    }
}
