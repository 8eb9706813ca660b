//! CKafka v2 wire format: parameters (query for GET, form body for POST, never mixed), typed access with
//! the documented validation, `name.n` arrays, and the success envelope.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::str::FromStr;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::TencentError;
use crate::tencent::params_de::{from_params, Wording};

/// A request's parameters by their original key, borrowed from the request where decoding changed nothing
/// (most keys and values: an owned copy of every pair was about 5% of a request, issue 16).
pub struct Params<'a> {
    map: BTreeMap<Cow<'a, str>, Cow<'a, str>>,
    /// The first key the request gave more than once (refused: which value is meant, and which one the
    /// client signed, is ambiguous).
    repeated: Option<String>,
}

/// How CKafka words type errors in its messages.
pub const WORDING: Wording = Wording {
    not_integer: |v| format!("{v:?} is not a valid integer"),
    not_boolean: |v| format!("{v:?} is not 0 or 1"),
};

/// A declared operation's typed input: scalar parameters through serde (`#[serde(rename = "<wire name>")]`),
/// array parameters (`name.n`) added by `lists`.
pub trait Input: DeserializeOwned {
    /// Reads the array parameters the input has (none by default).
    fn lists(&mut self, _p: &Params<'_>) -> Result<(), TencentError> {
        Ok(())
    }
}

impl<'a> Params<'a> {
    /// The parameters by key (decoded pairs in request order, e.g. `form_urlencoded::parse`), with the seed's
    /// rule applied once for everything that reads them (the signature and the actions alike): a `_` in a
    /// key becomes a `.` (`ipWhiteList_0` is `ipWhiteList.0`). The first value of a repeated key is kept and
    /// the key remembered (see [`Params::check_no_repeats`]).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Self {
        let mut map = BTreeMap::new();
        let mut repeated = None;
        for (k, v) in pairs {
            let k = if k.contains('_') { Cow::Owned(k.replace('_', ".")) } else { k };
            match map.entry(k) {
                std::collections::btree_map::Entry::Occupied(e) => {
                    repeated.get_or_insert_with(|| e.key().to_string());
                }
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(v);
                }
            }
        }
        Params { map, repeated }
    }

    /// The typed input of an operation.
    pub fn input<I: Input>(&self) -> Result<I, TencentError> {
        let mut input: I = from_params(self.map.iter().map(|(k, v)| (k.as_ref(), v.as_ref())), WORDING)?;
        input.lists(self)?;
        Ok(input)
    }

    /// 4000 when a parameter was given more than once.
    pub fn check_no_repeats(&self) -> Result<(), TencentError> {
        match &self.repeated {
            Some(name) => Err(TencentError::InvalidParameter(name.clone(), "given more than once".into())),
            None => Ok(()),
        }
    }

    /// Every parameter, by key (for the signature).
    pub fn all(&self) -> &BTreeMap<Cow<'a, str>, Cow<'a, str>> {
        &self.map
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(|v| v.as_ref())
    }

    /// A required parameter: absent or empty is 4000.
    pub fn required(&self, name: &'static str) -> Result<&str, TencentError> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(TencentError::MissingParameter(name.into())),
        }
    }

    /// An optional integer; present but not an integer is 4000.
    pub fn opt_int<T: FromStr>(&self, name: &'static str) -> Result<Option<T>, TencentError> {
        match self.get(name) {
            None | Some("") => Ok(None),
            Some(v) => v
                .trim()
                .parse::<T>()
                .map(Some)
                .map_err(|_| TencentError::InvalidParameter(name.into(), format!("{v:?} is not a valid integer"))),
        }
    }

    pub fn required_int<T: FromStr>(&self, name: &'static str) -> Result<T, TencentError> {
        self.opt_int(name)?.ok_or_else(|| TencentError::MissingParameter(name.into()))
    }

    /// The values of an array parameter `name.0`, `name.1`, ... in index order. Any of `prefixes` may
    /// spell it (the seed writes `Ip.n` in a table and `ip.n` in its example).
    pub fn list(&self, prefixes: &[&str]) -> Vec<String> {
        let mut items: Vec<(u64, &str, &str)> = Vec::new();
        for prefix in prefixes {
            let range_start = format!("{prefix}.");
            let from = (std::ops::Bound::Included(range_start.as_str()), std::ops::Bound::Unbounded);
            for (k, v) in self.map.range::<str, _>(from) {
                let Some(suffix) = k.strip_prefix(&range_start) else { break };
                // Numeric suffixes sort numerically; others (e.g. the seed's literal `.n`) go last.
                items.push((suffix.parse::<u64>().unwrap_or(u64::MAX), suffix, v));
            }
        }
        items.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        items.into_iter().map(|(_, _, v)| v.to_string()).collect()
    }
}

/// `name` must lie in `min..=max` when given.
pub fn check_range(name: &str, value: Option<i64>, min: i64, max: i64) -> Result<Option<i64>, TencentError> {
    if let Some(v) = value {
        if v < min || v > max {
            return Err(TencentError::InvalidParameter(name.into(), format!("{v} is outside {min}..={max}")));
        }
    }
    Ok(value)
}

/// A 0/1 switch.
pub fn check_flag(name: &str, value: Option<i64>) -> Result<Option<bool>, TencentError> {
    Ok(check_range(name, value, 0, 1)?.map(|v| v == 1))
}

/// The paging parameters of the list actions (`offset`, `limit`).
#[derive(serde::Deserialize, Debug, Default)]
pub struct Paging {
    pub offset: Option<i64>,
    pub limit: Option<i64>,
}

impl Paging {
    /// Offset (default 0) and limit (default `default`, at most `max`).
    pub fn get(&self, default: usize, max: usize) -> Result<(usize, usize), TencentError> {
        let offset = check_range("offset", self.offset, 0, i64::from(u32::MAX))?.unwrap_or(0) as usize;
        let limit = check_range("limit", self.limit, 1, max as i64)?.map_or(default, |v| v as usize);
        Ok((offset, limit))
    }
}

/// Topic names and notes: at most 64 characters, a letter first, then letters, digits and `-`.
pub fn check_name(param: &'static str, value: &str) -> Result<(), TencentError> {
    let mut chars = value.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !first_ok || !rest_ok || value.chars().count() > 64 {
        return Err(TencentError::InvalidParameter(
            param.into(),
            "at most 64 characters: a letter first, then letters, digits and '-'".into(),
        ));
    }
    Ok(())
}

/// Whitelist entries must be IP addresses.
pub fn check_ips(param: &'static str, ips: &[String]) -> Result<(), TencentError> {
    for ip in ips {
        if IpAddr::from_str(ip.trim()).is_err() {
            return Err(TencentError::InvalidParameter(param.into(), format!("{ip:?} is not an IP address")));
        }
    }
    Ok(())
}

/// Most whitelist entries a topic may hold (the seed says the list is quota-limited).
pub const MAX_WHITELIST_IPS: usize = 256;

#[derive(Serialize)]
struct Envelope<'a, T: ?Sized> {
    code: i32,
    message: &'a str,
    #[serde(rename = "codeDesc")]
    code_desc: &'static str,
    #[serde(flatten)]
    fields: &'a T,
}

/// An action answer without fields of its own.
#[derive(Serialize)]
pub struct NoFields {}

/// The success envelope `{"code":0,"message":...,"codeDesc":"Success", ...fields}`, serialised straight from
/// the handler's fields (a struct or a JSON object): no intermediate JSON tree on the hot path.
pub fn success<T: Serialize + ?Sized>(message: &str, fields: &T) -> Vec<u8> {
    serde_json::to_vec(&Envelope { code: 0, message, code_desc: "Success", fields }).unwrap_or_default()
}

/// Every answer, success or error, is HTTP 200 JSON.
pub fn json_response(body: Vec<u8>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<'a>(pairs: &[(&'a str, &'a str)]) -> Params<'a> {
        Params::from_pairs(pairs.iter().map(|(k, v)| (Cow::Borrowed(*k), Cow::Borrowed(*v))))
    }

    impl Input for Paging {}

    impl Params<'_> {
        fn input_raw<I: Input>(&self) -> I {
            self.input().unwrap()
        }
    }

    #[test]
    fn underscores_in_keys_become_dots_once() {
        let p = params(&[("status_0", "2"), ("ipWhiteList_1", "b"), ("ipWhiteList.0", "a")]);
        assert_eq!(p.get("status.0"), Some("2"));
        assert_eq!(p.list(&["ipWhiteList"]), vec!["a", "b"]);
        assert!(params(&[("ip_0", "a"), ("ip.0", "b")]).check_no_repeats().is_err());
    }

    #[test]
    fn arrays_come_in_index_order() {
        let p = params(&[("ip.10", "c"), ("ip.2", "b"), ("Ip.0", "a"), ("ipx", "no"), ("ip.n", "d")]);
        assert_eq!(p.list(&["ip", "Ip"]), vec!["a", "b", "c", "d"]);
    }

    #[test]
    fn a_repeated_parameter_is_refused_by_name() {
        assert!(params(&[("a", "1"), ("b", "2")]).check_no_repeats().is_ok());
        let p = params(&[("a", "1"), ("Nonce", "2"), ("Nonce", "3")]);
        assert_eq!(
            p.check_no_repeats().unwrap_err(),
            TencentError::InvalidParameter("Nonce".into(), "given more than once".into())
        );
        assert_eq!(p.get("Nonce"), Some("2"));
    }

    #[test]
    fn names_follow_the_documented_rule() {
        assert!(check_name("topicName", "a-1").is_ok());
        assert!(check_name("topicName", &format!("a{}", "b".repeat(63))).is_ok());
        assert!(check_name("topicName", &format!("a{}", "b".repeat(64))).is_err());
        assert!(check_name("topicName", "1abc").is_err());
        assert!(check_name("topicName", "a_b").is_err());
        assert!(check_name("topicName", "").is_err());
    }

    #[test]
    fn typed_access_reports_the_parameter() {
        let p = params(&[("partitionNum", "x"), ("limit", "21")]);
        assert_eq!(
            p.required_int::<u32>("partitionNum").unwrap_err(),
            TencentError::InvalidParameter("partitionNum".into(), "\"x\" is not a valid integer".into())
        );
        let paging: Paging = p.input_raw();
        assert!(paging.get(10, 20).is_err());
        assert_eq!(p.required("topicName").unwrap_err(), TencentError::MissingParameter("topicName".into()));
    }
}
