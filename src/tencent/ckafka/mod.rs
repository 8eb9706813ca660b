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
mod wire;

use axum::http::Method;
use axum::response::Response;

pub use error::TencentError;
use wire::Params;

use crate::credentials::{signatures_match, KeyLookup};
use crate::engine::ids::stable_suffix;
use crate::engine::kafka::{InstanceStatus, KafkaInstance, NewTopic};
use crate::engine::Cloud;
use crate::http::{with_meta, ApiRequest, RequestMeta};
use crate::state::AppState;

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
    pub account: &'a str,
    pub region: &'a str,
}

type Handler = fn(&Ctx<'_>, &Params) -> Result<Reply, TencentError>;

fn action_handler(action: &str) -> Option<Handler> {
    Some(match action {
        "CreateTopic" => topics::create_topic,
        "SetTopicAttributes" => topics::set_topic_attributes,
        "DeleteTopic" => topics::delete_topic,
        "AddPartition" => topics::add_partition,
        "ListTopic" => topics::list_topic,
        "GetTopicAttributes" => topics::get_topic_attributes,
        "SetForward" => topics::set_forward,
        "ListInstance" => instances::list_instance,
        "GetInstanceAttributes" => instances::get_instance_attributes,
        "SetInstanceAttributes" => instances::set_instance_attributes,
        "ListConsumerGroup" => groups::list_consumer_group,
        "AddTopicIpwhitelist" => whitelist::add_topic_ipwhitelist,
        "DeleteTopicIpwhitelist" => whitelist::delete_topic_ipwhitelist,
        _ => return None,
    })
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
        Method::GET => Params::from_pairs(req.query_pairs()),
        Method::POST => Params::from_pairs(crate::http::form_pairs(&req.body)),
        _ => return Err(TencentError::InvalidParameter("method".into(), "only GET and POST are supported".into())),
    };
    params.check_no_repeats()?;
    let action = params.required("Action")?.to_string();
    meta.action = action.clone();
    let account = authenticate(state, req, &params, meta)?;
    meta.account = Some(account.clone());
    let handler = action_handler(&action).ok_or_else(|| TencentError::UnknownAction(action.clone()))?;
    let region = params.required("Region")?;
    if !REGIONS.contains(&region) {
        return Err(TencentError::InvalidParameter("Region".into(), format!("unknown region {region:?}")));
    }
    handler(&Ctx { state, account: &account, region }, &params)
}

/// Checks the common parameters, the key, the signature and the replay window; returns the account.
fn authenticate(
    state: &AppState,
    req: &ApiRequest,
    params: &Params,
    meta: &mut RequestMeta,
) -> Result<String, TencentError> {
    let secret_id = params.required("SecretId")?;
    let signature = params.required("Signature")?;
    let timestamp: i64 = params.required_int("Timestamp")?;
    let nonce: u64 = params.required_int("Nonce")?;
    if nonce == 0 {
        return Err(TencentError::InvalidParameter("Nonce".into(), "must be a positive integer".into()));
    }
    let credentials = state.credentials.read();
    let key = match credentials.lookup(secret_id) {
        KeyLookup::Known(key) => key,
        KeyLookup::Unverified { account } => return Ok(account.to_string()),
        KeyLookup::Unknown => return Err(TencentError::SecretIdNotFound),
    };
    if !credentials.verifies_signatures() {
        return Ok(key.account.clone());
    }
    let sts = signature::string_to_sign(req.method.as_str(), req.host(), params.all());
    let expected = signature::sign(key.secret.expose(), params.get("SignatureMethod"), &sts);
    if !signatures_match(expected.as_bytes(), signature.as_bytes()) {
        meta.string_to_sign = Some(sts);
        return Err(TencentError::SignatureMismatch);
    }
    if !state.nonces.timestamp_is_fresh(timestamp) {
        return Err(TencentError::Replay(format!(
            "Timestamp {timestamp} is more than {} seconds from the server's time {}",
            state.nonces.window().as_secs(),
            chrono::Utc::now().timestamp()
        )));
    }
    if !state.nonces.check_and_insert("tencent", secret_id, &nonce.to_string()) {
        return Err(TencentError::Replay(format!("Nonce {nonce} was already used")));
    }
    Ok(key.account.clone())
}

/// The Action a request names, without authenticating it (for fault injection and logs).
pub fn action_of(req: &ApiRequest) -> Option<String> {
    let pairs = match req.method {
        Method::POST => crate::http::form_pairs(&req.body),
        _ => req.query_pairs(),
    };
    pairs.into_iter().find(|(k, _)| k == "Action").map(|(_, v)| v)
}

/// An error in this API's envelope with an arbitrary code (admin fault injection). Non-numeric codes
/// become 6000 (internal error) with the code in the message.
pub fn error_response(code: &str, message: &str) -> Response {
    let (code, message) = match code.parse::<i64>() {
        Ok(c) => (c, message.to_string()),
        Err(_) => (6000, format!("({code}){message}")),
    };
    let body = serde_json::json!({"code": code, "message": message, "codeDesc": "InjectedFault"});
    let mut meta = RequestMeta::new(VENDOR);
    meta.error_code = Some(code.to_string());
    with_meta(wire::json_response(serde_json::to_vec(&body).unwrap_or_default()), meta)
}

/// The id of an account's default instance in a region: stable across restarts.
pub fn default_instance_id(account: &str, region: &str) -> String {
    format!("ckafka-{}", stable_suffix(&format!("tencent/{account}/{region}"), 8))
}

/// A running instance with CKafka's standard-edition attributes.
pub fn new_instance(account: &str, region: &str, id: &str) -> Result<KafkaInstance, String> {
    if !REGIONS.contains(&region) {
        return Err(format!("unknown Tencent region {region:?}"));
    }
    let valid_id =
        id.strip_prefix("ckafka-").is_some_and(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric()));
    if !valid_id {
        return Err(format!("Tencent instance ids look like ckafka-xxxxxxxx, not {id:?}"));
    }
    Ok(KafkaInstance {
        id: id.to_string(),
        cloud: Cloud::Tencent,
        account: account.to_string(),
        region: region.to_string(),
        name: "localyun-default".into(),
        status: InstanceStatus::Running,
        created_at: chrono::Utc::now().timestamp(),
        brokers: 3,
        bandwidth_mbps: 40,
        disk_gb: 500,
        vip: "127.0.0.1".into(),
        vport: 9092,
        vpc_id: String::new(),
        subnet_id: String::new(),
        zone_id: "100003".into(),
        msg_retention_minutes: 4320,
        max_topics: 50_000,
        max_partitions: 500_000,
        extra: Default::default(),
        topics: Default::default(),
        groups: Default::default(),
    })
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
    state.store.kafka.write().provision_defaults(
        REGIONS,
        |region| default_instance_id(account, region),
        |region, id| new_instance(account, region, id),
    );
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
