//! `/json` wire format: parameters (query string, plus the form body of a POST), looked up without regard to
//! case because the seed spells the same parameter `groupid`, `groupId` and `GroupId`; typed access with the
//! documented checks; and the seed's response envelope.

use std::collections::HashMap;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use super::error::ApiError;

pub struct Params {
    /// Every pair as received (decoded), in order: the signature covers exactly these.
    pairs: Vec<(String, String)>,
    /// Lower-cased key -> index of its first occurrence.
    index: HashMap<String, usize>,
}

impl Params {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Params {
        let mut index = HashMap::with_capacity(pairs.len());
        for (i, (k, _)) in pairs.iter().enumerate() {
            index.entry(k.to_ascii_lowercase()).or_insert(i);
        }
        Params { pairs, index }
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// A parameter by its documented name, any case; an empty value counts as absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        let i = *self.index.get(&name.to_ascii_lowercase())?;
        self.pairs.get(i).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
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

    /// An integer that must be one of `allowed`.
    pub fn required_enum(&self, name: &str, allowed: &[i64]) -> Result<i64, ApiError> {
        let v = self.required_i64(name)?;
        if !allowed.contains(&v) {
            return Err(ApiError::field(format!("parameter {name}: {v} is not one of {allowed:?}")));
        }
        Ok(v)
    }

    /// An optional integer in `min..=max`, with a default.
    pub fn int_in(&self, name: &str, min: i64, max: i64, default: i64) -> Result<i64, ApiError> {
        let v = self.opt_i64(name)?.unwrap_or(default);
        if v < min || v > max {
            return Err(ApiError::field(format!("parameter {name}: {v} is outside {min}..{max}")));
        }
        Ok(v)
    }

    /// `true` or `false` (any case).
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::field(format!("parameter {name}: {v:?} is not true or false"))),
        }
    }

    pub fn required_bool(&self, name: &str) -> Result<bool, ApiError> {
        self.opt_bool(name)?.ok_or_else(|| ApiError::field(format!("missing required parameter {name}")))
    }
}

/// What a route answers: `data` and, for paged answers, the envelope's paging fields.
pub struct Reply {
    pub data: Value,
    pub paging: Option<Paging>,
}

#[derive(Clone, Copy)]
pub struct Paging {
    pub current_page: usize,
    pub page_size: usize,
    pub total: usize,
}

impl Reply {
    pub fn data(data: Value) -> Reply {
        Reply { data, paging: None }
    }

    /// The seed's example answer to a write: `"data": {}`.
    pub fn empty() -> Reply {
        Reply::data(Value::Object(Map::new()))
    }

    pub fn paged(data: Value, paging: Paging) -> Reply {
        Reply { data, paging: Some(paging) }
    }
}

fn envelope(
    code: i64,
    data: Value,
    dynamic_code: &str,
    dynamic_message: &str,
    message: &str,
    request_id: &str,
    success: bool,
    paging: Paging,
) -> Value {
    // The seed's field order (its topic-create example is alphabetical).
    let mut m = Map::with_capacity(12);
    m.insert("code".into(), Value::from(code));
    m.insert("currentPage".into(), Value::from(paging.current_page));
    m.insert("data".into(), data);
    m.insert("dynamicCode".into(), Value::from(dynamic_code));
    m.insert("dynamicMessage".into(), Value::from(dynamic_message));
    m.insert("helpUrl".into(), Value::Null);
    m.insert("message".into(), Value::from(message));
    m.insert("pageSize".into(), Value::from(paging.page_size));
    m.insert("requestId".into(), Value::from(request_id));
    m.insert("status".into(), Value::from(if success { "SUCCESS" } else { "FAIL" }));
    m.insert("success".into(), Value::from(success));
    m.insert("total".into(), Value::from(paging.total));
    Value::Object(m)
}

const NO_PAGING: Paging = Paging { current_page: 0, page_size: 0, total: 0 };

pub fn success(reply: Reply, request_id: &str) -> Value {
    envelope(200, reply.data, "", "", "operation success", request_id, true, reply.paging.unwrap_or(NO_PAGING))
}

pub fn failure(error: &ApiError, request_id: &str) -> Value {
    envelope(
        ApiError::numeric_code(error.code),
        Value::Null,
        error.code,
        &error.detail,
        error.code,
        request_id,
        false,
        NO_PAGING,
    )
}

pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json;charset=UTF-8")], bytes).into_response()
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
        assert_eq!(p.opt_bool("detail").unwrap(), Some(true));
        assert_eq!(p.required("topic").unwrap_err().code, "BIZ_FIELD_CHECK_INVALID");
    }

    #[test]
    fn the_success_envelope_matches_the_seed_example() {
        let body = success(Reply::empty(), "");
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"code":200,"currentPage":0,"data":{},"dynamicCode":"","dynamicMessage":"","helpUrl":null,"message":"operation success","pageSize":0,"requestId":"","status":"SUCCESS","success":true,"total":0}"#
        );
    }
}
