//! RocketMQ remoting frames (RocketMQ 4.x `RemotingCommand`, JSON serialisation), as a `tokio-util` codec.
//!
//! A frame is `total length` (4 bytes, big endian, counting everything after itself), `header length` (4
//! bytes: the high byte is the serialise type, 0 = JSON; the low 3 bytes the length), the header, the body.
//! The JSON header is `{code, language, version, opaque, flag, remark, extFields}`; `extFields` values are
//! strings in Java clients and sometimes numbers in the C++ client, so they are read as text either way.
//! Flag bit 0 marks a response, bit 1 a one-way request.

use std::collections::BTreeMap;
use std::io;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde_json::{Map, Value};
use tokio_util::codec::{Decoder, Encoder};

/// Largest frame accepted (a batch of 4 MiB messages plus headers); a bigger length closes the connection.
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;
/// Flag bit of a response.
pub const FLAG_RESPONSE: i32 = 1;
/// Flag bit of a one-way request (no response expected).
pub const FLAG_ONEWAY: i32 = 2;

/// One remoting command, request or response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Command {
    pub code: i32,
    pub language: String,
    pub version: i32,
    pub opaque: i32,
    pub flag: i32,
    pub remark: Option<String>,
    /// Header fields, as text.
    pub ext: BTreeMap<String, String>,
    pub body: Bytes,
}

impl Command {
    /// A request the server sends to a client (e.g. CHECK_TRANSACTION_STATE).
    pub fn request(code: i32, opaque: i32) -> Command {
        Command { code, language: "JAVA".into(), version: 0, opaque, ..Command::default() }
    }

    /// The response to `req` with a code and remark.
    pub fn response_to(req: &Command, code: i32, remark: Option<String>) -> Command {
        Command {
            code,
            language: "JAVA".into(),
            version: req.version,
            opaque: req.opaque,
            flag: FLAG_RESPONSE,
            remark,
            ..Command::default()
        }
    }

    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// A header field.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.ext.get(name).map(String::as_str)
    }

    /// Sets a header field.
    pub fn with(mut self, name: &str, value: impl ToString) -> Command {
        self.ext.insert(name.to_string(), value.to_string());
        self
    }

    /// Encodes the JSON header.
    fn header_json(&self) -> Vec<u8> {
        let mut root = Map::new();
        root.insert("code".into(), self.code.into());
        root.insert("language".into(), self.language.clone().into());
        root.insert("version".into(), self.version.into());
        root.insert("opaque".into(), self.opaque.into());
        root.insert("flag".into(), self.flag.into());
        if let Some(r) = &self.remark {
            root.insert("remark".into(), r.clone().into());
        }
        let ext: Map<String, Value> = self.ext.iter().map(|(k, v)| (k.clone(), Value::from(v.clone()))).collect();
        root.insert("extFields".into(), Value::Object(ext));
        root.insert("serializeTypeCurrentRPC".into(), "JSON".into());
        serde_json::to_vec(&Value::Object(root)).unwrap_or_default()
    }

    /// Parses a JSON header and a body.
    fn from_parts(header: &[u8], body: Bytes) -> io::Result<Command> {
        let bad = |m: &str| io::Error::new(io::ErrorKind::InvalidData, m.to_string());
        let v: Value = serde_json::from_slice(header).map_err(|_| bad("the header is not JSON"))?;
        let int = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0) as i32;
        let code = v.get("code").and_then(Value::as_i64).ok_or_else(|| bad("the header has no code"))? as i32;
        let mut ext = BTreeMap::new();
        if let Some(fields) = v.get("extFields").and_then(Value::as_object) {
            for (k, val) in fields {
                let text = match val {
                    Value::String(s) => s.clone(),
                    Value::Null => continue,
                    Value::Bool(b) => b.to_string(),
                    other => other.to_string(),
                };
                ext.insert(k.clone(), text);
            }
        }
        Ok(Command {
            code,
            language: v.get("language").and_then(Value::as_str).unwrap_or("").to_string(),
            version: int("version"),
            opaque: int("opaque"),
            flag: int("flag"),
            remark: v.get("remark").and_then(Value::as_str).map(str::to_string),
            ext,
            body,
        })
    }
}

/// The frame codec (see the module docs).
#[derive(Debug, Default, Clone, Copy)]
pub struct RemotingCodec;

impl Decoder for RemotingCodec {
    type Item = Command;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> io::Result<Option<Command>> {
        if src.len() < 4 {
            return Ok(None);
        }
        let total = u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
        if !(4..=MAX_FRAME_BYTES).contains(&total) {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("frame length {total} out of range")));
        }
        if src.len() < 4 + total {
            src.reserve(4 + total - src.len());
            return Ok(None);
        }
        let mut frame = src.split_to(4 + total).freeze();
        frame.advance(4);
        let raw = frame.get_u32();
        let (serialize_type, header_len) = (raw >> 24, (raw & 0x00FF_FFFF) as usize);
        if header_len > frame.len() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "header length beyond the frame"));
        }
        if serialize_type != 0 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "only the JSON serialisation is served"));
        }
        let header = frame.split_to(header_len);
        Command::from_parts(&header, frame).map(Some)
    }
}

impl Encoder<Command> for RemotingCodec {
    type Error = io::Error;

    fn encode(&mut self, cmd: Command, dst: &mut BytesMut) -> io::Result<()> {
        let header = cmd.header_json();
        let total = 4 + header.len() + cmd.body.len();
        dst.reserve(4 + total);
        dst.put_u32(total as u32);
        dst.put_u32(header.len() as u32);
        dst.put_slice(&header);
        dst.put_slice(&cmd.body);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_numeric_fields() {
        let mut codec = RemotingCodec;
        let mut buf = BytesMut::new();
        let cmd = Command { body: Bytes::from_static(b"xyz"), ..Command::request(105, 7) }.with("topic", "T");
        codec.encode(cmd.clone(), &mut buf).unwrap();
        let partial = buf.split_to(5);
        let mut head = BytesMut::from(&partial[..]);
        assert_eq!(codec.decode(&mut head).unwrap(), None);
        head.extend_from_slice(&buf);
        assert_eq!(codec.decode(&mut head).unwrap().unwrap(), cmd);

        let header = br#"{"code":11,"flag":0,"opaque":3,"extFields":{"queueId":2,"x":null,"b":true}}"#;
        let mut frame = BytesMut::new();
        frame.put_u32((4 + header.len()) as u32);
        frame.put_u32(header.len() as u32);
        frame.put_slice(header);
        let got = codec.decode(&mut frame).unwrap().unwrap();
        assert_eq!((got.field("queueId"), got.field("b"), got.field("x")), (Some("2"), Some("true"), None));
    }

    #[test]
    fn refuses_bad_frames() {
        let mut codec = RemotingCodec;
        let mut huge = BytesMut::from(&[0x7f, 0, 0, 0][..]);
        assert!(codec.decode(&mut huge).is_err());
        let mut bad_len = BytesMut::from(&[0, 0, 0, 6, 0, 0, 0, 9, b'{', b'}'][..]);
        assert!(codec.decode(&mut bad_len).is_err());
        let mut not_json = BytesMut::from(&[0, 0, 0, 6, 0, 0, 0, 2, b'x', b'}'][..]);
        assert!(codec.decode(&mut not_json).is_err());
    }
}
