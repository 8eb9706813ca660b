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
//! Not supported: the older form-encoded, HmacSHA1/HmacSHA256 signature the v3 SDKs can still send
//! (`SignatureMethod` in a POST form at `/` is Alibaba's RPC endpoint on this port; telling the two apart
//! needs the body, which the registry's claim does not see); `X-TC-Token` session tokens are accepted but
//! not checked.

mod actions;
mod error;
pub mod tc3;

use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
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

/// One declared operation: the action, read or write, and its handler over the JSON parameters.
struct Operation {
    action: &'static str,
    access: Access,
    run: fn(&Ctx<'_>, &Value) -> Result<Value, V3Error>,
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
    let request_id = uuid::Uuid::new_v4().to_string();
    let body = match process(state, &req, &mut meta) {
        Ok(mut result) => {
            if let Value::Object(m) = &mut result {
                m.insert("RequestId".into(), Value::String(request_id));
            }
            crate::http::object([("Response", result)])
        }
        Err(e) => {
            tracing::debug!(code = e.code, message = %e.message, "tencent v3 request rejected");
            meta.error_code = Some(e.code.to_string());
            error_body(e.code, &e.message, &request_id)
        }
    };
    with_meta(json_response(&body), meta)
}

fn error_body(code: &str, message: &str, request_id: &str) -> Value {
    json!({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": request_id}})
}

fn json_response(body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

fn process(state: &AppState, req: &ApiRequest, meta: &mut RequestMeta) -> Result<Value, V3Error> {
    let action = req.header("x-tc-action").unwrap_or_default().to_string();
    meta.action = action.clone();
    if req.method != Method::POST && req.method != Method::GET {
        return Err(V3Error::new("UnsupportedProtocol", "only GET and POST are supported"));
    }
    let account = authenticate(state, req, meta)?;
    meta.account = Some(account.clone());
    let version = req.header("x-tc-version").ok_or_else(|| V3Error::missing("X-TC-Version"))?;
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
    let region = match req.header("x-tc-region") {
        Some(r) if !r.is_empty() => r,
        _ if action == "DescribeRegion" => "ap-guangzhou",
        _ => return Err(V3Error::missing("X-TC-Region")),
    };
    if !crate::tencent::ckafka::REGIONS.contains(&region) {
        return Err(V3Error::new("InvalidParameterValue", format!("The region `{region}` is not valid.")));
    }
    let params = parameters(req)?;
    with_model(&state.store.kafka, |model| (op.run)(&Ctx { model, account: &account, region }, &params))
}

/// The action's parameters: the JSON body of a POST (empty body: none), the query of a GET.
fn parameters(req: &ApiRequest) -> Result<Value, V3Error> {
    if req.method == Method::GET {
        let map: serde_json::Map<String, Value> =
            req.query_pairs().into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        return Ok(Value::Object(map));
    }
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(V3Error::new("InvalidParameter", "The request body must be a JSON object.")),
        Err(e) => Err(V3Error::new("InvalidParameter", format!("The request body is not valid JSON: {e}"))),
    }
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
    if tc3::date_of(timestamp).as_deref() != Some(auth.date.as_str()) {
        return Err(V3Error::new(
            "AuthFailure.SignatureFailure",
            format!("The credential scope's date {} is not the UTC date of X-TC-Timestamp {timestamp}.", auth.date),
        ));
    }
    let headers: Vec<(String, String)> = auth
        .signed_headers
        .iter()
        .map(|name| {
            let value =
                if name == "host" { req.host().to_string() } else { req.header(name).unwrap_or_default().to_string() };
            (name.clone(), value)
        })
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
    outcome.map_err(|failure| match failure {
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
    })
}

/// The action a request names (`X-TC-Action`), without authenticating it.
pub fn action_of(req: &ApiRequest) -> Option<String> {
    req.header("x-tc-action").map(str::to_string)
}

/// An error in this API's envelope with an arbitrary code (fault injection, oversized bodies).
pub fn error_response(code: &str, message: &str) -> Response {
    let mut meta = RequestMeta::new(VENDOR);
    meta.error_code = Some(code.to_string());
    let body = error_body(code, message, &uuid::Uuid::new_v4().to_string());
    with_meta(json_response(&body), meta)
}
