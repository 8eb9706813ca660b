//! Admin views of the Kafka data plane, through the in-process reader and writer of
//! [`crate::kafka::local`]:
//!
//! - `GET /_localyun/kafka/records?instance=ID&topic=T&partition=0&offset=N&limit=100&encoding=utf8`
//!   shows a partition's records without consuming (no group, no committed offset moves). `instance` is
//!   an instance id of either vendor or a `host:port` address a listener answers; `offset` defaults to the
//!   log start; `limit` to 100 (at most 1,000); `encoding` is `utf8` (default; a key, value or header
//!   value that is not UTF-8 is given in base64 and says so) or `base64`. Answer:
//!   `{"instance","topic","partition","logStartOffset","highWatermark","nextOffset","records":[{"offset",
//!   "timestamp","key","keyEncoding","value","valueEncoding","headers":[{"key","value","valueEncoding"}]}]}`
//!   (null key / value / header value: null, with encoding null).
//! - `POST /_localyun/kafka/reset` with `{"instance": ID, "topic": T}` empties the topic's partitions:
//!   each log start moves to its high watermark (offsets keep counting; GetTopicStatus and consumer lag
//!   show the new start). Answer: `{"instance","topic","partitions":[{"partition","logStartOffset",
//!   "highWatermark"}]}`.
//!
//! Errors (`{"error": "..."}`): 400 a missing or malformed parameter, 404 an unknown instance, topic or
//! partition, 416 an offset outside the log, 503 the data plane is off (`LOCALYUN_KAFKA=off`).

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

use super::error;
use crate::kafka::local::{LocalError, LocalRecord};
use crate::kafka::KafkaBroker;
use crate::state::AppState;

/// A refusal: the status and the message of the `{"error": ...}` answer.
type Fail = (StatusCode, String);

fn fail(status: StatusCode, message: impl Into<String>) -> Fail {
    (status, message.into())
}

/// Most records one view returns.
pub const MAX_LIMIT: usize = 1_000;
const DEFAULT_LIMIT: usize = 100;

/// The query of `GET /_localyun/kafka/records` (all text, parsed here for precise errors).
#[derive(Debug, Default)]
struct RecordsQuery {
    instance: Option<String>,
    topic: Option<String>,
    partition: Option<String>,
    offset: Option<String>,
    limit: Option<String>,
    encoding: Option<String>,
}

/// The body of `POST /_localyun/kafka/reset`.
#[derive(Debug, Default, Deserialize)]
pub struct ResetBody {
    instance: Option<String>,
    topic: Option<String>,
}

fn broker(state: &AppState) -> Result<std::sync::Arc<KafkaBroker>, Fail> {
    state
        .kafka()
        .ok_or_else(|| fail(StatusCode::SERVICE_UNAVAILABLE, "the Kafka data plane is off (LOCALYUN_KAFKA=off)"))
}

fn required<'a>(v: &'a Option<String>, name: &str) -> Result<&'a str, Fail> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| fail(StatusCode::BAD_REQUEST, format!("the parameter {name} is missing")))
}

fn number<T: std::str::FromStr>(v: &Option<String>, name: &str) -> Result<Option<T>, Fail> {
    match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse().map(Some).map_err(|_| {
            fail(StatusCode::BAD_REQUEST, format!("the parameter {name} is not a valid number: {text:?}"))
        }),
    }
}

fn instance_of(b: &KafkaBroker, name: &str) -> Result<String, Fail> {
    b.resolve_instance(name)
        .ok_or_else(|| fail(StatusCode::NOT_FOUND, format!("no Kafka instance {name:?} is served here")))
}

fn local_error(e: LocalError) -> Fail {
    let status = match &e {
        LocalError::UnknownInstance(_) | LocalError::UnknownTopic { .. } | LocalError::UnknownPartition { .. } => {
            StatusCode::NOT_FOUND
        }
        LocalError::OffsetOutOfRange { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
        LocalError::Kafka { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    };
    fail(status, e.to_string())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Base64,
}

/// A byte field as text: (text, encoding), both null for a null field.
fn field(bytes: &Option<Bytes>, encoding: Encoding) -> (Value, Value) {
    let Some(b) = bytes else { return (Value::Null, Value::Null) };
    if encoding == Encoding::Utf8 {
        if let Ok(text) = std::str::from_utf8(b) {
            return (Value::from(text), Value::from("utf8"));
        }
    }
    (Value::from(base64::engine::general_purpose::STANDARD.encode(b)), Value::from("base64"))
}

fn record_json(r: &LocalRecord, encoding: Encoding) -> Value {
    let (key, key_encoding) = field(&r.key, encoding);
    let (value, value_encoding) = field(&r.value, encoding);
    let headers: Vec<Value> = r
        .headers
        .iter()
        .map(|(k, v)| {
            let (value, value_encoding) = field(v, encoding);
            json!({"key": k, "value": value, "valueEncoding": value_encoding})
        })
        .collect();
    json!({
        "offset": r.offset,
        "timestamp": r.timestamp_ms,
        "key": key,
        "keyEncoding": key_encoding,
        "value": value,
        "valueEncoding": value_encoding,
        "headers": headers,
    })
}

/// `GET /_localyun/kafka/records`. The query is parsed here (a repeated parameter: the last one wins) so
/// every mistake gets the JSON error answer.
pub async fn get_records(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let mut q = RecordsQuery::default();
    for (k, v) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let slot = match &*k {
            "instance" => &mut q.instance,
            "topic" => &mut q.topic,
            "partition" => &mut q.partition,
            "offset" => &mut q.offset,
            "limit" => &mut q.limit,
            "encoding" => &mut q.encoding,
            _ => continue,
        };
        *slot = Some(v.into_owned());
    }
    records(&state, &q).unwrap_or_else(|(status, message)| error(status, message))
}

fn records(state: &AppState, q: &RecordsQuery) -> Result<Response, Fail> {
    let b = broker(state)?;
    let instance = instance_of(&b, required(&q.instance, "instance")?)?;
    let topic = required(&q.topic, "topic")?;
    let partition: u32 = number(&q.partition, "partition")?.unwrap_or(0);
    let limit: usize = number(&q.limit, "limit")?.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(fail(StatusCode::BAD_REQUEST, format!("the parameter limit must be 1 to {MAX_LIMIT}")));
    }
    let encoding = match q.encoding.as_deref().map(str::trim) {
        None | Some("") | Some("utf8") | Some("utf-8") => Encoding::Utf8,
        Some("base64") => Encoding::Base64,
        Some(other) => {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                format!("the parameter encoding is utf8 or base64, not {other:?}"),
            ))
        }
    };
    let offsets = b.partition_offsets(&instance, topic).map_err(local_error)?;
    let Some(p) = offsets.iter().find(|p| p.partition == partition) else {
        return Err(local_error(LocalError::UnknownPartition { topic: topic.to_string(), partition }));
    };
    let offset: i64 = number(&q.offset, "offset")?.unwrap_or(p.log_start_offset);
    let records = b.read_local(&instance, topic, partition, offset, limit).map_err(local_error)?;
    let next = records.last().map_or(offset, |r| r.offset + 1);
    Ok(Json(json!({
        "instance": instance,
        "topic": topic,
        "partition": partition,
        "logStartOffset": p.log_start_offset,
        "highWatermark": p.high_watermark,
        "nextOffset": next,
        "records": records.iter().map(|r| record_json(r, encoding)).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST /_localyun/kafka/reset`.
pub async fn post_reset(State(state): State<AppState>, body: Bytes) -> Response {
    reset(&state, &body).unwrap_or_else(|(status, message)| error(status, message))
}

fn reset(state: &AppState, body: &Bytes) -> Result<Response, Fail> {
    let body: ResetBody = super::json_body(body).map_err(|e| fail(StatusCode::BAD_REQUEST, e))?;
    let b = broker(state)?;
    let instance = instance_of(&b, required(&body.instance, "instance")?)?;
    let topic = required(&body.topic, "topic")?;
    let partitions = b.reset_topic(&instance, topic).map_err(local_error)?;
    tracing::info!(instance = %instance, topic, "Kafka topic data reset through the admin API");
    let partitions: Vec<Value> = partitions
        .iter()
        .map(|p| json!({"partition": p.partition, "logStartOffset": p.log_start_offset, "highWatermark": p.high_watermark}))
        .collect();
    Ok(Json(json!({"instance": instance, "topic": topic, "partitions": partitions})).into_response())
}
