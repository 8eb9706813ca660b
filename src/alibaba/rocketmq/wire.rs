//! `/json` wire format: parameters (query string, plus the form body of a POST), looked up without regard to
//! case because the seed spells the same parameter `groupid`, `groupId` and `GroupId`; typed access with the
//! documented checks; and the seed's response envelope.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::ApiError;

pub struct Params {
    /// Every pair as received (decoded), in order: the signature covers exactly these.
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Params {
        Params { pairs }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// A parameter by its documented name, any case (its first occurrence); an empty value counts as
    /// absent. A request carries a dozen parameters or so: a scan without allocating beats lower-casing
    /// every name into a hash index (which this replaced) on every request.
    pub fn get(&self, name: &str) -> Option<&str> {
        let (_, value) = self.pairs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))?;
        Some(value.as_str()).filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| ApiError::field(format!("missing required parameter {name}")))
    }

    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::field(format!("parameter {name}: {v:?} is not an integer"))),
        }
    }

    pub fn required_i64(&self, name: &str) -> Result<i64, ApiError> {
        self.opt_i64(name)?.ok_or_else(|| ApiError::field(format!("missing required parameter {name}")))
    }
}

/// What a route answers: `data` as a JSON tree and, for paged answers, the envelope's paging fields; or the
/// whole success body already serialised from typed views (`Reply::typed_page`, the list routes' hot path).
pub enum Reply {
    Tree { data: Value, paging: Option<Paging> },
    Body(Vec<u8>),
}

#[derive(Clone, Copy)]
pub struct Paging {
    pub current_page: usize,
    pub page_size: usize,
    pub total: usize,
}

impl Reply {
    pub fn data(data: Value) -> Reply {
        Reply::Tree { data, paging: None }
    }

    /// The seed's example answer to a write: `"data": {}`.
    pub fn empty() -> Reply {
        Reply::data(Value::Object(Map::new()))
    }

    pub fn paged(data: Value, paging: Paging) -> Reply {
        Reply::Tree { data, paging: Some(paging) }
    }

    /// A success whose `data` is serialised straight from typed, borrowed views (no intermediate tree), so
    /// that it can be written while the model's read lock is held.
    pub fn typed<T: Serialize + ?Sized>(data: &T, paging: Option<Paging>, request_id: &str) -> Reply {
        Reply::typed_sized(data, paging, request_id, 0)
    }

    /// `typed`, into one buffer of about `size_hint` bytes of `data` (a list of 5 KB is then not copied
    /// through every doubling of a small Vec).
    pub fn typed_sized<T: Serialize + ?Sized>(
        data: &T,
        paging: Option<Paging>,
        request_id: &str,
        size_hint: usize,
    ) -> Reply {
        let envelope = success_envelope(data, paging.unwrap_or(NO_PAGING), request_id);
        Reply::Body(to_bytes_sized(&envelope, size_hint + ENVELOPE_BYTES))
    }
}

/// The seed's envelope, in its field order (its topic-create example is alphabetical).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a, D: ?Sized> {
    code: i64,
    current_page: usize,
    data: &'a D,
    dynamic_code: &'a str,
    dynamic_message: &'a str,
    /// Always null.
    help_url: Option<()>,
    message: &'a str,
    page_size: usize,
    request_id: &'a str,
    status: &'static str,
    success: bool,
    total: usize,
}

const NO_PAGING: Paging = Paging { current_page: 0, page_size: 0, total: 0 };

fn success_envelope<'a, D: ?Sized>(data: &'a D, paging: Paging, request_id: &'a str) -> Envelope<'a, D> {
    Envelope {
        code: 200,
        current_page: paging.current_page,
        data,
        dynamic_code: "",
        dynamic_message: "",
        help_url: None,
        message: "operation success",
        page_size: paging.page_size,
        request_id,
        status: "SUCCESS",
        success: true,
        total: paging.total,
    }
}

/// About the size of the envelope around `data` (its field names and a request id).
const ENVELOPE_BYTES: usize = 224;

/// A typical serialised size of one item of a list answer (a topic or group view), to size its buffer.
pub const ITEM_BYTES: usize = 280;

fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    to_bytes_sized(value, ENVELOPE_BYTES)
}

fn to_bytes_sized<T: Serialize>(value: &T, capacity: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(capacity);
    // Serialising into a Vec fails only on a map with non-string keys, which no answer has; an empty body
    // would show it (as `to_vec(..).unwrap_or_default()` did).
    if serde_json::to_writer(&mut out, value).is_err() {
        out.clear();
    }
    out
}

/// The success body of a reply.
pub fn success(reply: Reply, request_id: &str) -> Vec<u8> {
    match reply {
        Reply::Tree { data, paging } => to_bytes(&success_envelope(&data, paging.unwrap_or(NO_PAGING), request_id)),
        Reply::Body(bytes) => bytes,
    }
}

/// The failure body of an error.
pub fn failure(error: &ApiError, request_id: &str) -> Vec<u8> {
    failure_with(ApiError::numeric_code(error.code), error.code, &error.detail, request_id)
}

/// A failure with an arbitrary numeric code and error code (the code is also the `message`).
pub fn failure_with(numeric_code: i64, code: &str, detail: &str, request_id: &str) -> Vec<u8> {
    to_bytes(&Envelope {
        code: numeric_code,
        current_page: 0,
        data: &Value::Null,
        dynamic_code: code,
        dynamic_message: detail,
        help_url: None,
        message: code,
        page_size: 0,
        request_id,
        status: "FAIL",
        success: false,
        total: 0,
    })
}

pub fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json;charset=UTF-8")], body).into_response()
}

/// A millisecond timestamp as the console prints times (`yyyy-MM-dd HH:mm:ss`, UTC).
pub fn format_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_in_any_case_and_empty_is_absent() {
        let p = Params::from_pairs(vec![
            ("groupid".into(), "GID_a".into()),
            ("InstanceId".into(), String::new()),
            ("detail".into(), "TRUE".into()),
        ]);
        assert_eq!(p.get("groupId"), Some("GID_a"));
        assert_eq!(p.get("instanceId"), None);
        assert_eq!(p.get("DETAIL"), Some("TRUE"));
        assert_eq!(p.required("topic").unwrap_err().code, "BIZ_FIELD_CHECK_INVALID");
    }

    #[test]
    fn the_success_envelope_matches_the_seed_example() {
        let body = success(Reply::empty(), "");
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"code":200,"currentPage":0,"data":{},"dynamicCode":"","dynamicMessage":"","helpUrl":null,"message":"operation success","pageSize":0,"requestId":"","status":"SUCCESS","success":true,"total":0}"#
        );
    }
}
