//! A raw Kafka protocol client for the data-plane tests: requests encoded with the `kafka-protocol` crate,
//! as a client library would, over one TCP connection.
#![allow(dead_code)]

use std::net::SocketAddr;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use std::collections::BTreeMap;

use crate::alibaba_support::{hmac_sha1_b64, string_to_sign};
use crate::common::{TestServer, KEY_ID, SECRET};
use serde_json::Value;

pub struct Conn {
    pub stream: TcpStream,
    pub correlation: i32,
}

pub fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Conn {
        Conn { stream: TcpStream::connect(addr).await.unwrap(), correlation: 0 }
    }

    pub async fn send_raw(&mut self, key: ApiKey, version: i16, body: &RequestKind) -> i32 {
        self.correlation += 1;
        let mut buf = BytesMut::new();
        buf.put_u32(0);
        RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(s("kafka-broker-test")))
            .encode(&mut buf, key.request_header_version(version))
            .unwrap();
        body.encode(&mut buf, version).unwrap();
        let len = (buf.len() - 4) as u32;
        buf[0..4].copy_from_slice(&len.to_be_bytes());
        self.stream.write_all(&buf).await.unwrap();
        self.correlation
    }

    pub async fn read_frame(&mut self) -> Option<Bytes> {
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).await.ok()?;
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut body).await.ok()?;
        Some(Bytes::from(body))
    }

    /// ApiVersions v3: what the broker advertises.
    pub async fn api_versions(&mut self) -> ApiVersionsResponse {
        match self.call(ApiKey::ApiVersions, 3, RequestKind::ApiVersions(ApiVersionsRequest::default())).await {
            ResponseKind::ApiVersions(v) => v,
            other => panic!("ApiVersions answered {other:?}"),
        }
    }

    pub async fn call(&mut self, key: ApiKey, version: i16, body: RequestKind) -> ResponseKind {
        let correlation = self.send_raw(key, version, &body).await;
        let mut frame = self.read_frame().await.expect("a response");
        let header = ResponseHeader::decode(&mut frame, key.response_header_version(version)).unwrap();
        assert_eq!(header.correlation_id, correlation);
        ResponseKind::decode(key, &mut frame, version).unwrap()
    }

    pub async fn produce(&mut self, topic: &str, partition: i32, acks: i16, batch: Bytes) -> (i16, i64) {
        let req = ProduceRequest::default().with_acks(acks).with_timeout_ms(5000).with_topic_data(vec![
            produce_request::TopicProduceData::default().with_name(TopicName(s(topic))).with_partition_data(vec![
                produce_request::PartitionProduceData::default().with_index(partition).with_records(Some(batch)),
            ]),
        ]);
        let ResponseKind::Produce(r) = self.call(ApiKey::Produce, 9, RequestKind::Produce(req)).await else {
            panic!("not a produce response")
        };
        let p = &r.responses[0].partition_responses[0];
        (p.error_code, p.base_offset)
    }

    pub async fn fetch(
        &mut self,
        topic: &str,
        partition: i32,
        offset: i64,
        max_wait_ms: i32,
    ) -> fetch_response::PartitionData {
        let req = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(max_wait_ms)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_session_epoch(-1)
            .with_topics(vec![fetch_request::FetchTopic::default().with_topic(TopicName(s(topic))).with_partitions(
                vec![fetch_request::FetchPartition::default()
                    .with_partition(partition)
                    .with_fetch_offset(offset)
                    .with_partition_max_bytes(1 << 20)],
            )]);
        let ResponseKind::Fetch(r) = self.call(ApiKey::Fetch, 12, RequestKind::Fetch(req)).await else {
            panic!("not a fetch response")
        };
        r.responses[0].partitions[0].clone()
    }
}

pub fn record(key: &str, value: &str, ts: i64, seq: i32) -> Record {
    let mut headers = indexmap::IndexMap::new();
    headers.insert(s("trace"), Some(Bytes::from_static(b"abc")));
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: seq as i64,
        sequence: seq,
        timestamp: ts,
        key: Some(Bytes::copy_from_slice(key.as_bytes())),
        value: Some(Bytes::copy_from_slice(value.as_bytes())),
        headers,
    }
}

pub fn batch(records: &[Record], compression: Compression) -> Bytes {
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, records, &RecordEncodeOptions { version: 2, compression }).unwrap();
    buf.freeze()
}

pub fn decode(records: &Option<Bytes>) -> Vec<Record> {
    let mut b = records.clone().unwrap_or_default();
    RecordBatchDecoder::decode_all(&mut b).unwrap().into_iter().flat_map(|set| set.records).collect()
}

/// A signed Alibaba Kafka API call (seed §2.6.5), version 2019-09-16, JSON answer.
pub async fn alibaba(srv: &TestServer, action: &str, params: &[(&str, &str)]) -> Value {
    let mut p: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in [
        ("Action", action),
        ("Version", "2019-09-16"),
        ("Format", "JSON"),
        ("AccessKeyId", KEY_ID),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
    ] {
        p.insert(k.into(), v.into());
    }
    p.insert("SignatureNonce".into(), uuid::Uuid::new_v4().to_string());
    p.insert("Timestamp".into(), chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string());
    for (k, v) in params {
        p.insert(k.to_string(), v.to_string());
    }
    let sts = string_to_sign("POST", &p);
    let mut pairs: Vec<(String, String)> = p.into_iter().collect();
    pairs.push(("Signature".into(), hmac_sha1_b64(SECRET, &sts)));
    let url = format!("{}/?{}", srv.base, serde_urlencoded::to_string(&pairs).unwrap());
    let resp = srv.client.post(url).send().await.unwrap();
    let text = resp.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{text}"))
}

/// CKafka API v2 signing in ap-guangzhou (seed: HmacSHA256 over `GET<host>/v2/index.php?<sorted params>`).
pub async fn tencent(srv: &TestServer, action: &str, extra: &[(&str, &str)]) -> Value {
    let mut params: Vec<(String, String)> = vec![
        ("Action".into(), action.into()),
        ("Region".into(), "ap-guangzhou".into()),
        ("SecretId".into(), KEY_ID.into()),
        ("Nonce".into(), crate::common::fresh_nonce().to_string()),
        ("Timestamp".into(), crate::common::unix_now().to_string()),
        ("SignatureMethod".into(), "HmacSHA256".into()),
    ];
    params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut keyed: Vec<(String, &str)> = params.iter().map(|(k, v)| (k.replace('_', "."), v.as_str())).collect();
    keyed.sort();
    let query: Vec<String> = keyed.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let sts = format!("GET{}/v2/index.php?{}", srv.host, query.join("&"));
    let mut m = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(SECRET.as_bytes()).unwrap();
    hmac::Mac::update(&mut m, sts.as_bytes());
    params.push((
        "Signature".into(),
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, hmac::Mac::finalize(m).into_bytes()),
    ));
    let resp = srv.client.get(format!("{}/v2/index.php", srv.base)).query(&params).send().await.unwrap();
    resp.json().await.unwrap()
}

pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A server, a topic `orders` (3 partitions) on the Alibaba default instance of cn-hangzhou, created
/// through CreateTopic, and the data plane on ephemeral ports.
pub async fn orders_setup() -> (TestServer, std::sync::Arc<localyun::kafka::KafkaBroker>, String, SocketAddr) {
    const REGION: &str = "cn-hangzhou";
    let srv = crate::common::start().await;
    let id = localyun::alibaba::kafka::default_instance_id(crate::common::ACCOUNT, REGION);
    let r = alibaba(
        &srv,
        "CreateTopic",
        &[("InstanceId", &id), ("RegionId", REGION), ("Topic", "orders"), ("Remark", "orders"), ("PartitionNum", "3")],
    )
    .await;
    assert_eq!(r["Success"], true, "{r}");
    let broker = localyun::kafka::start_with(srv.state.clone(), localyun::kafka::KafkaOptions::ephemeral()).await;
    let addr = broker.address_of(&id).expect("the instance has a listener");
    (srv, broker, id, addr)
}

/// Sends a request of `api_key` `version` whose body is `junk` (e.g. an array length claiming more bytes
/// than the frame has) and asserts the broker closes that connection; the caller then checks that another
/// connection still works.
pub async fn assert_malformed_request_closes(addr: SocketAddr, api_key: ApiKey, version: i16, junk: &[u8]) {
    let mut bad = TcpStream::connect(addr).await.unwrap();
    let mut frame = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(api_key as i16)
        .with_request_api_version(version)
        .with_correlation_id(1)
        .with_client_id(Some(s("bad")))
        .encode(&mut frame, api_key.request_header_version(version))
        .unwrap();
    frame.extend_from_slice(junk);
    let mut out = BytesMut::new();
    out.put_u32(frame.len() as u32);
    out.extend_from_slice(&frame);
    bad.write_all(&out).await.unwrap();
    let mut buf = [0u8; 1];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), bad.read(&mut buf)).await.unwrap();
    assert!(matches!(n, Ok(0) | Err(_)), "the malformed connection stays open: {n:?}");
}

/// A signed Alibaba Kafka call on `instance` (its `InstanceId` and `RegionId` added) that must succeed.
pub async fn alibaba_ok(srv: &TestServer, instance: &str, action: &str, params: &[(&str, &str)]) {
    let mut all = vec![("InstanceId", instance), ("RegionId", "cn-hangzhou")];
    all.extend_from_slice(params);
    let r = alibaba(srv, action, &all).await;
    assert_eq!(r["Success"], true, "{action}: {r}");
}
