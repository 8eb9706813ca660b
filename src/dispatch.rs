//! Every vendor request's path: the registry picks the vendor API (see `registry::classify`), the body is
//! read within that API's limit, faults are injected, the API answers, the change is made durable, and the
//! request is logged.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header::CONNECTION;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::{ApiRequest, RequestMeta};
use crate::registry::{self, VendorApi, DEFAULT_MAX_BODY_BYTES};
use crate::state::{AppState, RequestRecord};

/// Marks requests that came in over TLS (set by the TLS listener's router layer).
#[derive(Copy, Clone, Debug)]
pub struct ViaTls;

/// How much of an oversized body is read and dropped before answering, so the client (still sending) reads
/// the answer instead of a reset connection. Beyond it the connection is closed after the answer.
const MAX_DRAIN_BYTES: usize = 256 * 1024 * 1024;

/// How long an oversized body may take to drain.
const DRAIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Why a body was not read whole.
enum BodyError {
    /// Over the limit; `drained` says whether the rest was read (the connection can stay open).
    TooLarge { drained: bool },
    /// The client broke off or sent a malformed body.
    Broken,
    /// The body did not arrive within `--body-timeout` seconds of the headers.
    TimedOut,
}

/// Reads a body up to `limit` bytes. Over the limit, reads and drops the rest (bounded in bytes and time)
/// so that the answer reaches a client that is still sending.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    use http_body_util::BodyExt;
    let mut body = body;
    // Most bodies arrive in one frame: it is returned as is (no copy); a second frame starts a buffer.
    let mut first: Option<Bytes> = None;
    let mut collected = bytes::BytesMut::new();
    loop {
        match body.frame().await {
            None => {
                return Ok(match first {
                    Some(data) if collected.is_empty() => data,
                    _ => collected.freeze(),
                })
            }
            Some(Err(_)) => return Err(BodyError::Broken),
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else { continue };
                let held = first.as_ref().map_or(0, Bytes::len) + collected.len();
                if held + data.len() > limit {
                    break;
                }
                if first.is_none() && collected.is_empty() {
                    first = Some(data);
                } else {
                    if let Some(earlier) = first.take() {
                        collected.extend_from_slice(&earlier);
                    }
                    collected.extend_from_slice(&data);
                }
            }
        }
    }
    drop(first);
    drop(collected);
    let mut drained = 0usize;
    let drain = async {
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            if let Ok(data) = frame.into_data() {
                drained += data.len();
                if drained > MAX_DRAIN_BYTES {
                    return false;
                }
            }
        }
        true
    };
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, drain).await.unwrap_or(false);
    Err(BodyError::TooLarge { drained })
}

/// The fallback handler: every vendor request goes through here. The registry decides the vendor API from
/// the request head, the body is read up to that API's limit, then a fault is injected or the API handles
/// the request.
pub async fn dispatch(State(state): State<AppState>, request: Request<Body>) -> Response {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let tls = parts.extensions.get::<ViaTls>().is_some();
    let vendor = registry::classify(&parts);
    let limit = vendor.map_or(DEFAULT_MAX_BODY_BYTES, |v| v.max_body_bytes(&parts));
    // One timer for the whole body, registered only if the body is not already there when first read (most
    // bodies arrive with their headers): a per-frame timer layer cost a timer registration per request.
    let body_timeout = std::time::Duration::from_secs(state.config.body_timeout_secs);
    let read = tokio::time::timeout(body_timeout, read_body(body, limit)).await;
    let body = match read.unwrap_or(Err(BodyError::TimedOut)) {
        Ok(b) => b,
        Err(failure) => {
            let mut response = match (&failure, vendor) {
                (BodyError::TooLarge { .. }, Some(vendor)) => registry::body_too_large(vendor, limit),
                (BodyError::TimedOut, Some(vendor)) => {
                    let message = format!("the request body did not arrive within {}s", body_timeout.as_secs());
                    let mut response = vendor.error_response(vendor.invalid_request_code(), &message);
                    *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
                    response
                }
                (BodyError::Broken, Some(vendor)) => {
                    let mut response = vendor.error_response(
                        vendor.invalid_request_code(),
                        "the request body could not be read (the client broke off or sent a malformed body)",
                    );
                    *response.status_mut() = StatusCode::BAD_REQUEST;
                    response
                }
                (BodyError::TooLarge { .. }, None) => crate::http::with_meta(
                    (
                        StatusCode::PAYLOAD_TOO_LARGE,
                        axum::Json(json!({"error": format!("request body larger than {limit} bytes")})),
                    )
                        .into_response(),
                    RequestMeta::new("none"),
                ),
                (BodyError::TimedOut, None) => crate::http::with_meta(
                    (
                        StatusCode::REQUEST_TIMEOUT,
                        axum::Json(json!({"error": "the request body did not arrive in time"})),
                    )
                        .into_response(),
                    RequestMeta::new("none"),
                ),
                (BodyError::Broken, None) => crate::http::with_meta(
                    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "the request body could not be read"})))
                        .into_response(),
                    RequestMeta::new("none"),
                ),
            };
            // Unless the whole body was read, the connection cannot carry another request.
            if !matches!(failure, BodyError::TooLarge { drained: true }) {
                response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
            }
            log_request(&state, parts.method, parts.uri, started, &mut response);
            return response;
        }
    };
    let req =
        ApiRequest { method: parts.method, uri: parts.uri, headers: parts.headers, body, tls, received_at: started };
    // A form POST at `/` names its API in the body (Alibaba RPC, ONS or Tencent v3's older form).
    let vendor = vendor.map(|v| registry::refine(v, &req));
    // Cheap clones (a standard method is a tag, a Uri shares its bytes), kept for the log line.
    let method = req.method.clone();
    let uri = req.uri.clone();
    let mut response = match vendor {
        Some(vendor) => match injected_fault(&state, vendor, &req).await {
            Some(response) => response,
            None => vendor.handle(&state, req).await,
        },
        None => crate::http::with_meta(
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
        let message = format!("localyun could not persist its state: {e:#}");
        response = match vendor.and_then(|v| v.unavailable_code().map(|c| (v, c))) {
            // The vendor documents a code for it: its own envelope (with 503).
            Some((v, code)) => {
                let mut r = v.error_response(code, &message);
                *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                crate::http::with_meta(r, RequestMeta { error_code: Some(code.into()), ..meta })
            }
            None => crate::http::with_meta(
                (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"error": message}))).into_response(),
                RequestMeta { error_code: Some("PersistenceFailed".into()), ..meta },
            ),
        };
    }
    log_request(&state, method, uri, started, &mut response);
    response
}

/// Applies an admin-injected fault: sleeps for its delay, then answers with its error (in the vendor's
/// envelope) or lets the request through (delay-only faults).
async fn injected_fault(state: &AppState, vendor: &dyn VendorApi, req: &ApiRequest) -> Option<Response> {
    if state.faults.is_empty() {
        return None;
    }
    let action = vendor.action_of(req);
    let hit = state.faults.hit(vendor.name(), action.as_deref())?;
    tracing::debug!(fault = hit.fault_id, vendor = vendor.name(), "injecting fault");
    if !hit.delay.is_zero() {
        tokio::time::sleep(hit.delay).await;
    }
    let code = hit.error_code?;
    let mut response = vendor.error_response(&code, &hit.message);
    let meta = RequestMeta {
        vendor: vendor.name(),
        action: action.unwrap_or_default(),
        account: None,
        error_code: Some(code),
        string_to_sign: None,
    };
    response.extensions_mut().insert(meta);
    Some(response)
}

/// Logs a finished request: one `request` line (level info) and an entry in the admin request log.
fn log_request(state: &AppState, method: Method, uri: axum::http::Uri, started: Instant, response: &mut Response) {
    let latency_us = started.elapsed().as_micros() as u64;
    // The facts travel to here in the response's extensions; the client has no use for them.
    let meta = response.extensions_mut().remove::<RequestMeta>().unwrap_or_default();
    let status = response.status().as_u16();
    crate::logging::request_line(&crate::logging::RequestFacts {
        vendor: meta.vendor,
        action: &meta.action,
        account: meta.account.as_deref().unwrap_or("-"),
        status,
        error: meta.error_code.as_deref().unwrap_or("-"),
        latency_us,
        method: method.as_str(),
        path: uri.path(),
    });
    state.requests.push(RequestRecord {
        time: chrono::Utc::now(),
        vendor: meta.vendor,
        method: &method,
        path: uri.path(),
        action: &meta.action,
        account: meta.account.as_deref(),
        status,
        error_code: meta.error_code.as_deref(),
        latency_us,
        string_to_sign: meta.string_to_sign.as_deref(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_body_within_the_limit_is_read_whole() {
        let body = read_body(Body::from(vec![b'x'; 4000]), 4000).await.ok().expect("within the limit");
        assert_eq!(body.len(), 4000);
        assert!(read_body(Body::empty(), 0).await.ok().expect("empty").is_empty());
    }

    #[tokio::test]
    async fn a_body_in_several_frames_is_joined_in_order() {
        let frames = vec![Ok::<_, std::io::Error>(Bytes::from_static(b"ab")), Ok(Bytes::from_static(b"cd"))];
        let body = Body::from_stream(futures_util::stream::iter(frames));
        let joined = read_body(body, 4).await.ok().expect("within the limit");
        assert_eq!(&joined[..], b"abcd");
        let frames = vec![Ok::<_, std::io::Error>(Bytes::from_static(b"ab")), Ok(Bytes::from_static(b"cde"))];
        assert!(read_body(Body::from_stream(futures_util::stream::iter(frames)), 4).await.is_err(), "5 bytes > 4");
    }

    #[tokio::test]
    async fn an_oversized_body_is_refused_after_it_is_drained() {
        match read_body(Body::from(vec![b'x'; 4001]), 4000).await {
            Err(BodyError::TooLarge { drained }) => assert!(drained, "the rest was read and dropped"),
            _ => panic!("a 4001-byte body over a 4000-byte limit must be refused"),
        }
    }
}
