//! The older request form the v3 SDKs can still send (`ClientProfile(signMethod="HmacSHA1")` or
//! `"HmacSHA256"`): every parameter, common ones included, in a form-urlencoded `POST /` body or a
//! `GET /?...` query — `Action`, `Version`, `Region`, `Timestamp`, `Nonce`, `SecretId`, `SignatureMethod`,
//! `Signature` — signed as Tencent's API 3.0 "签名方法" (signature v1) says: the string to sign is
//! `METHOD + Host + Path + "?" + k=v&...` over every parameter but `Signature`, `_` in keys turned into `.`,
//! sorted by key, raw (not encoded) values; the signature is Base64(HMAC-SHA1 or HMAC-SHA256(SecretKey,
//! that string)). `SignatureMethod` absent means HmacSHA1.
//!
//! Action parameters arrive flattened (`Filters.0.Name=x`, `GroupList.1=g`) with every value a string;
//! [`unflatten`] rebuilds the JSON shape and [`Lenient`] lets string values fill the typed inputs' integer
//! and boolean fields, so one set of action handlers serves both forms.

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, Unexpected, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Value};

/// The common parameters of signature v1 (and the SDK's `RequestClient`/`Language`), which are not action
/// parameters.
pub const COMMON: &[&str] = &[
    "Action",
    "Version",
    "Region",
    "Timestamp",
    "Nonce",
    "SecretId",
    "SignatureMethod",
    "Signature",
    "Token",
    "RequestClient",
    "Language",
];

/// The signature v1 string to sign: `METHOD + host + path + "?" + sorted k=v&...` over `params` but
/// `Signature` (`_` in keys read as `.`, values raw).
pub fn string_to_sign(method: &str, host: &str, path: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, &str)> =
        params.iter().filter(|(k, _)| k != "Signature").map(|(k, v)| (k.replace('_', "."), v.as_str())).collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{method}{host}{path}?{}", query.join("&"))
}

/// Deepest nesting of a flattened key (`a.0.b.1` is 4): the documented parameters nest 3 deep at most, and
/// the bound keeps the recursive rebuild's stack use small whatever a client sends.
pub const MAX_KEY_DEPTH: usize = 8;

/// Rebuilds nested parameters from flattened keys: `a.b=x` is `{"a": {"b": "x"}}`, and an object whose
/// keys are all indices (`a.0`, `a.1`) is an array in index order. Leaves stay strings ([`Lenient`] types
/// them). A key that is both a leaf and a parent keeps the parent. A key nested deeper than
/// [`MAX_KEY_DEPTH`] is refused (the message names it).
pub fn unflatten<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Result<Value, String> {
    let mut root = Map::new();
    for (key, value) in pairs {
        let parts: Vec<&str> = key.split('.').collect();
        if parts.len() > MAX_KEY_DEPTH {
            let shown: String = key.chars().take(64).collect();
            return Err(format!("The parameter `{shown}` nests deeper than {MAX_KEY_DEPTH} levels."));
        }
        insert(&mut root, &parts, value);
    }
    Ok(arrays(Value::Object(root)))
}

fn insert(node: &mut Map<String, Value>, path: &[&str], value: &str) {
    let Some((first, rest)) = path.split_first() else { return };
    if rest.is_empty() {
        node.entry(first.to_string()).or_insert_with(|| Value::String(value.to_string()));
        return;
    }
    let child = node.entry(first.to_string()).or_insert_with(|| Value::Object(Map::new()));
    if !child.is_object() {
        *child = Value::Object(Map::new());
    }
    if let Value::Object(map) = child {
        insert(map, rest, value);
    }
}

/// Turns index-keyed objects into arrays, depth first.
fn arrays(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let indexed = !map.is_empty() && map.keys().all(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()));
            if indexed {
                let mut items: Vec<(u64, Value)> =
                    map.into_iter().map(|(k, v)| (k.parse().unwrap_or(u64::MAX), arrays(v))).collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, arrays(v))).collect())
            }
        }
        other => other,
    }
}

/// A JSON value whose strings also deserialize as integers, floats and booleans (`"10"` fills an `i64`,
/// `"true"`/`"1"` a `bool`): form and query values are all strings.
pub struct Lenient(pub Value);

impl<'de> IntoDeserializer<'de, serde_json::Error> for Lenient {
    type Deserializer = Lenient;
    fn into_deserializer(self) -> Lenient {
        self
    }
}

macro_rules! parse_number {
    ($method:ident, $visit:ident, $ty:ty) => {
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
            match &self.0 {
                Value::String(s) => match s.trim().parse::<$ty>() {
                    Ok(n) => visitor.$visit(n),
                    Err(_) => Err(de::Error::invalid_type(Unexpected::Str(s), &visitor)),
                },
                _ => self.deserialize_any(visitor),
            }
        }
    };
}

impl<'de> de::Deserializer<'de> for Lenient {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        match self.0 {
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.into_iter().map(Lenient));
                let out = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(out)
            }
            Value::Object(map) => {
                let mut entries = MapDeserializer::new(map.into_iter().map(|(k, v)| (k, Lenient(v))));
                let out = visitor.visit_map(&mut entries)?;
                entries.end()?;
                Ok(out)
            }
            other => de::Deserializer::deserialize_any(other, visitor),
        }
    }

    parse_number!(deserialize_i64, visit_i64, i64);
    parse_number!(deserialize_i32, visit_i32, i32);
    parse_number!(deserialize_u64, visit_u64, u64);
    parse_number!(deserialize_u32, visit_u32, u32);
    parse_number!(deserialize_f64, visit_f64, f64);

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        match &self.0 {
            Value::String(s) => match s.trim() {
                "true" | "True" | "1" => visitor.visit_bool(true),
                "false" | "False" | "0" => visitor.visit_bool(false),
                _ => Err(de::Error::invalid_type(Unexpected::Str(s), &visitor)),
            },
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            other => visitor.visit_some(Lenient(other)),
        }
    }

    forward_to_deserialize_any! {
        i8 i16 i128 u8 u16 u128 f32 char str string bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[test]
    fn string_to_sign_sorts_raw_values_and_reads_underscores_as_dots() {
        let params: Vec<(String, String)> = [
            ("Version", "2019-08-19"),
            ("Action", "DescribeTopic"),
            ("Signature", "x"),
            ("Filters_0.Name", "a b&c"),
            ("Nonce", "7"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            string_to_sign("POST", "127.0.0.1:4588", "/", &params),
            "POST127.0.0.1:4588/?Action=DescribeTopic&Filters.0.Name=a b&c&Nonce=7&Version=2019-08-19"
        );
    }

    #[test]
    fn flattened_parameters_are_rebuilt_and_typed() {
        let v = unflatten(
            [("Limit", "10"), ("GroupList.1", "b"), ("GroupList.0", "a"), ("F.0.Values.0", "x"), ("F.0.Name", "n")]
                .into_iter(),
        )
        .unwrap();
        let deep = "a.".repeat(100_000);
        assert!(unflatten([(deep.as_str(), "x")].into_iter()).is_err(), "bounded depth");
        assert_eq!(v, json!({"Limit": "10", "GroupList": ["a", "b"], "F": [{"Name": "n", "Values": ["x"]}]}));

        #[derive(Deserialize, Debug, PartialEq)]
        #[serde(rename_all = "PascalCase")]
        struct In {
            limit: Option<i64>,
            group_list: Option<Vec<String>>,
            partitions: Option<Vec<i64>>,
            enable: Option<bool>,
            name: Option<String>,
        }
        let typed = In::deserialize(Lenient(
            json!({"Limit": "10", "GroupList": ["a"], "Partitions": ["1", "2"], "Enable": "true", "Name": "123"}),
        ))
        .unwrap();
        assert_eq!(
            typed,
            In {
                limit: Some(10),
                group_list: Some(vec!["a".into()]),
                partitions: Some(vec![1, 2]),
                enable: Some(true),
                name: Some("123".into())
            }
        );
        assert!(In::deserialize(Lenient(json!({"Limit": "ten"}))).is_err());
    }
}
