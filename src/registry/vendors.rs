//! The four vendor APIs behind [`VendorApi`], each delegating to its vendor module's public functions
//! (`handle`, `action_of`, `error_response`, `VENDOR`, `provision_defaults`) and to its `fixture` module.

use std::borrow::Cow;

use axum::http::request::Parts;
use axum::response::Response;
use serde_json::Value;

use super::{BoxFuture, Claim, OperationInfo, VendorApi};
use crate::fixtures::AccountFixture;
use crate::http::ApiRequest;
use crate::state::AppState;
use crate::{alibaba, huawei, tencent};

fn header<'a>(head: &'a Parts, name: &str) -> Option<&'a str> {
    head.headers.get(name).and_then(|v| v.to_str().ok())
}

fn has_query_param(head: &Parts, name: &str) -> bool {
    crate::http::form_keys(head.uri.query().unwrap_or("").as_bytes()).any(|k| k == name)
}

/// The first value of `name` in urlencoded `pairs`, decoded; borrowed unless decoding changed it.
fn param<'a>(pairs: &'a [u8], name: &str) -> Option<Cow<'a, str>> {
    crate::http::form_param(pairs, name)
}

/// Whether an Alibaba RPC request at `/` is meant for ONS (2019-02-14) rather than Kafka (2018-10-15 and
/// 2019-09-16), from what the head shows: the `Version` (query or `x-acs-version`) when given, else an
/// ONS action name (`Action` or `x-acs-action`).
fn rpc_is_ons(head: &Parts) -> bool {
    let query = head.uri.query().unwrap_or("").as_bytes();
    is_ons(|name, header_name| param(query, name).or_else(|| header(head, header_name).map(Cow::Borrowed)))
}

/// The same decision from the whole request (a form body may carry Action and Version, e.g. pop-core's
/// POSTs): the registry routes such a request to Alibaba Kafka by its head, which redirects it to ONS.
/// The query's pairs come before the form body's, as in the Alibaba facade's parameter order.
fn request_is_ons(req: &ApiRequest) -> bool {
    let form = if req.method == axum::http::Method::POST { req.form_body() } else { None };
    is_ons(|name, header_name| {
        param(req.query().as_bytes(), name)
            .or_else(|| form.and_then(|body| param(body, name)))
            .or_else(|| req.header(header_name).map(Cow::Borrowed))
    })
}

/// ONS by its version when one is given, else by its action; `get(parameter, header)` looks one up.
fn is_ons<'a>(get: impl Fn(&str, &str) -> Option<Cow<'a, str>>) -> bool {
    match get("Version", "x-acs-version") {
        Some(v) => v == alibaba::ons::VERSION,
        None => get("Action", "x-acs-action").is_some_and(|a| alibaba::ons::serves_action(&a)),
    }
}

/// Tencent CKafka v2 (`/v2/index.php`).
pub struct TencentCkafka;

impl VendorApi for TencentCkafka {
    fn name(&self) -> &'static str {
        tencent::ckafka::VENDOR
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["tencent", "ckafka"]
    }
    fn claim(&self, head: &Parts) -> Option<Claim> {
        (head.uri.path() == "/v2/index.php").then_some(Claim::PATH)
    }
    fn action_of(&self, req: &ApiRequest) -> Option<String> {
        tencent::ckafka::action_of(req)
    }
    fn handle<'a>(&'a self, state: &'a AppState, req: ApiRequest) -> BoxFuture<'a, Response> {
        Box::pin(tencent::ckafka::handle(state, req))
    }
    fn error_response(&self, code: &str, message: &str) -> Response {
        tencent::ckafka::error_response(code, message)
    }
    /// 4000: the seed's code for a missing or invalid parameter.
    fn invalid_request_code(&self) -> &'static str {
        "4000"
    }
    fn operations(&self) -> Vec<OperationInfo> {
        tencent::ckafka::operations()
    }
    fn provision(&self, state: &AppState, account: &str) {
        tencent::ckafka::provision_defaults(state, account)
    }
    fn fixture_section(&self) -> Option<&'static str> {
        Some("kafka")
    }
    fn apply_fixture(&self, state: &AppState, section: &Value) -> Result<(), String> {
        tencent::ckafka::fixture::apply(state, section)
    }
    fn clear(&self, state: &AppState, account: Option<&str>) {
        tencent::ckafka::fixture::clear(state, account)
    }
}

/// Tencent Cloud API v3 for CKafka (`POST /` with `X-TC-Action`, TC3-HMAC-SHA256).
pub struct TencentCkafkaV3;

impl VendorApi for TencentCkafkaV3 {
    fn name(&self) -> &'static str {
        tencent::ckafka_v3::VENDOR
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["ckafka-v3", "tencent-v3"]
    }
    /// `/` with an `X-TC-Action` header: decisive (neither Alibaba RPC nor Huawei sends it). The older
    /// form's GET (a `SecretId` and no `AccessKeyId` in the query) outbids Alibaba's `Action` claim; its
    /// form POST reaches here through Alibaba Kafka's `redirect`.
    fn claim(&self, head: &Parts) -> Option<Claim> {
        if head.uri.path() != "/" {
            return None;
        }
        if header(head, "x-tc-action").is_some() {
            return Some(Claim::DECISIVE);
        }
        tencent::ckafka_v3::is_form_request(head.uri.query().unwrap_or("").as_bytes()).then_some(Claim::VERSIONED)
    }
    fn action_of(&self, req: &ApiRequest) -> Option<String> {
        tencent::ckafka_v3::action_of(req)
    }
    fn handle<'a>(&'a self, state: &'a AppState, req: ApiRequest) -> BoxFuture<'a, Response> {
        Box::pin(tencent::ckafka_v3::handle(state, req))
    }
    fn error_response(&self, code: &str, message: &str) -> Response {
        tencent::ckafka_v3::error_response(code, message)
    }
    fn invalid_request_code(&self) -> &'static str {
        "InvalidParameter"
    }
    fn operations(&self) -> Vec<OperationInfo> {
        tencent::ckafka_v3::operations()
    }
    /// Same instances as API v2 (idempotent).
    fn provision(&self, state: &AppState, account: &str) {
        tencent::ckafka::provision_defaults(state, account)
    }
    /// API v2 reads the `kafka` fixture section for both.
    fn fixture_section(&self) -> Option<&'static str> {
        None
    }
    fn apply_fixture(&self, _state: &AppState, _section: &Value) -> Result<(), String> {
        Ok(())
    }
    /// Shares API v2's Tencent instances.
    fn clear(&self, state: &AppState, account: Option<&str>) {
        tencent::ckafka::fixture::clear(state, account)
    }
}

/// Alibaba Kafka RPC OpenAPI (`/` with an `Action`).
pub struct AlibabaKafka;

impl VendorApi for AlibabaKafka {
    fn name(&self) -> &'static str {
        alibaba::kafka::VENDOR
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["alikafka"]
    }
    /// `/` is shared with Huawei's API-version list: an `Action` (query or `x-acs-action`) is decisive;
    /// otherwise Alibaba takes what nobody else claims there (a POSTed form `Action` lands here too, as a
    /// POST is never Huawei's version list).
    fn claim(&self, head: &Parts) -> Option<Claim> {
        if head.uri.path() != "/" {
            return None;
        }
        if header(head, "x-acs-action").is_some() || has_query_param(head, "Action") {
            Some(Claim::DECISIVE)
        } else {
            Some(Claim::FALLBACK)
        }
    }
    /// A form POST at `/` carries its markers in the body: Tencent API v3's older form (a `SecretId`, no
    /// `AccessKeyId`), or ONS (its Version, else an ONS action).
    fn redirect(&self, req: &ApiRequest) -> Option<&'static dyn VendorApi> {
        if req.method == axum::http::Method::POST && tencent::ckafka_v3::is_form_request(&req.body) {
            return Some(&TencentCkafkaV3);
        }
        request_is_ons(req).then_some(&AlibabaOns as &'static dyn VendorApi)
    }
    fn action_of(&self, req: &ApiRequest) -> Option<String> {
        alibaba::kafka::action_of(req)
    }
    fn handle<'a>(&'a self, state: &'a AppState, req: ApiRequest) -> BoxFuture<'a, Response> {
        Box::pin(alibaba::kafka::handle(state, req))
    }
    fn error_response(&self, code: &str, message: &str) -> Response {
        alibaba::kafka::error_response(code, message)
    }
    fn invalid_request_code(&self) -> &'static str {
        "InvalidParameter"
    }
    fn operations(&self) -> Vec<OperationInfo> {
        alibaba::kafka::operations()
    }
    fn provision(&self, state: &AppState, account: &str) {
        alibaba::kafka::provision_defaults(state, account)
    }
    fn fixture_section(&self) -> Option<&'static str> {
        Some("kafka")
    }
    fn apply_fixture(&self, state: &AppState, section: &Value) -> Result<(), String> {
        alibaba::kafka::fixture::apply(state, section)
    }
    fn clear(&self, state: &AppState, account: Option<&str>) {
        alibaba::kafka::fixture::clear(state, account)
    }
}

/// Alibaba RocketMQ ONS OpenAPI (`/` with `Version=2019-02-14`, or an ONS action and no version).
pub struct AlibabaOns;

impl VendorApi for AlibabaOns {
    fn name(&self) -> &'static str {
        alibaba::ons::VENDOR
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["ons"]
    }
    /// Outbids Alibaba Kafka's `Action` claim at `/` when the head names ONS (see `rpc_is_ons`).
    fn claim(&self, head: &Parts) -> Option<Claim> {
        (head.uri.path() == "/" && rpc_is_ons(head)).then_some(Claim::VERSIONED)
    }
    fn action_of(&self, req: &ApiRequest) -> Option<String> {
        alibaba::ons::action_of(req)
    }
    fn handle<'a>(&'a self, state: &'a AppState, req: ApiRequest) -> BoxFuture<'a, Response> {
        Box::pin(alibaba::ons::handle(state, req))
    }
    fn error_response(&self, code: &str, message: &str) -> Response {
        alibaba::ons::error_response(code, message)
    }
    fn invalid_request_code(&self) -> &'static str {
        "InvalidParameter"
    }
    fn operations(&self) -> Vec<OperationInfo> {
        alibaba::ons::operations()
    }
    fn provision(&self, state: &AppState, account: &str) {
        alibaba::ons::provision_defaults(state, account)
    }
    /// ONS reads no fixture section: the `rocketmq:` section (the `/json` API's) fills the shared model.
    fn fixture_section(&self) -> Option<&'static str> {
        None
    }
    fn apply_fixture(&self, _state: &AppState, _section: &Value) -> Result<(), String> {
        Ok(())
    }
    /// The shared RocketMQ model: clearing ONS clears what `/json` sees too.
    fn clear(&self, state: &AppState, account: Option<&str>) {
        alibaba::rocketmq::fixture::clear(state, account)
    }
}

/// Alibaba RocketMQ `/json` Open API.
pub struct AlibabaRocketmq;

impl VendorApi for AlibabaRocketmq {
    fn name(&self) -> &'static str {
        alibaba::rocketmq::VENDOR
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["rocketmq"]
    }
    fn claim(&self, head: &Parts) -> Option<Claim> {
        let path = head.uri.path();
        (path.starts_with("/json/") || path.starts_with("//json/")).then_some(Claim::PATH)
    }
    fn action_of(&self, req: &ApiRequest) -> Option<String> {
        alibaba::rocketmq::action_of(req)
    }
    fn handle<'a>(&'a self, state: &'a AppState, req: ApiRequest) -> BoxFuture<'a, Response> {
        Box::pin(alibaba::rocketmq::handle(state, req))
    }
    fn error_response(&self, code: &str, message: &str) -> Response {
        alibaba::rocketmq::error_response(code, message)
    }
    fn invalid_request_code(&self) -> &'static str {
        "BIZ_FIELD_CHECK_INVALID"
    }
    fn operations(&self) -> Vec<OperationInfo> {
        alibaba::rocketmq::operations()
    }
    fn provision(&self, state: &AppState, account: &str) {
        alibaba::rocketmq::provision_defaults(state, account)
    }
    fn fixture_section(&self) -> Option<&'static str> {
        Some("rocketmq")
    }
    fn apply_fixture(&self, state: &AppState, section: &Value) -> Result<(), String> {
        alibaba::rocketmq::fixture::apply(state, section)
    }
    fn clear(&self, state: &AppState, account: Option<&str>) {
        alibaba::rocketmq::fixture::clear(state, account)
    }
}

/// Huawei EventGrid (`/v1/{project_id}/...`, `/v3/auth/tokens`, and `/` for the API-version list).
pub struct HuaweiEventgrid;

/// The seed: "AK/SK签名认证方式仅支持消息体大小12M以内，12M以上的请求请使用Token认证" (AK/SK-signed bodies up
/// to 12 MB; larger ones use a token).
const HUAWEI_AKSK_MAX_BODY: usize = 12 * 1024 * 1024;
/// The token path's cap: the seed sets none; localyun bounds memory per request.
const HUAWEI_TOKEN_MAX_BODY: usize = 32 * 1024 * 1024;

impl VendorApi for HuaweiEventgrid {
    fn name(&self) -> &'static str {
        huawei::eventgrid::VENDOR
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["eventgrid", "huawei"]
    }
    fn claim(&self, head: &Parts) -> Option<Claim> {
        let path = head.uri.path();
        if path.starts_with("/v1/") || path == "/v1" || path.starts_with("/v3/auth/") || path == "/v3" {
            return Some(Claim::PATH);
        }
        if path != "/" {
            return None;
        }
        let signed = header(head, "authorization").is_some_and(|a| a.starts_with("SDK-HMAC-SHA256"));
        if signed || header(head, "x-auth-token").is_some() {
            return Some(Claim::MARKER);
        }
        // A bare `GET /` is Huawei's API-version list.
        (head.method == axum::http::Method::GET && head.uri.query().unwrap_or("").is_empty()).then_some(Claim::HINT)
    }
    fn max_body_bytes(&self, head: &Parts) -> usize {
        let signed = header(head, "authorization").is_some_and(|a| a.starts_with("SDK-HMAC-SHA256"));
        if !signed && header(head, "x-auth-token").is_some() {
            HUAWEI_TOKEN_MAX_BODY
        } else {
            HUAWEI_AKSK_MAX_BODY
        }
    }
    fn action_of(&self, req: &ApiRequest) -> Option<String> {
        huawei::eventgrid::action_of(req)
    }
    fn handle<'a>(&'a self, state: &'a AppState, req: ApiRequest) -> BoxFuture<'a, Response> {
        Box::pin(huawei::eventgrid::handle(state, req))
    }
    /// Appendix 7.2 of seed huawei-eventgrid-api.txt: `EG.00511001` (503, service unavailable).
    fn unavailable_code(&self) -> Option<&'static str> {
        Some("EG.00511001")
    }

    fn error_response(&self, code: &str, message: &str) -> Response {
        huawei::eventgrid::error_response(code, message)
    }
    /// EG.00513000: the seed's "parameter invalid".
    fn invalid_request_code(&self) -> &'static str {
        "EG.00513000"
    }
    fn operations(&self) -> Vec<OperationInfo> {
        huawei::eventgrid::operations()
    }
    fn provision(&self, state: &AppState, account: &str) {
        huawei::eventgrid::provision_defaults(state, account)
    }
    fn fixture_section(&self) -> Option<&'static str> {
        Some("eventgrid")
    }
    fn apply_fixture(&self, state: &AppState, section: &Value) -> Result<(), String> {
        huawei::eventgrid::fixture::apply(state, section)
    }
    fn apply_account_fixture(&self, state: &AppState, account: &AccountFixture) -> Result<(), String> {
        huawei::eventgrid::fixture::apply_account(state, account)
    }
    fn clear(&self, state: &AppState, account: Option<&str>) {
        huawei::eventgrid::fixture::clear(state, account)
    }
}

// The operation lists, written from the vendor modules' current action tables until each vendor module
// exports `operations()` from its own table (TODO(lead, at merge): replace each list with that call).
