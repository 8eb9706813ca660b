//! Tencent Cloud CKafka API v2 (`GET|POST /v2/index.php?Action=...`): the 13 documented actions over the
//! shared Kafka model. Wire format in `wire`, signatures in `signature`, errors in `error`, one file per
//! resource family.

mod error;
pub mod fixture;
mod groups;
mod instances;
pub mod signature;
mod topics;
mod whitelist;
pub use wire::Input;
mod wire;

use axum::http::Method;
use axum::response::Response;

pub use error::TencentError;
use wire::Params;

use crate::auth::{AuthFailure, SignedRequest};
use crate::engine::ids::stable_suffix;
use crate::engine::kafka::{with_model, InstanceMeta, InstanceStatus, KafkaModel, NewTopic, Scope};
use crate::engine::Cloud;
use crate::http::{with_meta, ApiRequest, RequestMeta};
use crate::registry::{Access, OperationInfo};
use crate::state::AppState;

/// The service name health, faults and the request log use.
pub const VENDOR: &str = "tencent-ckafka";

/// Regions accepted in `Region` (the seed's list plus Tencent's other public regions).
pub const REGIONS: &[&str] = &[
    "ap-beijing",
    "ap-guangzhou",
    "ap-shanghai",
    "ap-hongkong",
    "na-toronto",
    "na-siliconvalley",
    "ap-singapore",
    "ap-shanghai-fsi",
    "ap-shenzhen-fsi",
    "ap-guangzhou-open",
    "ap-chengdu",
    "ap-chongqing",
    "ap-nanjing",
    "ap-seoul",
    "ap-tokyo",
    "ap-bangkok",
    "ap-mumbai",
    "ap-jakarta",
    "eu-frankfurt",
    "na-ashburn",
    "sa-saopaulo",
];

/// What an action handler works with: the caller's account and region, and the shared state.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    /// The Kafka model, under the store's read lock (commands lock single instances inside it).
    pub model: &'a KafkaModel,
    pub account: &'a str,
    pub region: &'a str,
}

impl Ctx<'_> {
    /// The instances this caller may address: its own Tencent instances in the request's region.
    pub fn scope(&self) -> Scope<'_> {
        Scope::owner(Cloud::Tencent, self.account).in_region(Some(self.region))
    }
}

/// One declared operation: the Action, whether it reads or writes, and the handler that reads its typed
/// input (`wire::Input`) from the parameters.
struct Operation {
    action: &'static str,
    access: Access,
    run: fn(&Ctx<'_>, &Params<'_>) -> Result<Reply, TencentError>,
}

/// An operation whose handler takes its typed input.
macro_rules! op {
    ($action:literal, $access:ident, $handler:path) => {
        Operation { action: $action, access: Access::$access, run: |ctx, p| $handler(ctx, p.input()?) }
    };
}

/// The 13 documented actions.
static OPERATIONS: &[Operation] = &[
    op!("CreateTopic", Write, topics::create_topic),
    op!("SetTopicAttributes", Write, topics::set_topic_attributes),
    op!("DeleteTopic", Write, topics::delete_topic),
    op!("AddPartition", Write, topics::add_partition),
    op!("ListTopic", Read, topics::list_topic),
    op!("GetTopicAttributes", Read, topics::get_topic_attributes),
    op!("SetForward", Write, topics::set_forward),
    op!("ListInstance", Read, instances::list_instance),
    op!("GetInstanceAttributes", Read, instances::get_instance_attributes),
    op!("SetInstanceAttributes", Write, instances::set_instance_attributes),
    op!("ListConsumerGroup", Read, groups::list_consumer_group),
    op!("AddTopicIpwhitelist", Write, whitelist::add_topic_ipwhitelist),
    op!("DeleteTopicIpwhitelist", Write, whitelist::delete_topic_ipwhitelist),
];

/// The declared operations, for the registry (admin API, fault injection, coverage).
pub fn operations() -> Vec<OperationInfo> {
    OPERATIONS.iter().map(|o| OperationInfo { name: o.action, access: o.access }).collect()
}

fn operation(action: &str) -> Option<&'static Operation> {
    OPERATIONS.iter().find(|o| o.action == action)
}

pub async fn handle(state: &AppState, req: ApiRequest) -> Response {
    let mut meta = RequestMeta::new(VENDOR);
    let body = match process(state, &req, &mut meta) {
        Ok(body) => body,
        Err(e) => {
            tracing::debug!(code = e.code(), message = %e.message(), "tencent request rejected");
            meta.error_code = Some(e.code().to_string());
            serde_json::to_vec(&e.to_json()).unwrap_or_default()
        }
    };
    with_meta(wire::json_response(body), meta)
}

fn process(state: &AppState, req: &ApiRequest, meta: &mut RequestMeta) -> Result<Reply, TencentError> {
    // GET reads the query string, POST the form body; the other source is ignored, never merged.
    let params = match req.method {
        Method::GET => Params::from_pairs(crate::http::form_parse(req.query().as_bytes())),
        Method::POST => Params::from_pairs(crate::http::form_parse(&req.body)),
        _ => return Err(TencentError::InvalidParameter("method".into(), "only GET and POST are supported".into())),
    };
    params.check_no_repeats()?;
    let action = params.required("Action")?.to_string();
    meta.action = action.clone();
    let account = authenticate(state, req, &params, meta)?;
    meta.account = Some(account.clone());
    let op = operation(&action).ok_or_else(|| TencentError::UnknownAction(action.clone()))?;
    let region = params.required("Region")?;
    if !REGIONS.contains(&region) {
        return Err(TencentError::InvalidParameter("Region".into(), format!("unknown region {region:?}")));
    }
    // The model changes under its own per-instance locks; `with_model` tells persistence when it did.
    with_model(&state.store.kafka, |model| (op.run)(&Ctx { state, model, account: &account, region }, &params))
}

/// Checks the common parameters, then runs the shared authentication sequence; returns the account.
fn authenticate(
    state: &AppState,
    req: &ApiRequest,
    params: &Params<'_>,
    meta: &mut RequestMeta,
) -> Result<String, TencentError> {
    let secret_id = params.required("SecretId")?;
    let signature = params.required("Signature")?;
    let timestamp: i64 = params.required_int("Timestamp")?;
    let nonce: u64 = params.required_int("Nonce")?;
    if nonce == 0 {
        return Err(TencentError::InvalidParameter("Nonce".into(), "must be a positive integer".into()));
    }
    let nonce_text = nonce.to_string();
    let signed = SignedRequest {
        scope: "tencent",
        key_id: secret_id,
        signature,
        timestamp: Some(timestamp),
        nonce: Some(&nonce_text),
        window: state.nonces.window(),
    };
    let outcome = crate::auth::authenticate(state, &signed, |secret| {
        let sts = signature::string_to_sign(req.method.as_str(), req.host(), params.all());
        (signature::sign(secret, params.get("SignatureMethod"), &sts), sts)
    });
    outcome.map_err(|failure| match failure {
        AuthFailure::UnknownKey => TencentError::SecretIdNotFound,
        AuthFailure::SignatureMismatch { string_to_sign } => {
            meta.string_to_sign = Some(string_to_sign);
            TencentError::SignatureMismatch
        }
        AuthFailure::Stale { window_secs } => TencentError::Replay(format!(
            "Timestamp {timestamp} is more than {window_secs} seconds from the server's time {}",
            chrono::Utc::now().timestamp()
        )),
        AuthFailure::Replayed => TencentError::Replay(format!("Nonce {nonce} was already used")),
    })
}

/// The Action a request names, without authenticating it (for fault injection and logs).
pub fn action_of(req: &ApiRequest) -> Option<String> {
    let pairs = match req.method {
        Method::POST => crate::http::form_pairs(&req.body),
        _ => req.query_pairs(),
    };
    pairs.into_iter().find(|(k, _)| k == "Action").map(|(_, v)| v)
}

/// An error in this API's envelope with an arbitrary code (admin fault injection, refused bodies). Non-numeric
/// codes become 6000 (internal error) with the code in the message. `codeDesc` is the seed's for the codes
/// this API answers (4000 `InvalidParameter`, ...), else `InternalError`.
pub fn error_response(code: &str, message: &str) -> Response {
    let (code, message) = match code.parse::<i64>() {
        Ok(c) => (c, message.to_string()),
        Err(_) => (6000, format!("({code}){message}")),
    };
    let code_desc = match code {
        4000 => "InvalidParameter",
        4100 => "AuthFailure",
        4104 => "SecretIdNotFound",
        4500 => "RequestReplay",
        5000 => "ResourceNotFound",
        5100 => "OperationFailed",
        6100 => "InvalidAction",
        _ => "InternalError",
    };
    let body = serde_json::json!({"code": code, "message": message, "codeDesc": code_desc});
    let mut meta = RequestMeta::new(VENDOR);
    meta.error_code = Some(code.to_string());
    with_meta(wire::json_response(serde_json::to_vec(&body).unwrap_or_default()), meta)
}

/// The id of an account's default instance in a region: stable across restarts.
pub fn default_instance_id(account: &str, region: &str) -> String {
    format!("ckafka-{}", stable_suffix(&format!("tencent/{account}/{region}"), 8))
}

/// A running instance with CKafka's standard-edition attributes.
pub fn new_instance(account: &str, region: &str, id: &str) -> Result<InstanceMeta, String> {
    if !REGIONS.contains(&region) {
        return Err(format!("unknown Tencent region {region:?}"));
    }
    let valid_id =
        id.strip_prefix("ckafka-").is_some_and(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()));
    if !valid_id {
        return Err(format!("Tencent instance ids look like ckafka-xxxxxxxx, not {id:?}"));
    }
    let mut meta = InstanceMeta::new(id, Cloud::Tencent, account, region);
    meta.name = "localyun-default".into();
    meta.brokers = 3;
    meta.bandwidth_mbps = 40;
    meta.disk_gb = 500;
    meta.zone_id = "100003".into();
    meta.msg_retention_minutes = 4320;
    meta.max_topics = 50_000;
    meta.max_partitions = 500_000;
    Ok(meta)
}

/// CKafka's instance status numbers (seed ListInstance: 0 creating, 1 running, 2 deleting).
pub fn status_code(status: InstanceStatus) -> i64 {
    match status {
        InstanceStatus::Creating => 0,
        InstanceStatus::Running => 1,
        InstanceStatus::Deleting => 2,
    }
}

/// A fixture topic, built by CreateTopic's own rules (the error is the API's message).
pub fn fixture_topic(name: &str, partitions: u32, replicas: u32, note: &str) -> Result<NewTopic, String> {
    topics::new_topic(name, i64::from(partitions), i64::from(replicas), note).map_err(|e| e.message())
}

/// A fixture instance name, checked by SetInstanceAttributes' rule.
pub fn check_fixture_instance_name(name: &str) -> Result<(), String> {
    instances::check_instance_name(name).map_err(|e| e.message())
}

/// One default running instance per account and region.
pub fn provision_defaults(state: &AppState, account: &str) {
    let default_account = state.credentials.read().default_account().to_string();
    with_model(&state.store.kafka, |model| {
        model.provision_defaults(
            REGIONS,
            |region| default_instance_id(account, region),
            |region, id| {
                let mut meta = new_instance(account, region, id)?;
                if region == crate::kafka::cluster::DEFAULT_REGION && account == default_account {
                    // The README's 127.0.0.1:9092 (engine/kafka/vports.rs).
                    meta.vport = crate::engine::kafka::vports::DEFAULT;
                }
                Ok::<_, String>(meta)
            },
        )
    });
}

/// A serialised JSON answer body.
pub type Reply = Vec<u8>;

/// The success envelope with the seed's `"message": "ok"` around `fields` (a struct or a JSON object).
fn ok<T: serde::Serialize + ?Sized>(fields: &T) -> Result<Reply, TencentError> {
    Ok(wire::success("ok", fields))
}

/// The success envelope with no fields.
fn ok_empty() -> Result<Reply, TencentError> {
    ok(&wire::NoFields {})
}
