//! Typed request inputs from flat string parameters (`name=value`, as RPC-style APIs send them), with serde.
//!
//! A declared operation names its input struct (`#[derive(Deserialize)]`, fields renamed to the wire names);
//! [`from_params`] fills it and reports failures by the parameter's wire name, so a vendor maps them onto its
//! documented messages: a missing or empty required parameter is [`ParamError::Missing`], a value of the
//! wrong type [`ParamError::Invalid`]. `Option` fields treat an empty value as absent (as the vendors do);
//! [`present`] keeps an empty value for the few parameters where "given empty" means "clear it".
//! Used by the Tencent CKafka and Alibaba Kafka facades (core may move it next to `crate::http`).

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};

/// Why parameters did not fit an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    /// A required parameter is absent or empty (its wire name).
    Missing(String),
    /// A parameter's value has the wrong type: (wire name, why, in the vendor's wording).
    Invalid(String, String),
    /// Anything else serde reports (not tied to one parameter).
    Other(String),
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamError::Missing(p) => write!(f, "missing parameter {p}"),
            ParamError::Invalid(p, why) => write!(f, "invalid parameter {p}: {why}"),
            ParamError::Other(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for ParamError {}

impl de::Error for ParamError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ParamError::Other(msg.to_string())
    }
    fn missing_field(field: &'static str) -> Self {
        ParamError::Missing(field.to_string())
    }
}

/// How a vendor words type errors.
#[derive(Clone, Copy, Debug)]
pub struct Wording {
    /// For a value that is not an integer, given the value (Debug-quoted by the caller's format).
    pub not_integer: fn(&str) -> String,
    /// For a value that is not a boolean.
    pub not_boolean: fn(&str) -> String,
}

/// Fills `T` from `(wire name, value)` pairs. Unknown parameters are ignored (common parameters, arrays).
pub fn from_params<'a, T: DeserializeOwned>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    wording: Wording,
) -> Result<T, ParamError> {
    T::deserialize(Params { pairs: pairs.peekable(), current: None, wording })
}

/// Deserialises an `Option<String>` keeping an empty value as `Some("")` (absent stays None via
/// `#[serde(default)]`).
pub fn present<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct Any;
    impl Visitor<'_> for Any {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
    }
    d.deserialize_any(Any)
}

struct Params<'a, I: Iterator<Item = (&'a str, &'a str)>> {
    pairs: std::iter::Peekable<I>,
    current: Option<(&'a str, &'a str)>,
    wording: Wording,
}

impl<'de, 'a, I: Iterator<Item = (&'a str, &'a str)>> de::Deserializer<'de> for Params<'a, I> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_map(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de, 'a, I: Iterator<Item = (&'a str, &'a str)>> MapAccess<'de> for Params<'a, I> {
    type Error = ParamError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, ParamError> {
        match self.pairs.next() {
            None => Ok(None),
            Some(pair) => {
                self.current = Some(pair);
                let key: de::value::StrDeserializer<'_, ParamError> = pair.0.into_deserializer();
                seed.deserialize(key).map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, ParamError> {
        let (name, value) = self.current.take().ok_or_else(|| ParamError::Other("value without a key".into()))?;
        seed.deserialize(Value { value, wording: self.wording }).map_err(|e| match e {
            ParamError::Other(why) if why == EMPTY => ParamError::Missing(name.to_string()),
            ParamError::Other(why) => ParamError::Invalid(name.to_string(), why),
            other => other,
        })
    }
}

/// The marker a required value that is empty raises (turned into `Missing` with the parameter's name).
const EMPTY: &str = "\u{0}empty";

/// One parameter's value.
struct Value<'a> {
    value: &'a str,
    wording: Wording,
}

impl Value<'_> {
    fn non_empty(&self) -> Result<&str, ParamError> {
        if self.value.is_empty() {
            Err(ParamError::Other(EMPTY.into()))
        } else {
            Ok(self.value)
        }
    }

    fn int<T: std::str::FromStr>(&self) -> Result<T, ParamError> {
        let v = self.non_empty()?;
        v.trim().parse::<T>().map_err(|_| ParamError::Other((self.wording.not_integer)(v)))
    }
}

macro_rules! ints {
    ($($method:ident $visit:ident $t:ty),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
            visitor.$visit(self.int::<$t>()?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Value<'_> {
    type Error = ParamError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_str(self.value)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_str(self.non_empty()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_str(self.non_empty()?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        if self.value.is_empty() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ParamError> {
        let v = self.non_empty()?;
        if v.eq_ignore_ascii_case("true") {
            visitor.visit_bool(true)
        } else if v.eq_ignore_ascii_case("false") {
            visitor.visit_bool(false)
        } else {
            Err(ParamError::Other((self.wording.not_boolean)(v)))
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, ParamError> {
        visitor.visit_newtype_struct(self)
    }

    ints!(deserialize_i8 visit_i8 i8, deserialize_i16 visit_i16 i16, deserialize_i32 visit_i32 i32,
          deserialize_i64 visit_i64 i64, deserialize_u8 visit_u8 u8, deserialize_u16 visit_u16 u16,
          deserialize_u32 visit_u32 u32, deserialize_u64 visit_u64 u64);

    serde::forward_to_deserialize_any! {
        i128 u128 f32 f64 char bytes byte_buf unit unit_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    const WORDING: Wording = Wording {
        not_integer: |v| format!("{v:?} is not an integer"),
        not_boolean: |v| format!("{v:?} is not a bool"),
    };

    #[derive(Deserialize, Debug, PartialEq)]
    struct Input {
        #[serde(rename = "instanceId")]
        instance_id: String,
        #[serde(rename = "partitionNum")]
        partitions: i64,
        #[serde(rename = "limit")]
        limit: Option<u32>,
        #[serde(rename = "flag")]
        flag: Option<bool>,
        #[serde(rename = "note", default, deserialize_with = "present")]
        note: Option<String>,
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<Input, ParamError> {
        from_params(pairs.iter().copied(), WORDING)
    }

    #[test]
    fn fills_typed_fields_and_names_the_parameter_on_failure() {
        let ok = parse(&[("instanceId", "i"), ("partitionNum", " 3"), ("limit", ""), ("x", "y")]).unwrap();
        assert_eq!(ok, Input { instance_id: "i".into(), partitions: 3, limit: None, flag: None, note: None });
        assert_eq!(parse(&[("partitionNum", "3")]).unwrap_err(), ParamError::Missing("instanceId".into()));
        assert_eq!(
            parse(&[("instanceId", ""), ("partitionNum", "3")]).unwrap_err(),
            ParamError::Missing("instanceId".into())
        );
        assert_eq!(
            parse(&[("instanceId", "i"), ("partitionNum", "x")]).unwrap_err(),
            ParamError::Invalid("partitionNum".into(), "\"x\" is not an integer".into())
        );
        assert_eq!(
            parse(&[("instanceId", "i"), ("partitionNum", "1"), ("flag", "yes")]).unwrap_err(),
            ParamError::Invalid("flag".into(), "\"yes\" is not a bool".into())
        );
        let kept = parse(&[("instanceId", "i"), ("partitionNum", "1"), ("note", ""), ("flag", "TRUE")]).unwrap();
        assert_eq!((kept.note.as_deref(), kept.flag), (Some(""), Some(true)));
    }
}
