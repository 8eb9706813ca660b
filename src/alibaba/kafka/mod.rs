//! Alibaba Cloud Message Queue for Apache Kafka, RPC OpenAPI (`GET /?Action=...`, `POST /` with the
//! parameters in the query or a form body): the seed's 9 actions over the shared Kafka model, in the seed's
//! Version 2018-10-15 and in 2019-09-16 (what `aliyun-python-sdk-alikafka` sends). Wire format in `wire`,
//! signature v1 in `signature`, errors in `error`, one file per resource family.

pub(crate) mod acs3;
mod error;
pub mod fixture;
pub(crate) mod form;
mod groups;
mod instances;
mod security;
pub mod signature;
mod topics;
pub(crate) mod wire;

use axum::http::Method;
use axum::response::Response;
use serde_json::{Map, Value};

pub use error::AlibabaError;
use wire::{Format, Params, Reply};

use crate::auth::{AuthFailure, SignedRequest};
use crate::engine::ids::stable_suffix;
use crate::engine::kafka::{
    with_model, Billing, DiskType, InstanceMeta, KafkaModel, Millis, Network, NewTopic, Scope, Tag,
};
use crate::engine::Cloud;
use crate::http::{with_meta, ApiRequest, RequestMeta};
use crate::registry::{Access, OperationInfo};
use crate::state::AppState;

/// The service name health, faults and the request log use.
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
    /// The Kafka model, under the store's read lock (commands lock single instances inside it).
    pub model: &'a KafkaModel,
    pub account: &'a str,
    pub version: ApiVersion,
    /// The answer's format, request id and success `Message`, for handlers that serialise their answer
    /// themselves (`Ctx::reply`).
    pub format: Format,
    pub request_id: &'a str,
    pub message: &'static str,
}

impl Ctx<'_> {
    /// The answer from typed fields: JSON serialised straight to bytes (into a buffer of about `size_hint`
    /// bytes), XML through the tree.
    pub fn reply<T: serde::Serialize + ?Sized>(&self, fields: &T, size_hint: usize) -> Reply {
        wire::typed_reply(self.format, self.request_id, self.message, fields, size_hint)
    }

    /// The caller's Alibaba instances, in `region` when the request names one.
    pub fn scope<'r>(&'r self, region: Option<&'r str>) -> Scope<'r> {
        Scope::owner(Cloud::Alibaba, self.account).in_region(region)
    }
}

/// One declared operation: the Action, read or write, its success `Message` (the seed's Get* pages say
/// `operation success.`, its Create/Delete pages `operation success`, without the period), and the handler
/// that reads its typed input (`wire::Input`). Most handlers answer a JSON tree of fields; the list
/// actions (the hot reads) answer typed views through `Ctx::reply`.
struct Operation {
    action: &'static str,
    access: Access,
    message: &'static str,
    run: fn(&Ctx<'_>, &Params) -> Result<Reply, AlibabaError>,
}

const READ: &str = "operation success.";
const WRITE: &str = "operation success";

/// An operation whose handler answers a tree of fields (`tree`) or a typed reply (`typed`).
macro_rules! op {
    ($action:literal, Read, typed $handler:path) => {
        Operation { action: $action, access: Access::Read, message: READ, run: |ctx, p| $handler(ctx, p.input()?) }
    };
    ($action:literal, Read, tree $handler:path) => {
        Operation {
            action: $action,
            access: Access::Read,
            message: READ,
            run: |ctx, p| Ok(Reply::Fields($handler(ctx, p.input()?)?)),
        }
    };
    ($action:literal, Write, tree $handler:path) => {
        Operation {
            action: $action,
            access: Access::Write,
            message: WRITE,
            run: |ctx, p| Ok(Reply::Fields($handler(ctx, p.input()?)?)),
        }
    };
}

/// The seed's 9 actions, then the 2019-09-16 SASL user and ACL actions.
static OPERATIONS: &[Operation] = &[
    op!("GetInstanceList", Read, typed instances::get_instance_list),
    op!("CreateTopic", Write, tree topics::create_topic),
    op!("GetTopicList", Read, typed topics::get_topic_list),
    op!("GetTopicStatus", Read, tree topics::get_topic_status),
    op!("DeleteTopic", Write, tree topics::delete_topic),
    op!("GetConsumerList", Read, typed groups::get_consumer_list),
    op!("GetConsumerProgress", Read, tree groups::get_consumer_progress),
    op!("DeleteConsumerGroup", Write, tree groups::delete_consumer_group),
    op!("CreateConsumerGroup", Write, tree groups::create_consumer_group),
    // 2019-09-16 beyond the seed: SASL users and ACLs (`security.rs`).
    op!("CreateSaslUser", Write, tree security::create_sasl_user),
    op!("DescribeSaslUsers", Read, tree security::describe_sasl_users),
    op!("DeleteSaslUser", Write, tree security::delete_sasl_user),
    op!("CreateAcl", Write, tree security::create_acl),
    op!("DescribeAcls", Read, tree security::describe_acls),
    op!("DeleteAcl", Write, tree security::delete_acl),
    op!("ModifyTopicRemark", Write, tree security::modify_topic_remark),
    op!("ModifyPartitionNum", Write, tree security::modify_partition_num),
    op!("UpdateConsumerOffset", Write, tree security::update_consumer_offset),
    op!("GetAllowedIpList", Read, tree security::get_allowed_ip_list),
    op!("UpdateAllowedIp", Write, tree security::update_allowed_ip),
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
        // A JSON tree of fields is written behind the envelope directly, without being copied into a new tree.
        Ok((message, Reply::Fields(fields))) if format == Format::Json && !wire::has_envelope_key(&fields) => {
            let body = wire::json_success(&request_id, message, &fields, 128);
            wire::respond(format, axum::http::StatusCode::OK, body)
        }
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
        .ok_or_else(|| AlibabaError::MissingParameter("Action".into()))?;
    let version_text = params
        .non_empty("Version")
        .or_else(|| from_header("x-acs-version"))
        .ok_or_else(|| AlibabaError::MissingParameter("Version".into()))?;
    let version = ApiVersion::parse(version_text).ok_or_else(|| AlibabaError::InvalidVersion(version_text.into()))?;
    let op = operation(action).ok_or_else(|| AlibabaError::ActionNotFound(action.into()))?;
    let account = if acs3 { authenticate_acs3(state, req, meta)? } else { authenticate(state, req, params, meta)? };
    meta.account = Some(account.clone());
    // The model changes under its own per-instance locks; `with_model` tells persistence when it did.
    let reply = with_model(&state.store.kafka, |model| {
        let ctx = Ctx { state, model, account: &account, version, format, request_id, message: op.message };
        (op.run)(&ctx, params)
    })?;
    Ok((op.message, reply))
}

/// Checks the common parameters, then runs the shared authentication sequence; returns the account.
pub(crate) fn authenticate(
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
    let signed = signed_request(state, key_id, signature, timestamp, nonce);
    let outcome = crate::auth::authenticate(state, &signed, |secret| {
        let sts = signature::string_to_sign(req.method.as_str(), params.all());
        (signature::sign(secret, &sts), sts)
    });
    outcome.map_err(|failure| auth_error(failure, meta, |sts| sts))
}

/// The shared sequence's input for this API (scope `alibaba`, the configured window).
fn signed_request<'a>(
    state: &AppState,
    key_id: &'a str,
    signature: &'a str,
    timestamp: i64,
    nonce: &'a str,
) -> SignedRequest<'a> {
    SignedRequest {
        scope: "alibaba",
        key_id,
        signature,
        timestamp: Some(timestamp),
        nonce: Some(nonce),
        window: state.nonces.window(),
    }
}

/// The gateway's codes for the shared sequence's failures. `echoed` turns what the sequence reports as the
/// string to sign (logged) into what the error message echoes.
fn auth_error(failure: AuthFailure, meta: &mut RequestMeta, echoed: impl FnOnce(String) -> String) -> AlibabaError {
    match failure {
        AuthFailure::UnknownKey => AlibabaError::AccessKeyNotFound,
        AuthFailure::SignatureMismatch { string_to_sign } => {
            meta.string_to_sign = Some(string_to_sign.clone());
            AlibabaError::SignatureDoesNotMatch(echoed(string_to_sign))
        }
        AuthFailure::Stale { .. } => AlibabaError::TimestampExpired,
        AuthFailure::Replayed => AlibabaError::NonceUsed,
    }
}

/// ACS3-HMAC-SHA256 (the tea SDK's default): key, signed headers and signature from `Authorization`,
/// date and nonce from `x-acs-date` / `x-acs-signature-nonce`.
pub(crate) fn authenticate_acs3(
    state: &AppState,
    req: &ApiRequest,
    meta: &mut RequestMeta,
) -> Result<String, AlibabaError> {
    let header = req.header("authorization").unwrap_or("");
    let auth = acs3::parse_authorization(header).ok_or(AlibabaError::IncompleteSignature)?;
    let required_header = |name: &'static str| {
        req.header(name).filter(|v| !v.is_empty()).ok_or_else(|| AlibabaError::MissingParameter(name.into()))
    };
    let timestamp = parse_timestamp(required_header("x-acs-date")?)?;
    let nonce = required_header("x-acs-signature-nonce")?;
    // The replay check trusts the date and nonce only if the signature covers them; otherwise anyone could
    // resend a captured request with a fresh nonce. (Checked when signatures are verified at all.)
    let covers_replay_headers = acs3::signs_headers(auth.signed_headers, &["x-acs-date", "x-acs-signature-nonce"]);
    let body_hash = crate::signing::sha256_hex(&req.body);
    let claimed_hash = req.header("x-acs-content-sha256").unwrap_or(&body_hash).to_string();
    let mut canonical = String::new();
    let signed = signed_request(state, auth.key_id, auth.signature, timestamp, nonce);
    let outcome = crate::auth::authenticate(state, &signed, |secret| {
        canonical = acs3::canonical_request(
            req.method.as_str(),
            req.path(),
            &req.query_pairs(),
            auth.signed_headers,
            |name| req.header(name).map(str::to_string),
            &claimed_hash,
        );
        let sts = acs3::string_to_sign(&canonical);
        let expected = if covers_replay_headers && claimed_hash == body_hash {
            acs3::sign(secret, &sts)
        } else {
            // Never equal to a signature: the request fails as a mismatch, reported below by its cause.
            String::new()
        };
        (expected, sts)
    });
    match outcome {
        Ok(account) => Ok(account),
        Err(AuthFailure::SignatureMismatch { .. }) if !covers_replay_headers => Err(AlibabaError::InvalidParameter(
            "SignedHeaders".into(),
            "It must include x-acs-date and x-acs-signature-nonce.".into(),
        )),
        // The request log shows the canonical request; the message echoes the string to sign.
        Err(failure) => Err(auth_error(failure, meta, |sts| sts)).inspect_err(|_| {
            if meta.string_to_sign.is_some() {
                meta.string_to_sign = Some(canonical.clone());
            }
        }),
    }
}

/// `yyyy-MM-ddTHH:mm:ssZ` (UTC) to Unix seconds. The fixed-width form every SDK sends is read directly
/// (chrono's format parser walks its format string on every request); anything else, and any value the
/// direct read does not accept, goes through chrono, so the outcome is chrono's.
fn parse_timestamp(text: &str) -> Result<i64, AlibabaError> {
    if let Some(seconds) = parse_fixed_timestamp(text.as_bytes()) {
        return Ok(seconds);
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ")
        .map(|t| t.and_utc().timestamp())
        .map_err(|_| AlibabaError::TimestampFormat)
}

/// `DDDD-DD-DDTDD:DD:DDZ` with a valid date and time (no leap second), as Unix seconds.
fn parse_fixed_timestamp(b: &[u8]) -> Option<i64> {
    let shape = b"0000-00-00T00:00:00Z";
    if b.len() != shape.len() || !b.iter().zip(shape).all(|(c, s)| if *s == b'0' { c.is_ascii_digit() } else { c == s })
    {
        return None;
    }
    let num = |from: usize, to: usize| b[from..to].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    let date = chrono::NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)).ok()?, num(5, 7), num(8, 10))?;
    Some(date.and_hms_opt(num(11, 13), num(14, 16), num(17, 19))?.and_utc().timestamp())
}

/// The Action a request names, without authenticating it (for fault injection and logs).
pub fn action_of(req: &ApiRequest) -> Option<String> {
    wire::rpc_action_of(req)
}

/// An error in this API's envelope with an arbitrary code (admin fault injection): HTTP 500, JSON.
pub fn error_response(code: &str, message: &str) -> Response {
    wire::rpc_fault_response(VENDOR, code, message)
}

/// The id of an account's default instance in a region: stable across restarts.
pub fn default_instance_id(account: &str, region: &str) -> String {
    format!("alikafka_pre-cn-{}", stable_suffix(&format!("alibaba/{account}/{region}"), 12))
}

/// A running (ServiceStatus 5) VPC instance with standard-edition attributes; its name is its id, as in
/// the seed's GetInstanceList example.
pub fn new_instance(account: &str, region: &str, id: &str) -> Result<InstanceMeta, String> {
    if !REGIONS.contains(&region) {
        return Err(format!("unknown Alibaba region {region:?} (one of {})", REGIONS.join(", ")));
    }
    if !wire::is_instance_id(id) {
        return Err(format!("Alibaba Kafka instance ids look like alikafka_pre-cn-xxxxxxxx, not {id:?}"));
    }
    let seed = format!("alibaba/{account}/{region}/{id}");
    let mut meta = InstanceMeta::new(id, Cloud::Alibaba, account, region);
    meta.brokers = 3;
    meta.bandwidth_mbps = 20;
    meta.disk_gb = 500;
    meta.vpc_id = format!("vpc-{}", stable_suffix(&seed, 21));
    meta.subnet_id = format!("vsw-{}", stable_suffix(&format!("{seed}/vsw"), 21));
    meta.zone_id = "zonea".into();
    meta.msg_retention_minutes = 72 * 60;
    meta.max_topics = 1000;
    meta.max_partitions = 20_000;
    let a = &mut meta.attributes;
    a.expires_at = Some(Millis(meta.created_at_ms.0.saturating_add(365 * 24 * 3600 * 1000)));
    a.network = Network::Vpc;
    // `alikafka_pre-` instances are subscriptions, `alikafka_post-` ones pay-as-you-go.
    a.billing = if id.starts_with("alikafka_pre-") { Billing::Subscription } else { Billing::PayAsYouGo };
    a.edition = Some("normal".into());
    a.disk_type = DiskType::Ultra;
    a.kafka_version = Some("0.10".into());
    Ok(meta)
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
    with_model(&state.store.kafka, |model| {
        model.provision_defaults(
            REGIONS,
            |region| default_instance_id(account, region),
            |region, id| new_instance(account, region, id),
        )
    });
}

/// `InstanceId` of the documented form.
fn check_instance_id(id: &str) -> Result<&str, AlibabaError> {
    if !wire::is_instance_id(id) {
        return Err(AlibabaError::InvalidParameter(
            "InstanceId".into(),
            "Instance ids look like alikafka_pre-cn-xxxxxxxx.".into(),
        ));
    }
    Ok(id)
}

/// `RegionId`, required or optional per action; when present it must be a region of the endpoint table.
fn check_region(region: Option<&str>, required: bool) -> Result<Option<&str>, AlibabaError> {
    if required && region.is_none() {
        return Err(AlibabaError::MissingParameter("RegionId".into()));
    }
    if let Some(r) = region {
        if !REGIONS.contains(&r) {
            return Err(AlibabaError::InvalidParameter("RegionId".into(), format!("Unknown region {r}.")));
        }
    }
    Ok(region)
}

/// `{"TagVO": [{"Key","Value"}...]}`, borrowing a resource's tags.
#[derive(serde::Serialize)]
struct TagList<'a> {
    #[serde(rename = "TagVO")]
    tag_vo: Vec<TagVo<'a>>,
}

#[derive(serde::Serialize)]
struct TagVo<'a> {
    #[serde(rename = "Key")]
    key: &'a str,
    #[serde(rename = "Value")]
    value: &'a str,
}

impl<'a> TagList<'a> {
    fn of(tags: &'a [Tag]) -> Self {
        TagList { tag_vo: tags.iter().map(|t| TagVo { key: &t.key, value: &t.value }).collect() }
    }
}

/// Tags from `Tag.N.Key` / `Tag.N.Value` pairs.
fn to_tags(tags: Vec<(String, String)>) -> Vec<Tag> {
    tags.into_iter().map(|(key, value)| Tag { key, value }).collect()
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
        // The direct read and chrono agree, on valid and invalid fixed-width values alike.
        for text in [
            "2016-02-29T23:59:59Z",
            "2015-02-29T00:00:00Z",
            "2016-13-01T00:00:00Z",
            "2016-02-23T24:00:00Z",
            "2016-02-23T12:60:00Z",
            "2016-12-31T23:59:60Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            let chrono = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ")
                .map(|t| t.and_utc().timestamp())
                .map_err(|_| AlibabaError::TimestampFormat);
            assert_eq!(parse_timestamp(text), chrono, "{text}");
            if let Some(direct) = parse_fixed_timestamp(text.as_bytes()) {
                assert_eq!(Ok(direct), chrono, "{text}");
            }
        }
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
