//! Typed route inputs: each route declares a struct and deserialises it with serde straight from the
//! request's parameters. Parameter names match in any case (the seed spells one parameter `groupid`,
//! `groupId` and `GroupId`); an empty value counts as absent; integers and booleans are parsed from text.
//! Fields are read in declaration order and errors name the parameter exactly as the seed does:
//! `missing required parameter <name>`, `parameter <name>: "<v>" is not an integer`,
//! `parameter <name>: "<v>" is not true or false`.
//!
//! Integer fields are `i64` (or `Option<i64>`): ranges and allowed values are checked by the route, which
//! knows the documented limits.

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, Visitor};

use super::error::ApiError;
use super::wire::Params;

/// Deserialises a route's typed input from the parameters.
pub fn parse<T: DeserializeOwned>(params: &Params) -> Result<T, ApiError> {
    T::deserialize(ParamsDe(params)).map_err(|e| ApiError::field(e.0))
}

/// A validation message, already worded for the client.
#[derive(Debug)]
pub struct InputError(String);

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

impl de::Error for InputError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        InputError(msg.to_string())
    }

    fn missing_field(field: &'static str) -> Self {
        InputError(format!("missing required parameter {field}"))
    }
}

struct ParamsDe<'a>(&'a Params);

impl<'de> de::Deserializer<'de> for ParamsDe<'_> {
    type Error = InputError;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, InputError> {
        visitor.visit_map(Fields { params: self.0, fields: fields.iter(), current: None })
    }

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, InputError> {
        Err(de::Error::custom("route inputs are structs"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// Yields every declared field in order, present or not, so that a missing required field is reported in
/// its turn rather than after the others.
struct Fields<'a> {
    params: &'a Params,
    fields: std::slice::Iter<'static, &'static str>,
    current: Option<&'static str>,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = InputError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, InputError> {
        let Some(name) = self.fields.next() else { return Ok(None) };
        self.current = Some(name);
        seed.deserialize((*name).into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, InputError> {
        let name = self.current.take().unwrap_or_default();
        seed.deserialize(Value { name, value: self.params.get(name) })
    }
}

/// One parameter's text (None: absent or empty).
struct Value<'a> {
    name: &'static str,
    value: Option<&'a str>,
}

impl Value<'_> {
    fn present(&self) -> Result<&str, InputError> {
        self.value.ok_or_else(|| de::Error::missing_field(self.name))
    }

    fn integer(&self) -> Result<i64, InputError> {
        let v = self.present()?;
        v.trim().parse::<i64>().map_err(|_| InputError(format!("parameter {}: {v:?} is not an integer", self.name)))
    }
}

impl<'de> de::Deserializer<'de> for Value<'_> {
    type Error = InputError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, InputError> {
        visitor.visit_str(self.present()?)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, InputError> {
        match self.value {
            None => visitor.visit_none(),
            Some(_) => visitor.visit_some(self),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, InputError> {
        let v = self.present()?;
        if v.eq_ignore_ascii_case("true") {
            visitor.visit_bool(true)
        } else if v.eq_ignore_ascii_case("false") {
            visitor.visit_bool(false)
        } else {
            Err(InputError(format!("parameter {}: {v:?} is not true or false", self.name)))
        }
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, InputError> {
        visitor.visit_i64(self.integer()?)
    }

    serde::forward_to_deserialize_any! {
        i8 i16 i32 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf unit
        unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Sample {
        group_id: String,
        order_type: i64,
        detail: Option<bool>,
        instance_id: Option<String>,
    }

    fn params(p: &[(&str, &str)]) -> Params {
        Params::from_pairs(p.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn fields_match_in_any_case_and_empty_is_absent() {
        let got: Sample = parse(&params(&[("groupid", "GID_a"), ("ORDERTYPE", " 2 "), ("instanceId", "")])).unwrap();
        assert_eq!(got, Sample { group_id: "GID_a".into(), order_type: 2, detail: None, instance_id: None });
    }

    #[test]
    fn errors_name_the_parameter_in_declaration_order() {
        let err = |p: &[(&str, &str)]| parse::<Sample>(&params(p)).unwrap_err();
        assert_eq!(err(&[("orderType", "x")]).detail, "missing required parameter groupId");
        assert_eq!(err(&[("groupId", "G"), ("orderType", "x")]).detail, "parameter orderType: \"x\" is not an integer");
        assert_eq!(err(&[("groupId", "G")]).detail, "missing required parameter orderType");
        let e = err(&[("groupId", "G"), ("orderType", "1"), ("detail", "yes")]);
        assert_eq!(e.detail, "parameter detail: \"yes\" is not true or false");
        assert_eq!(e.code, "BIZ_FIELD_CHECK_INVALID");
    }
}
