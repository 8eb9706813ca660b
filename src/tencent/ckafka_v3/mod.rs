//! Tencent Cloud API v3 for CKafka (version 2019-08-19), the API today's Tencent SDKs, CLI and Terraform
//! speak: `POST /` with a JSON body, the action and version in `X-TC-Action` / `X-TC-Version`, the region in
//! `X-TC-Region`, signed with TC3-HMAC-SHA256 (`tc3`, service `ckafka`). Answers are
//! `{"Response": {..., "RequestId"}}`, errors `{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`,
//! always `Content-Type: application/json` (the Python SDK reads an error with any other content type as
//! a success).
//!
//! One model with API v2 (`/v2/index.php`): both act on the Tencent instances of the shared Kafka engine,
//! so a topic created here is listed by v2's `ListTopic` and served by the Kafka listener; users created
//! here are the SASL users the Kafka data plane authenticates (`engine::kafka::security`).
//!
//! The older form the v3 SDKs can still send (`ClientProfile(signMethod="HmacSHA1")` / `"HmacSHA256"`:
//! every parameter in a form-urlencoded `POST /` body or a `GET /?...` query, signature v1) is served too
//! (see `form`): the registry claims such a GET by its query (a `SecretId`, no `AccessKeyId`), and a
//! form POST at `/`, which the head cannot tell from Alibaba's RPC endpoint, by its body once read.
//!
//! Not supported: `X-TC-Token` / `Token` session tokens are accepted but not checked.

mod actions;
mod error;
pub mod form;
pub mod tc3;

use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Value};

pub use error::V3Error;

use crate::auth::{AuthFailure, SignedRequest};
use crate::engine::kafka::{with_model, KafkaModel, Scope};
use crate::engine::Cloud;
use crate::http::{with_meta, ApiRequest, RequestMeta};
use crate::registry::{Access, OperationInfo};
use crate::state::AppState;

/// The service name health, faults and the request log use.
pub const VENDOR: &str = "tencent-ckafka-v3";

/// The API version this module implements (`X-TC-Version`).
pub const VERSION: &str = "2019-08-19";

/// The service name in the TC3 credential scope.
pub const SERVICE: &str = "ckafka";

/// TC3's clock window: "Timestamp ... 与当前时间相差不能超过五分钟" (5 minutes), unless the server's nonce
/// window (the configured auth window) is larger.
const TC3_WINDOW_SECS: u64 = 300;

/// What an action handler works with.
pub struct Ctx<'a> {
    /// The server's state (the running Kafka data plane's ports for the `Vport` answers).
    pub state: &'a AppState,
    pub model: &'a KafkaModel,
    pub account: &'a str,
    pub region: &'a str,
}

impl Ctx<'_> {
    /// The caller's Tencent instances in the request's region (the same scope API v2 uses).
    pub fn scope(&self) -> Scope<'_> {
        Scope::owner(Cloud::Tencent, self.account).in_region(Some(self.region))
    }
}

/// An action's parameters as they arrived.
pub enum Params<'a> {
    /// A POST's JSON body, already checked to be one syntactically valid JSON object (as strict as
    /// parsing it into a `Value`): each action deserialises its typed input straight from these bytes.
    Json(&'a [u8]),
    /// Query or form strings rebuilt into the JSON shape (`form::unflatten`): string values may fill
    /// integer and boolean fields (`form::Lenient`).
    Strings(Value),
}

/// A successful action's answer, serialised once into the body it will be sent as: `{"Response":` and the
/// action's fields as one JSON object, whose closing brace `finish` replaces by the `RequestId`. Handlers
/// serialise typed structs that borrow from the model into it (no JSON tree per answer).
pub struct Answer(Vec<u8>);

/// The prefix every answer starts with.
const RESPONSE_PREFIX: &[u8] = br#"{"Response":"#;

impl Answer {
    /// The answer whose `Response` object holds `fields` (a struct or a JSON object) and then `RequestId`.
    /// Errors: `InternalError` when `fields` does not serialise as a JSON object (a bug, never the
    /// caller's).
    pub fn of<T: Serialize + ?Sized>(fields: &T) -> Result<Answer, V3Error> {
        // A page of 20 topics is about 1.4 KB: one allocation for it, no regrowth.
        let mut out = Vec::with_capacity(2048);
        out.extend_from_slice(RESPONSE_PREFIX);
        match serde_json::to_writer(&mut out, fields) {
            Ok(()) if out.len() > RESPONSE_PREFIX.len() && out.ends_with(b"}") => Ok(Answer(out)),
            _ => Err(V3Error::new("InternalError", "The answer could not be serialised.")),
        }
    }

    /// The whole body: `RequestId` after the action's fields (a comma unless they were `{}`), as the
    /// former JSON tree serialised it.
    fn finish(mut self, request_id: &str) -> Vec<u8> {
        self.0.pop();
        if self.0.len() > RESPONSE_PREFIX.len() + 1 {
            self.0.push(b',');
        }
        self.0.extend_from_slice(br#""RequestId":""#);
        // A UUID is hex digits and hyphens: nothing to escape.
        self.0.extend_from_slice(request_id.as_bytes());
        self.0.extend_from_slice(br#""}}"#);
        self.0
    }
}

/// One declared operation: the action, read or write, and its handler over the parameters.
struct Operation {
    action: &'static str,
    access: Access,
    run: fn(&Ctx<'_>, &Params<'_>) -> Result<Answer, V3Error>,
}

macro_rules! op {
    ($action:literal, $access:ident, $handler:path) => {
        Operation { action: $action, access: Access::$access, run: |ctx, p| $handler(ctx, actions::input(p)?) }
    };
}

/// The actions of CKafka 2019-08-19 localyun serves.
static OPERATIONS: &[Operation] = &[
    op!("DescribeInstances", Read, actions::describe_instances),
    op!("DescribeInstanceAttributes", Read, actions::describe_instance_attributes),
    op!("DescribeInstancesDetail", Read, actions::describe_instances_detail),
    op!("CreateTopic", Write, actions::create_topic),
    op!("DescribeTopic", Read, actions::describe_topic),
    op!("DescribeTopicAttributes", Read, actions::describe_topic_attributes),
    op!("DescribeTopicDetail", Read, actions::describe_topic_detail),
    op!("ModifyTopicAttributes", Write, actions::modify_topic_attributes),
    op!("CreatePartition", Write, actions::create_partition),
    op!("DeleteTopic", Write, actions::delete_topic),
    op!("CreateConsumer", Write, actions::create_consumer),
    op!("DescribeGroup", Read, actions::describe_group),
    op!("DescribeGroupInfo", Read, actions::describe_group_info),
    op!("DescribeConsumerGroup", Read, actions::describe_consumer_group),
    op!("DeleteGroup", Write, actions::delete_group),
    op!("DescribeTopicSubscribeGroup", Read, actions::describe_topic_subscribe_group),
    op!("ModifyGroupOffsets", Write, actions::modify_group_offsets),
    op!("CreateUser", Write, actions::create_user),
    op!("DescribeUser", Read, actions::describe_user),
    op!("ModifyPassword", Write, actions::modify_password),
    op!("DeleteUser", Write, actions::delete_user),
    op!("CreateAcl", Write, actions::create_acl),
    op!("DescribeACL", Read, actions::describe_acl),
    op!("DeleteAcl", Write, actions::delete_acl),
    op!("DescribeRegion", Read, actions::describe_region),
    op!("DescribeCkafkaZone", Read, actions::describe_ckafka_zone),
];

/// The declared operations, for the registry.
pub fn operations() -> Vec<OperationInfo> {
    OPERATIONS.iter().map(|o| OperationInfo { name: o.action, access: o.access }).collect()
}

/// Serves one request (the registry routes `/` with `X-TC-Action` here).
pub async fn handle(state: &AppState, req: ApiRequest) -> Response {
    let mut meta = RequestMeta::new(VENDOR);
    // Written into a stack buffer: the id is only copied into the body.
    let mut id_buf = uuid::Uuid::encode_buffer();
    let request_id: &str = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id_buf);
    let body = match process(state, &req, &mut meta) {
        Ok(answer) => answer.finish(request_id),
        Err(e) => {
            tracing::debug!(code = e.code, message = %e.message, "tencent v3 request rejected");
            meta.error_code = Some(e.code.to_string());
            serde_json::to_vec(&error_body(e.code, &e.message, request_id)).unwrap_or_default()
        }
    };
    with_meta(bytes_response(body), meta)
}

fn error_body(code: &str, message: &str, request_id: &str) -> Value {
    json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}})
}

fn bytes_response(body: Vec<u8>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn process(state: &AppState, req: &ApiRequest, meta: &mut RequestMeta) -> Result<Answer, V3Error> {
    if req.method != Method::POST && req.method != Method::GET {
        return Err(V3Error::new("UnsupportedProtocol", "only GET and POST are supported"));
    }
    if req.header("x-tc-action").is_none() {
        return process_form(state, req, meta);
    }
    let action = req.header("x-tc-action").unwrap_or_default().to_string();
    meta.action = action.clone();
    let account = authenticate(state, req, meta)?;
    meta.account = Some(account.clone());
    let version = req.header("x-tc-version").ok_or_else(|| V3Error::missing("X-TC-Version"))?;
    let region = req.header("x-tc-region");
    let params = parameters(req)?;
    run(state, &account, &action, version, region, "X-TC-Region", &params)
}

/// The older form (signature v1): common and action parameters together in the query (GET) or the form
/// body (POST).
fn process_form(state: &AppState, req: &ApiRequest, meta: &mut RequestMeta) -> Result<Answer, V3Error> {
    let mut pairs = req.query_pairs();
    if req.method == Method::POST {
        pairs.extend(req.form_pairs());
    }
    let (params, repeated) = crate::http::unique_params(pairs.iter().cloned());
    if let Some(name) = repeated {
        return Err(V3Error::new("InvalidParameter", format!("The parameter `{name}` is given more than once.")));
    }
    let get = |name: &str| params.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let action = get("Action").ok_or_else(|| V3Error::missing("Action"))?;
    meta.action = action.to_string();
    let account = authenticate_form(state, req, &pairs, meta)?;
    meta.account = Some(account.clone());
    let version = get("Version").ok_or_else(|| V3Error::missing("Version"))?;
    let args = form::unflatten(
        params.iter().filter(|(k, _)| !form::COMMON.contains(&k.as_str())).map(|(k, v)| (k.as_str(), v.as_str())),
    )
    .map_err(|why| V3Error::new("InvalidParameter", why))?;
    run(state, &account, action, version, get("Region"), "Region", &Params::Strings(args))
}

/// The version, action and region checks both forms share, then the action over the Kafka model.
fn run(
    state: &AppState,
    account: &str,
    action: &str,
    version: &str,
    region: Option<&str>,
    region_name: &str,
    params: &Params<'_>,
) -> Result<Answer, V3Error> {
    if version != VERSION {
        return Err(V3Error::new(
            "NoSuchVersion",
            format!("The API version `{version}` does not exist; use {VERSION}."),
        ));
    }
    let op = OPERATIONS.iter().find(|o| o.action == action).ok_or_else(|| {
        V3Error::new("InvalidAction", format!("The API `{action}` does not exist in ckafka {VERSION}."))
    })?;
    // DescribeRegion is the one action that needs no region.
    let region = match region {
        Some(r) if !r.is_empty() => r,
        _ if action == "DescribeRegion" => "ap-guangzhou",
        _ => return Err(V3Error::missing(region_name)),
    };
    if !crate::tencent::ckafka::REGIONS.contains(&region) {
        return Err(V3Error::new("InvalidParameterValue", format!("The region `{region}` is not valid.")));
    }
    with_model(&state.store.kafka, |model| (op.run)(&Ctx { state, model, account, region }, params))
}

/// The action's parameters: the JSON body of a POST (empty body: none), the query of a GET (flattened
/// keys such as `GroupList.0` rebuilt). The body is checked here, before the version and action checks,
/// with the errors parsing it into a `Value` gave, but without building that tree: each action reads its
/// typed input from the bytes.
fn parameters(req: &ApiRequest) -> Result<Params<'_>, V3Error> {
    if req.method == Method::GET {
        let pairs = req.query_pairs();
        let params = form::unflatten(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|why| V3Error::new("InvalidParameter", why))?;
        return Ok(Params::Strings(params));
    }
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Params::Json(b"{}"));
    }
    match serde_json::from_slice::<actions::Checked>(&req.body) {
        Ok(actions::Checked { object: true }) => Ok(Params::Json(&req.body)),
        Ok(_) => Err(V3Error::new("InvalidParameter", "The request body must be a JSON object.")),
        Err(e) => Err(V3Error::new("InvalidParameter", format!("The request body is not valid JSON: {e}"))),
    }
}

/// The signature v1 check of the older form: `SecretId`, `Timestamp`, `Nonce`, `SignatureMethod`
/// (HmacSHA1 when absent, or HmacSHA256) and `Signature` over `METHOD + Host + path + ? + sorted params`,
/// through the shared sequence (constant-time comparison, clock window, nonce replay); returns the account.
fn authenticate_form(
    state: &AppState,
    req: &ApiRequest,
    pairs: &[(String, String)],
    meta: &mut RequestMeta,
) -> Result<String, V3Error> {
    let get = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
    let secret_id = get("SecretId").ok_or_else(|| V3Error::missing("SecretId"))?;
    let signature = get("Signature").ok_or_else(|| V3Error::missing("Signature"))?;
    let nonce = get("Nonce").ok_or_else(|| V3Error::missing("Nonce"))?;
    let timestamp: i64 = get("Timestamp")
        .ok_or_else(|| V3Error::missing("Timestamp"))?
        .trim()
        .parse()
        .map_err(|_| V3Error::new("InvalidParameter", "Timestamp must be an integer (Unix seconds)."))?;
    let method = get("SignatureMethod").unwrap_or("HmacSHA1");
    if method != "HmacSHA1" && method != "HmacSHA256" {
        return Err(V3Error::value("SignatureMethod", format!("`{method}` is not HmacSHA1 or HmacSHA256.")));
    }
    let window = state.nonces.window().max(std::time::Duration::from_secs(TC3_WINDOW_SECS));
    let signed = SignedRequest {
        scope: "tencent-v3",
        key_id: secret_id,
        signature,
        timestamp: Some(timestamp),
        nonce: Some(nonce),
        window,
    };
    let outcome = crate::auth::authenticate(state, &signed, |secret| {
        let sts = form::string_to_sign(req.method.as_str(), req.host(), req.path(), pairs);
        (crate::tencent::ckafka::signature::sign(secret, Some(method), &sts), sts)
    });
    outcome.map_err(|failure| auth_error(failure, timestamp, meta))
}

/// Checks the TC3 `Authorization` header and runs the shared authentication sequence; returns the account.
fn authenticate(state: &AppState, req: &ApiRequest, meta: &mut RequestMeta) -> Result<String, V3Error> {
    let header = req
        .header("authorization")
        .ok_or_else(|| V3Error::new("AuthFailure.SignatureFailure", "The request has no Authorization header."))?;
    let auth = tc3::parse_authorization(header).ok_or_else(|| {
        V3Error::new(
            "AuthFailure.SignatureFailure",
            "The Authorization header is not a valid TC3-HMAC-SHA256 authorization.",
        )
    })?;
    let timestamp: i64 = req
        .header("x-tc-timestamp")
        .ok_or_else(|| V3Error::missing("X-TC-Timestamp"))?
        .trim()
        .parse()
        .map_err(|_| V3Error::new("InvalidParameter", "X-TC-Timestamp must be an integer (Unix seconds)."))?;
    if auth.service != SERVICE {
        return Err(V3Error::new(
            "AuthFailure.SignatureFailure",
            format!("The credential scope names service `{}`; this API's is `{SERVICE}`.", auth.service),
        ));
    }
    if !tc3::is_date_of(&auth.date, timestamp) {
        return Err(V3Error::new(
            "AuthFailure.SignatureFailure",
            format!("The credential scope's date {} is not the UTC date of X-TC-Timestamp {timestamp}.", auth.date),
        ));
    }
    let headers: Vec<(&str, &str)> = auth
        .signed_headers
        .iter()
        .map(|name| (name.as_str(), if name == "host" { req.host() } else { req.header(name).unwrap_or_default() }))
        .collect();
    let (query, payload): (&str, &[u8]) = if req.method == Method::GET { (req.query(), b"") } else { ("", &req.body) };
    let payload: &[u8] =
        if req.header("x-tc-content-sha256") == Some("UNSIGNED-PAYLOAD") { b"UNSIGNED-PAYLOAD" } else { payload };
    let canonical = tc3::canonical_request(req.method.as_str(), req.path(), query, &headers, payload);
    let window = state.nonces.window().max(std::time::Duration::from_secs(TC3_WINDOW_SECS));
    let signed = SignedRequest {
        scope: "tencent-v3",
        key_id: &auth.secret_id,
        signature: &auth.signature,
        timestamp: Some(timestamp),
        nonce: None,
        window,
    };
    let outcome = crate::auth::authenticate(state, &signed, |secret| {
        let sts = tc3::string_to_sign(timestamp, &auth.date, SERVICE, &canonical);
        (tc3::sign(secret, &auth.date, SERVICE, &sts), sts)
    });
    outcome.map_err(|failure| auth_error(failure, timestamp, meta))
}

/// The v3 code of an authentication failure (both forms).
fn auth_error(failure: AuthFailure, timestamp: i64, meta: &mut RequestMeta) -> V3Error {
    match failure {
        AuthFailure::UnknownKey => V3Error::new(
            "AuthFailure.SecretIdNotFound",
            "The SecretId is not found, please ensure that your SecretId is correct.",
        ),
        AuthFailure::SignatureMismatch { string_to_sign } => {
            meta.string_to_sign = Some(string_to_sign);
            V3Error::new(
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. Please check your signature is correct.",
            )
        }
        AuthFailure::Stale { window_secs } => V3Error::new(
            "AuthFailure.SignatureExpire",
            format!(
                "Signature expired. Timestamp {timestamp} is more than {window_secs} seconds from the server time {}.",
                chrono::Utc::now().timestamp()
            ),
        ),
        AuthFailure::Replayed => V3Error::new("AuthFailure.SignatureFailure", "The request was replayed."),
    }
}

/// The action a request names (`X-TC-Action`, else the older form's `Action` parameter), without
/// authenticating it.
pub fn action_of(req: &ApiRequest) -> Option<String> {
    if let Some(action) = req.header("x-tc-action") {
        return Some(action.to_string());
    }
    let form = if req.method == Method::POST { req.form_pairs() } else { Vec::new() };
    req.query_pairs().into_iter().chain(form).find(|(k, _)| k == "Action").map(|(_, v)| v)
}

/// Whether a request at `/` is the older form of this API rather than Alibaba RPC: its urlencoded
/// parameters (the query's, or the form body's) name a `SecretId` and no `AccessKeyId` (Alibaba's key
/// parameter). The `Version` is not required here, so that a wrong one is answered `NoSuchVersion` by this
/// API. One pass over the bytes, decoding nothing but the keys.
pub fn is_form_request(urlencoded: &[u8]) -> bool {
    let (mut secret_id, mut access_key_id) = (false, false);
    for k in crate::http::form_keys(urlencoded) {
        secret_id |= k == "SecretId";
        access_key_id |= k == "AccessKeyId";
    }
    secret_id && !access_key_id
}

/// An error in this API's envelope with an arbitrary code (fault injection, oversized bodies).
pub fn error_response(code: &str, message: &str) -> Response {
    let mut meta = RequestMeta::new(VENDOR);
    meta.error_code = Some(code.to_string());
    let body = error_body(code, message, &uuid::Uuid::new_v4().to_string());
    with_meta(bytes_response(serde_json::to_vec(&body).unwrap_or_default()), meta)
}
