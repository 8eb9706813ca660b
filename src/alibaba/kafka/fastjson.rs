//! Compact JSON for the typed list answers (Alibaba Kafka, ONS, `/json`), byte-identical to
//! `serde_json::to_writer` but cheaper for their strings: serde_json escapes every string (field names
//! included) with a byte-at-a-time table walk, the largest user-space share of a 5 KB list answer's profile.
//! Here a string is first checked as a whole for a byte that needs escaping (a branch-free pass the
//! compiler vectorises) and, as almost always, copied at once; a string that does need escaping, and every
//! number, is written by serde_json itself, so escapes and number formats are serde_json's by construction.
//! Shapes the answers do not use (floats are fine; enums with data, non-string map keys, serde_json's raw
//! values) are refused with `Unsupported`, and `to_vec` then falls back to serde_json for the whole value.

use std::fmt;

use serde::ser::{self, Impossible, Serialize};

/// Serialises `value` into `out` (appended), as `serde_json::to_writer` would.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Unsupported> {
    let start = out.len();
    let result = value.serialize(&mut Writer { out });
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Serialises `value` into `out`: the fast writer, or serde_json when the value has a shape it refuses.
/// `Err` only when serde_json fails too (a map with non-string keys); `out` is then left as it was.
pub fn write_or_serde<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), serde_json::Error> {
    if write(out, value).is_ok() {
        return Ok(());
    }
    let start = out.len();
    serde_json::to_writer(&mut *out, value).inspect_err(|_| out.truncate(start))
}

/// A shape this writer leaves to serde_json.
#[derive(Debug)]
pub struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("shape left to serde_json")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Unsupported
    }
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    /// A scalar exactly as serde_json writes it.
    fn serde<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), Unsupported> {
        serde_json::to_writer(&mut *self.out, v).map_err(|_| Unsupported)
    }

    // Inlined so that a field name, a constant at its call site, is checked at compile time.
    #[inline(always)]
    fn string(&mut self, s: &str) -> Result<(), Unsupported> {
        // serde_json escapes `"`, `\` and the control bytes below 0x20, nothing else. The fold has no
        // early exit, so it runs over whole vectors of bytes.
        let needs_escape = s.bytes().fold(false, |acc, b| acc | (b < 0x20) | (b == b'"') | (b == b'\\'));
        if needs_escape {
            return self.serde(s);
        }
        self.out.reserve(s.len() + 2);
        self.out.push(b'"');
        self.out.extend_from_slice(s.as_bytes());
        self.out.push(b'"');
        Ok(())
    }
}

/// A JSON array or object being written; `first` says whether a separator is due.
struct Compound<'w, 'a> {
    writer: &'w mut Writer<'a>,
    first: bool,
}

impl Compound<'_, '_> {
    #[inline]
    fn separate(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.writer.out.push(b',');
        }
    }
}

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    fn serialize_bool(self, v: bool) -> Result<(), Unsupported> {
        self.out.extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Unsupported> {
        self.serde(&v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Unsupported> {
        self.serde(&v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Unsupported> {
        self.serde(&v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Unsupported> {
        self.serde(&v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Unsupported> {
        self.serde(&v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Unsupported> {
        self.serde(&v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Unsupported> {
        self.serde(&v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Unsupported> {
        self.serde(&v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Unsupported> {
        self.serde(&v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Unsupported> {
        self.serde(&v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Unsupported> {
        self.serde(&v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Unsupported> {
        self.serde(&v)
    }
    fn serialize_char(self, v: char) -> Result<(), Unsupported> {
        self.serde(&v)
    }
    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        self.string(v)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Unsupported> {
        self.serde(v)
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Unsupported> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Unsupported> {
        self.out.push(b'[');
        Ok(Compound { writer: self, first: true })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'w, 'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Compound<'w, 'a>, Unsupported> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Unsupported> {
        self.out.push(b'{');
        Ok(Compound { writer: self, first: true })
    }
    fn serialize_struct(self, name: &'static str, _len: usize) -> Result<Compound<'w, 'a>, Unsupported> {
        // serde_json's raw values are structs of this name that its own serializer writes verbatim.
        if name.starts_with("$serde_json") {
            return Err(Unsupported);
        }
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported)
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        self.separate();
        value.serialize(&mut *self.writer)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.writer.out.push(b']');
        Ok(())
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Unsupported> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<(), Unsupported> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Unsupported> {
        self.separate();
        key.serialize(KeyWriter { writer: &mut *self.writer })?;
        self.writer.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsupported> {
        value.serialize(&mut *self.writer)
    }
    fn end(self) -> Result<(), Unsupported> {
        self.writer.out.push(b'}');
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    #[inline(always)]
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Unsupported> {
        self.separate();
        self.writer.string(key)?;
        self.writer.out.push(b':');
        value.serialize(&mut *self.writer)
    }
    fn end(self) -> Result<(), Unsupported> {
        ser::SerializeMap::end(self)
    }
}

/// Map keys: strings only (serde_json also quotes numbers and booleans; no answer has such keys, so they
/// go to serde_json).
struct KeyWriter<'w, 'a> {
    writer: &'w mut Writer<'a>,
}

impl ser::Serializer for KeyWriter<'_, '_> {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Impossible<(), Unsupported>;
    type SerializeTuple = Impossible<(), Unsupported>;
    type SerializeTupleStruct = Impossible<(), Unsupported>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Impossible<(), Unsupported>;
    type SerializeStruct = Impossible<(), Unsupported>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    fn serialize_str(self, v: &str) -> Result<(), Unsupported> {
        self.writer.string(v)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Unsupported> {
        self.writer.string(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Unsupported> {
        value.serialize(self)
    }
    fn serialize_bool(self, _v: bool) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_i8(self, _v: i8) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_i16(self, _v: i16) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_i32(self, _v: i32) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_i64(self, _v: i64) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_u8(self, _v: u8) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_u16(self, _v: u16) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_u32(self, _v: u32) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_u64(self, _v: u64) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_f32(self, _v: f32) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_f64(self, _v: f64) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_char(self, _v: char) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_unit(self) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Unsupported> {
        Err(Unsupported)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Self::SerializeStruct, Unsupported> {
        Err(Unsupported)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Unsupported> {
        Err(Unsupported)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;
    use serde_json::json;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct View<'a> {
        name: &'a str,
        count: usize,
        negative: i64,
        ratio: f64,
        flag: bool,
        nothing: Option<()>,
        some: Option<&'a str>,
        tags: Vec<(&'a str, u8)>,
        #[serde(flatten)]
        extra: &'a serde_json::Map<String, serde_json::Value>,
    }

    fn same<T: Serialize + ?Sized>(value: &T) {
        let mut fast = Vec::new();
        write(&mut fast, value).unwrap();
        assert_eq!(String::from_utf8(fast).unwrap(), serde_json::to_string(value).unwrap());
    }

    #[test]
    fn output_equals_serde_json() {
        let serde_json::Value::Object(extra) = json!({"Z": [1, "a\"b"], "A": {"k": null}}) else { unreachable!() };
        for name in ["plain", "", "中文 持有者", "quote\"back\\slash", "ctl\n\t\u{1}\u{1f}\u{7f}end", "/slash"] {
            same(&View {
                name,
                count: usize::MAX,
                negative: i64::MIN,
                ratio: 0.1,
                flag: true,
                nothing: None,
                some: Some(name),
                tags: vec![(name, 0), ("k", 255)],
                extra: &extra,
            });
        }
        same(&json!({"a": [], "b": {}, "c": [[]], "d": 1.5e300, "e": -0.0}));
        same(&Vec::<u8>::new());
    }

    #[test]
    fn unsupported_shapes_fall_back_to_serde_json() {
        #[derive(Serialize)]
        enum E {
            A(u8),
        }
        let mut out = b"x".to_vec();
        assert!(write(&mut out, &vec![E::A(1)]).is_err());
        assert_eq!(out, b"x", "a refused value leaves the buffer as it was");
        write_or_serde(&mut out, &vec![E::A(1)]).unwrap();
        assert_eq!(out, br#"x[{"A":1}]"#);
        let mut keyed = std::collections::BTreeMap::new();
        keyed.insert(1, true);
        let mut out = Vec::new();
        write_or_serde(&mut out, &keyed).unwrap();
        assert_eq!(out, br#"{"1":true}"#);
        let raw = serde_json::value::to_raw_value(&json!({"r": 1})).unwrap();
        let mut out = Vec::new();
        write_or_serde(&mut out, &raw).unwrap();
        assert_eq!(out, br#"{"r":1}"#);
    }
}
