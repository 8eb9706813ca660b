//! The benchmark's view of each vendor API: signers (independent of src/), pre-signed request batches,
//! and helpers that fill localyun with resources through the public APIs.

use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;

use super::LoadResult;

#[derive(Clone)]
pub struct Target {
    pub host: String,
    pub key_id: String,
    pub secret: String,
}

/// Whether a vendor answer body reports success (each vendor has its own envelope). Only the head of the
/// body is read: the envelope's status fields come first in every vendor's answer, and parsing whole
/// multi-kilobyte pages here would make the load generator, which shares the cores, the bottleneck.
/// Alibaba and Huawei errors also carry a non-2xx status, which the caller checks.
pub fn is_success(body: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&body[..body.len().min(512)]);
    if head.contains("\"error_code\"") || head.contains("\"Success\":false") || head.contains("\"success\":false") {
        return false;
    }
    if head.starts_with("{\"code\":") {
        // Tencent (0) and RocketMQ (200) put their code first.
        return head.starts_with("{\"code\":0,") || head.starts_with("{\"code\":200,");
    }
    !head.is_empty()
}

fn nonce() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    (u64::from(std::process::id()) << 40) + NEXT.fetch_add(1, Ordering::Relaxed)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

// ------------------------------------------------------------------------------------------------ Tencent

pub(crate) fn tencent_request(
    client: &reqwest::Client,
    t: &Target,
    action: &str,
    extra: &[(&str, String)],
) -> reqwest::Request {
    let mut params: Vec<(String, String)> = vec![
        ("Action".into(), action.into()),
        ("Region".into(), "ap-guangzhou".into()),
        ("SecretId".into(), t.key_id.clone()),
        ("Nonce".into(), nonce().to_string()),
        ("Timestamp".into(), now().to_string()),
        ("SignatureMethod".into(), "HmacSHA256".into()),
    ];
    // An explicit Region in `extra` replaces the default one.
    for (k, v) in extra {
        match params.iter_mut().find(|(pk, _)| pk == k) {
            Some(slot) => slot.1 = v.clone(),
            None => params.push((k.to_string(), v.clone())),
        }
    }
    let mut sorted: Vec<(String, &str)> = params.iter().map(|(k, v)| (k.replace('_', "."), v.as_str())).collect();
    sorted.sort();
    let query: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let sts = format!("POST{}/v2/index.php?{}", t.host, query.join("&"));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(t.secret.as_bytes()).expect("hmac key");
    mac.update(sts.as_bytes());
    params.push(("Signature".into(), b64(&mac.finalize().into_bytes())));
    client.post(format!("http://{}/v2/index.php", t.host)).form(&params).build().expect("request")
}

pub(crate) async fn send_json(client: &reqwest::Client, req: reqwest::Request) -> Value {
    match client.execute(req).await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}

pub(crate) async fn tencent_instance(client: &reqwest::Client, t: &Target, region: &str) -> String {
    let v = send_json(client, tencent_request(client, t, "ListInstance", &[("Region", region.into())])).await;
    v["instanceList"][0]["instanceId"].as_str().unwrap_or_default().to_string()
}

async fn tencent_topics(client: &reqwest::Client, t: &Target, region: &str, inst: &str, prefix: &str, n: usize) {
    let mut batch = Vec::new();
    for i in 0..n {
        let extra = [
            ("Region", region.to_string()),
            ("instanceId", inst.to_string()),
            ("topicName", format!("{prefix}{i:06}")),
            ("partitionNum", "1".to_string()),
            ("replicaNum", "1".to_string()),
        ];
        batch.push(client.execute(tencent_request(client, t, "CreateTopic", &extra)));
        if batch.len() == 64 {
            futures_join(&mut batch).await;
        }
    }
    futures_join(&mut batch).await;
}

async fn futures_join<F: std::future::Future>(batch: &mut Vec<F>) {
    for f in batch.drain(..) {
        let _ = f.await;
    }
}

// ------------------------------------------------------------------------------------------------ Alibaba Kafka

/// RFC 3986 percent-encoding as the RPC signature wants it (`~` kept, space as `%20`).
fn pct(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

fn alibaba_request(client: &reqwest::Client, t: &Target, action: &str, extra: &[(&str, String)]) -> reqwest::Request {
    let mut params: Vec<(String, String)> = vec![
        ("Action".into(), action.into()),
        ("Format".into(), "JSON".into()),
        ("Version".into(), "2019-09-16".into()),
        ("AccessKeyId".into(), t.key_id.clone()),
        ("SignatureMethod".into(), "HMAC-SHA1".into()),
        ("SignatureVersion".into(), "1.0".into()),
        ("SignatureNonce".into(), format!("{:x}", nonce())),
        ("Timestamp".into(), chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        ("RegionId".into(), "cn-hangzhou".into()),
    ];
    // An entry of `extra` replaces a default of the same name (ONS sends its own Version).
    for (k, v) in extra {
        match params.iter_mut().find(|(pk, _)| pk == k) {
            Some(slot) => slot.1 = v.clone(),
            None => params.push((k.to_string(), v.clone())),
        }
    }
    let mut sorted: Vec<(String, String)> = params.iter().map(|(k, v)| (pct(k), pct(v))).collect();
    sorted.sort();
    let canonical: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let sts = format!("POST&%2F&{}", pct(&canonical.join("&")));
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{}&", t.secret).as_bytes()).expect("hmac key");
    mac.update(sts.as_bytes());
    params.push(("Signature".into(), b64(&mac.finalize().into_bytes())));
    client.post(format!("http://{}/", t.host)).form(&params).build().expect("request")
}

fn alibaba_create_topic(client: &reqwest::Client, t: &Target, inst: &str, name: &str) -> reqwest::Request {
    let extra = [("InstanceId", inst.to_string()), ("Topic", name.to_string()), ("Remark", "bench".to_string())];
    alibaba_request(client, t, "CreateTopic", &extra)
}

fn alibaba_create_group(client: &reqwest::Client, t: &Target, inst: &str, name: &str) -> reqwest::Request {
    alibaba_request(
        client,
        t,
        "CreateConsumerGroup",
        &[("InstanceId", inst.to_string()), ("ConsumerId", name.to_string())],
    )
}

// ------------------------------------------------------------------------------------------------ ONS

/// An ONS OpenAPI request (2019-02-14): Alibaba RPC signature v1, like the Kafka RPC API.
fn ons_request(client: &reqwest::Client, t: &Target, action: &str, extra: &[(&str, String)]) -> reqwest::Request {
    let mut all: Vec<(&str, String)> = vec![("Version", "2019-02-14".to_string())];
    all.extend(extra.iter().cloned());
    alibaba_request(client, t, action, &all)
}

/// A new ONS instance (cn-hangzhou) holding `topics` topics; its id.
async fn ons_instance(client: &reqwest::Client, t: &Target, topics: usize) -> String {
    let v = send_json(client, ons_request(client, t, "OnsInstanceCreate", &[("InstanceName", "bench".into())])).await;
    let inst = v["Data"]["InstanceId"].as_str().unwrap_or_default().to_string();
    run_batched(
        client,
        (0..topics).map(|i| {
            let extra = [
                ("InstanceId", inst.clone()),
                ("Topic", format!("read{i:04}")),
                ("MessageType", "0".to_string()),
                ("Remark", "bench".to_string()),
            ];
            ons_request(client, t, "OnsTopicCreate", &extra)
        }),
    )
    .await;
    inst
}

// ------------------------------------------------------------------------------------------------ Tencent v3

/// A Tencent Cloud API v3 request (TC3-HMAC-SHA256, JSON body, `X-TC-Action`), signed as Tencent's
/// "签名方法 v3" describes (no nonce: the scheme has none).
fn tencent_v3_request(client: &reqwest::Client, t: &Target, action: &str, body: &Value) -> reqwest::Request {
    let body = body.to_string();
    let timestamp = now();
    let date = chrono::DateTime::from_timestamp(timestamp, 0).unwrap_or_default().format("%Y-%m-%d").to_string();
    let canonical = format!(
        "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:{}\n\ncontent-type;host\n{}",
        t.host,
        sha256_hex(body.as_bytes())
    );
    let sts = format!("TC3-HMAC-SHA256\n{timestamp}\n{date}/ckafka/tc3_request\n{}", sha256_hex(canonical.as_bytes()));
    let hmac = |key: &[u8], data: &str| {
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).expect("hmac key");
        m.update(data.as_bytes());
        m.finalize().into_bytes().to_vec()
    };
    let k = hmac(format!("TC3{}", t.secret).as_bytes(), &date);
    let k = hmac(&k, "ckafka");
    let k = hmac(&k, "tc3_request");
    let auth = format!(
        "TC3-HMAC-SHA256 Credential={}/{date}/ckafka/tc3_request, SignedHeaders=content-type;host, Signature={}",
        t.key_id,
        hex::encode(hmac(&k, &sts))
    );
    client
        .post(format!("http://{}/", t.host))
        .header("content-type", "application/json; charset=utf-8")
        .header("x-tc-action", action)
        .header("x-tc-version", "2019-08-19")
        .header("x-tc-timestamp", timestamp.to_string())
        .header("x-tc-region", "ap-guangzhou")
        .header("authorization", auth)
        .body(body)
        .build()
        .expect("request")
}

// ------------------------------------------------------------------------------------------------ RocketMQ

fn rocketmq_request(client: &reqwest::Client, t: &Target, route: &str, extra: &[(&str, String)]) -> reqwest::Request {
    let mut params: Vec<(String, String)> = vec![
        ("_accesskey".into(), t.key_id.clone()),
        ("__preventCache".into(), chrono::Utc::now().timestamp_millis().to_string()),
        ("_regionId".into(), "mq-private".into()),
    ];
    params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    params.sort();
    let text: String = params.iter().map(|(_, v)| v.as_str()).collect();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(t.secret.as_bytes()).expect("hmac key");
    mac.update(text.as_bytes());
    params.push(("_signature".into(), b64(&mac.finalize().into_bytes())));
    client.post(format!("http://{}/json/{route}", t.host)).form(&params).build().expect("request")
}

fn rocketmq_create_topic(client: &reqwest::Client, t: &Target, inst: &str, name: &str) -> reqwest::Request {
    let extra = [
        ("instanceId", inst.to_string()),
        ("topic", name.to_string()),
        ("orderType", "0".to_string()),
        ("remark", "bench".to_string()),
    ];
    rocketmq_request(client, t, "topic/create", &extra)
}

async fn run_batched(client: &reqwest::Client, requests: impl Iterator<Item = reqwest::Request>) {
    let mut batch = Vec::new();
    for req in requests {
        batch.push(client.execute(req));
        if batch.len() == 64 {
            futures_join(&mut batch).await;
        }
    }
    futures_join(&mut batch).await;
}

// ------------------------------------------------------------------------------------------------ Huawei

pub const HUAWEI_PROJECT: &str = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// A request signed like huaweicloudsdkcore (SDK-HMAC-SHA256, canonical URI with a trailing `/`).
fn huawei_request(
    client: &reqwest::Client,
    t: &Target,
    method: &str,
    path: &str,
    query: &str,
    body: Option<&Value>,
) -> reqwest::Request {
    let body = body.map(|b| serde_json::to_vec(b).unwrap_or_default()).unwrap_or_default();
    let date = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
    let uri = if path.ends_with('/') { path.to_string() } else { format!("{path}/") };
    let headers =
        format!("content-type:application/json\nhost:{}\nx-project-id:{HUAWEI_PROJECT}\nx-sdk-date:{date}\n", t.host);
    let signed = "content-type;host;x-project-id;x-sdk-date";
    let canonical = format!("{method}\n{uri}\n{query}\n{headers}\n{signed}\n{}", sha256_hex(&body));
    let sts = format!("SDK-HMAC-SHA256\n{date}\n{}", sha256_hex(canonical.as_bytes()));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(t.secret.as_bytes()).expect("hmac key");
    mac.update(sts.as_bytes());
    let auth = format!(
        "SDK-HMAC-SHA256 Access={}, SignedHeaders={signed}, Signature={}",
        t.key_id,
        hex::encode(mac.finalize().into_bytes())
    );
    let url =
        if query.is_empty() { format!("http://{}{path}", t.host) } else { format!("http://{}{path}?{query}", t.host) };
    client
        .request(method.parse().expect("method"), url)
        .header("content-type", "application/json")
        .header("x-project-id", HUAWEI_PROJECT)
        .header("x-sdk-date", date)
        .header("authorization", auth)
        .body(body)
        .build()
        .expect("request")
}

/// The id of the bench fixtures' `bench` channel.
async fn huawei_bench_channel(client: &reqwest::Client, t: &Target) -> String {
    let path = format!("/v1/{HUAWEI_PROJECT}/channels");
    let v = send_json(client, huawei_request(client, t, "GET", &path, "limit=100", None)).await;
    v["items"]
        .as_array()
        .and_then(|items| items.iter().find(|c| c["name"] == "bench"))
        .and_then(|c| c["id"].as_str())
        .unwrap_or_default()
        .to_string()
}

fn huawei_put_events(client: &reqwest::Client, t: &Target, channel: &str, data: Value) -> reqwest::Request {
    let body = serde_json::json!({"events": [{
        "id": format!("e{}", nonce()), "source": "bench-source", "specversion": "1.0",
        "type": "bench.event", "data": data,
    }]});
    huawei_request(client, t, "POST", &format!("/v1/{HUAWEI_PROJECT}/channels/{channel}/events"), "", Some(&body))
}

fn huawei_subscription(client: &reqwest::Client, t: &Target, channel: &str, name: &str, url: &str) -> reqwest::Request {
    let body = serde_json::json!({
        "name": name,
        "channel_id": channel,
        "sources": [{"name": "bench-source", "provider_type": "CUSTOM",
                     "filter": {"source": [{"op": "StringIn", "values": ["bench-source"]}]}}],
        "targets": [{"name": "WEBHOOK", "provider_type": "CUSTOM", "detail": {"url": url},
                     "transform": {"type": "ORIGINAL"}}],
    });
    huawei_request(client, t, "POST", &format!("/v1/{HUAWEI_PROJECT}/subscriptions"), "", Some(&body))
}

fn huawei_enable(client: &reqwest::Client, t: &Target, ids: &[String]) -> reqwest::Request {
    let body = serde_json::json!({"subscription_ids": ids, "operation": "ENABLE"});
    huawei_request(client, t, "POST", &format!("/v1/{HUAWEI_PROJECT}/subscriptions/operation"), "", Some(&body))
}

// ------------------------------------------------------------------------------------------------ scenarios

/// One signed action measured under load.
pub enum Scenario {
    TencentListTopic { inst: String },
    TencentCreateTopic { inst: String },
    AlibabaGetTopicList { inst: String },
    AlibabaCreateTopic { inst: String },
    RocketmqListInPage { inst: String },
    RocketmqCreateTopic { inst: String },
    HuaweiListChannels,
    HuaweiPutEvents { channel: String },
    TencentV3DescribeTopic { inst: String },
    TencentV3CreateTopic { inst: String },
    OnsTopicList { inst: String },
    OnsGroupCreate { inst: String },
}

impl Scenario {
    pub fn name(&self) -> String {
        match self {
            Scenario::TencentListTopic { .. } => "Tencent ListTopic (read)".into(),
            Scenario::TencentCreateTopic { .. } => "Tencent CreateTopic (write)".into(),
            Scenario::AlibabaGetTopicList { .. } => "Alibaba GetTopicList (read)".into(),
            Scenario::AlibabaCreateTopic { .. } => "Alibaba CreateTopic (write)".into(),
            Scenario::RocketmqListInPage { .. } => "RocketMQ topic/listInPage (read)".into(),
            Scenario::RocketmqCreateTopic { .. } => "RocketMQ topic/create (write)".into(),
            Scenario::HuaweiListChannels => "Huawei ListChannels (read)".into(),
            Scenario::HuaweiPutEvents { .. } => "Huawei PutEvents (write, 1 event)".into(),
            Scenario::TencentV3DescribeTopic { .. } => "Tencent v3 DescribeTopic (read)".into(),
            Scenario::TencentV3CreateTopic { .. } => "Tencent v3 CreateTopic (write)".into(),
            Scenario::OnsTopicList { .. } => "Alibaba ONS OnsTopicList (read)".into(),
            Scenario::OnsGroupCreate { .. } => "Alibaba ONS OnsGroupCreate (write)".into(),
        }
    }

    /// `n` distinct signed requests (distinct nonces: the replay cache refuses repeats).
    pub async fn requests(&self, client: &reqwest::Client, t: &Target, n: usize) -> Vec<reqwest::Request> {
        match self {
            Scenario::TencentListTopic { inst } => (0..n)
                .map(|_| {
                    tencent_request(client, t, "ListTopic", &[("instanceId", inst.clone()), ("limit", "20".into())])
                })
                .collect(),
            Scenario::TencentCreateTopic { inst } => {
                let run = nonce();
                (0..n)
                    .map(|i| {
                        let extra = [
                            ("instanceId", inst.clone()),
                            ("topicName", format!("w{run}x{i}")),
                            ("partitionNum", "1".into()),
                            ("replicaNum", "1".into()),
                        ];
                        tencent_request(client, t, "CreateTopic", &extra)
                    })
                    .collect()
            }
            Scenario::AlibabaGetTopicList { inst } => (0..n)
                .map(|_| {
                    let extra = [("InstanceId", inst.clone()), ("CurrentPage", "1".into()), ("PageSize", "20".into())];
                    alibaba_request(client, t, "GetTopicList", &extra)
                })
                .collect(),
            Scenario::AlibabaCreateTopic { inst } => {
                let run = nonce();
                (0..n).map(|i| alibaba_create_topic(client, t, inst, &format!("w{run}x{i}"))).collect()
            }
            Scenario::RocketmqListInPage { inst } => (0..n)
                .map(|_| {
                    let extra = [("instanceId", inst.clone()), ("currentPage", "1".into()), ("pageSize", "20".into())];
                    rocketmq_request(client, t, "topic/listInPage", &extra)
                })
                .collect(),
            Scenario::RocketmqCreateTopic { inst } => {
                let run = nonce();
                (0..n).map(|i| rocketmq_create_topic(client, t, inst, &format!("T_w{run}x{i}"))).collect()
            }
            Scenario::HuaweiListChannels => {
                let path = format!("/v1/{HUAWEI_PROJECT}/channels");
                (0..n).map(|_| huawei_request(client, t, "GET", &path, "limit=15", None)).collect()
            }
            Scenario::HuaweiPutEvents { channel } => {
                (0..n).map(|i| huawei_put_events(client, t, channel, serde_json::json!({"n": i}))).collect()
            }
            Scenario::TencentV3DescribeTopic { inst } => (0..n)
                .map(|_| {
                    let body = serde_json::json!({"InstanceId": inst, "Limit": 20});
                    tencent_v3_request(client, t, "DescribeTopic", &body)
                })
                .collect(),
            Scenario::TencentV3CreateTopic { inst } => {
                let run = nonce();
                (0..n)
                    .map(|i| {
                        let body = serde_json::json!({"InstanceId": inst, "TopicName": format!("v{run}x{i}"),
                            "PartitionNum": 1, "ReplicaNum": 1});
                        tencent_v3_request(client, t, "CreateTopic", &body)
                    })
                    .collect()
            }
            Scenario::OnsTopicList { inst } => {
                (0..n).map(|_| ons_request(client, t, "OnsTopicList", &[("InstanceId", inst.clone())])).collect()
            }
            Scenario::OnsGroupCreate { inst } => {
                let run = nonce();
                (0..n)
                    .map(|i| {
                        let extra = [("InstanceId", inst.clone()), ("GroupId", format!("GID_w{run}x{i}"))];
                        ons_request(client, t, "OnsGroupCreate", &extra)
                    })
                    .collect()
            }
        }
    }
}

/// The scenarios of every vendor, with the resources they read prepared.
pub async fn scenarios(client: &reqwest::Client, t: &Target) -> Vec<Scenario> {
    let inst = tencent_instance(client, t, "ap-guangzhou").await;
    tencent_topics(client, t, "ap-guangzhou", &inst, "read", 100).await;
    // The bench fixtures' roomy instances (see BENCH_FIXTURES).
    let ali = "alikafka_pre-cn-bench0000001".to_string();
    run_batched(client, (0..100).map(|i| alibaba_create_topic(client, t, &ali, &format!("read{i:04}")))).await;
    let rmq = "MQ_INST_100000000001_BENCH".to_string();
    run_batched(client, (0..100).map(|i| rocketmq_create_topic(client, t, &rmq, &format!("T_read{i:04}")))).await;
    vec![
        Scenario::TencentListTopic { inst: inst.clone() },
        // The bench fixtures' roomy instance: the default one allows 50,000 topics.
        Scenario::TencentCreateTopic { inst: "ckafka-bench001".into() },
        Scenario::AlibabaGetTopicList { inst: ali.clone() },
        Scenario::AlibabaCreateTopic { inst: ali },
        Scenario::RocketmqListInPage { inst: rmq.clone() },
        Scenario::RocketmqCreateTopic { inst: rmq },
        Scenario::HuaweiListChannels,
        Scenario::HuaweiPutEvents { channel: huawei_bench_channel(client, t).await },
    ]
}

/// The Tencent API v3 and ONS scenarios (the wrk benchmark only), after [`scenarios`] prepared the Tencent
/// default instance's topics.
pub async fn extra_scenarios(client: &reqwest::Client, t: &Target) -> Vec<Scenario> {
    let inst = tencent_instance(client, t, "ap-guangzhou").await;
    let ons = ons_instance(client, t, 20).await;
    vec![
        Scenario::TencentV3DescribeTopic { inst },
        Scenario::TencentV3CreateTopic { inst: "ckafka-bench001".into() },
        Scenario::OnsTopicList { inst: ons.clone() },
        Scenario::OnsGroupCreate { inst: ons },
    ]
}

/// List latency for a fixed page as the total grows: (api, [(total, result)]).
pub async fn list_growth(
    client: &reqwest::Client,
    t: &Target,
    samples: usize,
) -> Vec<(String, Vec<(usize, LoadResult)>)> {
    let mut tencent = Vec::new();
    for (region, total) in [("ap-beijing", 100usize), ("ap-shanghai", 1_000), ("ap-hongkong", 10_000)] {
        let inst = tencent_instance(client, t, region).await;
        tencent_topics(client, t, region, &inst, "g", total).await;
        let reqs: Vec<reqwest::Request> = (0..samples)
            .map(|_| {
                let extra = [("Region", region.to_string()), ("instanceId", inst.clone()), ("limit", "20".into())];
                tencent_request(client, t, "ListTopic", &extra)
            })
            .collect();
        tencent.push((total, super::load(client, reqs, 1).await));
    }
    vec![("Tencent ListTopic".into(), tencent)]
}

/// Fills a fresh server with `n` topics (and groups and subscriptions where the vendor APIs allow);
/// returns a description of what was created.
pub async fn fill(client: &reqwest::Client, t: &Target, n: usize) -> String {
    let started = Instant::now();
    let inst = tencent_instance(client, t, "ap-guangzhou").await;
    tencent_topics(client, t, "ap-guangzhou", &inst, "m", n).await;
    let ali = "alikafka_pre-cn-bench0000001".to_string();
    run_batched(client, (0..n).map(|i| alibaba_create_group(client, t, &ali, &format!("group{i:06}")))).await;
    let mut made = format!("{n} topics (Tencent), {n} consumer groups (Alibaba)");
    if let Some(subs) = eventgrid_subscriptions(client, t, n).await {
        made.push_str(&format!(", {subs} subscriptions (EventGrid)"));
    }
    eprintln!("filled in {:.1} s", started.elapsed().as_secs_f64());
    made
}

/// Creates `n` EventGrid subscriptions (to a webhook nobody calls: no events are published here).
async fn eventgrid_subscriptions(client: &reqwest::Client, t: &Target, n: usize) -> Option<usize> {
    let channel = huawei_bench_channel(client, t).await;
    if channel.is_empty() {
        return None;
    }
    let url = "http://127.0.0.1:9/unused";
    run_batched(client, (0..n).map(|i| huawei_subscription(client, t, &channel, &format!("sub-{i:06}"), url))).await;
    let path = format!("/v1/{HUAWEI_PROJECT}/subscriptions");
    let v = send_json(client, huawei_request(client, t, "GET", &path, &format!("channel_id={channel}&limit=1"), None))
        .await;
    v["total"].as_u64().map(|t| t as usize)
}

/// Events per second from PutEvents to a local webhook, and end-to-end latency (publish to receipt).
pub async fn eventgrid_delivery(client: &reqwest::Client, t: &Target, events: usize) -> Option<String> {
    use std::sync::Arc;
    // The webhook: records when each event arrives, keyed by the send time the event carries.
    let arrivals: Arc<parking_lot::Mutex<Vec<(u128, Instant)>>> = Arc::default();
    let sink = arrivals.clone();
    let epoch = Instant::now();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let sink = sink.clone();
        async move {
            let sent =
                serde_json::from_slice::<Value>(&body).ok().and_then(|v| v["data"]["sent_us"].as_u64()).unwrap_or(0);
            sink.lock().push((u128::from(sent), Instant::now()));
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.ok()?;
    let hook = format!("http://{}/hook", listener.local_addr().ok()?);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let channel = huawei_bench_channel(client, t).await;
    let created = send_json(client, huawei_subscription(client, t, &channel, "delivery-bench", &hook)).await;
    let sub_id = created["id"].as_str()?.to_string();
    send_json(client, huawei_enable(client, t, &[sub_id])).await;

    let requests: Vec<reqwest::Request> = (0..events)
        .map(|i| {
            // The send time is stamped when the request is built; requests are built just before sending.
            let _ = i;
            huawei_put_events(client, t, &channel, serde_json::json!({"sent_us": 0}))
        })
        .collect();
    drop(requests);
    let started = Instant::now();
    let mut batch = Vec::new();
    for _ in 0..events {
        let sent_us = epoch.elapsed().as_micros() as u64;
        batch.push(client.execute(huawei_put_events(client, t, &channel, serde_json::json!({"sent_us": sent_us}))));
        if batch.len() == 16 {
            futures_join(&mut batch).await;
        }
    }
    futures_join(&mut batch).await;
    let publish_done = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(30);
    while arrivals.lock().len() < events && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let received = arrivals.lock().clone();
    server.abort();
    let total = received.iter().map(|(_, at)| at.duration_since(started)).max().unwrap_or_default();
    let mut latencies: Vec<Duration> = received
        .iter()
        .map(|(sent, at)| at.duration_since(epoch).saturating_sub(Duration::from_micros(*sent as u64)))
        .collect();
    latencies.sort();
    if latencies.is_empty() {
        return Some(format!("no event reached the webhook within 30 s ({events} published)\n"));
    }
    let pick = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    Some(format!(
        "| events published | delivered | publish rate | delivery rate (publish start to last receipt) | end-to-end p50 | p99 |\n\
         |---|---|---|---|---|---|\n\
         | {events} (1 per PutEvents, 16 in flight) | {} | {:.0} events/s | {:.0} events/s | {:.2} ms | {:.2} ms |\n",
        received.len(),
        events as f64 / publish_done.as_secs_f64(),
        received.len() as f64 / total.as_secs_f64(),
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
    ))
}
