//! Alibaba Cloud Message Queue for Apache Kafka, RPC OpenAPI (`GET /?Action=...`, `POST /` with the
//! parameters in the query or a form body): the seed's 9 actions over the shared Kafka model, in the seed's
//! Version 2018-10-15 and in 2019-09-16 (what `aliyun-python-sdk-alikafka` sends). Wire format in `wire`,
//! signature v1 in `signature`, errors in `error`, one file per resource family.

mod acs3;
mod error;
pub mod fixture;
mod groups;
mod instances;
pub mod signature;
mod topics;
mod wire;

use std::collections::BTreeMap;

use axum::http::Method;
use axum::response::Response;
use serde_json::{Map, Value};

pub use error::AlibabaError;
use wire::{Format, Params, Reply};

use crate::credentials::{signatures_match, KeyLookup};
use crate::engine::ids::stable_suffix;
use crate::engine::kafka::{InstanceStatus, KafkaInstance, NewTopic};
use crate::engine::Cloud;
use crate::http::{with_meta, ApiRequest, RequestMeta};
use crate::state::AppState;

pub const VENDOR: &str = "alibaba-kafka";

/// The seed's endpoint table (§2.2 / §2.6.4): the regions `RegionId` may name.
pub const REGIONS: &[&str] = &[
    "cn-hangzhou",
    "cn-shanghai",
    "cn-qingdao",
    "cn-beijing",
    "cn-zhangjiakou",
    "cn-huhehaote",
    "cn-shenzhen",
    "cn-hongkong",
    "ap-southeast-1",
];

/// The API versions served. The seed documents 2018-10-15 only; aliyun-python-sdk-alikafka 1.0.6 sends
/// 2019-09-16, which adds parameters (PartitionNum, paging and filters, Remark on groups, tags) and fields.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ApiVersion {
    V20181015,
    V20190916,
}

impl ApiVersion {
    fn parse(v: &str) -> Option<ApiVersion> {
        match v {
            "2018-10-15" => Some(ApiVersion::V20181015),
            "2019-09-16" => Some(ApiVersion::V20190916),
            _ => None,
        }
    }
}

/// What an action handler works with.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub account: &'a str,
    pub version: ApiVersion,
    /// The answer's format, request id and success `Message`, for handlers that serialise their answer
    /// themselves (`Ctx::reply`).
    pub format: Format,
    pub request_id: &'a str,
    pub message: &'static str,
}

impl Ctx<'_> {
    /// The answer from typed fields: JSON serialised straight to bytes, XML through the tree.
    pub fn reply<T: serde::Serialize + ?Sized>(&self, fields: &T) -> Reply {
        wire::typed_reply(self.format, self.request_id, self.message, fields)
    }
}

/// An action handler: most answer a JSON tree of fields; the list actions (the hot reads) answer typed
/// views through `Ctx::reply`.
#[derive(Copy, Clone)]
enum Handler {
    Tree(fn(&Ctx<'_>, &Params) -> Result<Map<String, Value>, AlibabaError>),
    Typed(fn(&Ctx<'_>, &Params) -> Result<Reply, AlibabaError>),
}

/// The action table: handler and the success `Message` (the seed's Get* pages say `operation success.`,
/// its Create/Delete pages `operation success`, without the period).
fn action_handler(action: &str) -> Option<(Handler, &'static str)> {
    const READ: &str = "operation success.";
    const WRITE: &str = "operation success";
    use Handler::{Tree, Typed};
    Some(match action {
        "GetInstanceList" => (Typed(instances::get_instance_list), READ),
        "CreateTopic" => (Tree(topics::create_topic), WRITE),
        "GetTopicList" => (Typed(topics::get_topic_list), READ),
        "GetTopicStatus" => (Tree(topics::get_topic_status), READ),
        "DeleteTopic" => (Tree(topics::delete_topic), WRITE),
        "GetConsumerList" => (Typed(groups::get_consumer_list), READ),
        "GetConsumerProgress" => (Tree(groups::get_consumer_progress), READ),
        "DeleteConsumerGroup" => (Tree(groups::delete_consumer_group), WRITE),
        "CreateConsumerGroup" => (Tree(groups::create_consumer_group), WRITE),
        _ => return None,
    })
}

pub async fn handle(state: &AppState, req: ApiRequest) -> Response {
    let mut meta = RequestMeta::new(VENDOR);
    let request_id = wire::new_request_id();
    let params = Params::from_request(&req);
    // An unusable Format is itself an error, answered in the default format.
    let acs3 = req.header("authorization").is_some_and(|a| a.starts_with(acs3::SCHEME));
    let (format, format_error) = match Format::of(&params) {
        // ACS3 requests carry no Format, and the tea SDK reads JSON.
        Ok(Format::Xml) if acs3 && params.non_empty("Format").is_none() => (Format::Json, None),
        Ok(f) => (f, None),
        Err(e) => (Format::Xml, Some(e)),
    };
    meta.action = params.get("Action").or_else(|| req.header("x-acs-action")).unwrap_or("").to_string();
    let outcome = match format_error {
        Some(e) => Err(e),
        None => process(state, &req, &params, acs3, format, &request_id, &mut meta),
    };
    let response = match outcome {
        Ok((message, Reply::Fields(fields))) => {
            let body = wire::success_body(&request_id, message, fields);
            wire::render(format, axum::http::StatusCode::OK, &xml_root(&meta.action, &params), &body)
        }
        Ok((_, Reply::Body(bytes))) => wire::respond(format, axum::http::StatusCode::OK, bytes),
        Err(e) => {
            tracing::debug!(code = e.code(), "alibaba kafka request rejected");
            meta.error_code = Some(e.code().to_string());
            let body = wire::error_body(&request_id, host_id(&req), &e);
            wire::render(format, e.status(), "Error", &body)
        }
    };
    with_meta(response, meta)
}

/// The XML root of a success: `{Action}Response`, except that the seed's 2018-10-15 GetTopicList example
/// is rooted at `TopicListResponse` (the extract recommends the POP convention; the seed wins for the
/// seed's version, 2019-09-16 follows the convention).
fn xml_root(action: &str, params: &Params) -> String {
    if action == "GetTopicList" && params.get("Version") == Some("2018-10-15") {
        return "TopicListResponse".into();
    }
    format!("{action}Response")
}

/// The gateway's `HostId`: the host the client addressed (the real one is `alikafka.<region>.aliyuncs.com`).
fn host_id(req: &ApiRequest) -> &str {
    req.host()
}

fn process(
    state: &AppState,
    req: &ApiRequest,
    params: &Params,
    acs3: bool,
    format: Format,
    request_id: &str,
    meta: &mut RequestMeta,
) -> Result<(&'static str, Reply), AlibabaError> {
    if req.method != Method::GET && req.method != Method::POST {
        return Err(AlibabaError::InvalidParameter("HTTPMethod".into(), "Only GET and POST are supported.".into()));
    }
    params.check_no_repeats()?;
    // The gateway resolves the API (action and version) before it authenticates the caller.
    // RPC names them in parameters; ACS3 in the x-acs-action / x-acs-version headers.
    let from_header = |name: &str| if acs3 { req.header(name).filter(|v| !v.is_empty()) } else { None };
    let action = params
        .non_empty("Action")
        .or_else(|| from_header("x-acs-action"))
        .ok_or(AlibabaError::MissingParameter("Action"))?;
    let version_text = params
        .non_empty("Version")
        .or_else(|| from_header("x-acs-version"))
        .ok_or(AlibabaError::MissingParameter("Version"))?;
    let version = ApiVersion::parse(version_text).ok_or_else(|| AlibabaError::InvalidVersion(version_text.into()))?;
    let (handler, message) = action_handler(action).ok_or_else(|| AlibabaError::ActionNotFound(action.into()))?;
    let account = if acs3 { authenticate_acs3(state, req, meta)? } else { authenticate(state, req, params, meta)? };
    meta.account = Some(account.clone());
    let ctx = Ctx { state, account: &account, version, format, request_id, message };
    let reply = match handler {
        Handler::Tree(handler) => Reply::Fields(handler(&ctx, params)?),
        Handler::Typed(handler) => handler(&ctx, params)?,
    };
    Ok((message, reply))
}

/// Checks the common parameters, the key, the signature and the replay window; returns the account.
fn authenticate(
    state: &AppState,
    req: &ApiRequest,
    params: &Params,
    meta: &mut RequestMeta,
) -> Result<String, AlibabaError> {
    let key_id = params.required("AccessKeyId")?;
    let signature = params.non_empty("Signature").ok_or(AlibabaError::IncompleteSignature)?;
    let method = params.required("SignatureMethod")?;
    if method != "HMAC-SHA1" {
        return Err(AlibabaError::InvalidParameter("SignatureMethod".into(), "Only HMAC-SHA1 is supported.".into()));
    }
    if params.required("SignatureVersion")? != "1.0" {
        return Err(AlibabaError::InvalidParameter("SignatureVersion".into(), "Only 1.0 is supported.".into()));
    }
    let nonce = params.required("SignatureNonce")?;
    let timestamp = parse_timestamp(params.required("Timestamp")?)?;

    let credentials = state.credentials.read();
    let key = match credentials.lookup(key_id) {
        KeyLookup::Known(key) => key,
        KeyLookup::Unverified { account } => return Ok(account.to_string()),
        KeyLookup::Unknown => return Err(AlibabaError::AccessKeyNotFound),
    };
    if !credentials.verifies_signatures() {
        return Ok(key.account.clone());
    }
    let sts = signature::string_to_sign(req.method.as_str(), params.all());
    let expected = signature::sign(key.secret.expose(), &sts);
    if !signatures_match(expected.as_bytes(), signature.as_bytes()) {
        meta.string_to_sign = Some(sts.clone());
        return Err(AlibabaError::SignatureDoesNotMatch(sts));
    }
    check_replay(state, key_id, timestamp, nonce)?;
    Ok(key.account.clone())
}

/// The replay window: the timestamp within `state.nonces.window()` of now, the nonce not seen in it.
fn check_replay(state: &AppState, key_id: &str, timestamp: i64, nonce: &str) -> Result<(), AlibabaError> {
    if !state.nonces.timestamp_is_fresh(timestamp) {
        return Err(AlibabaError::TimestampExpired);
    }
    if !state.nonces.check_and_insert("alibaba", key_id, nonce) {
        return Err(AlibabaError::NonceUsed);
    }
    Ok(())
}

/// ACS3-HMAC-SHA256 (the tea SDK's default): key, signed headers and signature from `Authorization`,
/// date and nonce from `x-acs-date` / `x-acs-signature-nonce`.
fn authenticate_acs3(state: &AppState, req: &ApiRequest, meta: &mut RequestMeta) -> Result<String, AlibabaError> {
    let header = req.header("authorization").unwrap_or("");
    let auth = acs3::parse_authorization(header).ok_or(AlibabaError::IncompleteSignature)?;
    let required_header =
        |name: &'static str| req.header(name).filter(|v| !v.is_empty()).ok_or(AlibabaError::MissingParameter(name));
    let timestamp = parse_timestamp(required_header("x-acs-date")?)?;
    let nonce = required_header("x-acs-signature-nonce")?;

    let credentials = state.credentials.read();
    let key = match credentials.lookup(auth.key_id) {
        KeyLookup::Known(key) => key,
        KeyLookup::Unverified { account } => return Ok(account.to_string()),
        KeyLookup::Unknown => return Err(AlibabaError::AccessKeyNotFound),
    };
    if !credentials.verifies_signatures() {
        return Ok(key.account.clone());
    }
    // The replay check trusts the date and nonce only if the signature covers them; otherwise anyone could
    // resend a captured request with a fresh nonce.
    if !acs3::signs_headers(auth.signed_headers, &["x-acs-date", "x-acs-signature-nonce"]) {
        return Err(AlibabaError::InvalidParameter(
            "SignedHeaders".into(),
            "It must include x-acs-date and x-acs-signature-nonce.".into(),
        ));
    }
    let body_hash = crate::signing::sha256_hex(&req.body);
    let claimed_hash = req.header("x-acs-content-sha256").unwrap_or(&body_hash);
    let canonical = acs3::canonical_request(
        req.method.as_str(),
        req.path(),
        &req.query_pairs(),
        auth.signed_headers,
        |name| req.header(name).map(str::to_string),
        claimed_hash,
    );
    let sts = acs3::string_to_sign(&canonical);
    let expected = acs3::sign(key.secret.expose(), &sts);
    if claimed_hash != body_hash || !signatures_match(expected.as_bytes(), auth.signature.as_bytes()) {
        meta.string_to_sign = Some(canonical.clone());
        return Err(AlibabaError::SignatureDoesNotMatch(sts));
    }
    check_replay(state, auth.key_id, timestamp, nonce)?;
    Ok(key.account.clone())
}

/// `yyyy-MM-ddTHH:mm:ssZ` (UTC) to Unix seconds.
fn parse_timestamp(text: &str) -> Result<i64, AlibabaError> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ")
        .map(|t| t.and_utc().timestamp())
        .map_err(|_| AlibabaError::TimestampFormat)
}

/// The Action a request names, without authenticating it (for fault injection and logs).
pub fn action_of(req: &ApiRequest) -> Option<String> {
    Params::from_request(req)
        .non_empty("Action")
        .map(str::to_string)
        .or_else(|| req.header("x-acs-action").map(str::to_string))
}

/// An error in this API's envelope with an arbitrary code (admin fault injection): HTTP 500, JSON.
pub fn error_response(code: &str, message: &str) -> Response {
    let mut body = Map::new();
    body.insert("RequestId".into(), Value::from(wire::new_request_id()));
    body.insert("HostId".into(), Value::from("localyun"));
    body.insert("Code".into(), Value::from(code));
    body.insert("Message".into(), Value::from(message));
    let mut meta = RequestMeta::new(VENDOR);
    meta.error_code = Some(code.to_string());
    with_meta(wire::render(Format::Json, axum::http::StatusCode::INTERNAL_SERVER_ERROR, "Error", &body), meta)
}

/// The id of an account's default instance in a region: stable across restarts.
pub fn default_instance_id(account: &str, region: &str) -> String {
    format!("alikafka_pre-cn-{}", stable_suffix(&format!("alibaba/{account}/{region}"), 12))
}

/// A running (ServiceStatus 5) VPC instance with standard-edition attributes; its name is its id, as in
/// the seed's GetInstanceList example.
pub fn new_instance(account: &str, region: &str, id: &str) -> Result<KafkaInstance, String> {
    if !REGIONS.contains(&region) {
        return Err(format!("unknown Alibaba region {region:?} (one of {})", REGIONS.join(", ")));
    }
    if !wire::is_instance_id(id) {
        return Err(format!("Alibaba Kafka instance ids look like alikafka_pre-cn-xxxxxxxx, not {id:?}"));
    }
    let now = chrono::Utc::now().timestamp();
    let seed = format!("alibaba/{account}/{region}/{id}");
    let mut extra = BTreeMap::new();
    // Attributes the neutral model does not interpret, in GetInstanceList's terms.
    extra.insert("DeployType".to_string(), Value::from(5));
    extra.insert("ExpiredTime".to_string(), Value::from((now + 365 * 24 * 3600) * 1000));
    extra.insert("PaidType".to_string(), Value::from(if id.starts_with("alikafka_pre-") { 0 } else { 1 }));
    extra.insert("SpecType".to_string(), Value::from("normal"));
    extra.insert("DiskType".to_string(), Value::from(0));
    extra.insert("OpenSourceVersion".to_string(), Value::from("0.10"));
    Ok(KafkaInstance {
        id: id.to_string(),
        cloud: Cloud::Alibaba,
        account: account.to_string(),
        region: region.to_string(),
        name: id.to_string(),
        status: InstanceStatus::Running,
        created_at: now,
        brokers: 3,
        bandwidth_mbps: 20,
        disk_gb: 500,
        vip: "127.0.0.1".into(),
        vport: 9092,
        vpc_id: format!("vpc-{}", stable_suffix(&seed, 21)),
        subnet_id: format!("vsw-{}", stable_suffix(&format!("{seed}/vsw"), 21)),
        zone_id: "zonea".into(),
        msg_retention_minutes: 72 * 60,
        max_topics: 1000,
        max_partitions: 20_000,
        extra,
        topics: Default::default(),
        groups: Default::default(),
    })
}

/// A fixture topic, built by CreateTopic's own rules (the error is the API's message).
pub fn fixture_topic(name: &str, partitions: u32, replicas: u32, note: &str) -> Result<NewTopic, String> {
    topics::new_topic(name, note, i64::from(partitions), i64::from(replicas)).map_err(|e| e.message())
}

/// A fixture consumer group name, checked (and cut to 64 characters) by CreateConsumerGroup's rule.
pub fn fixture_group_name(name: &str) -> Result<&str, String> {
    groups::group_name(name).map_err(|e| e.message())
}

/// One default running instance per account and region of the seed's endpoint table.
pub fn provision_defaults(state: &AppState, account: &str) {
    state.store.kafka.write().provision_defaults(
        REGIONS,
        |region| default_instance_id(account, region),
        |region, id| new_instance(account, region, id),
    );
}

/// The caller's instance named by `InstanceId`, which must lie in `region` when the request names one
/// (another account's or region's instance is "not found").
fn find_instance<'m>(
    model: &'m crate::engine::kafka::KafkaModel,
    ctx: &Ctx<'_>,
    id: &str,
    region: Option<&str>,
) -> Result<&'m KafkaInstance, AlibabaError> {
    let i = model.instance(Cloud::Alibaba, ctx.account, id)?;
    if region.is_some_and(|r| r != i.region) {
        return Err(AlibabaError::InstanceNotFound(id.to_string()));
    }
    Ok(i)
}

fn find_instance_mut<'m>(
    model: &'m mut crate::engine::kafka::KafkaModel,
    ctx: &Ctx<'_>,
    id: &str,
    region: Option<&str>,
) -> Result<&'m mut KafkaInstance, AlibabaError> {
    let i = model.instance_mut(Cloud::Alibaba, ctx.account, id)?;
    if region.is_some_and(|r| r != i.region) {
        return Err(AlibabaError::InstanceNotFound(id.to_string()));
    }
    Ok(i)
}

/// `InstanceId`: required and of the documented form.
fn instance_id(p: &Params) -> Result<&str, AlibabaError> {
    let id = p.required("InstanceId")?;
    if !wire::is_instance_id(id) {
        return Err(AlibabaError::InvalidParameter(
            "InstanceId".into(),
            "Instance ids look like alikafka_pre-cn-xxxxxxxx.".into(),
        ));
    }
    Ok(id)
}

/// `RegionId`, required or optional per action; when present it must be a region of the endpoint table.
fn region(p: &Params, required: bool) -> Result<Option<&str>, AlibabaError> {
    let r = if required { Some(p.required("RegionId")?) } else { p.non_empty("RegionId") };
    if let Some(r) = r {
        if !REGIONS.contains(&r) {
            return Err(AlibabaError::InvalidParameter("RegionId".into(), format!("Unknown region {r}.")));
        }
    }
    Ok(r)
}

/// `{"TagVO": [{"Key","Value"}...]}`, borrowing the tags kept in a resource's `extra` (none unless they are
/// an array).
#[derive(serde::Serialize)]
struct TagList<'a> {
    #[serde(rename = "TagVO")]
    tag_vo: &'a [Value],
}

impl<'a> TagList<'a> {
    fn of(extra: &'a BTreeMap<String, Value>) -> Self {
        TagList { tag_vo: extra.get("Tags").and_then(Value::as_array).map_or(&[], Vec::as_slice) }
    }
}

fn tags_to_extra(tags: Vec<(String, String)>) -> Value {
    Value::Array(tags.into_iter().map(|(k, v)| serde_json::json!({"Key": k, "Value": v})).collect())
}

fn fields(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_must_be_iso8601_utc_seconds() {
        assert_eq!(parse_timestamp("2016-02-23T12:46:24Z"), Ok(1456231584));
        assert_eq!(parse_timestamp("2016-02-23 12:46:24"), Err(AlibabaError::TimestampFormat));
        assert_eq!(parse_timestamp("1456231584"), Err(AlibabaError::TimestampFormat));
    }

    #[test]
    fn default_instances_are_valid_and_stable() {
        let id = default_instance_id("1", "cn-hangzhou");
        assert_eq!(id, default_instance_id("1", "cn-hangzhou"));
        assert!(new_instance("1", "cn-hangzhou", &id).is_ok());
        assert!(new_instance("1", "ap-guangzhou", &id).is_err());
        assert!(new_instance("1", "cn-hangzhou", "ckafka-abc").is_err());
    }
}
