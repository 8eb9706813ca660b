//! EventGrid wire format: JSON bodies with typed, validated field access; query parameters; the documented
//! name rules; times; paging and sorting of list answers.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::error::EgError;
use crate::engine::eventbus::Millis;

/// A JSON object request body.
pub struct Body(pub Map<String, Value>);

impl Body {
    /// Parses the request body; an empty body is an empty object (every body field of these APIs that is
    /// required is checked by name afterwards).
    pub fn parse(bytes: &[u8]) -> Result<Body, EgError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Body(Map::new()));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(Body(map)),
            Ok(_) => Err(EgError::Parameter("the request body must be a JSON object".into())),
            Err(e) => Err(EgError::Parameter(format!("the request body is not valid JSON: {e}"))),
        }
    }

    pub fn from_value(value: &Value, what: &str) -> Result<Body, EgError> {
        match value {
            Value::Object(map) => Ok(Body(map.clone())),
            _ => Err(EgError::Parameter(format!("{what} must be a JSON object"))),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// An optional string; present but not a string is a parameter error.
    pub fn opt_str(&self, name: &str) -> Result<Option<String>, EgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(EgError::Parameter(format!("{name} must be a string"))),
        }
    }

    /// A required, non-empty string.
    pub fn req_str(&self, name: &str) -> Result<String, EgError> {
        match self.opt_str(name)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(EgError::Parameter(format!("{name} is required"))),
        }
    }

    /// An optional object; present but not an object is a parameter error.
    pub fn opt_object(&self, name: &str) -> Result<Option<Value>, EgError> {
        match self.get(name) {
            None => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
            Some(_) => Err(EgError::Parameter(format!("{name} must be an object"))),
        }
    }

    /// `opt_array`, moving the items out of the body instead of copying them.
    pub fn take_array(&mut self, name: &str) -> Result<Option<Vec<Value>>, EgError> {
        self.opt_array(name)?;
        match self.0.get_mut(name).map(Value::take) {
            Some(Value::Array(items)) => Ok(Some(items)),
            _ => Ok(None),
        }
    }

    pub fn opt_array(&self, name: &str) -> Result<Option<&Vec<Value>>, EgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(EgError::Parameter(format!("{name} must be an array"))),
        }
    }

    /// An optional non-negative integer, also accepted as a numeric string (the seed's examples mix both).
    pub fn opt_u32(&self, name: &str) -> Result<Option<u32>, EgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| EgError::Parameter(format!("{name} must be a non-negative integer"))),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| EgError::Parameter(format!("{name} must be a non-negative integer"))),
            Some(_) => Err(EgError::Parameter(format!("{name} must be a non-negative integer"))),
        }
    }

    /// An optional boolean, also accepted as "true"/"false" (the seed types some switches as String).
    pub fn opt_bool(&self, name: &str) -> Result<Option<bool>, EgError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(Some(s == "true")),
            Some(_) => Err(EgError::Parameter(format!("{name} must be a boolean"))),
        }
    }

    /// An optional string that must be one of `allowed`.
    pub fn opt_enum(&self, name: &str, allowed: &[&str]) -> Result<Option<String>, EgError> {
        let value = self.opt_str(name)?;
        if let Some(v) = &value {
            if !allowed.contains(&v.as_str()) {
                return Err(EgError::Parameter(format!("{name} must be one of {}", allowed.join(", "))));
            }
        }
        Ok(value)
    }
}

/// Serialized size of a detail object: the seed limits each to 1024 bytes.
pub const MAX_DETAIL_BYTES: usize = 1024;

pub fn check_detail_size(name: &str, value: &Option<Value>) -> Result<(), EgError> {
    if let Some(v) = value {
        let size = serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX);
        if size > MAX_DETAIL_BYTES {
            return Err(EgError::Parameter(format!(
                "{name} is {size} bytes serialized; at most {MAX_DETAIL_BYTES} are allowed"
            )));
        }
    }
    Ok(())
}

/// Names are not length-limited in the seed; localyun caps them at 128 characters (the limit the seed gives
/// for the event-router names) so a runaway value is caught.
pub const MAX_NAME: usize = 128;
/// Descriptions: localyun caps them at 255 characters (the seed gives 256 only for router jobs).
pub const MAX_DESCRIPTION: usize = 255;

/// Subscription, channel, connection and endpoint names: letters, digits, `.`, `_`, `-`, a letter or digit first.
pub fn check_name(field: &str, name: &str) -> Result<(), EgError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && name.len() <= MAX_NAME;
    if !ok {
        return Err(EgError::Parameter(format!(
            "{field} {name:?}: letters, digits, '.', '_' and '-', a letter or digit first, at most {MAX_NAME} characters"
        )));
    }
    Ok(())
}

/// Custom event source names: lower-case letters, digits, `.`, `_`, `-`, not starting with `hc.`.
pub fn check_source_name(name: &str) -> Result<(), EgError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        && name.len() <= MAX_NAME
        && !name.starts_with("hc.");
    if !ok {
        return Err(EgError::Parameter(format!(
            "name {name:?}: lower-case letters, digits, '.', '_' and '-', a letter or digit first, not starting with hc."
        )));
    }
    Ok(())
}

/// Client-chosen subscription source and target ids: lower-case letters, digits and `-`, a letter or digit first.
pub fn check_part_id(field: &str, id: &str) -> Result<(), EgError> {
    let mut chars = id.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && id.len() <= 64;
    if !ok {
        return Err(EgError::Parameter(format!(
            "{field} {id:?}: lower-case letters, digits and '-', a letter or digit first"
        )));
    }
    Ok(())
}

pub fn check_description(description: &Option<String>) -> Result<(), EgError> {
    if description.as_ref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        return Err(EgError::Parameter(format!("description: at most {MAX_DESCRIPTION} characters")));
    }
    Ok(())
}

/// The core APIs' time format, UTC: `2021-12-09 09:00:00` (empty when out of chrono's range).
pub fn time(ms: Millis) -> String {
    let mut buf = [0u8; TIME_LEN];
    match format_time(ms, &mut buf) {
        Some(text) => text.to_string(),
        None => slow_time(ms),
    }
}

/// `YYYY-MM-DD HH:MM:SS`.
const TIME_LEN: usize = 19;

/// Writes `time`'s text into `buf` digit by digit: `format("%Y-%m-%d ...")` parses its format string again
/// on every call, a measurable share of a list answer. None for years outside 0..=9999 (and times out of
/// range), whose text `slow_time` gives as it always did.
fn format_time(ms: Millis, buf: &mut [u8; TIME_LEN]) -> Option<&str> {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::from_timestamp_millis(ms.0)?;
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let fields = [(year, 4), (t.month(), 2), (t.day(), 2), (t.hour(), 2), (t.minute(), 2), (t.second(), 2)];
    let separators = [b'-', b'-', b' ', b':', b':'];
    let mut at = 0;
    for (i, (value, width)) in fields.into_iter().enumerate() {
        let mut v = value;
        for slot in buf[at..at + width].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        at += width;
        if let Some(sep) = separators.get(i) {
            buf[at] = *sep;
            at += 1;
        }
    }
    std::str::from_utf8(&buf[..]).ok()
}

fn slow_time(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms.0).map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()
}

/// A time field of a typed answer, serialised as `time` writes it without an intermediate `String`.
#[derive(Clone, Copy)]
pub struct Time(pub Millis);

impl serde::Serialize for Time {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; TIME_LEN];
        match format_time(self.0, &mut buf) {
            Some(text) => serializer.serialize_str(text),
            None => serializer.serialize_str(&slow_time(self.0)),
        }
    }
}

/// Query parameters, form-decoded; borrowed from the request's query unless they held escapes.
pub struct Query<'a>(pub Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> Query<'a> {
    /// The pairs of a query string, decoded as `ApiRequest::query_pairs` decodes them (`+` is a space).
    pub fn parse(query: &'a str) -> Query<'a> {
        Query(crate::http::form_parse(query.as_bytes()).collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_ref()).filter(|v| !v.is_empty())
    }

    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.0.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_ref())
    }

    pub fn req(&self, name: &str) -> Result<&str, EgError> {
        self.get(name).ok_or_else(|| EgError::Parameter(format!("query parameter {name} is required")))
    }

    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>, EgError> {
        self.get(name)
            .map(|v| v.trim().parse::<i64>().map_err(|_| EgError::Parameter(format!("{name} must be an integer"))))
            .transpose()
    }

    pub fn opt_enum(&self, name: &str, allowed: &[&str]) -> Result<Option<&str>, EgError> {
        match self.get(name) {
            Some(v) if !allowed.contains(&v) => {
                Err(EgError::Parameter(format!("{name} must be one of {}", allowed.join(", "))))
            }
            other => Ok(other),
        }
    }

    /// `offset` (>= 0, default 0), `limit` (1..=1000, default 15) and `sort`.
    pub fn paging(&self) -> Result<Paging, EgError> {
        let offset = self.opt_i64("offset")?.unwrap_or(0);
        if offset < 0 {
            return Err(EgError::Parameter("offset must not be less than 0".into()));
        }
        let limit = self.opt_i64("limit")?.unwrap_or(DEFAULT_LIMIT as i64);
        if !(1..=1000).contains(&limit) {
            return Err(EgError::Parameter("limit must be between 1 and 1000".into()));
        }
        let sort = match self.get("sort") {
            None => Sort { field: SortField::Created, descending: true },
            Some(s) => Sort::parse(s)?,
        };
        Ok(Paging { offset: offset as usize, limit: limit as usize, sort })
    }
}

/// Page size when `limit` is absent (not documented; 15 is believed to be EG's).
pub const DEFAULT_LIMIT: usize = 15;

#[derive(Copy, Clone, Debug, PartialEq)]
pub enum SortField {
    Created,
    Updated,
    Name,
}

#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Sort {
    /// `field[:asc|desc]` with field `created_time`, `updated_time` or `name` (the seed gives no syntax).
    pub fn parse(s: &str) -> Result<Sort, EgError> {
        let (field, dir) = s.split_once(':').unwrap_or((s, "desc"));
        let field = match field.trim() {
            "created_time" | "created_at" => SortField::Created,
            "updated_time" | "updated_at" => SortField::Updated,
            "name" => SortField::Name,
            _ => {
                return Err(EgError::Parameter(format!(
                    "sort {s:?}: use created_time, updated_time or name, with :asc or :desc"
                )))
            }
        };
        let descending = match dir.trim().to_ascii_lowercase().as_str() {
            "desc" => true,
            "asc" => false,
            _ => return Err(EgError::Parameter(format!("sort {s:?}: the direction is asc or desc"))),
        };
        Ok(Sort { field, descending })
    }
}

pub struct Paging {
    pub offset: usize,
    pub limit: usize,
    pub sort: Sort,
}

/// What a listed resource is sorted by.
pub struct SortKey<'a> {
    pub name: &'a str,
    pub created_ms: Millis,
    pub updated_ms: Millis,
    pub id: &'a str,
}

/// A list answer: `{"total", "size", "items"}`.
#[derive(serde::Serialize)]
pub struct Page<R> {
    pub total: usize,
    pub size: usize,
    pub items: Vec<R>,
}

impl Paging {
    /// Sorts (ties broken by id), pages, and renders the `{total, size, items}` envelope; only the page's
    /// items are rendered, as `Value`s or typed views that borrow from the model.
    pub fn envelope<T, R>(
        &self,
        mut items: Vec<T>,
        key: impl Fn(&T) -> SortKey<'_>,
        render: impl Fn(&T) -> R,
    ) -> Page<R> {
        items.sort_by(|a, b| {
            let (ka, kb) = (key(a), key(b));
            let order = match self.sort.field {
                SortField::Created => ka.created_ms.cmp(&kb.created_ms),
                SortField::Updated => ka.updated_ms.cmp(&kb.updated_ms),
                SortField::Name => ka.name.cmp(kb.name),
            };
            let order = if self.sort.descending { order.reverse() } else { order };
            order.then_with(|| ka.id.cmp(kb.id))
        });
        let total = items.len();
        let page: Vec<R> = items.iter().skip(self.offset).take(self.limit).map(render).collect();
        Page { total, size: page.len(), items: page }
    }
}

/// Case-insensitive substring match (the `fuzzy_*` filters).
pub fn fuzzy(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_seed() {
        assert!(check_name("name", "a.b_c-1").is_ok());
        assert!(check_name("name", "_a").is_err());
        assert!(check_name("name", "").is_err());
        assert!(check_name("name", "a b").is_err());
        assert!(check_source_name("my-src.1").is_ok());
        assert!(check_source_name("My").is_err());
        assert!(check_source_name("hc.obs").is_err());
        assert!(check_part_id("id", "3a0eef2-78a4").is_ok());
        assert!(check_part_id("id", "A1").is_err());
    }

    #[test]
    fn paging_and_sorting() {
        let q = Query(vec![("offset".into(), "-1".into())]);
        assert!(q.paging().is_err());
        let q = Query(vec![("limit".into(), "1001".into())]);
        assert!(q.paging().is_err());
        let q = Query(vec![("limit".into(), "0".into())]);
        assert!(q.paging().is_err());
        assert!(Sort::parse("bogus").is_err());
        assert_eq!(Sort::parse("name:ASC").unwrap(), Sort { field: SortField::Name, descending: false });
        let q = Query(vec![
            ("limit".into(), "2".into()),
            ("offset".into(), "1".into()),
            ("sort".into(), "name:asc".into()),
        ]);
        let p = q.paging().unwrap();
        let v = p.envelope(
            vec!["c", "a", "b", "d"],
            |s| SortKey { name: s, created_ms: Millis(0), updated_ms: Millis(0), id: s },
            |s| Value::from(*s),
        );
        assert_eq!(serde_json::to_value(&v).unwrap(), serde_json::json!({"total": 4, "size": 2, "items": ["b", "c"]}));
        assert_eq!(time(Millis(0)), "1970-01-01 00:00:00");
    }

    #[test]
    fn times_are_written_as_strftime_wrote_them() {
        // Around the epoch, leap days, the last millisecond of a day, far years on both sides of 0..=9999.
        let samples = [
            0,
            -1,
            951_782_400_000,
            1_709_164_799_999,
            1_638_997_200_123,
            253_402_300_799_999,
            253_402_300_800_000,
            -62_167_219_200_000,
            -62_167_219_200_001,
            i64::MAX,
            i64::MIN,
        ];
        for ms in samples {
            assert_eq!(time(Millis(ms)), slow_time(Millis(ms)), "{ms}");
            assert_eq!(
                serde_json::to_string(&Time(Millis(ms))).unwrap(),
                serde_json::to_string(&slow_time(Millis(ms))).unwrap()
            );
        }
    }
}
