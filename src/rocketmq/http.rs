//! The MQ HTTP protocol of Alibaba Cloud RocketMQ (`x-mq-version: 2015-06-06`, PyPI `mq_http_sdk`), on the
//! main HTTP port: one resource, `/topics/{topic}/messages`, with the instance in the `ns` query parameter.
//!
//! - `POST` publishes one message: `<Message><MessageBody/><MessageTag/><Properties/></Message>`; the
//!   properties travel as `key:value|` pairs, with the reserved keys `KEYS` (space-separated keys),
//!   `__STARTDELIVERTIME` (ms, timed message), `__SHARDINGKEY` (ordered message: the key picks the queue) and
//!   `__TransCheckT` (seconds: a transactional half message, checked back after that time). 201 with
//!   `<Message><MessageId/><MessageBodyMD5/>[<ReceiptHandle/>]</Message>`.
//! - `GET ?consumer=GID&numOfMessages=1..16[&waitseconds=1..30][&tag=a||b][&trans=order|pop]` consumes
//!   (long polling up to `waitseconds`); each message comes with a receipt handle valid for the invisible
//!   time. `trans=order` keeps a queue (sharding key) blocked until its delivery is acknowledged;
//!   `trans=pop` hands a transactional producer group its undecided half messages. Nothing to hand out:
//!   404 `MessageNotExist`.
//! - `DELETE ?consumer=GID[&trans=commit|rollback]` with `<ReceiptHandles><ReceiptHandle/>…</ReceiptHandles>`
//!   acknowledges deliveries, or decides half messages. 204, or 404 with one `<Error>` per refused handle.
//!
//! Authentication: `Authorization: MQ <AccessKeyId>:<Signature>`, the signature being
//! Base64(HmacSHA1(secret, `METHOD\nContent-MD5\nContent-Type\nDate\n` + each `x-mq-*` header as
//! `name:value\n` in name order + the request target exactly as received)). The `Date` header is checked
//! against the clock window. Errors are `<Error><Code/><Message/><RequestId/><HostId/></Error>` with the
//! codes and statuses of the vendor's "HTTP SDK error codes" page (MNS conventions).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use md5::{Digest, Md5};
use quick_xml::events::Event;
use serde_json::Value;

use crate::auth::{authenticate, AuthFailure, SignedRequest};
use crate::engine::rocketmq::{AckError, Message, Millis, NewMessage, RocketMqError, RocketMqModel};
use crate::fixtures::AccountFixture;
use crate::http::{with_meta, ApiRequest, RequestMeta};
use crate::registry::{Access, BoxFuture, Claim, OperationInfo, VendorApi};
use crate::state::AppState;

/// The service name (health, request log, faults).
pub const VENDOR: &str = "alibaba-rocketmq-http";
/// The namespace of every XML document of the protocol.
const XMLNS: &str = "http://mq.aliyuncs.com/doc/v1/";
/// How long a consumed message stays invisible awaiting its acknowledgement (the service's fixed 5 minutes).
pub const INVISIBLE_MS: i64 = 5 * 60 * 1000;
/// Messages per consume request (the SDK documents 1~16).
pub const MAX_BATCH: usize = 16;
/// Longest long poll in seconds (the SDK documents 1~30).
pub const MAX_WAIT_SECONDS: u64 = 30;
/// Check-back delay of a half message without `__TransCheckT`, and the delay before a half message handed
/// out for a check is handed out again (seconds).
pub const DEFAULT_TRANS_CHECK_SECONDS: i64 = 10;
/// Longest `__TransCheckT` (seconds).
pub const MAX_TRANS_CHECK_SECONDS: i64 = 300;
/// How often a long poll looks for new messages.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Replay-memory scope of this API.
const AUTH_SCOPE: &str = "mq-http";

/// The operations, named after the vendor's API reference.
pub fn operations() -> Vec<OperationInfo> {
    vec![
        OperationInfo { name: "PublishMessage", access: Access::Write },
        OperationInfo { name: "ConsumeMessage", access: Access::Write },
        OperationInfo { name: "AckMessage", access: Access::Write },
    ]
}

/// The topic named by a `/topics/{topic}/messages` path.
fn topic_of(path: &str) -> Option<&str> {
    let topic = path.strip_prefix("/topics/")?.strip_suffix("/messages")?;
    (!topic.is_empty() && !topic.contains('/')).then_some(topic)
}

/// The operation a request names (by method), without authenticating it.
pub fn action_of(req: &ApiRequest) -> Option<String> {
    topic_of(req.path())?;
    let name = match req.method {
        Method::POST => "PublishMessage",
        Method::GET => "ConsumeMessage",
        Method::DELETE => "AckMessage",
        _ => return None,
    };
    Some(name.to_string())
}

/// A refused request: status, code, message (and, for a signature mismatch, the server's string to sign,
/// kept for the request log only).
#[derive(Debug)]
struct MqError {
    status: StatusCode,
    code: &'static str,
    message: String,
    string_to_sign: Option<String>,
    /// A whole error document of its own (acknowledgements: one `<Error>` per refused handle).
    document: Option<String>,
}

impl MqError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> MqError {
        MqError { status, code, message: message.into(), string_to_sign: None, document: None }
    }

    fn invalid(message: impl Into<String>) -> MqError {
        MqError::new(StatusCode::BAD_REQUEST, "InvalidArgument", message)
    }

    fn no_message() -> MqError {
        MqError::new(StatusCode::NOT_FOUND, "MessageNotExist", "Message not exist.")
    }
}

/// The status of a code this API answers (codes of injected faults default to 400).
fn status_of(code: &str) -> StatusCode {
    match code {
        "MessageNotExist" | "TopicNotExist" => StatusCode::NOT_FOUND,
        "AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" => StatusCode::FORBIDDEN,
        "TimeExpired" => StatusCode::REQUEST_TIMEOUT,
        "InternalError" => StatusCode::INTERNAL_SERVER_ERROR,
        "MethodNotAllowed" => StatusCode::METHOD_NOT_ALLOWED,
        _ => StatusCode::BAD_REQUEST,
    }
}

fn model_error(e: RocketMqError) -> MqError {
    match e {
        RocketMqError::TopicNotFound(t) => {
            MqError::new(StatusCode::NOT_FOUND, "TopicNotExist", format!("The topic {t} you provided is not exist."))
        }
        RocketMqError::InstanceNotFound(i) => MqError::invalid(format!("The instance {i} does not exist.")),
        RocketMqError::GroupNotFound(g) => MqError::invalid(format!("The group {g} does not exist in the instance.")),
        RocketMqError::Forbidden(t, what) => {
            MqError::new(StatusCode::FORBIDDEN, "AccessDenied", format!("The topic {t} does not permit {what}."))
        }
        other => MqError::invalid(other.to_string()),
    }
}

/// Escapes text for an XML element.
fn escape(text: &str) -> String {
    quick_xml::escape::escape(text).into_owned()
}

fn xml_response(status: StatusCode, request_id: &str, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml;charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-mq-request-id", v);
    }
    response
}

fn error_document(code: &str, message: &str, request_id: &str, host: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error xmlns=\"{XMLNS}\"><Code>{}</Code><Message>{}</Message>\
         <RequestId>{}</RequestId><HostId>{}</HostId></Error>",
        escape(code),
        escape(message),
        escape(request_id),
        escape(host)
    )
}

fn new_request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string().to_uppercase()
}

/// An error in the protocol's envelope with any code (injected faults, oversized bodies).
pub fn error_response(code: &str, message: &str) -> Response {
    let request_id = new_request_id();
    let mut meta = RequestMeta::new(VENDOR);
    meta.error_code = Some(code.to_string());
    let body = error_document(code, message, &request_id, "localyun");
    with_meta(xml_response(status_of(code), &request_id, body), meta)
}

/// Authenticates and executes one request; every outcome is an answer in the protocol's envelope.
pub async fn handle(state: &AppState, req: ApiRequest) -> Response {
    let request_id = new_request_id();
    let mut meta = RequestMeta::new(VENDOR);
    meta.action = action_of(&req).unwrap_or_default();
    let changes_before = state.store.rocketmq.read().change_count();
    let outcome = process(state, &req, &mut meta).await;
    // The whole-model persistence saves a model whose store generation moved (see the `/json` facade).
    if state.persistence.is_some() && state.store.rocketmq.read().change_count() != changes_before {
        drop(state.store.rocketmq.write());
    }
    match outcome {
        Ok((status, body)) => with_meta(xml_response(status, &request_id, body), meta),
        Err(e) => {
            tracing::debug!(code = e.code, detail = %e.message, "mq http request rejected");
            meta.error_code = Some(e.code.to_string());
            meta.string_to_sign = e.string_to_sign;
            let host = format!("http://{}", req.host());
            let body = e.document.unwrap_or_else(|| error_document(e.code, &e.message, &request_id, &host));
            with_meta(xml_response(e.status, &request_id, body), meta)
        }
    }
}

/// The string the client signed (see the module docs).
pub fn string_to_sign(method: &str, headers: &axum::http::HeaderMap, resource: &str) -> String {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mut mq_headers: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("x-mq-"))
        .map(|(k, v)| (k.as_str(), v.to_str().unwrap_or("")))
        .collect();
    mq_headers.sort();
    let mut out = format!("{method}\n{}\n{}\n{}\n", get("content-md5"), get("content-type"), get("date"));
    for (k, v) in mq_headers {
        out.push_str(k);
        out.push(':');
        out.push_str(v);
        out.push('\n');
    }
    out.push_str(resource);
    out
}

/// `Base64(HmacSHA1(secret, string_to_sign))`.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    crate::signing::base64(&crate::signing::hmac_sha1(secret.as_bytes(), string_to_sign.as_bytes()))
}

fn authenticate_request(state: &AppState, req: &ApiRequest) -> Result<String, MqError> {
    let authorization = req.header("authorization").ok_or_else(|| {
        MqError::new(StatusCode::BAD_REQUEST, "MissingAuthorizationHeader", "Authorization header is required.")
    })?;
    let (key_id, signature) = authorization
        .strip_prefix("MQ ")
        .and_then(|rest| rest.trim().split_once(':'))
        .filter(|(k, s)| !k.is_empty() && !s.is_empty())
        .ok_or_else(|| {
            MqError::new(
                StatusCode::BAD_REQUEST,
                "InvalidAuthorizationHeader",
                "The Authorization header format is invalid.",
            )
        })?;
    let date = req
        .header("date")
        .ok_or_else(|| MqError::new(StatusCode::BAD_REQUEST, "MissingDateHeader", "Date header is required."))?;
    let timestamp = chrono::DateTime::parse_from_rfc2822(date)
        .map_err(|_| MqError::new(StatusCode::BAD_REQUEST, "InvalidDateHeader", "The Date header format is invalid."))?
        .timestamp();
    let resource = req.uri.path_and_query().map_or_else(|| req.path().to_string(), |pq| pq.as_str().to_string());
    let signed = SignedRequest {
        scope: AUTH_SCOPE,
        key_id,
        signature,
        timestamp: Some(timestamp),
        nonce: None,
        window: state.nonces.window(),
    };
    authenticate(state, &signed, |secret| {
        let sts = string_to_sign(req.method.as_str(), &req.headers, &resource);
        (sign(secret, &sts), sts)
    })
    .map_err(|failure| match failure {
        AuthFailure::UnknownKey => {
            MqError::new(StatusCode::FORBIDDEN, "InvalidAccessKeyId", "The AccessKey Id you provided is not exist.")
        }
        AuthFailure::SignatureMismatch { string_to_sign } => MqError {
            status: StatusCode::FORBIDDEN,
            code: "SignatureDoesNotMatch",
            message: "The request signature we calculated does not match the signature you provided. Check your key \
                      and signing method."
                .to_string(),
            string_to_sign: Some(string_to_sign),
            document: None,
        },
        AuthFailure::Stale { .. } => {
            MqError::new(StatusCode::REQUEST_TIMEOUT, "TimeExpired", "The http request you sent is expired.")
        }
        AuthFailure::Replayed => MqError::new(StatusCode::FORBIDDEN, "AccessDenied", "The request was replayed."),
    })
}

/// The instance a request addresses: `ns`, or the caller's instance without a namespace.
fn resolve_instance(model: &RocketMqModel, account: &str, ns: Option<&str>) -> Result<String, MqError> {
    match ns.filter(|n| !n.is_empty()) {
        Some(id) => {
            let handle = model.instance_by_id(id).map_err(model_error)?;
            if handle.read().account() != account {
                return Err(MqError::new(
                    StatusCode::FORBIDDEN,
                    "AccessDenied",
                    format!("The instance {id} belongs to another account."),
                ));
            }
            Ok(id.to_string())
        }
        None => model
            .instance_ids()
            .into_iter()
            .find(|id| {
                model.instance_by_id(id).is_ok_and(|h| {
                    let i = h.read();
                    i.account() == account && !i.independent_naming()
                })
            })
            .ok_or_else(|| {
                MqError::invalid("ns (the instance id) is required: the caller has no instance without a namespace")
            }),
    }
}

async fn process(state: &AppState, req: &ApiRequest, meta: &mut RequestMeta) -> Result<(StatusCode, String), MqError> {
    let topic = topic_of(req.path())
        .ok_or_else(|| MqError::new(StatusCode::BAD_REQUEST, "InvalidRequestURL", "Http request URL format invalid."))?
        .to_string();
    let account = authenticate_request(state, req)?;
    meta.account = Some(account.clone());
    let query: BTreeMap<String, String> = req.query_pairs().into_iter().collect();
    let instance = {
        let model = state.store.rocketmq.read();
        resolve_instance(&model, &account, query.get("ns").map(String::as_str))?
    };
    match req.method {
        Method::POST => publish(state, &instance, &topic, &req.body),
        Method::GET => consume(state, &instance, &topic, &query).await,
        Method::DELETE => acknowledge(state, &instance, &topic, &query, &req.body),
        _ => Err(MqError::new(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "Use POST, GET or DELETE.")),
    }
}

/// The text of each child element of the document's root (`<Root><A>x</A><B/></Root>` gives A=x, B="").
fn xml_children(body: &[u8], root: &str) -> Result<Vec<(String, String)>, MqError> {
    let malformed =
        || MqError::new(StatusCode::BAD_REQUEST, "MalformedXML", "The XML you provided was not well-formed.");
    let text = std::str::from_utf8(body).map_err(|_| malformed())?;
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut current: Option<(String, String)> = None;
    let mut out = Vec::new();
    loop {
        match reader.read_event().map_err(|_| malformed())? {
            Event::Start(e) => {
                depth += 1;
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if depth == 1 {
                    if name != root {
                        return Err(MqError::invalid(format!(
                            "The XML you provided did not validate against our published schema, cause by {name}."
                        )));
                    }
                    seen_root = true;
                } else if depth == 2 {
                    current = Some((name, String::new()));
                }
            }
            Event::Empty(e) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if depth == 1 {
                    out.push((name, String::new()));
                } else if depth == 0 {
                    if name != root {
                        return Err(MqError::invalid(format!(
                            "The XML you provided did not validate against our published schema, cause by {name}."
                        )));
                    }
                    seen_root = true;
                }
            }
            Event::Text(t) if depth == 2 => {
                let t = t.unescape().map_err(|_| malformed())?;
                if let Some((_, v)) = current.as_mut() {
                    v.push_str(&t);
                }
            }
            Event::CData(t) if depth == 2 => {
                if let Some((_, v)) = current.as_mut() {
                    v.push_str(&String::from_utf8_lossy(&t.into_inner()));
                }
            }
            Event::End(_) => {
                if depth == 2 {
                    if let Some(c) = current.take() {
                        out.push(c);
                    }
                }
                depth = depth.checked_sub(1).ok_or_else(malformed)?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !seen_root || depth != 0 {
        return Err(malformed());
    }
    Ok(out)
}

/// Parses the `key:value|` property string (pairs without both parts are skipped, as the SDK does).
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.split('|')
        .filter_map(|kv| kv.split_once(':'))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty() && !v.contains(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Upper-case hex MD5 of a body, as `MessageBodyMD5` carries it.
fn body_md5(body: &[u8]) -> String {
    hex::encode_upper(Md5::digest(body))
}

fn publish(state: &AppState, instance: &str, topic: &str, body: &[u8]) -> Result<(StatusCode, String), MqError> {
    let fields: BTreeMap<String, String> = xml_children(body, "Message")?.into_iter().collect();
    let message_body = fields.get("MessageBody").filter(|b| !b.is_empty()).ok_or_else(|| {
        MqError::invalid("The XML you provided did not validate against our published schema, cause by MessageBody.")
    })?;
    let mut properties = fields.get("Properties").map(|p| parse_properties(p)).unwrap_or_default();
    let keys: Vec<String> = properties
        .remove("KEYS")
        .map(|k| k.split(' ').filter(|k| !k.is_empty()).map(str::to_string).collect())
        .unwrap_or_default();
    let start_deliver_ms = match properties.remove("__STARTDELIVERTIME") {
        Some(v) => Some(Millis::from_ms(
            v.parse::<i64>().map_err(|_| MqError::invalid("__STARTDELIVERTIME must be a time in milliseconds"))?,
        )),
        None => None,
    };
    let trans_check = match properties.remove("__TransCheckT") {
        Some(v) => {
            Some(v.parse::<i64>().ok().filter(|s| (1..=MAX_TRANS_CHECK_SECONDS).contains(s)).ok_or_else(|| {
                MqError::invalid(format!("__TransCheckT must be 1 to {MAX_TRANS_CHECK_SECONDS} seconds"))
            })?)
        }
        None => None,
    };
    let message = NewMessage {
        tag: fields.get("MessageTag").filter(|t| !t.is_empty()).cloned(),
        keys,
        body: message_body.as_bytes().to_vec(),
        sharding_key: properties.remove("__SHARDINGKEY"),
        start_deliver_ms,
        user_properties: properties,
        ..NewMessage::default()
    };
    let md5 = body_md5(&message.body);
    let model = state.store.rocketmq.read();
    let answer = match trans_check {
        Some(seconds) => {
            let (id, handle) = model
                .prepare_half(instance, topic, None, message, seconds.saturating_mul(1000))
                .map_err(model_error)?;
            format!(
                "<MessageId>{}</MessageId><MessageBodyMD5>{md5}</MessageBodyMD5><ReceiptHandle>{}</ReceiptHandle>",
                escape(&id),
                escape(&handle)
            )
        }
        None => {
            let id = model.send(instance, topic, message).map_err(model_error)?;
            format!("<MessageId>{}</MessageId><MessageBodyMD5>{md5}</MessageBodyMD5>", escape(&id))
        }
    };
    Ok((
        StatusCode::CREATED,
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Message xmlns=\"{XMLNS}\">{answer}</Message>"),
    ))
}

/// The properties a consumer sees: the reserved ones the message carries, then the user's.
fn wire_properties(m: &Message) -> String {
    let mut out = String::new();
    let mut push = |k: &str, v: &str| {
        out.push_str(k);
        out.push(':');
        out.push_str(v);
        out.push('|');
    };
    if !m.keys.is_empty() {
        push("KEYS", &m.keys.join(" "));
    }
    if let Some(t) = m.start_deliver_ms {
        push("__STARTDELIVERTIME", &t.as_ms().to_string());
    }
    if let Some(k) = &m.sharding_key {
        push("__SHARDINGKEY", k);
    }
    for (k, v) in &m.user_properties {
        push(k, v);
    }
    out
}

/// One `<Message>` of a consume answer.
#[allow(clippy::too_many_arguments)]
fn message_element(
    handle: &str,
    msg_id: &str,
    body: &[u8],
    tag: Option<&str>,
    properties: &str,
    publish_ms: i64,
    first_consume_ms: i64,
    next_consume_ms: i64,
    consumed_times: u32,
) -> String {
    let body_text = String::from_utf8_lossy(body);
    let mut out = format!(
        "<Message><MessageId>{}</MessageId><ReceiptHandle>{}</ReceiptHandle><MessageBody>{}</MessageBody>\
         <MessageBodyMD5>{}</MessageBodyMD5><PublishTime>{publish_ms}</PublishTime>\
         <FirstConsumeTime>{first_consume_ms}</FirstConsumeTime><NextConsumeTime>{next_consume_ms}</NextConsumeTime>\
         <ConsumedTimes>{consumed_times}</ConsumedTimes>",
        escape(msg_id),
        escape(handle),
        escape(&body_text),
        body_md5(body),
    );
    if let Some(tag) = tag {
        out.push_str(&format!("<MessageTag>{}</MessageTag>", escape(tag)));
    }
    if !properties.is_empty() {
        out.push_str(&format!("<Properties>{}</Properties>", escape(properties)));
    }
    out.push_str("</Message>");
    out
}

fn number<T: std::str::FromStr>(query: &BTreeMap<String, String>, name: &str) -> Result<Option<T>, MqError> {
    query
        .get(name)
        .map(|v| {
            v.parse::<T>().map_err(|_| {
                MqError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidQueryString",
                    format!("Http request URL contains invalid querystring item \u{201c}{name}\u{201d}."),
                )
            })
        })
        .transpose()
}

async fn consume(
    state: &AppState,
    instance: &str,
    topic: &str,
    query: &BTreeMap<String, String>,
) -> Result<(StatusCode, String), MqError> {
    let group =
        query.get("consumer").filter(|c| !c.is_empty()).ok_or_else(|| MqError::invalid("consumer is required"))?;
    let batch = number::<usize>(query, "numOfMessages")?.unwrap_or(1);
    if !(1..=MAX_BATCH).contains(&batch) {
        return Err(MqError::invalid(format!("The value of numOfMessages should between 1 and {MAX_BATCH}.")));
    }
    let wait = number::<u64>(query, "waitseconds")?.unwrap_or(0);
    if wait > MAX_WAIT_SECONDS {
        return Err(MqError::invalid(format!(
            "The value of waitseconds should between 1 and {MAX_WAIT_SECONDS} seconds."
        )));
    }
    let expression = query.get("tag").cloned().unwrap_or_default();
    let trans = query.get("trans").map(String::as_str).unwrap_or("");
    if !matches!(trans, "" | "order" | "pop") {
        return Err(MqError::invalid("trans must be order or pop when consuming"));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    loop {
        let found = {
            let model = state.store.rocketmq.read();
            {
                let handle = model.instance_by_id(instance).map_err(model_error)?;
                let i = handle.read();
                i.topic(topic).map_err(model_error)?;
                i.group(group).map_err(model_error)?;
            }
            let now = Millis::now().as_ms();
            if trans == "pop" {
                let recheck = DEFAULT_TRANS_CHECK_SECONDS * 1000;
                model
                    .pop_half(instance, topic, group, batch, recheck)
                    .into_iter()
                    .map(|(handle, h)| {
                        let m = &h.message;
                        let view = Message {
                            keys: m.keys.clone(),
                            start_deliver_ms: m.start_deliver_ms,
                            sharding_key: m.sharding_key.clone(),
                            user_properties: m.user_properties.clone(),
                            ..placeholder()
                        };
                        message_element(
                            &handle,
                            &h.msg_id,
                            &m.body,
                            m.tag.as_deref(),
                            &wire_properties(&view),
                            h.born_ms.as_ms(),
                            now,
                            now + recheck,
                            h.checks,
                        )
                    })
                    .collect::<Vec<_>>()
            } else {
                model
                    .pop(instance, group, topic, &expression, batch, INVISIBLE_MS, trans == "order")
                    .map_err(model_error)?
                    .into_iter()
                    .map(|(handle, m)| {
                        message_element(
                            &handle,
                            &m.msg_id,
                            &m.body,
                            m.tag.as_deref(),
                            &wire_properties(&m),
                            m.store_ms.as_ms(),
                            now,
                            now + INVISIBLE_MS,
                            m.reconsume_times + 1,
                        )
                    })
                    .collect::<Vec<_>>()
            }
        };
        if !found.is_empty() {
            return Ok((
                StatusCode::OK,
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Messages xmlns=\"{XMLNS}\">{}</Messages>",
                    found.concat()
                ),
            ));
        }
        if tokio::time::Instant::now() + POLL_INTERVAL > deadline {
            return Err(MqError::no_message());
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// An empty message to build a view of a half message's properties.
fn placeholder() -> Message {
    Message {
        msg_id: String::new(),
        topic: String::new(),
        queue_id: 0,
        queue_offset: -1,
        commit_offset: 0,
        tag: None,
        keys: Vec::new(),
        body: Vec::new(),
        user_properties: BTreeMap::new(),
        born_ms: Millis::default(),
        born_host: String::new(),
        store_ms: Millis::default(),
        store_host: String::new(),
        reconsume_times: 0,
        start_deliver_ms: None,
        sharding_key: None,
        producer_group: None,
    }
}

fn acknowledge(
    state: &AppState,
    instance: &str,
    topic: &str,
    query: &BTreeMap<String, String>,
    body: &[u8],
) -> Result<(StatusCode, String), MqError> {
    let group =
        query.get("consumer").filter(|c| !c.is_empty()).ok_or_else(|| MqError::invalid("consumer is required"))?;
    let trans = query.get("trans").map(String::as_str).unwrap_or("");
    if !matches!(trans, "" | "commit" | "rollback") {
        return Err(MqError::invalid("trans must be commit or rollback when acknowledging"));
    }
    let handles: Vec<String> = xml_children(body, "ReceiptHandles")?
        .into_iter()
        .filter(|(name, _)| name == "ReceiptHandle")
        .map(|(_, v)| v.trim().to_string())
        .collect();
    if handles.is_empty() {
        return Err(MqError::new(StatusCode::BAD_REQUEST, "MissingReceiptHandle", "ReceiptHandle is required."));
    }
    if handles.len() > MAX_BATCH {
        return Err(MqError::invalid(format!("At most {MAX_BATCH} receipt handles per request.")));
    }
    let model = state.store.rocketmq.read();
    {
        let handle = model.instance_by_id(instance).map_err(model_error)?;
        let i = handle.read();
        i.topic(topic).map_err(model_error)?;
        i.group(group).map_err(model_error)?;
    }
    let mut errors = String::new();
    for handle in &handles {
        let outcome = match trans {
            "" => model.ack(instance, group, topic, handle).map(|()| None),
            decision => model.end_half(instance, topic, group, handle, decision == "commit"),
        };
        let failure = match outcome {
            Ok(Some(Err(e))) => Some(("InvalidArgument", model_error(e).message)),
            Ok(_) => None,
            Err(AckError::Unknown) => {
                Some(("ReceiptHandleError", "The receipt handle you provide is not valid.".to_string()))
            }
            Err(AckError::Expired) => {
                Some(("ReceiptHandleError", "The receipt handle you provide is expired.".to_string()))
            }
        };
        if let Some((code, message)) = failure {
            errors.push_str(&format!(
                "<Error><ErrorCode>{code}</ErrorCode><ErrorMessage>{}</ErrorMessage><ReceiptHandle>{}</ReceiptHandle></Error>",
                escape(&message),
                escape(handle)
            ));
        }
    }
    if errors.is_empty() {
        return Ok((StatusCode::NO_CONTENT, String::new()));
    }
    Err(MqError {
        status: StatusCode::NOT_FOUND,
        code: "AckMessageFail",
        message: "some receipt handles were refused".to_string(),
        string_to_sign: None,
        document: Some(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Errors xmlns=\"{XMLNS}\">{errors}</Errors>"
        )),
    })
}

/// The MQ HTTP protocol behind the registry.
pub struct MqHttpApi;

impl VendorApi for MqHttpApi {
    fn name(&self) -> &'static str {
        VENDOR
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["mq-http", "rocketmq-http"]
    }
    /// `/topics/{topic}/messages` is this protocol's only resource.
    fn claim(&self, head: &Parts) -> Option<Claim> {
        topic_of(head.uri.path()).map(|_| Claim::PATH)
    }
    /// The seed's 4 MB message body plus room for the XML envelope.
    fn max_body_bytes(&self, _head: &Parts) -> usize {
        5 * 1024 * 1024
    }
    fn action_of(&self, req: &ApiRequest) -> Option<String> {
        action_of(req)
    }
    fn handle<'a>(&'a self, state: &'a AppState, req: ApiRequest) -> BoxFuture<'a, Response> {
        Box::pin(handle(state, req))
    }
    fn error_response(&self, code: &str, message: &str) -> Response {
        error_response(code, message)
    }
    fn invalid_request_code(&self) -> &'static str {
        "InvalidArgument"
    }
    fn operations(&self) -> Vec<OperationInfo> {
        operations()
    }
    /// The instances are the `/json` Open API's (`alibaba-rocketmq` provisions them).
    fn provision(&self, _state: &AppState, _account: &str) {}
    fn fixture_section(&self) -> Option<&'static str> {
        None
    }
    fn apply_fixture(&self, _state: &AppState, _section: &Value) -> Result<(), String> {
        Ok(())
    }
    fn apply_account_fixture(&self, _state: &AppState, _account: &AccountFixture) -> Result<(), String> {
        Ok(())
    }
    /// Resources are the `/json` Open API's; clearing them there drops what this protocol stored.
    fn clear(&self, _state: &AppState, _account: Option<&str>) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The capture in sdk-wire-notes (consume, long poll 3 s, tag filter): the string to sign ends with the
    /// request target as sent, x-mq-version is the only signed x-mq header, and no content type on a GET.
    #[test]
    fn string_to_sign_follows_the_sdk() {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("x-mq-version", HeaderValue::from_static("2015-06-06"));
        headers.insert("date", HeaderValue::from_static("Mon, 23 Nov 2026 05:25:49 GMT"));
        headers.insert("user-agent", HeaderValue::from_static("mq-python-sdk/1.0.3"));
        let resource = "/topics/t1/messages?consumer=GID_1&numOfMessages=3&ns=MQ_INST_1&waitseconds=3&tag=tagA";
        let sts = string_to_sign("GET", &headers, resource);
        assert_eq!(sts, format!("GET\n\n\nMon, 23 Nov 2026 05:25:49 GMT\nx-mq-version:2015-06-06\n{resource}"));
    }

    #[test]
    fn properties_parse_like_the_sdk() {
        let p = parse_properties("KEYS:k1|a:b|bad|:x|c:|d:e:f|");
        assert_eq!(p.into_iter().collect::<Vec<_>>(), vec![("KEYS".into(), "k1".into()), ("a".into(), "b".into())]);
    }

    #[test]
    fn xml_children_reads_the_sdk_documents() {
        let doc = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><Message xmlns=\"http://mq.aliyuncs.com/doc/v1/\">\
            <MessageBody>a &amp; b</MessageBody><MessageTag>T</MessageTag><Properties/></Message>";
        let fields = xml_children(doc, "Message").unwrap();
        assert_eq!(
            fields,
            vec![
                ("MessageBody".into(), "a & b".into()),
                ("MessageTag".into(), "T".into()),
                ("Properties".into(), "".into())
            ]
        );
        assert_eq!(xml_children(b"<Message><MessageBody>x", "Message").unwrap_err().code, "MalformedXML");
        assert_eq!(xml_children(b"<Other/>", "Message").unwrap_err().code, "InvalidArgument");
        assert_eq!(xml_children(b"", "Message").unwrap_err().code, "MalformedXML");
    }

    #[test]
    fn paths_name_a_topic() {
        assert_eq!(topic_of("/topics/t1/messages"), Some("t1"));
        assert_eq!(topic_of("/topics//messages"), None);
        assert_eq!(topic_of("/topics/a/b/messages"), None);
        assert_eq!(topic_of("/topics/t1"), None);
    }
}
