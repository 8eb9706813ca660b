//! RocketMQ's binary message formats: the stored-message layout (`MessageExt`, what PULL_MESSAGE,
//! VIEW_MESSAGE_BY_ID, QUERY_MESSAGE and CHECK_TRANSACTION_STATE carry), the batch layout of
//! SEND_BATCH_MESSAGE bodies, and the property string (`name\u{1}value\u{2}` per property).
//!
//! Stored layout (big endian; RocketMQ 4.x `MessageDecoder`, IPv4 hosts): storeSize i32, magic i32, bodyCRC
//! i32, queueId i32, flag i32, queueOffset i64, physicalOffset i64, sysFlag i32, bornTimestamp i64, bornHost
//! (4-byte IPv4 + i32 port), storeTimestamp i64, storeHost (IPv4 + port), reconsumeTimes i32,
//! preparedTransactionOffset i64, body (i32 length + bytes), topic (1-byte length + bytes), properties (i16
//! length + bytes).

use std::collections::BTreeMap;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddrV4};

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::engine::rocketmq::{properties, Message};

/// Magic code of a stored message (RocketMQ 4.x `MESSAGE_MAGIC_CODE`).
pub const MESSAGE_MAGIC: i32 = -626_843_481;
/// sysFlag bit: the body is zlib-compressed.
pub const FLAG_COMPRESSED: i32 = 1;
/// sysFlag bits of the transaction type: prepared (half) message.
pub const TRANSACTION_PREPARED: i32 = 1 << 2;
/// Separators of the property string.
const NAME_VALUE: char = '\u{1}';
const PROPERTY: char = '\u{2}';
/// Largest inflated body accepted (the engine refuses bodies over 4 MiB with its own error).
const MAX_INFLATED: u64 = 8 * 1024 * 1024;

/// Parses a property string.
pub fn parse_properties(text: &str) -> BTreeMap<String, String> {
    text.split(PROPERTY)
        .filter_map(|p| p.split_once(NAME_VALUE))
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Serialises properties.
pub fn property_string(props: &[(String, String)]) -> String {
    let mut out = String::new();
    for (k, v) in props {
        out.push_str(k);
        out.push(NAME_VALUE);
        out.push_str(v);
        out.push(PROPERTY);
    }
    out
}

/// Inflates a zlib body (a compressed message); None when it is not valid zlib or too large.
pub fn inflate(body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(body).take(MAX_INFLATED).read_to_end(&mut out).ok()?;
    Some(out)
}

fn socket(addr: &str) -> SocketAddrV4 {
    addr.parse().unwrap_or_else(|_| SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
}

/// How a stored message appears on the wire to one client.
pub struct View<'a> {
    pub message: &'a Message,
    /// The topic as the client names it (namespace prefix, or the group's retry topic).
    pub topic: &'a str,
    /// Properties added for this delivery (e.g. `RETRY_TOPIC`).
    pub extra: Vec<(String, String)>,
    pub sys_flag: i32,
    /// Overrides the queue offset (a retry-topic delivery reports its retry-queue offset).
    pub queue_offset: Option<i64>,
    /// Overrides the store host. By default it is the model's (`127.0.0.1:10911`), so the offset message id
    /// a client computes from store host and commit-log offset is the id the Open API knows for messages
    /// sent without a `UNIQ_KEY`. Clients send messages back by broker name, not by store host.
    pub store_host: Option<SocketAddrV4>,
}

/// Encodes one message in the stored layout.
pub fn encode_message(view: &View<'_>, out: &mut BytesMut) {
    let m = view.message;
    let mut props = properties(m);
    for (k, v) in &view.extra {
        props.retain(|(pk, _)| pk != k);
        props.push((k.clone(), v.clone()));
    }
    let props = property_string(&props);
    let topic = view.topic.as_bytes();
    let topic = &topic[..topic.len().min(255)];
    let props_len = props.len().min(i16::MAX as usize);
    let size =
        4 + 4 + 4 + 4 + 4 + 8 + 8 + 4 + 8 + 8 + 8 + 8 + 4 + 8 + 4 + m.body.len() + 1 + topic.len() + 2 + props_len;
    out.reserve(size);
    out.put_i32(size as i32);
    out.put_i32(MESSAGE_MAGIC);
    out.put_i32((crc32fast::hash(&m.body) & 0x7FFF_FFFF) as i32);
    out.put_i32(m.queue_id as i32);
    out.put_i32(0);
    out.put_i64(view.queue_offset.unwrap_or(m.queue_offset).max(0));
    out.put_i64(m.commit_offset);
    out.put_i32(view.sys_flag);
    out.put_i64(m.born_ms.as_ms());
    let born = socket(&m.born_host);
    out.put_slice(&born.ip().octets());
    out.put_i32(i32::from(born.port()));
    out.put_i64(m.store_ms.as_ms());
    let store = view.store_host.unwrap_or_else(|| socket(&m.store_host));
    out.put_slice(&store.ip().octets());
    out.put_i32(i32::from(store.port()));
    out.put_i32(m.reconsume_times as i32);
    out.put_i64(0);
    out.put_i32(m.body.len() as i32);
    out.put_slice(&m.body);
    out.put_u8(topic.len() as u8);
    out.put_slice(topic);
    out.put_i16(props_len as i16);
    out.put_slice(&props.as_bytes()[..props_len]);
}

/// One message of a SEND_BATCH_MESSAGE body.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchEntry {
    pub flag: i32,
    pub body: Vec<u8>,
    pub properties: BTreeMap<String, String>,
}

/// Decodes a batch body: per message totalSize i32, magic i32, bodyCRC i32, flag i32, body (i32 length +
/// bytes), properties (i16 length + bytes). None when the body is malformed.
pub fn decode_batch(mut body: Bytes) -> Option<Vec<BatchEntry>> {
    let mut out = Vec::new();
    while body.has_remaining() {
        if body.remaining() < 20 {
            return None;
        }
        let total = usize::try_from(body.get_i32()).ok()?;
        if total < 22 || total - 4 > body.remaining() {
            return None;
        }
        let mut one = body.split_to(total - 4);
        let _magic = one.get_i32();
        let _crc = one.get_i32();
        let flag = one.get_i32();
        let len = usize::try_from(one.get_i32()).ok()?;
        if len + 2 > one.remaining() {
            return None;
        }
        let msg_body = one.split_to(len).to_vec();
        let props_len = usize::try_from(one.get_i16()).ok()?;
        if props_len > one.remaining() {
            return None;
        }
        let props = String::from_utf8_lossy(&one.split_to(props_len)).into_owned();
        out.push(BatchEntry { flag, body: msg_body, properties: parse_properties(&props) });
    }
    Some(out)
}

/// Encodes a batch body (the client side; tests and tools).
pub fn encode_batch(entries: &[BatchEntry]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for e in entries {
        let props: Vec<(String, String)> = e.properties.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let props = property_string(&props);
        let total = 4 + 4 + 4 + 4 + 4 + e.body.len() + 2 + props.len();
        out.put_i32(total as i32);
        out.put_i32(0);
        out.put_i32((crc32fast::hash(&e.body) & 0x7FFF_FFFF) as i32);
        out.put_i32(e.flag);
        out.put_i32(e.body.len() as i32);
        out.put_slice(&e.body);
        out.put_i16(props.len() as i16);
        out.put_slice(props.as_bytes());
    }
    out.to_vec()
}

/// A decoded stored message (the client side of [`encode_message`]; tests and tools).
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub queue_id: i32,
    pub queue_offset: i64,
    pub commit_offset: i64,
    pub sys_flag: i32,
    pub born_ms: i64,
    pub store_ms: i64,
    pub store_host: SocketAddrV4,
    pub reconsume_times: i32,
    pub body: Vec<u8>,
    pub topic: String,
    pub properties: BTreeMap<String, String>,
}

/// Decodes every message of a pull body; None when malformed.
pub fn decode_messages(mut body: Bytes) -> Option<Vec<Decoded>> {
    let mut out = Vec::new();
    while body.has_remaining() {
        if body.remaining() < 4 {
            return None;
        }
        let size = usize::try_from(body.get_i32()).ok()?;
        if size < 4 || size - 4 > body.remaining() {
            return None;
        }
        let mut m = body.split_to(size - 4);
        if m.remaining() < 84 {
            return None;
        }
        m.advance(4 + 4);
        let queue_id = m.get_i32();
        m.advance(4);
        let queue_offset = m.get_i64();
        let commit_offset = m.get_i64();
        let sys_flag = m.get_i32();
        let born_ms = m.get_i64();
        m.advance(8);
        let store_ms = m.get_i64();
        let ip = Ipv4Addr::new(m.get_u8(), m.get_u8(), m.get_u8(), m.get_u8());
        let port = u16::try_from(m.get_i32()).ok()?;
        let reconsume_times = m.get_i32();
        m.advance(8);
        let len = usize::try_from(m.get_i32()).ok()?;
        if len + 1 > m.remaining() {
            return None;
        }
        let body_bytes = m.split_to(len).to_vec();
        let tlen = m.get_u8() as usize;
        if tlen + 2 > m.remaining() {
            return None;
        }
        let topic = String::from_utf8_lossy(&m.split_to(tlen)).into_owned();
        let plen = usize::try_from(m.get_i16()).ok()?;
        if plen > m.remaining() {
            return None;
        }
        let props = String::from_utf8_lossy(&m.split_to(plen)).into_owned();
        out.push(Decoded {
            queue_id,
            queue_offset,
            commit_offset,
            sys_flag,
            born_ms,
            store_ms,
            store_host: SocketAddrV4::new(ip, port),
            reconsume_times,
            body: body_bytes,
            topic,
            properties: parse_properties(&props),
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rocketmq::Millis;

    #[test]
    fn stored_messages_round_trip() {
        let m = Message {
            msg_id: "ABC".into(),
            topic: "T".into(),
            queue_id: 3,
            queue_offset: 7,
            commit_offset: 99,
            tag: Some("TagA".into()),
            keys: vec!["k1".into(), "k2".into()],
            body: b"hello".to_vec(),
            user_properties: [("color".to_string(), "red".to_string())].into_iter().collect(),
            born_ms: Millis::from_ms(5),
            born_host: "10.1.2.3:4000".into(),
            store_ms: Millis::from_ms(6),
            store_host: "127.0.0.1:10911".into(),
            reconsume_times: 2,
            start_deliver_ms: None,
            sharding_key: None,
            producer_group: None,
        };
        let mut out = BytesMut::new();
        let view = View {
            message: &m,
            topic: "NS%T",
            extra: vec![("RETRY_TOPIC".into(), "x".into())],
            sys_flag: 0,
            queue_offset: None,
            store_host: None,
        };
        encode_message(&view, &mut out);
        encode_message(&view, &mut out);
        let got = decode_messages(out.freeze()).unwrap();
        assert_eq!(got.len(), 2);
        let d = &got[0];
        assert_eq!((d.queue_id, d.queue_offset, d.commit_offset, d.reconsume_times), (3, 7, 99, 2));
        assert_eq!((d.body.as_slice(), d.topic.as_str()), (&b"hello"[..], "NS%T"));
        assert_eq!(d.properties.get("TAGS").map(String::as_str), Some("TagA"));
        assert_eq!(d.properties.get("KEYS").map(String::as_str), Some("k1 k2"));
        assert_eq!(d.properties.get("UNIQ_KEY").map(String::as_str), Some("ABC"));
        assert_eq!(d.properties.get("color").map(String::as_str), Some("red"));
        assert_eq!(d.properties.get("RETRY_TOPIC").map(String::as_str), Some("x"));
        assert_eq!(d.store_host.to_string(), "127.0.0.1:10911");
    }

    #[test]
    fn batches_round_trip_and_bad_ones_are_refused() {
        let entries = vec![
            BatchEntry {
                flag: 0,
                body: b"a".to_vec(),
                properties: [("TAGS".into(), "x".into())].into_iter().collect(),
            },
            BatchEntry { flag: 0, body: b"bb".to_vec(), properties: BTreeMap::new() },
        ];
        let bytes = encode_batch(&entries);
        assert_eq!(decode_batch(Bytes::from(bytes.clone())).unwrap(), entries);
        assert!(decode_batch(Bytes::from(bytes[..bytes.len() - 1].to_vec())).is_none());
        assert!(decode_batch(Bytes::from_static(&[0, 0, 0, 1])).is_none());
    }
}
