//! The one place that decides which vendor API a request is for, and the per-request log line.
//!
//! Vendors share paths (`/` is Alibaba's RPC endpoint and Huawei's API-version list), so the decision uses
//! the path prefix first, then the RPC `Action` (query, form body or `x-acs-action` header), then the
//! `Authorization` scheme.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::{form_pairs, ApiRequest, RequestMeta, MAX_BODY_BYTES};
use crate::state::{AppState, LoggedRequest};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Route {
    TencentCkafka,
    AlibabaRpc,
    AlibabaRocketmq,
    HuaweiEventgrid,
}

/// Marks requests that came in over TLS (set by the TLS listener's router layer).
#[derive(Copy, Clone, Debug)]
pub struct ViaTls;

/// Decides the vendor API for a request, or None when no vendor serves that path.
pub fn classify(req: &ApiRequest) -> Option<Route> {
    let path = req.path();
    if path == "/v2/index.php" {
        return Some(Route::TencentCkafka);
    }
    if path.starts_with("/json/") || path.starts_with("//json/") {
        return Some(Route::AlibabaRocketmq);
    }
    if path.starts_with("/v1/") || path == "/v1" || path.starts_with("/v3/auth/") || path == "/v3" {
        return Some(Route::HuaweiEventgrid);
    }
    if path == "/" {
        if req.header("x-acs-action").is_some() || has_param(req.query().as_bytes(), "Action") {
            return Some(Route::AlibabaRpc);
        }
        let auth = req.header("authorization").unwrap_or("");
        if auth.starts_with("SDK-HMAC-SHA256") || req.header("x-auth-token").is_some() {
            return Some(Route::HuaweiEventgrid);
        }
        if req.method == Method::POST && form_pairs(&req.body).iter().any(|(k, _)| k == "Action") {
            return Some(Route::AlibabaRpc);
        }
        // A bare `GET /` is Huawei's API-version list; anything else at `/` is an RPC call missing its Action.
        return Some(if req.method == Method::GET && req.query().is_empty() {
            Route::HuaweiEventgrid
        } else {
            Route::AlibabaRpc
        });
    }
    None
}

fn has_param(query: &[u8], name: &str) -> bool {
    form_urlencoded::parse(query).any(|(k, _)| k == name)
}

/// The fallback handler: every vendor request goes through here.
pub async fn dispatch(State(state): State<AppState>, request: Request<Body>) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let tls = parts.extensions.get::<ViaTls>().is_some();
    let _peer = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>();
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                axum::Json(json!({"error": format!("request body larger than {MAX_BODY_BYTES} bytes")})),
            )
                .into_response()
        }
    };
    let req =
        ApiRequest { method: parts.method, uri: parts.uri, headers: parts.headers, body, tls, received_at: started };
    // Cheap clones (a standard method is a tag, a Uri shares its bytes), kept for the log line.
    let method = req.method.clone();
    let uri = req.uri.clone();
    let route = classify(&req);
    let fault = match route {
        Some(route) => injected_fault(&state, route, &req).await,
        None => None,
    };
    let mut response = match (fault, route) {
        (Some(response), _) => response,
        (None, Some(Route::TencentCkafka)) => crate::tencent::ckafka::handle(&state, req).await,
        (None, Some(Route::AlibabaRpc)) => crate::alibaba::kafka::handle(&state, req).await,
        (None, Some(Route::AlibabaRocketmq)) => crate::alibaba::rocketmq::handle(&state, req).await,
        (None, Some(Route::HuaweiEventgrid)) => crate::huawei::eventgrid::handle(&state, req).await,
        (None, None) => crate::http::with_meta(
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({
                    "error": "no localyun API serves this path",
                    "path": uri.path(),
                    "hint": "Tencent: /v2/index.php; Alibaba RPC: /?Action=...; RocketMQ: /json/...; Huawei: /v1/{project_id}/...; admin: /_localyun/health"
                })),
            )
                .into_response(),
            RequestMeta::new("none"),
        ),
    };
    // A change is acknowledged only once it is durable (a no-op without --data-dir).
    if let Err(e) = state.persist().await {
        tracing::error!(error = %e, "could not persist state");
        let meta = response.extensions().get::<RequestMeta>().cloned().unwrap_or_default();
        response = crate::http::with_meta(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"error": format!("localyun could not persist its state: {e:#}")})),
            )
                .into_response(),
            RequestMeta { error_code: Some("PersistenceFailed".into()), ..meta },
        );
    }
    log_request(&state, method, uri, started, &mut response);
    response
}

impl Route {
    /// The service name (as health lists it).
    pub fn service(self) -> &'static str {
        match self {
            Route::TencentCkafka => "tencent-ckafka",
            Route::AlibabaRpc => "alibaba-kafka",
            Route::AlibabaRocketmq => "alibaba-rocketmq",
            Route::HuaweiEventgrid => "huawei-eventgrid",
        }
    }

    /// The action a request names, without authenticating it.
    fn action_of(self, req: &ApiRequest) -> Option<String> {
        match self {
            Route::TencentCkafka => crate::tencent::ckafka::action_of(req),
            Route::AlibabaRpc => crate::alibaba::kafka::action_of(req),
            Route::AlibabaRocketmq => crate::alibaba::rocketmq::action_of(req),
            Route::HuaweiEventgrid => crate::huawei::eventgrid::action_of(req),
        }
    }

    fn error_response(self, code: &str, message: &str) -> Response {
        match self {
            Route::TencentCkafka => crate::tencent::ckafka::error_response(code, message),
            Route::AlibabaRpc => crate::alibaba::kafka::error_response(code, message),
            Route::AlibabaRocketmq => crate::alibaba::rocketmq::error_response(code, message),
            Route::HuaweiEventgrid => crate::huawei::eventgrid::error_response(code, message),
        }
    }
}

/// Applies an admin-injected fault: sleeps for its delay, then answers with its error (in the vendor's
/// envelope) or lets the request through (delay-only faults).
async fn injected_fault(state: &AppState, route: Route, req: &ApiRequest) -> Option<Response> {
    if state.faults.is_empty() {
        return None;
    }
    let action = route.action_of(req);
    let hit = state.faults.hit(route.service(), action.as_deref())?;
    tracing::debug!(fault = hit.fault_id, vendor = route.service(), "injecting fault");
    if !hit.delay.is_zero() {
        tokio::time::sleep(hit.delay).await;
    }
    let code = hit.error_code?;
    let mut response = route.error_response(&code, &hit.message);
    let meta = RequestMeta {
        vendor: route.service(),
        action: action.unwrap_or_default(),
        account: None,
        error_code: Some(code),
        string_to_sign: None,
    };
    response.extensions_mut().insert(meta);
    Some(response)
}

fn log_request(state: &AppState, method: Method, uri: axum::http::Uri, started: Instant, response: &mut Response) {
    let latency = started.elapsed();
    // The facts travel to here in the response's extensions; the client has no use for them.
    let meta = response.extensions_mut().remove::<RequestMeta>().unwrap_or_default();
    let status = response.status().as_u16();
    tracing::info!(
        vendor = meta.vendor,
        action = %meta.action,
        account = meta.account.as_deref().unwrap_or("-"),
        status,
        error = meta.error_code.as_deref().unwrap_or("-"),
        latency_us = latency.as_micros() as u64,
        method = %method,
        path = uri.path(),
        "request"
    );
    state.requests.push(LoggedRequest {
        time: chrono::Utc::now(),
        vendor: meta.vendor,
        method,
        path: uri,
        action: meta.action,
        account: meta.account,
        status,
        error_code: meta.error_code,
        latency_us: latency.as_micros() as u64,
        string_to_sign: meta.string_to_sign,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::{HeaderMap, HeaderValue, Uri};
    use bytes::Bytes;

    fn req(method: Method, uri: &str, headers: &[(&str, &str)], body: &str) -> ApiRequest {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        ApiRequest {
            method,
            uri: uri.parse::<Uri>().unwrap(),
            headers: h,
            body: Bytes::from(body.to_string()),
            tls: false,
            received_at: Instant::now(),
        }
    }

    #[test]
    fn routes_by_path_action_and_auth_scheme() {
        assert_eq!(classify(&req(Method::GET, "/v2/index.php?Action=ListTopic", &[], "")), Some(Route::TencentCkafka));
        assert_eq!(classify(&req(Method::GET, "/?Action=GetTopicList", &[], "")), Some(Route::AlibabaRpc));
        assert_eq!(
            classify(&req(
                Method::POST,
                "/",
                &[("content-type", "application/x-www-form-urlencoded")],
                "Action=GetTopicList&RegionId=cn-hangzhou"
            )),
            Some(Route::AlibabaRpc)
        );
        assert_eq!(classify(&req(Method::POST, "/", &[("x-acs-action", "GetTopicList")], "")), Some(Route::AlibabaRpc));
        assert_eq!(classify(&req(Method::GET, "/", &[], "")), Some(Route::HuaweiEventgrid));
        assert_eq!(
            classify(&req(Method::GET, "/", &[("authorization", "SDK-HMAC-SHA256 Access=x")], "")),
            Some(Route::HuaweiEventgrid)
        );
        assert_eq!(classify(&req(Method::GET, "/v1/abc/channels", &[], "")), Some(Route::HuaweiEventgrid));
        assert_eq!(classify(&req(Method::POST, "/v3/auth/tokens", &[], "")), Some(Route::HuaweiEventgrid));
        assert_eq!(classify(&req(Method::GET, "/json/topic/create", &[], "")), Some(Route::AlibabaRocketmq));
        assert_eq!(classify(&req(Method::GET, "//json/topic/create", &[], "")), Some(Route::AlibabaRocketmq));
        assert_eq!(classify(&req(Method::GET, "/favicon.ico", &[], "")), None);
    }
}
