//! The vendor registry: every vendor API localyun serves, listed once ([`VENDORS`]). Dispatch, the admin API
//! (health, reset, faults, request log) and fixtures iterate it instead of naming vendors; they import no
//! vendor module.
//!
//! Adding a vendor API takes one module that implements [`VendorApi`] and one line in [`VENDORS`].

mod vendors;

use std::future::Future;
use std::pin::Pin;

use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

use crate::fixtures::AccountFixture;
use crate::http::ApiRequest;
use crate::state::AppState;

/// Whether an operation only reads state or may change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// One declared operation of a vendor API (an action name or a route), as the registry lists it for the
/// admin API, fault injection and the coverage test. Each vendor's own table adds its typed input and
/// handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationInfo {
    /// The name clients use: a Tencent/Alibaba `Action`, a RocketMQ route such as `topic/create`, or an
    /// EventGrid API name such as `ListChannels`.
    pub name: &'static str,
    pub access: Access,
}

/// How strongly a vendor API claims a request; the strongest claim wins, ties go to the earlier entry of
/// [`VENDORS`]. Vendors share paths (`/` is Alibaba's RPC endpoint and Huawei's API-version list), so a
/// claim on a shared path says which marker it saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Claim(pub u8);

impl Claim {
    /// Only a fallback: nobody else wants the request (e.g. Alibaba RPC at `/` without an `Action`).
    pub const FALLBACK: Claim = Claim(0);
    /// A weak hint (e.g. a bare `GET /`, Huawei's API-version list).
    pub const HINT: Claim = Claim(1);
    /// A marker another vendor's stronger marker may still override (e.g. a Huawei signature header).
    pub const MARKER: Claim = Claim(3);
    /// A decisive marker at a shared path (e.g. an Alibaba `Action` query parameter).
    pub const DECISIVE: Claim = Claim(4);
    /// A decisive marker that outbids another vendor's decisive marker at the same path (an Alibaba RPC
    /// `Version` naming ONS beats the Kafka facade's claim on any `Action`).
    pub const VERSIONED: Claim = Claim(5);
    /// A path only this vendor API serves (`/v2/index.php`, `/json/...`, `/v1/...`).
    pub const PATH: Claim = Claim(10);
}

/// A boxed, sendable future (the registry is a list of trait objects, so `handle` cannot be `async fn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Largest request body a vendor API accepts unless it documents its own limit.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// One vendor API: everything dispatch, the admin API and fixtures need from it.
pub trait VendorApi: Send + Sync {
    /// The service name (health's list, the request log, fault and reset scopes), e.g. `tencent-ckafka`.
    fn name(&self) -> &'static str;

    /// Other names the admin API accepts for this service (lower case), e.g. `ckafka`.
    fn aliases(&self) -> &'static [&'static str];

    /// Whether this API serves the request, decided from method, path, query and headers only (the body is
    /// not read yet: its size limit depends on the answer).
    fn claim(&self, head: &Parts) -> Option<Claim>;

    /// Largest body this API accepts for the request (the seeds' limits where they give one).
    fn max_body_bytes(&self, _head: &Parts) -> usize {
        DEFAULT_MAX_BODY_BYTES
    }

    /// After the body is read (within this API's limit): another API that serves the request instead, when
    /// the head could not tell (a form `POST /` may be Alibaba Kafka RPC, ONS, or Tencent API v3's older
    /// form signature; their markers are in the body). None: this API serves it.
    fn redirect(&self, _req: &ApiRequest) -> Option<&'static dyn VendorApi> {
        None
    }

    /// The action (or route) a request names, without authenticating it (fault injection, request log).
    fn action_of(&self, req: &ApiRequest) -> Option<String>;

    /// Authenticates and executes a request; every outcome is an answer in the vendor's envelope.
    fn handle<'a>(&'a self, state: &'a AppState, req: ApiRequest) -> BoxFuture<'a, Response>;

    /// An error in the vendor's own envelope with an arbitrary code: the one renderer for handler errors
    /// outside the handler (injected faults, oversized bodies).
    fn error_response(&self, code: &str, message: &str) -> Response;

    /// The vendor's code for a request it cannot take as sent (used for oversized bodies).
    fn invalid_request_code(&self) -> &'static str;

    /// The vendor's documented code for "service unavailable" (answered, with 503, when a change could not
    /// be made durable), if its documents name one; None: localyun's generic JSON 503 answer.
    fn unavailable_code(&self) -> Option<&'static str> {
        None
    }

    /// The declared operations (each vendor's own table).
    fn operations(&self) -> Vec<OperationInfo>;

    /// Gives an account this API's default resources (idempotent).
    fn provision(&self, state: &AppState, account: &str);

    /// The fixture-file section this API reads (several APIs may share one, e.g. `kafka`).
    fn fixture_section(&self) -> Option<&'static str>;

    /// Applies this API's part of a fixture section. The error names the entry, starting with the section
    /// (`kafka.instances[2].topics[0] (orders): ...`); the caller adds the file.
    fn apply_fixture(&self, state: &AppState, section: &Value) -> Result<(), String>;

    /// Applies this API's part of an `accounts:` entry (e.g. Huawei project ids); the error names the
    /// field. Called for every account entry of every file before any section.
    fn apply_account_fixture(&self, _state: &AppState, _account: &AccountFixture) -> Result<(), String> {
        Ok(())
    }

    /// Removes this API's resources: every account's, or one account's. Identities (keys, Huawei project
    /// bindings) stay. Defaults and fixtures are the caller's to re-apply.
    fn clear(&self, state: &AppState, account: Option<&str>);
}

/// Every vendor API, in claim-tie order. Adding one: implement [`VendorApi`], add a line here.
pub static VENDORS: &[&dyn VendorApi] = &[
    &vendors::TencentCkafka,
    &vendors::TencentCkafkaV3,
    &vendors::AlibabaKafka,
    &vendors::AlibabaRocketmq,
    &vendors::HuaweiEventgrid,
    &vendors::AlibabaOns,
    &crate::rocketmq::http::MqHttpApi,
];

/// Every vendor API.
pub fn all() -> impl Iterator<Item = &'static dyn VendorApi> {
    VENDORS.iter().copied()
}

/// The service names, in registry order (as health lists them).
pub fn names() -> Vec<&'static str> {
    all().map(|v| v.name()).collect()
}

/// A vendor API by its service name or one of its aliases (case and surrounding space ignored).
pub fn find(name: &str) -> Option<&'static dyn VendorApi> {
    let name = name.trim().to_ascii_lowercase();
    all().find(|v| v.name() == name || v.aliases().contains(&name.as_str()))
}

/// The vendor API that serves a request: the strongest claim, the earliest entry on a tie.
pub fn classify(head: &Parts) -> Option<&'static dyn VendorApi> {
    let mut best: Option<(Claim, &'static dyn VendorApi)> = None;
    for vendor in all() {
        if let Some(claim) = vendor.claim(head) {
            if best.is_none_or(|(b, _)| claim > b) {
                best = Some((claim, vendor));
            }
        }
    }
    best.map(|(_, v)| v)
}

/// The vendor API that serves a request once its body is read: the head's choice, unless that API hands
/// the request on (see [`VendorApi::redirect`]). The body was read under the head's choice's limit, which
/// bounds the peek; the APIs that share `/` share the default limit.
pub fn refine(vendor: &'static dyn VendorApi, req: &ApiRequest) -> &'static dyn VendorApi {
    vendor.redirect(req).unwrap_or(vendor)
}

/// The answer to a body over `limit` bytes, in the vendor's envelope with HTTP 413.
pub fn body_too_large(vendor: &dyn VendorApi, limit: usize) -> Response {
    let mut response = vendor.error_response(
        vendor.invalid_request_code(),
        &format!("the request body is larger than {limit} bytes, the most {} accepts", vendor.name()),
    );
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{Method, Request};

    fn head(method: Method, uri: &str, headers: &[(&str, &str)]) -> Parts {
        let mut builder = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(()).unwrap().into_parts().0
    }

    fn routed(method: Method, uri: &str, headers: &[(&str, &str)]) -> Option<&'static str> {
        classify(&head(method, uri, headers)).map(|v| v.name())
    }

    #[test]
    fn routes_by_path_action_and_auth_scheme() {
        assert_eq!(routed(Method::GET, "/v2/index.php?Action=ListTopic", &[]), Some("tencent-ckafka"));
        assert_eq!(routed(Method::GET, "/?Action=GetTopicList", &[]), Some("alibaba-kafka"));
        assert_eq!(
            routed(Method::POST, "/", &[("content-type", "application/x-www-form-urlencoded")]),
            Some("alibaba-kafka")
        );
        assert_eq!(routed(Method::POST, "/", &[("x-acs-action", "GetTopicList")]), Some("alibaba-kafka"));
        assert_eq!(routed(Method::GET, "/", &[]), Some("huawei-eventgrid"));
        assert_eq!(
            routed(Method::GET, "/", &[("authorization", "SDK-HMAC-SHA256 Access=x")]),
            Some("huawei-eventgrid")
        );
        assert_eq!(routed(Method::POST, "/", &[("x-auth-token", "t")]), Some("huawei-eventgrid"));
        // An Action in the query beats a Huawei signature header (the RPC call is explicit).
        assert_eq!(
            routed(Method::GET, "/?Action=X", &[("authorization", "SDK-HMAC-SHA256 Access=x")]),
            Some("alibaba-kafka")
        );
        assert_eq!(routed(Method::GET, "/?foo=bar", &[]), Some("alibaba-kafka"));
        assert_eq!(routed(Method::POST, "/", &[("x-tc-action", "DescribeTopic")]), Some("tencent-ckafka-v3"));
        assert_eq!(
            routed(Method::POST, "/", &[("x-tc-action", "X"), ("content-type", "application/json")]),
            Some("tencent-ckafka-v3")
        );
        assert_eq!(routed(Method::POST, "/v2/index.php", &[("x-tc-action", "X")]), Some("tencent-ckafka"));
        assert_eq!(routed(Method::GET, "/v1/abc/channels", &[]), Some("huawei-eventgrid"));
        assert_eq!(routed(Method::GET, "/v1", &[]), Some("huawei-eventgrid"));
        assert_eq!(routed(Method::POST, "/v3/auth/tokens", &[]), Some("huawei-eventgrid"));
        assert_eq!(routed(Method::GET, "/json/topic/create", &[]), Some("alibaba-rocketmq"));
        // ONS and Kafka share Alibaba's RPC endpoint: the Version decides, else an ONS action name.
        assert_eq!(routed(Method::GET, "/?Action=OnsTopicList&Version=2019-02-14", &[]), Some("alibaba-ons"));
        assert_eq!(routed(Method::POST, "/?Action=OnsTopicList", &[]), Some("alibaba-ons"));
        assert_eq!(routed(Method::GET, "/?Action=GetTopicList&Version=2019-02-14", &[]), Some("alibaba-ons"));
        assert_eq!(routed(Method::GET, "/?Action=GetTopicList&Version=2019-09-16", &[]), Some("alibaba-kafka"));
        assert_eq!(routed(Method::GET, "/?Action=OnsTopicList&Version=2018-10-15", &[]), Some("alibaba-kafka"));
        assert_eq!(
            routed(Method::POST, "/", &[("x-acs-action", "OnsTopicList"), ("x-acs-version", "2019-02-14")]),
            Some("alibaba-ons")
        );
        assert_eq!(
            routed(Method::POST, "/", &[("x-acs-action", "GetTopicList"), ("x-acs-version", "2019-09-16")]),
            Some("alibaba-kafka")
        );
        assert_eq!(routed(Method::GET, "//json/topic/create", &[]), Some("alibaba-rocketmq"));
        // Tencent v3's older form: a SecretId (and no AccessKeyId) in the query outbids Alibaba's Action.
        assert_eq!(
            routed(Method::GET, "/?Action=DescribeTopic&Version=2019-08-19&SecretId=AKID", &[]),
            Some("tencent-ckafka-v3")
        );
        assert_eq!(routed(Method::GET, "/?Action=X&SecretId=a&AccessKeyId=b", &[]), Some("alibaba-kafka"));
        assert_eq!(routed(Method::GET, "/favicon.ico", &[]), None);
        assert_eq!(routed(Method::GET, "/v2/index.phpx", &[]), None);
    }

    fn form_post(body: &str) -> ApiRequest {
        ApiRequest {
            method: Method::POST,
            uri: "/".parse().unwrap(),
            headers: [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/x-www-form-urlencoded"),
            )]
            .into_iter()
            .collect(),
            body: body.to_string().into(),
            tls: false,
            received_at: std::time::Instant::now(),
        }
    }

    /// A form POST at `/` is claimed by Alibaba Kafka from its head, then the body decides.
    #[test]
    fn a_form_body_redirects_to_the_api_it_names() {
        let head = head(Method::POST, "/", &[("content-type", "application/x-www-form-urlencoded")]);
        let by_head = classify(&head).unwrap();
        assert_eq!(by_head.name(), "alibaba-kafka");
        let cases = [
            ("Action=DescribeTopic&Version=2019-08-19&SecretId=AKID&Nonce=1", "tencent-ckafka-v3"),
            ("Action=GetTopicList&Version=2019-09-16&AccessKeyId=AKID&SignatureNonce=1", "alibaba-kafka"),
            ("Action=OnsTopicList&Version=2019-02-14&AccessKeyId=AKID", "alibaba-ons"),
            ("Action=OnsTopicList&AccessKeyId=AKID", "alibaba-ons"),
            ("SecretId=a&AccessKeyId=b&Action=GetTopicList", "alibaba-kafka"),
            ("", "alibaba-kafka"),
        ];
        for (body, expected) in cases {
            assert_eq!(refine(by_head, &form_post(body)).name(), expected, "{body}");
        }
    }

    #[test]
    fn names_and_aliases_find_each_vendor_once() {
        assert_eq!(
            names(),
            vec![
                "tencent-ckafka",
                "tencent-ckafka-v3",
                "alibaba-kafka",
                "alibaba-rocketmq",
                "huawei-eventgrid",
                "alibaba-ons",
                "alibaba-rocketmq-http"
            ]
        );
        for (alias, name) in [
            ("tencent", "tencent-ckafka"),
            ("CKafka", "tencent-ckafka"),
            (" alikafka ", "alibaba-kafka"),
            ("rocketmq", "alibaba-rocketmq"),
            ("eventgrid", "huawei-eventgrid"),
            ("huawei", "huawei-eventgrid"),
        ] {
            assert_eq!(find(alias).map(|v| v.name()), Some(name), "{alias}");
        }
        assert!(find("aws-sqs").is_none());
        let mut all_names: Vec<&str> =
            all().flat_map(|v| std::iter::once(v.name()).chain(v.aliases().iter().copied())).collect();
        let count = all_names.len();
        all_names.sort();
        all_names.dedup();
        assert_eq!(all_names.len(), count, "a name or alias belongs to one vendor API only");
    }

    /// Core modules reach vendor APIs only through the registry (issue 10: adding a vendor API is one module
    /// and one line here).
    #[test]
    fn core_modules_name_no_vendor_module() {
        let core = [
            ("dispatch.rs", include_str!("../dispatch.rs")),
            ("fixtures.rs", include_str!("../fixtures.rs")),
            ("admin/mod.rs", include_str!("../admin/mod.rs")),
            ("admin/reset.rs", include_str!("../admin/reset.rs")),
            ("admin/faults.rs", include_str!("../admin/faults.rs")),
            ("admin/guard.rs", include_str!("../admin/guard.rs")),
        ];
        for (file, text) in core {
            for vendor in ["crate::tencent", "crate::alibaba", "crate::huawei", "tencent::", "alibaba::", "huawei::"] {
                assert!(!text.contains(vendor), "src/{file} names {vendor}");
            }
        }
    }

    #[test]
    fn body_limits_follow_the_seeds() {
        let huawei = find("huawei-eventgrid").unwrap();
        // Huawei: AK/SK-signed bodies up to 12 MB; larger ones are meant for the token path.
        let signed = head(Method::POST, "/v1/p/events", &[("authorization", "SDK-HMAC-SHA256 Access=x")]);
        assert_eq!(huawei.max_body_bytes(&signed), 12 * 1024 * 1024);
        let token = head(Method::POST, "/v1/p/events", &[("x-auth-token", "t")]);
        assert!(huawei.max_body_bytes(&token) > 12 * 1024 * 1024);
        let tencent = find("tencent-ckafka").unwrap();
        assert_eq!(tencent.max_body_bytes(&head(Method::POST, "/v2/index.php", &[])), DEFAULT_MAX_BODY_BYTES);
    }

    #[test]
    fn oversized_bodies_are_answered_in_the_vendors_envelope() {
        for vendor in all() {
            let response = body_too_large(vendor, 10);
            assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE, "{}", vendor.name());
            let meta = response.extensions().get::<crate::http::RequestMeta>().expect("meta");
            assert_eq!(meta.vendor, vendor.name());
            assert_eq!(meta.error_code.as_deref(), Some(vendor.invalid_request_code()));
        }
    }
}
